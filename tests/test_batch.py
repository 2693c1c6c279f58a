"""solve_many: the vectorised simplex agrees with HiGHS game by game."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persuasion import InvalidArgumentError, PersuasionGame, examples, solve, solve_many

from .conftest import games


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
