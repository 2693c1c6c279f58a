"""Persuasion against delta-best responses: the (S, t)-signal LP against brute force and its own schemes.

Optimality is checked two ways on small games: the LP's scheme attains the LP's value when the Receiver
takes the worst delta-best response (so the value is achievable), and no scheme drawn at random with up
to 5 signals does better (500 draws per game, fixed seeds).  On two-state games the value is also
compared with the concave closure of the robust payoff on a fine grid of posteriors.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persuasion import PersuasionGame, examples, solve
from persuasion.analysis.closure import _upper_hull
from persuasion.approximate import robust_value_of_scheme, solve_delta_robust, worst_delta_response
from persuasion.errors import InvalidArgumentError
from persuasion.online import RobustPersuader, run

from .conftest import games


@settings(max_examples=40)
@given(games(max_m=3, max_n=4, min_m=2), st.sampled_from([0.05, 0.3, 1.0, 2.5]), st.integers(0, 2**31 - 1))
def test_lp_value_is_attained_and_not_beaten_by_random_schemes(game, delta, seed):
    r = solve_delta_robust(game, delta)
    assert robust_value_of_scheme(game, r.scheme, delta) == pytest.approx(r.value, abs=1e-7)
    rng = np.random.default_rng(seed)
    for _ in range(500):
        k = int(rng.integers(1, 6))
        x = rng.dirichlet(np.ones(k) * rng.choice([0.2, 1.0]), size=game.num_states)
        assert robust_value_of_scheme(game, x, delta) <= r.value + 1e-7


def _closure_on_grid(game, delta, points=20001):
    ps = np.linspace(0.0, 1.0, points)
    vals = []
    for p in ps:
        b = np.array([1 - p, p])
        vals.append(float(b @ game.sender[:, worst_delta_response(game, b, delta)]))
    hull, p0 = _upper_hull(list(zip(ps, vals))), game.prior[1]
    for (x0, y0), (x1, y1) in zip(hull, hull[1:]):
        if x0 <= p0 <= x1:
            return y0 + (y1 - y0) * (p0 - x0) / (x1 - x0)


@pytest.mark.parametrize("name", ["prosecutor_judge", "single_belief_middle"])
@pytest.mark.parametrize("delta", [0.05, 0.1, 0.3, 0.6])
def test_two_state_value_equals_the_closure_of_the_robust_payoff(name, delta):
    g = examples.load(name)
    r = solve_delta_robust(g, delta)
    grid = _closure_on_grid(g, delta)
    assert grid <= r.value + 1e-9 and r.value - grid < 1e-3


@pytest.mark.parametrize("name", examples.names())
def test_value_falls_with_delta_from_the_classical_optimum(name):
    g = examples.load(name)
    deltas = [0.0, 1e-6, 0.01, 0.05, 0.1, 0.3, 1.0]
    values = [solve_delta_robust(g, d).value for d in deltas]
    assert values[0] == pytest.approx(float(solve(g, exact=True).value))
    assert all(b <= a + 1e-9 for a, b in zip(values[1:], values[2:]))
    assert values[1] <= values[0] + 1e-9


def test_single_belief_game_is_discontinuous_at_zero():
    g = examples.load("single_belief_middle")
    assert solve_delta_robust(g, 0.0).value == pytest.approx(0.8)
    assert solve_delta_robust(g, 1e-6).value == pytest.approx(0.0, abs=1e-9)
    assert solve_delta_robust(examples.prosecutor_judge(), 1e-6).value == pytest.approx(0.6, abs=1e-5)


def test_units_do_not_change_the_robust_scheme():
    g = examples.prosecutor_judge()
    big = PersuasionGame(g.prior, g.sender * 1e6, g.receiver * 1e-6)
    assert solve_delta_robust(big, 0.1e-6).value == pytest.approx(solve_delta_robust(g, 0.1).value * 1e6, rel=1e-7)


@pytest.mark.parametrize("delta", [-0.1, float("nan"), True])
def test_bad_delta_is_named(delta):
    with pytest.raises(InvalidArgumentError, match="delta"):
        solve_delta_robust(examples.prosecutor_judge(), delta)


def test_the_learner_against_an_approximate_receiver():
    """Robust schemes keep their margin-free rows; against a delta-best-responding Receiver the learner's
    regret against V* is linear at rate V* - (robust value) or less, and it reports being outside the theorem."""
    g = examples.prosecutor_judge()
    T, delta = 20_000, 0.05
    tr = run(g, RobustPersuader(0.05), T=T, seed=0, receiver_delta=delta)
    assert not tr.within_theorem
    gap = float(solve(g, exact=True).value) - solve_delta_robust(g, delta).value
    assert tr.cumulative_regret[-1] >= gap * T * 0.5                 # the robust value is the best it can do
    assert tr.cumulative_regret[-1] <= 0.6 * T                       # never worse than losing everything
