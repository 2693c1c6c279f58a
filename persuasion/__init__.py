"""Bayesian persuasion as LLM alignment: exact, certified optimal signaling.

An Advisor (sender) sees the state, commits to a signaling scheme and
recommends an action; a Receiver updates its belief by Bayes' rule and best
responds.  ``solve`` finds the Advisor's optimal scheme by linear programming
and certifies it (exactly, in rationals, with ``exact=True``).

>>> from persuasion import PersuasionGame, solve
>>> g = PersuasionGame(["7/10", "3/10"], sender=[[0, 1], [0, 1]], receiver=[[1, 0], [0, 1]])
>>> solve(g, exact=True).value
Fraction(3, 5)

Only numpy and scipy are needed to import the package; HiGHS (highspy) and
python-flint are imported by the solvers that use them, cvxpy only by the
``"cvxpy"`` method, and torch never.
"""
from .analysis import (
    best_response,
    best_responses,
    concave_closure_bruteforce,
    concave_closure_two_states,
    first_best_value,
    full_revelation_value,
    no_information_value,
    posteriors_from_scheme,
    scheme_from_posteriors,
    signal_posteriors,
    value_function,
)
from .certificate import Certificate, Residuals, check_certificate
from .errors import (
    CertificateError,
    GameFileError,
    InvalidArgumentError,
    InvalidGameError,
    PersuasionError,
    SolverError,
)
from .game import PersuasionGame
from .solution import Duals, Solution
from .batch import BatchSolution, solve_many
from .solve import solve
from .cases import PersuasionCase, case_from_values, persuasion_case

__version__ = "0.1.0"

__all__ = [
    "PersuasionGame", "solve", "PersuasionCase", "persuasion_case", "case_from_values", "solve_many", "BatchSolution", "Solution", "Duals", "Certificate", "Residuals", "check_certificate",
    "best_response", "best_responses", "value_function", "no_information_value", "full_revelation_value",
    "first_best_value", "concave_closure_two_states", "concave_closure_bruteforce",
    "posteriors_from_scheme", "scheme_from_posteriors", "signal_posteriors",
    "PersuasionError", "InvalidGameError", "InvalidArgumentError", "GameFileError", "SolverError",
    "CertificateError",
]
