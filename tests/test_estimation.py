"""Payoff estimation recovers a known game from simulated responses."""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_bridge.games.estimation import Sample, classify, estimate_game, wilson
from persuasion import PersuasionGame, solve

TRUE_V = np.array([[0.2, 0.7, 0.4], [0.6, 0.1, 0.3]])      # accuracy: Advisor's reward
TRUE_U = np.array([[-0.8, -1.5, -1.2], [-1.4, -0.9, -1.3]])  # Receiver's mean utility (confidence)
PRIOR = np.array([0.4, 0.6])


def simulate(rng, per_cell):
    out = []
    for w in range(2):
        for a in range(3):
            for _ in range(per_cell):
                out.append(Sample(w, a, bool(rng.random() < TRUE_V[w, a]), float(rng.normal(TRUE_U[w, a], 0.3))))
    return out


def test_recovers_known_game_and_solution():
    rng = np.random.default_rng(0)
    est = estimate_game(simulate(rng, 4000), 2, 3, state_counts=[400, 600])
    assert np.abs(est.game.sender - TRUE_V).max() < 0.03
    assert np.abs(est.game.receiver - TRUE_U).max() < 0.02
    assert np.allclose(est.game.prior, PRIOR)
    truth = PersuasionGame(PRIOR, TRUE_V, TRUE_U)
    assert abs(solve(est.game).value - solve(truth).value) < 0.03
    assert classify(truth).startswith("persuasion binds")      # 0.42 against 0.34 and 0.14
    assert est.case.startswith("persuasion binds")
    assert "V = accuracy" in est.table()


def test_intervals_cover_the_truth_at_about_their_level():
    rng = np.random.default_rng(1)
    cover_v = cover_u = total = 0
    for _ in range(200):
        est = estimate_game(simulate(rng, 60), 2, 3)
        lo, hi = est.sender_ci[..., 0], est.sender_ci[..., 1]
        cover_v += ((lo <= TRUE_V) & (TRUE_V <= hi)).sum()
        ulo, uhi = est.receiver_ci[..., 0], est.receiver_ci[..., 1]
        cover_u += ((ulo <= TRUE_U) & (TRUE_U <= uhi)).sum()
        total += 6
    # nominal 95%: with 1200 cells the empirical rate is within 0.92..0.98 except with tiny probability
    assert 0.92 <= cover_v / total <= 0.98
    assert 0.92 <= cover_u / total <= 0.98


def test_aligned_game_is_reported_as_such():
    rng = np.random.default_rng(2)
    samples = [Sample(w, a, bool(rng.random() < (0.9 if a == w else 0.1)), 0.0 if a == w else -1.0)
               for w in range(2) for a in range(2) for _ in range(200)]
    est = estimate_game(samples, 2, 2)
    assert est.case.startswith("aligned")


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"cell \(1, 0\) has none"):
        estimate_game([Sample(0, 0, True, 0.0), Sample(0, 1, True, 0.0), Sample(1, 1, False, 0.0)], 2, 2)
    with pytest.raises(ValueError, match="must be integers in"):
        estimate_game([Sample(3, 0, True, 0.0)], 2, 2)
    with pytest.raises(ValueError, match=r"must be integers in \[0,2\)x\[0,2\); got \(0.5, 0\)"):
        estimate_game([Sample(0.5, 0, True, 0.0)], 2, 2)           # passed the range test, failed to index
    with pytest.raises(ValueError, match="receiver_utility must be finite; got nan"):
        estimate_game([Sample(0, 0, True, float("nan"))], 2, 2)
    whole = [Sample(w, a, True, 0.0) for w in range(2) for a in range(2)]
    for m, n, rule in ((2.0, 2, "m must be an integer >= 1 (the states); got 2.0"),   # failed inside np.zeros
                       (2, 0, "n must be an integer >= 1 (the actions); got 0")):      # blamed the samples
        with pytest.raises(ValueError, match=re.escape(f"estimate_game(): {rule}")):
            estimate_game(whole, m, n)
    for counts in ([1.5, 2], [3, 4, 5], [0, 0], [float("nan"), 2], [-1, 5]):     # 1.5: 1 in the record, 1.5 in
        with pytest.raises(ValueError, match=r"state_counts must be 2 integers >= 0 .* positive sum"):  # the prior
            estimate_game(whole, 2, 2, state_counts=counts)
    assert estimate_game(whole, 2, 2, state_counts=[0, 5]).game.prior.tolist() == [0.0, 1.0]


def test_wilson_known_values():
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)


@given(st.integers(1, 10_000), st.data())
def test_wilson_is_scipys_wilson_interval(n, data):
    """An independent implementation: scipy's ``BinomTestResult.proportion_ci(method="wilson")`` at the z of
    the same two-sided level."""
    from scipy.stats import binomtest, norm
    k = data.draw(st.integers(0, n))
    z = float(norm.ppf(0.975))
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(k, n, z) == pytest.approx([ci.low, ci.high], abs=1e-12)


@pytest.mark.parametrize("k, n, z", [(11, 10, 1.96), (-1, 10, 1.96), ([1, 5], [2, 4], 1.96), (np.nan, 10, 1.96),
                                     (1, np.inf, 1.96), (1, 10, 0.0), (1, 10, np.nan)])
def test_wilson_refuses_counts_it_cannot_read(k, n, z):
    """k > n once gave a silent (nan, nan): the square root of a negative variance."""
    with pytest.raises(ValueError, match=r"wilson\(\): (successes k|z)"):
        wilson(k, n, z)


@given(st.floats(-1e9, 1e9), st.floats(1e-6, 1.0), st.integers(2, 30), st.integers(0, 2**16))
def test_utility_intervals_are_the_sample_standard_error_at_any_offset(offset, spread, per_cell, seed):
    """The interval's half-width is z times the sample standard deviation over sqrt(n) (numpy's, from the
    deviations), also when the utilities sit far from 0: E[u^2] - E[u]^2 gave 0 or noise at 1e6 +- 1e-3.
    A generator of samples is read once, like a list."""
    rng = np.random.default_rng(seed)
    u = {(w, a): offset + spread * rng.standard_normal(per_cell) for w in range(2) for a in range(2)}
    est = estimate_game((Sample(w, a, True, float(x)) for (w, a), xs in u.items() for x in xs), 2, 2)
    for (w, a), xs in u.items():
        half = 1.96 * np.std(xs, ddof=1) / np.sqrt(per_cell)
        lo, hi = est.receiver_ci[w, a]
        assert (hi - lo) / 2 == pytest.approx(half, rel=1e-5, abs=64 * np.finfo(float).eps * abs(offset))


def test_estimated_games_compare_by_value():
    """The default == compared the interval arrays with == and raised; now two estimates from the same
    samples are equal and one from other samples is not."""
    samples = simulate(np.random.default_rng(4), 300)
    est = lambda s: estimate_game(s, 2, 3)                                    # noqa: E731
    assert est(samples) == est(samples) and est(samples) != est(samples[:-30])
