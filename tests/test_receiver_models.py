"""Receiver models, the revealed-preference estimate, paired tests and split weights."""
import hashlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from llm_bridge.games.receiver_models import (BayesianReceiver, CredulousReceiver, FittedReceiver, case_of, model_case,
                                        predicted_value, revealed_utility)
from llm_bridge.games.review_game import TARGETS
from llm_bridge.studies.stats import holm, mcnemar_exact

PRIOR = np.array([0.3, 0.7])
JUDGE = np.array([[1.0, 0.0], [0.0, 1.0]])      # submits iff P(correct) >= 1/2


def test_bayesian_receiver_gives_the_prosecutor_scheme():
    m = BayesianReceiver(JUDGE, TARGETS["submission"])
    sch = m.optimal_scheme(PRIOR)
    assert sch[0, 0] == pytest.approx(1.0) and sch[1, 0] == pytest.approx(3 / 7)
    assert predicted_value(m, PRIOR, sch, TARGETS["submission"]) == pytest.approx(0.6)
    assert predicted_value(m, PRIOR, np.eye(2), TARGETS["submission"]) == pytest.approx(0.3)
    assert case_of(PRIOR, TARGETS["submission"], JUDGE) == "binds"
    assert case_of(PRIOR, TARGETS["decision"], JUDGE) == "aligned"


def test_credulous_receiver_is_told_to_submit_always():
    m = CredulousReceiver(TARGETS["submission"])
    sch = m.optimal_scheme(PRIOR)
    assert predicted_value(m, PRIOR, sch, TARGETS["submission"]) == pytest.approx(1.0)


def test_fitted_receiver_recovers_a_logistic_response():
    rng = np.random.default_rng(0)
    post = rng.uniform(0, 1, 4000)
    recs = rng.integers(0, 2, 4000)
    true = {0: (-2.0, 4.0), 1: (-3.0, 1.0)}
    p = np.array([1 / (1 + np.exp(-(true[s][0] + true[s][1] * x))) for s, x in zip(recs, post)])
    y = rng.uniform(size=4000) < p
    m = FittedReceiver.fit(TARGETS["submission"], recs, post, y, l2=0.0)
    for s in (0, 1):
        assert m.coef[s] == pytest.approx(true[s], abs=0.5)
    # its optimum is at least as good as every scheme on a coarse grid
    best = predicted_value(m, PRIOR, m.optimal_scheme(PRIOR), TARGETS["submission"])
    for a in np.linspace(0, 1, 11):
        for b in np.linspace(0, 1, 11):
            sch = np.array([[a, 1 - a], [b, 1 - b]])
            assert predicted_value(m, PRIOR, sch, TARGETS["submission"]) <= best + 1e-9


def test_a_recommendation_never_seen_leaves_the_fitted_receiver_unidentified():
    """Fitted on 'submit' probes only, the model has nothing to say about 'decline': it must not answer
    (a made-up 0.5 there once made 'always decline' look optimal)."""
    rng = np.random.default_rng(1)
    post = rng.uniform(0, 1, 200)
    y = rng.uniform(size=200) < post
    one_arm = FittedReceiver.fit(TARGETS["submission"], np.zeros(200, int), post, y)
    assert not one_arm.identified and one_arm.coef[1] is None
    assert 0 < one_arm.p_submit(0, 0.5) < 1
    with pytest.raises(ValueError, match="s=1 had no data"):
        one_arm.p_submit(1, 0.5)
    both = FittedReceiver.fit(TARGETS["submission"], np.arange(200) % 2, post, y)
    assert both.identified


@given(st.lists(st.integers(0, 50), min_size=4, max_size=4))
def test_revealed_utility_is_a_log_choice_probability(c):
    U = revealed_utility(np.array(c).reshape(2, 2))
    assert np.allclose(np.exp(U).sum(axis=1), 1.0)
    for w in (0, 1):
        assert (U[w, 0] >= U[w, 1]) == (c[2 * w] >= c[2 * w + 1])


@settings(max_examples=50)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_mcnemar_counts_discordant_pairs(pairs):
    x, y = zip(*pairs)
    r = mcnemar_exact(x, y)
    assert r["b"] == sum(a and not b for a, b in pairs) and r["c"] == sum(b and not a for a, b in pairs)
    assert 0 <= r["p"] <= 1
    assert mcnemar_exact(x, x)["p"] == 1.0


def test_mcnemar_exact_value():
    # 10 discordant pairs all one way: two-sided p = 2 / 2**10
    x = [1] * 10 + [0] * 5
    y = [0] * 10 + [0] * 5
    assert mcnemar_exact(x, y)["p"] == pytest.approx(2 / 1024)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=10))
