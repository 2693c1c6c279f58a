"""The three cases (aligned, binds, does not help): the float classification against the exact one, and
its invariance to the Advisor's units."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from persuasion import PersuasionCase, PersuasionGame, examples, persuasion_case, solve
from persuasion.analysis import first_best_value, full_revelation_value, no_information_value
from persuasion.cases import advisor_spread

from .conftest import games

TOL = 1e-9


def exact_case_and_margins(game):
    """The case in exact arithmetic (no tolerance), and the two exact margins that decide it."""
    fr, ni, fb = (f(game, exact=True) for f in (full_revelation_value, no_information_value, first_best_value))
    opt = solve(game, exact=True).value
    gains = (fb - fr, opt - max(fr, ni))
    case = PersuasionCase.ALIGNED if fr == fb else PersuasionCase.BINDS if opt > max(fr, ni) \
        else PersuasionCase.DOES_NOT_HELP
    return case, gains


def clear_of_the_tolerance(game, gains) -> bool:
    """No deciding margin lies strictly inside (0, 2 tol spread]: there the float answer may go either way."""
    band = Fraction(2 * TOL) * Fraction(advisor_spread(game))
    return not any(0 < g <= band for g in gains)


@settings(max_examples=120)
@given(games())
def test_float_case_is_the_exact_case(game):
    case, gains = exact_case_and_margins(game)
    assume(clear_of_the_tolerance(game, gains))
    assert persuasion_case(game) is case


@settings(max_examples=60)
@given(games(), st.lists(st.integers(-5, 5), min_size=6, max_size=6))
def test_case_is_unchanged_by_the_advisors_units_and_a_shift_per_state(game, shifts):
    """Before, the tolerance was an absolute 1e-9: with V in units of 1e-12 every game came out 'aligned'."""
    case, gains = exact_case_and_margins(game)
    assume(clear_of_the_tolerance(game, gains))
    for exponent in (-300, -12, -6, 0, 6, 12, 300):
        # Shifted in the Advisor's own units: a shift of 1 beside V in units of 1e-9 would round V itself.
        V = (np.asarray(game.sender, float) + np.asarray(shifts[:game.num_states])[:, None]) * 10.0 ** exponent
        moved = PersuasionGame(game.prior, V, game.receiver)
        assert persuasion_case(moved) is case, exponent


def test_the_three_cases_on_small_games():
    assert persuasion_case(examples.prosecutor_judge()) is PersuasionCase.BINDS
    tiny = examples.prosecutor_judge()
    tiny = PersuasionGame(tiny.prior, np.asarray(tiny.sender) * 1e-12, tiny.receiver)
    assert persuasion_case(tiny) is PersuasionCase.BINDS
    same = PersuasionGame([0.3, 0.7], [[1, 0], [0, 1]], [[1, 0], [0, 1]])          # interests agree
    assert persuasion_case(same) is PersuasionCase.ALIGNED
    opposed = PersuasionGame([0.5, 0.5], [[0, 1], [1, 0]], [[1, 0], [0, 1]])     # zero-sum: nothing helps
    assert persuasion_case(opposed) is PersuasionCase.DOES_NOT_HELP
    flat = PersuasionGame([0.5, 0.5], [[2, 2], [5, 5]], [[1, 0], [0, 1]])        # V constant per state
    assert advisor_spread(flat) == 0 and persuasion_case(flat) is PersuasionCase.ALIGNED
