"""Answer checkers: maths with math-verify, code by running the tests in the sandbox.

Answer extraction follows the GSM8K conventions of lm-evaluation-harness:
*strict* takes the number after ``####``; *flexible* takes the last number
in the text; a ``\\boxed{...}`` answer is taken first when present.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .problems import Problem, first_code_block
from .verdict import run_tests

_NUMBER = r"-?[\d,]*\.?\d+"


@dataclass(frozen=True)
class Verdict:
    correct: bool
    reason: str
    extracted: str = ""


def extract_answer(text: str, mode: str = "flexible") -> str:
    """The answer in a model's output ('' if none): boxed, then ``####``, then (flexible) the last number."""
    boxed = re.findall(r"\\boxed\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", text)
    if boxed:
        return boxed[-1].strip()
    strict = re.findall(r"####\s*(" + _NUMBER + ")", text)
    if strict:
        return strict[-1].replace(",", "")
    if mode == "strict":
        return ""
    nums = re.findall(_NUMBER, text)
    return nums[-1].replace(",", "") if nums else ""


def check_math(gold: str, output: str, mode: str = "flexible") -> Verdict:
    """Is the answer in ``output`` mathematically equal to ``gold``? (math-verify, gold first)."""
    from math_verify import parse, verify
    ans = extract_answer(output, mode)
    if not ans:
        return Verdict(False, "no answer found", "")
    ok = verify(parse(gold), parse(ans))
    return Verdict(bool(ok), "equal to the reference" if ok else f"{ans!r} differs from {gold!r}", ans)


def check_program(problem: Problem, program: str, timeout: float = 5.0) -> Verdict:
    """Run HumanEval's tests on a whole ``program`` (imports, helpers and the entry point).

    The program runs in the sandbox and only answers calls; the tests run in
    a trusted process of their own and decide (:mod:`llm_bridge.tasks.verdict`).
    """
    passed, reason = run_tests(problem.prompt, problem.meta["test"], problem.meta["entry_point"], program,
                               timeout=timeout)
    return Verdict(passed, reason, "")


def completion_program(problem: Problem, completion: str) -> str:
    """The program a completion stands for.

    A completion that defines the entry point itself is a whole program, but
    it keeps the prompt's imports (``from typing import List`` and the like):
    dropping them made correct solutions fail with a ``NameError``.  Any
    other completion is a body that continues the prompt.
    """
    body = first_code_block(completion)
    if body.lstrip().startswith(("def ", "import ", "from ")) and problem.meta["entry_point"] in body:
        imports = [ln for ln in problem.prompt.splitlines() if ln.startswith(("import ", "from "))]
        missing = [ln for ln in imports if ln not in body]
        return "\n".join(missing + [body])
    return problem.prompt + body


def check_code(problem: Problem, completion: str, timeout: float = 5.0) -> Verdict:
    """Run HumanEval's tests on the program ``completion`` stands for, in the sandbox."""
    return check_program(problem, completion_program(problem, completion), timeout=timeout)


def check(problem: Problem, output: str, mode: str = "strict") -> Verdict:
    """Dispatch on the problem's task.

    Maths defaults to *strict* extraction (``####`` or ``\\boxed``): the
    flexible "last number" rule was seen to score a SmolLM2 ramble that
    stopped at "...modulo 3" as the answer 3.
    """
    if problem.task == "humaneval":
        return check_code(problem, output)
    return check_math(problem.answer, output, mode)
