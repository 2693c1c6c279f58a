"""Which of the three cases a game is in: the one classification the package uses.

* aligned: revealing the state already gives the Advisor its first-best value, so no scheme can do better;
* binds: the optimal scheme is worth more than both full revelation and no information;
* does not help: the optimum equals the better of those two benchmarks.
"""
from __future__ import annotations

from enum import StrEnum

from .analysis import first_best_value, full_revelation_value, no_information_value
from .game import PersuasionGame


class PersuasionCase(StrEnum):
    """The case of a game; a ``str``, so ``case == "binds"`` and JSON output read as plain words.

    >>> PersuasionCase.BINDS == "binds", str(PersuasionCase.DOES_NOT_HELP)
    (True, 'does not help')
    """

    ALIGNED = "aligned"
    BINDS = "binds"
    DOES_NOT_HELP = "does not help"


def case_from_values(optimum: float, full_revelation: float, no_information: float, first_best: float,
                     tol: float = 1e-9, aligned_tol: float | None = None) -> PersuasionCase:
    """The case from the four values that define it: aligned if full revelation is within ``aligned_tol``
    (default ``tol``) of the first best; binds if the optimum beats both benchmarks by more than ``tol``.
    The rule every classification in the package applies (a Bayesian game's LP optimum, or the optimum of
    a fitted Receiver model).

    >>> from persuasion import case_from_values
    >>> case_from_values(0.6, 0.3, 0.0, 1.0)          # the prosecutor: 0.6 against 0.3 and 0
    <PersuasionCase.BINDS: 'binds'>
    """
    if abs(full_revelation - first_best) <= (tol if aligned_tol is None else aligned_tol):
        return PersuasionCase.ALIGNED
    return PersuasionCase.BINDS if optimum > max(full_revelation, no_information) + tol \
        else PersuasionCase.DOES_NOT_HELP


def persuasion_case(game: PersuasionGame, tol: float = 1e-9) -> PersuasionCase:
    """The case of ``game`` (values compared within ``tol``).

    >>> from persuasion import examples, persuasion_case
    >>> persuasion_case(examples.prosecutor_judge())
    <PersuasionCase.BINDS: 'binds'>
    """
    from .solve import solve
    fr, ni, fb = (float(f(game)) for f in (full_revelation_value, no_information_value, first_best_value))
    if abs(fr - fb) <= tol:                              # aligned: no LP needed
        return PersuasionCase.ALIGNED
    return case_from_values(float(solve(game).value), fr, ni, fb, tol)