def test_holm_dominates_and_is_monotone(p):
    adj = holm(p)
    assert all(a >= b - 1e-15 for a, b in zip(adj, p)) and all(a <= 1 for a in adj)
    order = np.argsort(p)
    assert all(adj[order[i]] <= adj[order[i + 1]] + 1e-15 for i in range(len(p) - 1))


def test_split_weights_assemble_verify_and_cache(tmp_path, monkeypatch):
    from llm_bridge.models import weights
    parts = [tmp_path / f"part{i}.bin" for i in range(3)]
    blobs = [bytes([i]) * (1000 + i) for i in range(3)]
    for p, b in zip(parts, blobs):
        p.write_bytes(b)
    whole = b"".join(blobs)
    spec = weights.SplitWeights("m.gguf", ("a", "b", "c"), ".bin", len(whole), hashlib.sha256(whole).hexdigest(), "test")
    monkeypatch.setattr(weights, "part_files", lambda s: parts)
    out = weights.assemble(spec, tmp_path / "cache")
    assert out.read_bytes() == whole
    assert weights.assemble(spec, tmp_path / "cache") == out            # cached
    bad = weights.SplitWeights("n.gguf", ("a",), ".bin", len(whole), "0" * 64, "test")
    with pytest.raises(weights.WeightsError, match="sha256"):
        weights.assemble(bad, tmp_path / "cache")
    assert not (tmp_path / "cache" / "n.gguf").exists()


def test_missing_part_is_named():
    from llm_bridge.models import weights
    spec = weights.SplitWeights("x.gguf", ("surely-not-installed-part1",), ".bin", 1, "0" * 64, "test")
    with pytest.raises(weights.WeightsError, match="surely-not-installed-part1"):
        weights.part_files(spec)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=4, max_size=4), st.floats(0.05, 0.95),
       st.sampled_from(["submission", "decision"]))
def test_model_case_agrees_with_the_lp_case_for_a_bayesian_receiver(c, p0, target):
    U, V, prior = revealed_utility(np.array(c).reshape(2, 2)), TARGETS[target], np.array([p0, 1 - p0])
    case, best = model_case(BayesianReceiver(U, V), prior, V, tol=1e-9)
    assert case == case_of(prior, V, U)
    assert best >= predicted_value(BayesianReceiver(U, V), prior, np.eye(2), V) - 1e-9


def test_a_receiver_that_ignores_the_scheme_gives_no_persuasion():
    flat = FittedReceiver(TARGETS["submission"], {0: (-3.0, 0.0), 1: (-3.0, 0.0)})
    assert model_case(flat, PRIOR, TARGETS["submission"])[0] == "does not help"


# ------------------------------------------------------------------ the identified threshold set
@settings(max_examples=60, deadline=None, derandomize=True)
@given(t0=st.floats(0.01, 0.99), levels=st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9]),
                                                  min_size=1, max_size=5, unique=True))
def test_a_step_receivers_threshold_lies_in_its_identified_set(t0, levels):
    """Noise-free choices of a step Receiver (submit iff posterior >= t0) at the told verdicts and the probed
    levels: the majority bracket holds t0 and is exactly the gap between the probed levels around it, and
    the bootstrap set contains the bracket."""
    from llm_bridge.games.receiver_models import threshold_set
    lv = [1.0, 0.0] + sorted(levels)
    groups = [pid for pid in range(12) for _ in lv]
    xs = lv * 12
    ys = [x >= t0 for x in xs]
    s = threshold_set(groups, xs, ys, reps=50, seed=1)
    lo, hi = s["point"]
    assert lo < t0 <= hi
    below, above = [x for x in lv if x < t0], [x for x in lv if x >= t0]
    assert (lo, hi) == (max(below), min(above))
    assert s["lo"] <= lo and s["hi"] >= hi


def test_perfect_separation_at_the_told_verdicts_identifies_nothing():
    from llm_bridge.games.receiver_models import threshold_set
    s = threshold_set([0, 0, 1, 1], [1.0, 0.0, 1.0, 0.0], [1, 0, 1, 0], reps=20)
    assert s["point"] == [0.0, 1.0] and (s["lo"], s["hi"]) == (0.0, 1.0)
    with pytest.raises(ValueError, match="threshold_set"):
        threshold_set([0], [0.5, 0.2], [1, 0])
    with pytest.raises(ValueError, match=r"threshold_set: levels must be probabilities in \[0, 1\]; got nan"):
        threshold_set([0, 1], [np.nan, 0.2], [1, 0])             # NaN was left out of every bracket, silently
    with pytest.raises(ValueError, match=r"threshold_set: submitted must be probabilities in \[0, 1\]; got 2"):
        threshold_set([0, 1], [0.5, 0.2], [2, 0])


