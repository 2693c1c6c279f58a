"""The tasks: problems with their references, the checkers that score an answer, and the code sandbox.

Owns the problem sets (``problems``: GSM-Symbolic from reasoning-gym, HumanEval, CHAMP), the golden
checkers (``checkers``: math-verify for maths, the tests for code), and the sandbox that runs
model-written code (``sandbox``, with ``verdict`` and ``plain_data`` carrying only plain data between the
candidate's process and the trusted tests).  Nothing here knows a game or a model.

>>> from llm_bridge.tasks import Problem
>>> Problem("p1", "gsm_symbolic", "What is 2 + 2?", "4").answer
'4'
"""
from .problems import LOADERS, Problem, chain_sum, champ, first_code_block, gsm_symbolic, humaneval

__all__ = ["LOADERS", "Problem", "chain_sum", "champ", "first_code_block", "gsm_symbolic", "humaneval"]
