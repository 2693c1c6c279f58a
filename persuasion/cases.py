"""Which of the three cases a game is in: the one classification the package uses.

* aligned: revealing the state already gives the Advisor its first-best value, so no scheme can do better;
* binds: the optimal scheme is worth more than both full revelation and no information;
* does not help: the optimum equals the better of those two benchmarks.
"""
from __future__ import annotations

import math
from enum import StrEnum
from numbers import Real

import numpy as np

from .analysis import first_best_value, full_revelation_value, no_information_value
from .errors import InvalidArgumentError, checked_nonnegative
from .game import PersuasionGame, checked_game


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
    values = {"optimum": optimum, "full_revelation": full_revelation, "no_information": no_information,
              "first_best": first_best}
    for name, x in values.items():
        if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(x):   # NaN compared False: a case
            raise InvalidArgumentError("case_from_values()", name, "must be a finite number", x)
    checked_nonnegative("case_from_values()", "tol", tol)
    if aligned_tol is not None:
        checked_nonnegative("case_from_values()", "aligned_tol", aligned_tol)
    if abs(full_revelation - first_best) <= (tol if aligned_tol is None else aligned_tol):
        return PersuasionCase.ALIGNED
    return PersuasionCase.BINDS if optimum > max(full_revelation, no_information) + tol \
        else PersuasionCase.DOES_NOT_HELP


def persuasion_case(game: PersuasionGame, tol: float = 1e-9) -> PersuasionCase:
    """The case of ``game``, its values compared within ``tol`` times the Advisor's expected spread
    ``sum_w prior[w] (max_a V[w, a] - min_a V[w, a])`` (:func:`advisor_spread`; at least a few ulps of
    ``sum_w prior[w] max_a |V[w, a]|``, for float rounding).  So the case does not change when ``V`` is
    multiplied by a positive number or a constant is added to a state's row: with an absolute ``1e-9``,
    the prosecutor's game with ``V`` in units of ``1e-12`` came out 'aligned'.

    >>> from persuasion import examples, persuasion_case
    >>> persuasion_case(examples.prosecutor_judge())
    <PersuasionCase.BINDS: 'binds'>
    """
    from .solve import solve
    checked_game("persuasion_case()", game)
    checked_nonnegative("persuasion_case()", "tol", tol)
    fr, ni, fb = (float(f(game)) for f in (full_revelation_value, no_information_value, first_best_value))
    V = np.asarray(game.sender, float)
    rounding = 16 * np.finfo(float).eps * float(game.prior @ np.abs(V).max(axis=1))
    within = max(tol * advisor_spread(game), rounding)
    if abs(fr - fb) <= within:                           # aligned: no LP needed
        return PersuasionCase.ALIGNED
    return case_from_values(float(solve(game).value), fr, ni, fb, within)


def advisor_spread(game: PersuasionGame) -> float:
    """``sum_w prior[w] (max_a V[w, a] - min_a V[w, a])``: how much the Advisor's value can move with the
    action taken, the unit :func:`persuasion_case` measures its tolerance in.

    >>> from persuasion import examples
    >>> from persuasion.cases import advisor_spread
    >>> advisor_spread(examples.prosecutor_judge())      # convicting is worth 1 in both states
    1.0
    """
    checked_game("advisor_spread()", game)
    V = np.asarray(game.sender, float)
    return float(game.prior @ (V.max(axis=1) - V.min(axis=1)))
