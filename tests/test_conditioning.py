"""The conditioning check's two bounds, each against exact arithmetic.

* A scheme the float check calls *certified* is exactly obedient: its obedience slacks, recomputed in
  ``Fraction`` on the game's own data (rows rescaled to sum to exactly 1), are all >= 0.
* The weak-duality bound holds for *any* multipliers, not only optimal ones: random ``(y, lam)`` give a
  bound at or above the exact optimal value.
* The interval of :func:`persuasion.solve.value_interval` contains the exact optimal value on generated
  games at extreme and mixed units.
"""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persuasion import PersuasionGame, examples, solve
from persuasion.conditioning import (certified_margins, data_rounding, dual_upper_bound, full_revelation,
                                     lower_bound)
from persuasion.solution import game_scaling
from persuasion.solve import normalised_game, value_interval

from .conftest import games
from .test_scale import scaled_games


def _exact_slacks_nonnegative(game: PersuasionGame, x: np.ndarray) -> bool:
    prior, _, U = game.rational()
    m, n = game.shape
    X = [[Fraction(float(v)) for v in row] for row in x]
    X = [[v / sum(row) for v in row] for row in X]
    for a in range(n):
        if all(X[w][a] == 0 for w in range(m)):
            continue
        for b in range(n):
            if sum(prior[w] * X[w][a] * (U[w, a] - U[w, b]) for w in range(m)) < 0:
                return False
    return True


@settings(max_examples=80)
@given(scaled_games(), st.integers(0, 2**31 - 1))
def test_certified_schemes_are_exactly_obedient(game, seed):
    """The float optimum, full revelation and random schemes: whenever the margins say certified, exact
    arithmetic agrees (the converse need not hold: the bound is conservative)."""
    gn = normalised_game(game)
    rho_u, _ = data_rounding(game_scaling(game))
    U = np.asarray(game.receiver, dtype=float)
    rng = np.random.default_rng(seed)
    sol = solve(game)
    candidates = [np.asarray(sol.scheme, dtype=float), full_revelation(gn.receiver, gn.sender),
                  rng.dirichlet(np.ones(game.num_actions), size=game.num_states)]
    for x in candidates:
        x = np.clip(x, 0, None)
        x = x / x.sum(axis=1, keepdims=True)
        _, margin = certified_margins(gn.prior, gn.receiver, U, x, rho_u)
        if (margin >= 0).all():
            assert _exact_slacks_nonnegative(game, x)


@settings(max_examples=60)
@given(games(max_m=4, max_n=4), st.integers(0, 2**31 - 1))
def test_dual_bound_holds_for_any_multipliers(game, seed):
    rng = np.random.default_rng(seed)
    m, n = game.shape
    exact = solve(game, exact=True).value
    gn = normalised_game(game)
    sc = game_scaling(game)
    for _ in range(5):
        y = rng.normal(size=m)
        lam = rng.exponential(size=(n, n)) * rng.integers(0, 2, size=(n, n))
        high = sc.value_out(dual_upper_bound(game, gn, y, lam), game.prior)
        assert high >= float(exact) - 1e-12 * max(1.0, abs(float(exact)))


@settings(max_examples=80)
@given(scaled_games())
def test_value_interval_contains_the_exact_value(game):
    e = float(solve(game, exact=True).value)
    iv = value_interval(game)
    spread = float(np.ptp(game.sender)) or 1.0
    assert iv is not None
    lo, hi = iv
    assert lo - 1e-9 * spread <= e <= hi + 1e-9 * spread, (lo, e, hi)


def test_lower_bound_uses_the_cheapest_certified_candidate():
    """Prosecutor and judge: the optimum binds the judge's obedience exactly, so it is not certified as it
    stands; mixing in a little full revelation (which has slack there) is, at a value loss below 1e-12."""
    g = examples.prosecutor_judge()
    gn = normalised_game(g)
    low, how = lower_bound(g, gn, np.asarray(solve(g).scheme, dtype=float))
    assert how in ("optimum", "optimum mixed with full revelation")
    assert abs(game_scaling(g).value_out(low, g.prior) - 0.6) < 1e-12


def test_value_interval_rejects_a_bad_width():
    with pytest.raises(ValueError, match="width must be a number in"):
        value_interval(examples.prosecutor_judge(), width=2.0)
