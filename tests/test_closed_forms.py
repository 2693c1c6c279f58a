"""Closed forms against the LP (exactly) on generated games."""
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persuasion import InvalidArgumentError, PersuasionGame, check_certificate, examples, solve
from persuasion.closed_forms import (binary_state_independent_optimum, is_binary_state_independent,
                                     two_state_duals, two_state_optimum)
from persuasion.lp import obedience_slacks
from persuasion.solve import normalised_game

from .conftest import games, two_state_games


def _primal_ok(game, scheme, exact):
    prior, V, U = game.rational() if exact else (game.prior, game.sender, game.receiver)
    assert (scheme >= 0).all()
    sums = scheme.sum(axis=1)
    O = obedience_slacks(prior, U, scheme)
    if exact:
        assert all(s == 1 for s in sums) and (O >= 0).all()
    else:
        assert np.abs(sums - 1).max() <= 1e-9 and O.min() >= -1e-9


@given(two_state_games(max_n=7))
def test_two_state_closed_form_equals_lp(game):
    value, scheme = two_state_optimum(game, exact=True)
    assert value == solve(game, exact=True).value
    _primal_ok(game, scheme, True)
    assert (game.rational()[0][:, None] * game.rational()[1] * scheme).sum() == value
    fvalue, fscheme = two_state_optimum(game)
    assert abs(fvalue - float(value)) <= 1e-9
    _primal_ok(game, fscheme, False)


@st.composite
def binary_games(draw):
    g = draw(games(max_m=8, max_n=2))
    prior, V, U = g.rational()
    if g.num_actions == 1:
        U = np.hstack([U, U])
    v = [draw(st.integers(-3, 3)), draw(st.integers(-3, 3))]
    return PersuasionGame(prior, [v] * g.num_states, U)


@given(binary_games())
def test_binary_knapsack_equals_lp(game):
    assert is_binary_state_independent(game)
    value, scheme = binary_state_independent_optimum(game, exact=True)
    assert value == solve(game, exact=True).value
    _primal_ok(game, scheme, True)
    fvalue, fscheme = binary_state_independent_optimum(game)
    assert abs(fvalue - float(value)) <= 1e-9
    _primal_ok(game, fscheme, False)


def test_prosecutor_judge_both_forms():
    pj = examples.prosecutor_judge()
    for f in (two_state_optimum, binary_state_independent_optimum):
        value, scheme = f(pj, exact=True)
        assert value == Fraction(3, 5) and scheme[0, 1] == Fraction(3, 7)


def test_closed_forms_refuse_other_games():
    g = examples.load("investment_advice")
    with pytest.raises(InvalidArgumentError, match="exactly 2 states"):
        two_state_optimum(g)
    with pytest.raises(InvalidArgumentError, match="state-independent"):
        binary_state_independent_optimum(g)


@settings(max_examples=150)
@given(two_state_games(max_n=7))
def test_two_state_duals_certify_exactly(game):
    # the two-state duals directly (solve() prefers the knapsack when both forms apply)
    for exact in (True, False):
        _, scheme = two_state_optimum(game, exact=exact)
        y, lam = two_state_duals(game, exact=exact)
        data = game.rational() if exact else (game.prior, game.sender, game.receiver)
        cert = check_certificate(*data, scheme, y, lam, exact=exact, tolerance=1e-9)
        assert cert.valid, cert.summary()
    sol = solve(game, exact=True, method="closed-form")
    assert sol.certificate.valid and sol.certificate.exact, sol.certificate.summary()


@settings(max_examples=150)
@given(binary_games())
def test_knapsack_duals_certify_exactly(game):
    sol = solve(game, exact=True, method="closed-form")
    assert sol.certificate.valid and sol.certificate.exact, sol.certificate.summary()
    f = solve(game, method="closed-form")
    assert f.certificate.valid, f.certificate.summary()


def test_knapsack_a_million_states_float():
    rng = np.random.default_rng(0)
    m = 1_000_000
    g = PersuasionGame(rng.dirichlet(np.ones(m)), np.tile([0.0, 1.0], (m, 1)), rng.uniform(size=(m, 2)))
    sol = solve(g)
    assert sol.method == "closed-form:knapsack" and sol.certificate.valid


# Receiver lines that tie at an end of [0, 1]: on the normalised float game the supporting line can round a
# hair below the tied action's Advisor value there, where no multiplier can lift it (found by a fuzz).
TIED_AT_AN_END = [
    PersuasionGame([0.6, 0.4], sender=[[-2, -1, 1], [1, 2, 1]], receiver=[[0, 1, 2], [0, 0, 0]]),
    PersuasionGame([0.5, 0.5], sender=[[1, 2, -3], [2, 1, 1]], receiver=[[0, 1, 0], [0, 0, 0]]),
]


@pytest.mark.parametrize("game", TIED_AT_AN_END)
def test_two_state_duals_of_tied_ends_are_finite_and_certify(game):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol, exact = solve(game), solve(game, exact=True)
        y, lam = two_state_duals(normalised_game(game))
    assert np.isfinite(y).all() and np.isfinite(lam.toarray()).all()
    assert sol.method == exact.method == "closed-form:two-state"
    assert sol.certificate.valid and exact.certificate.valid and exact.certificate.exact
    assert abs(sol.value - float(exact.value)) <= 1e-12


@st.composite
def games_tied_at_an_end(draw):
    """Two-state games where, at one end, the Receiver is indifferent among all its actions."""
    g = draw(two_state_games(max_n=6, lo=-2, hi=2))
    prior, V, U = g.rational()
    U = U.copy()
    U[draw(st.integers(0, 1))] = draw(st.integers(-2, 2))
    return PersuasionGame(prior, V, U)


@settings(max_examples=300)
@given(st.one_of(two_state_games(max_n=6, lo=-2, hi=2), games_tied_at_an_end()))
def test_two_state_solves_raise_no_numpy_warning(game):
    # a warning would be text on a user's stderr.  Before the fix about 1 in 180 games tied at an end warned
    # (11 of 2,000 in a fuzz), so 300 examples may miss it; the two games above pin that case.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol, exact = solve(game), solve(game, exact=True)
    assert sol.certificate.valid and exact.certificate.valid, (sol.certificate.summary(), exact.certificate.summary())
    assert abs(sol.value - float(exact.value)) <= 1e-9 * max(1.0, abs(float(exact.value)))
