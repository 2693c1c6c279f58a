"""The conditioning check's two bounds, each against exact arithmetic.

* A scheme the float check calls *certified* is exactly obedient: its obedience slacks, recomputed in
  ``Fraction`` on the game's own data (rows rescaled to sum to exactly 1), are all >= 0.
* The weak-duality bound holds for *any* multipliers, not only optimal ones: random ``(y, lam)`` give a
  bound at or above the exact optimal value.
* The interval of :func:`persuasion.solve.value_interval` contains the exact optimal value on generated
  games at extreme and mixed units.
* A scheme whose uncertified recommendations were merged into best responses is exactly obedient, and
  the float path, which needs that merge where some prior masses are 1e-7 or less, gets those games'
  values right with a valid certificate.
"""
import importlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.bench_conditioning import tiny_mass_game
from persuasion import PersuasionGame, examples, solve
from persuasion.conditioning import (certified_margins, data_rounding, dual_upper_bound, full_revelation,
                                     lower_bound, merged_into_best_responses)
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


def _is_scheme(z: np.ndarray) -> bool:
    return bool((z >= 0).all() and np.allclose(z.sum(axis=1), 1.0, rtol=0, atol=1e-12))


@settings(max_examples=80)
@given(scaled_games(), st.integers(0, 2**31 - 1))
def test_merged_schemes_are_exactly_obedient(game, seed):
    """Random schemes and the float optimum, merged: where the merge answers, its scheme is a scheme and
    exactly obedient (Fraction arithmetic on the game's own data); where it refuses, that is allowed (a
    posterior with a tie is never certified), but a scheme certified already comes back as it was."""
    gn = normalised_game(game)
    rho_u, _ = data_rounding(game_scaling(game))
    U = np.asarray(game.receiver, dtype=float)
    rng = np.random.default_rng(seed)
    for x in (rng.dirichlet(np.ones(game.num_actions), size=game.num_states), np.asarray(solve(game).scheme, float)):
        x = np.clip(x, 0, None) / np.clip(x, 0, None).sum(axis=1, keepdims=True)
        z = merged_into_best_responses(gn.prior, gn.receiver, gn.sender, U, x, rho_u)
        if z is None:
            continue
        assert _is_scheme(z)
        assert (certified_margins(gn.prior, gn.receiver, U, z, rho_u)[1] >= 0).all()
        assert _exact_slacks_nonnegative(game, z)
        if (certified_margins(gn.prior, gn.receiver, U, x, rho_u)[1] >= 0).all():
            np.testing.assert_allclose(z, x, rtol=0, atol=1e-15)     # only its rows rescaled to sum to 1


@pytest.mark.parametrize("seed", range(20))
def test_merging_repairs_any_scheme_of_a_generic_game(seed):
    """Continuous random utilities have no ties (with probability 1), so every posterior has a strict best
    response and the merge always answers on a random scheme.  Its answer is exactly obedient, recommends
    no more actions than the scheme did, and is worth at least as much to the Receiver: each merge moves
    a signal to the Receiver's best response at that signal's posterior."""
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(2, 7)), int(rng.integers(2, 7))
    game = PersuasionGame(rng.dirichlet(np.ones(m)), rng.random((m, n)), rng.random((m, n)))
    gn = normalised_game(game)
    rho_u, _ = data_rounding(game_scaling(game))
    x = rng.dirichlet(np.ones(n), size=m)
    z = merged_into_best_responses(gn.prior, gn.receiver, gn.sender, game.receiver, x, rho_u)
    assert z is not None and _is_scheme(z) and _exact_slacks_nonnegative(game, z)
    sent = lambda s: int((s > 0).any(axis=0).sum())
    receiver_value = lambda s: float(game.prior @ (s * game.receiver).sum(axis=1))
    assert sent(z) <= sent(x)
    assert receiver_value(z) >= receiver_value(x) - 1e-12


def _tiny_mass_game(seed: int, exponent: int) -> PersuasionGame:
    """The benchmark's game at 21-26 states and actions (past the float path's exact fallback, m n <=
    400), about 30% of the states with prior masses near 10^-exponent."""
    return tiny_mass_game(np.random.default_rng(seed), exponent, sizes=(21, 26))


@pytest.mark.parametrize("seed, exponent", [(0, 7), (1, 9), (2, 12), (3, 15)])
def test_tiny_prior_masses_keep_a_valid_float_answer(seed, exponent):
    """Until 2026-12-07 the float path called most such games ill-conditioned ("use exact=True"): HiGHS
    meets rows only to an absolute 1e-9, so the tightened LP's optimum sent some recommendations with
    mass 1e-8 that missed obedience by their whole size.  The value is well conditioned (the utilities are
    generic): the float answer must be valid and agree with the exact path, and its value interval must
    contain the exact value."""
    game = _tiny_mass_game(seed, exponent)
    f, e = solve(game), solve(game, exact=True)
    assert f.certificate.valid, f.certificate.summary()
    assert abs(f.value - float(e.value)) <= 1e-6, (f.value, float(e.value))
    lo, hi = value_interval(game)
    assert lo - 1e-12 <= float(e.value) <= hi + 1e-12, (lo, float(e.value), hi)


