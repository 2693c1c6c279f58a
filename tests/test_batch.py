"""solve_many: the vectorised simplex agrees with HiGHS game by game."""
import importlib
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persuasion import InvalidArgumentError, PersuasionGame, examples, solve, solve_many

from .conftest import games
from .test_mixed_magnitudes import assert_right_beside_its_size, mixed_games

batch_module = importlib.import_module("persuasion.batch")


@settings(max_examples=25)
@given(st.lists(games(max_m=6, max_n=6), min_size=1, max_size=25))
def test_batch_matches_individual_solves(batch):
    res = solve_many(batch)
    assert len(res) == len(batch)
    assert res.valid.all(), res.residuals
    for g, v in zip(batch, res.values):
        assert abs(v - solve(g, method="highs").value) <= 1e-9


def test_batch_random_float_games_of_many_shapes():
    rng = np.random.default_rng(7)
    batch = []
    for _ in range(300):
        m, n = rng.integers(3, 11, 2)
        batch.append(PersuasionGame(rng.dirichlet(np.ones(m)), rng.uniform(size=(m, n)), rng.uniform(size=(m, n))))
    res = solve_many(batch)
    assert res.valid.all()
    expect = np.array([solve(g, method="highs").value for g in batch])
    assert np.abs(res.values - expect).max() <= 1e-9


def test_batch_items_are_full_solutions():
    res = solve_many([examples.prosecutor_judge()] * 3, exact=True)
    assert all(r == pytest.approx(0.6) for r in res.values)
    sol = res[1]
    assert sol.exact and sol.certificate.valid and sol.value == Fraction(3, 5)
    fres = solve_many([examples.load("investment_advice")])
    assert fres[0].certificate.valid and fres[0].method == "batch-simplex"


def test_batch_rejects_non_games():
    with pytest.raises(InvalidArgumentError, match=r"games\[1\] must be a PersuasionGame"):
        solve_many([examples.prosecutor_judge(), "not a game"])


@pytest.mark.parametrize("arrays, rule", [
    (([[np.nan, 1.0]], np.ones((1, 2, 2)), np.ones((1, 2, 2))),
     r"prior must hold finite numbers >= 0; got 'nan in game 0'"),
    (([[0.5, 0.5], [1.2, -0.2]], np.ones((2, 2, 2)), np.ones((2, 2, 2))), r"prior .* got '-0.2 in game 1'"),
    (([[0.5, 0.5]], np.ones((1, 2, 2)), [[[0.0, np.inf], [1.0, 0.0]]]), r"receiver must hold finite numbers; got 'inf"),
    (([[0.5, 0.5]], np.ones((1, 2, 3)), np.ones((1, 2, 2))),
     r"prior/sender/receiver must have shapes \(B, m\), \(B, m, n\)"),
    (("x", 1, 2), r"prior/sender/receiver must hold real numbers"),
])
def test_the_vectorised_simplex_refuses_arrays_it_cannot_solve(arrays, rule):
    """A NaN made every reduced cost NaN: the simplex stopped at its start and reported the game solved
    (failed False) with NaN duals.  Mismatched shapes ended in an IndexError."""
    with pytest.raises(InvalidArgumentError, match=rf"^solve_arrays\(\): {rule}"):
        batch_module.solve_arrays(*arrays)


def test_a_game_the_batch_fails_on_is_solved_alone_and_the_rest_stay_batched(monkeypatch):
    """Before 2026-12-07 one game on which the vectorised simplex found no pivot raised SolverError for
    the whole batch.  A stand-in marks game 1 failed: it is solved by solve(), the others are not."""
    real = batch_module.solve_arrays

    def second_fails(P, V, U):
        X, y, lam, used, failed = real(P, V, U)
        failed = failed.copy()
        failed[1] = True
        return X, y, lam, used, failed

    monkeypatch.setattr(batch_module, "solve_arrays", second_fails)
    games_ = [examples.prosecutor_judge(), PersuasionGame([0.3, 0.7], [[0, 1], [0, 1]], [[1, 0], [0, 1]]),
              examples.prosecutor_judge()]
    res = solve_many(games_)
    assert set(res.individual) == {1} and res.stats["solved_alone"] == 1
    assert res[1] is res.individual[1] and res[1].method != "batch-simplex" and res[0].method == "batch-simplex"
    assert res[-2] is res.individual[1]            # a negative index missed `individual`: the failed arrays came back
    assert [s.method for s in res[1:]] == [res[1].method, "batch-simplex"] and [s for s in res][1] is res[1]
    with pytest.raises(InvalidArgumentError, match=r"BatchSolution\[\]: index must be an integer or a slice"):
        res["1"]
    for g, v, ok in zip(games_, res.values, res.valid):
        assert ok and abs(v - solve(g, exact=True).value) <= 1e-12


@settings(max_examples=20)
@given(st.lists(mixed_games(states=(2, 4), actions=(2, 4)), min_size=1, max_size=8),
       st.lists(games(max_m=4, max_n=4), max_size=8))
def test_batches_with_mixed_magnitude_games_are_right_beside_each_value(mixed, ordinary):
    """Utilities spanning 1e-12..1e12 (the fuzz that found the batch-wide SolverError also found valid
    batch certificates on wrong values): every valid item is right, as solve()'s are."""
    batch = mixed + ordinary
    res = solve_many(batch)
    for i, g in enumerate(batch):
        exact = solve(g, exact=True)
        if res.valid[i]:
            assert_right_beside_its_size(g, res[i], exact)


@given(games(min_m=1, max_m=4, max_n=4), st.floats(1e-6, 1e6), st.lists(st.floats(-1e3, 1e3), min_size=4, max_size=4))
def test_the_wide_screen_ignores_units_and_per_state_shifts(game, factor, shifts):
    P, V, U = game.prior[None], game.sender[None], game.receiver[None]
    moved = U * factor + np.array(shifts[:game.num_states])[None, :, None]
    assert batch_module._wide(P, V, U) == batch_module._wide(P, V, moved)


def test_the_wide_screen_sends_a_1e_minus_10_difference_beside_1_alone():
    g = PersuasionGame([0.5, 0.5], sender=[[0, 1], [0, 1]], receiver=[[1, 0], [0, 1e-10]])
    assert batch_module._wide(g.prior[None], g.sender[None], g.receiver[None]).tolist() == [True]
    assert set(solve_many([g, examples.prosecutor_judge()]).individual) == {0}
