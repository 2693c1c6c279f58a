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


def persuasion_case(game: PersuasionGame, tol: float = 1e-9) -> PersuasionCase:
    """The case of ``game`` (values compared within ``tol``).

    >>> from persuasion import examples, persuasion_case
    >>> persuasion_case(examples.prosecutor_judge())
    <PersuasionCase.BINDS: 'binds'>
    """
    from .solve import solve
    fr, ni, fb = (float(f(game)) for f in (full_revelation_value, no_information_value, first_best_value))
    if abs(fr - fb) <= tol:
        return PersuasionCase.ALIGNED
    if float(solve(game).value) > max(fr, ni) + tol:
        return PersuasionCase.BINDS
    return PersuasionCase.DOES_NOT_HELP