def _game_from_data(name: str) -> PersuasionGame:
    return PersuasionGame.from_json(Path(__file__).parent / "data" / f"{name}.json")


def test_a_game_whose_generation_lp_highs_simplex_could_not_solve():
    """Found by ``bench_conditioning --tiny-masses 5`` (2026-12-07): 20 x 29, some prior masses near 1e-5.
    A restricted LP of row/column generation ended 'Solve error' under every simplex setting HiGHS was
    retried with (highspy 1.16; 'Not Set' under 1.7.1), so ``solve()`` raised.  Whatever a version's
    simplex does with it, the float answer must come back valid with the exact value (the whole LP
    answers where generation cannot)."""
    game = _game_from_data("highs_solve_error_game")
    f, e = solve(game), solve(game, exact=True)
    assert f.certificate.valid, f.certificate.summary()
    assert abs(f.value - float(e.value)) <= 1e-6, (f.value, float(e.value))


def test_a_game_whose_tightened_lps_highs_simplex_could_not_solve():
    """Found by ``bench_conditioning --tiny-masses 9`` (2026-12-07): 31 x 37, some prior masses near 1e-9.
    Every tightened LP of the conditioning check ended 'Unknown' under the simplex retries, so a
    well-conditioned value was called ill-conditioned; with the interior point method as the last retry,
    highspy 1.16 certifies it, while 1.7.1 still leaves it "use exact=True".  On every version: a valid
    answer has the exact value, an invalid one says why, and the value interval holds the exact value."""
    game = _game_from_data("highs_unknown_tightened_game")
    f, e = solve(game), float(solve(game, exact=True).value)
    if f.certificate.valid:
        assert abs(f.value - e) <= 1e-6, (f.value, e)
    else:
        assert "ill-conditioned value" in f.certificate.summary()
    lo, hi = value_interval(game)
    assert lo - 1e-12 <= e <= hi + 1e-12, (lo, e, hi)


def _near_tie_game(seed: int) -> PersuasionGame:
    """Uniform utilities, 21-26 states and actions (past the exact fallback's m n <= 400), the Receiver's
    action 1 better than action 0 by 1e-12 in every state, and two states alike for the Receiver: a
    value that jumps when the data move by 1e-12, so the float interval is often wide."""
    rng = np.random.default_rng(seed)
    m, n = (int(k) for k in rng.integers(21, 27, size=2))
    U, V = rng.random((m, n)), rng.random((m, n))
    U[:, 1] = U[:, 0] + 1e-12
    U[3] = U[2]
    return PersuasionGame(rng.dirichlet(np.ones(m)), V, U)


@pytest.mark.parametrize("seed", range(8))
def test_past_the_fallback_size_an_ill_conditioned_game_is_exact_or_says_use_exact(seed):
    """Past ``m n <= 400`` the float path tries only HiGHS' own basis in rationals (no pivots): a game
    it certifies carries the exact certificate and value; one it cannot says "use exact=True"."""
    game = _near_tie_game(seed)
    f, e = solve(game), solve(game, exact=True)
    if f.method.endswith("+exact-fallback"):
        assert f.exact_solution.certificate.valid and f.exact_solution.certificate.exact
        assert f.exact_solution.value == e.value and f.certificate.valid
    elif f.certificate.valid:
        assert abs(f.value - float(e.value)) <= 1e-6, (f.value, float(e.value))
    else:
        assert "use exact=True" in f.certificate.summary()


def test_the_basis_limit_bounds_what_a_large_float_solve_tries(monkeypatch):
    """With the limit at 0 columns no basis is tried past the fallback size: a game that the basis
    certifies otherwise now says "use exact=True" (the first of the seeds above that the basis
    certifies on this machine's HiGHS; skipped where none does)."""
    S = importlib.import_module("persuasion.solve")
    certified = [g for g in map(_near_tie_game, range(8)) if solve(g).method.endswith("+exact-fallback")]
    if not certified:
        pytest.skip("this HiGHS version's bases certify none of these games")
    monkeypatch.setattr(S, "FLOAT_BASIS_LIMIT", 0)
    f = solve(certified[0])
    assert not f.certificate.valid and "use exact=True" in f.certificate.summary()


def test_a_game_with_more_states_than_the_basis_limit_is_not_solved_again(monkeypatch):
    """Every state's row ``sum_a x = 1`` keeps one of its columns basic, so a game with more states than
    ``FLOAT_BASIS_LIMIT`` cannot have a basis within it: no HiGHS solve is spent finding that out."""
    S = importlib.import_module("persuasion.solve")
    def no_solve(*args, **kwargs):
        raise AssertionError("a HiGHS solve was started")
    monkeypatch.setattr(S, "FLOAT_BASIS_LIMIT", 2)
    monkeypatch.setattr(S, "solve_generation", no_solve)
    monkeypatch.setattr(S.backends, "solve_highs", no_solve)
    assert S._exact_basis_view(examples.load("investment_advice"), None, "highs") is None   # 4 states