def test_the_worst_case_scheme_over_an_unidentified_set_is_no_better_than_any_point_in_it():
    """Over the whole (0, 1) the worst case of every scheme for the submission target is full revelation's
    value (a Receiver that needs certainty): the robust scheme cannot promise more."""
    from llm_bridge.games.receiver_models import threshold_grid, threshold_utility, worst_case_scheme
    from persuasion import PersuasionGame
    from persuasion.online import evaluate_scheme
    prior, V = np.array([0.3, 0.7]), np.array([[1.0, 0.0], [1.0, 0.0]])
    grid = threshold_grid(0.0, 1.0, 21)
    scheme, worst, t = worst_case_scheme(prior, V, grid)
    for u in grid:
        assert evaluate_scheme(PersuasionGame(prior, V, threshold_utility(u)), scheme).expected_utility >= worst - 1e-9
    assert worst == pytest.approx(0.3 / 0.999, abs=2e-3)


def test_revealed_utility_needs_smoothing_where_a_choice_was_never_made():
    from llm_bridge.games.receiver_models import revealed_utility
    U = revealed_utility([[3, 1], [0, 4]], smoothing=0.0 + 1e-300)          # any positive smoothing is finite
    assert np.isfinite(U).all() and np.allclose(np.exp(U).sum(axis=1), 1)
    assert np.allclose(revealed_utility([[3, 1], [2, 4]], smoothing=0.0), np.log([[0.75, 0.25], [1 / 3, 2 / 3]]))
    with pytest.raises(ValueError, match=r"choice 0 was never made in state 1.*smoothing must be > 0"):
        revealed_utility([[3, 1], [0, 4]], smoothing=0.0)
    for bad in (-0.5, float("nan")):
        with pytest.raises(ValueError, match="must be finite and >= 0"):
            revealed_utility([[3, 1], [1, 4]], smoothing=bad)


def test_receiver_models_compare_by_value():
    """Each holds arrays, so the dataclass default == raised "the truth value of an array is ambiguous";
    FittedReceiver's coefficients sit in a dict, compared entry by entry too."""
    rng = np.random.default_rng(2)
    post, recs = rng.uniform(0, 1, 300), np.arange(300) % 2
    y = rng.uniform(size=300) < post
    V, U = TARGETS["submission"], np.log([[0.9, 0.1], [0.2, 0.8]])
    fit = lambda: FittedReceiver.fit(V, recs, post, y)                       # noqa: E731
    assert fit() == fit() and fit() != FittedReceiver.fit(V, recs, post, ~y)
    assert BayesianReceiver(U, V) == BayesianReceiver(U.copy(), V.copy()) != BayesianReceiver(U + 1, V)
    assert CredulousReceiver(V) == CredulousReceiver(V.copy()) != BayesianReceiver(U, V)
    with pytest.raises(TypeError, match="unhashable"):
        hash(CredulousReceiver(V))


def test_threshold_helpers_refuse_what_is_not_a_threshold():
    """threshold_utility(nan) was a table of NaNs, threshold_grid(0.5, 0.2) a grid silently, an empty list
    of thresholds an argmax of nothing, and reps = 2.5 a TypeError inside range()."""
    from llm_bridge.games.receiver_models import threshold_grid, threshold_set, threshold_utility, worst_case_scheme
    for t in (float("nan"), 1.5, True, "0.5"):
        with pytest.raises(ValueError, match=r"threshold_utility\(\): t must be a belief threshold in \[0, 1\]"):
            threshold_utility(t)
    for lo, hi, points in ((0.5, 0.2, 11), (float("nan"), 1.0, 11), (0.0, 1.0, 0), (0.0, 1.0, 2.5)):
        with pytest.raises(ValueError, match=r"threshold_grid\(\): need 0 <= lo <= hi <= 1"):
            threshold_grid(lo, hi, points)
    assert threshold_grid(0.3, 0.3, 1).tolist() == [0.3]
    with pytest.raises(ValueError, match=r"worst_case_scheme\(\): thresholds must hold at least one"):
        worst_case_scheme(PRIOR, TARGETS["submission"], [])
    for reps, seed in ((2.5, 0), (-1, 0), (10, None)):
        with pytest.raises(ValueError, match=r"threshold_set: reps must be an integer >= 0 and seed an integer"):
            threshold_set([0, 1], [0.2, 0.8], [0, 1], reps=reps, seed=seed)
