"""Online play against a Receiver's recorded responses (llm_bridge.studies.online_play), and its run log.

What defines a right answer here: the exact expected payoff of a scheme
equals the average payoff of many sampled rounds (within stated error); the
pseudo-regret of the best fixed scheme is zero and every other scheme's is
its value gap; hindsight regret is recomputed by brute force; the
behavioural learner finds the best scheme of a signal-only Receiver that the
model-based learners, given a wrong model, do not; the real path (a tiny
model's decisions, logged, killed and resumed) gives the same table.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_bridge.games import review_game as rg
from llm_bridge.studies.online_play import (INFORMED, SIGNAL_ONLY, OnlineConfig, ResponseTable, deterministic_schemes,
                                    expected_payoff, make_learner, play, study)
from llm_bridge.studies.run_log import RunLog

V = rg.TARGETS["submission"]
U_WRONG = np.log(np.array([[0.9, 0.1], [0.1, 0.9]]))      # a Receiver model that wants to be right


def table_of(signal_p: np.ndarray, n: int = 20, informed=None, noise: float = 0.0, seed: int = 0) -> ResponseTable:
    """A synthetic table: every problem responds as ``signal_p`` (plus per-problem noise)."""
    rng = np.random.default_rng(seed)
    sig = np.clip(np.asarray(signal_p)[None] + noise * rng.standard_normal((n, 2, 2)), 0.01, 0.99)
    inf = np.zeros((0, 1, 2, 2)) if informed is None else np.asarray(informed)
    told = np.tile([[0.9, 0.1]], (10, 1))
    levels = (0.0, 0.5, 1.0)
    belief = np.tile(np.array(levels)[None, None], (10, 2, 1))
    return ResponseTable(tuple(map(str, range(n))), tuple(map(str, range(10))), sig, sig[:, :, 0].copy(), told,
                         inf, belief, levels, 0, 0)


def cfg(tmp_path, **kw):
    base = dict(out=str(tmp_path), n_estimation=10, n_pool=20, rounds=600, informed_rounds=300, seeds=4,
                bootstrap=200)
    base.update(kw)
    return OnlineConfig(**base)


# ---------------------------------------------------------------- exact payoffs
@given(st.lists(st.floats(0.02, 0.98), min_size=4, max_size=4), st.floats(0.05, 0.95), st.floats(0, 1),
       st.floats(0, 1))
def test_expected_payoff_is_the_mean_payoff_of_rounds(ps, base, a, b):
    P = np.array(ps).reshape(2, 2)
    prior = np.array([base, 1 - base])
    scheme = np.array([[a, 1 - a], [b, 1 - b]])
    rng = np.random.default_rng(0)
    N = 20_000
    w = (rng.random(N) >= prior[0]).astype(int)
    s = (rng.random(N) >= scheme[w, 0]).astype(int)
    act = (rng.random(N) >= P[w, s]).astype(int)
    mc = V[w, act].mean()
    # payoffs are 0/1: the standard error is at most 0.5 / sqrt(N); 5 of them fail with probability < 1e-6
    assert abs(mc - expected_payoff(P, V, prior, scheme)) < 5 * 0.5 / np.sqrt(N)


def test_best_fixed_scheme_has_zero_pseudo_regret_and_others_their_gap(tmp_path):
    c = cfg(tmp_path)
    P = np.array([[0.4, 0.2], [0.35, 0.05]])             # 'submit' raises submission in both states
    tab = table_of(P)
    values = [expected_payoff(P, V, c.prior, s) for s in deterministic_schemes()]

    class Fixed:
        name = "fixed"

        def __init__(self, scheme):
            self.scheme = scheme

        def reset(self, view, T):
            pass

        def commit(self, t):
            return self.scheme

        def next_update(self, t):
            return float("inf")

        def observe(self, *a):
            pass

    for s, v in zip(deterministic_schemes(), values):
        tr = play(tab, Fixed(s), V, U_WRONG, c, SIGNAL_ONLY, 300, seed=1)
        assert np.allclose(tr.regret, max(values) - v)
    assert np.argmax(values) == 0 and np.allclose(deterministic_schemes()[0], [[1, 0], [1, 0]])


def test_hindsight_regret_matches_brute_force(tmp_path):
    c = cfg(tmp_path)
    tab = table_of([[0.4, 0.2], [0.35, 0.05]], noise=0.2, seed=3)
    tr = play(tab, make_learner("behavioural", c, SIGNAL_ONLY, 0), V, U_WRONG, c, SIGNAL_ONLY, 200, seed=2)
    schemes = np.zeros((200, 2, 2))
    # the behavioural learner commits every round; rebuild its schemes from its history
    learner = make_learner("behavioural", c, SIGNAL_ONLY, 0)
    tr2 = play(tab, learner, V, U_WRONG, c, SIGNAL_ONLY, 200, seed=2)
    for h in learner.history:
        schemes[h["t"] - 1] = h["scheme"]
    assert np.array_equal(tr.actions, tr2.actions)
    per_problem = lambda s, i: expected_payoff(tab.signal[i], V, c.prior, s)      # noqa: E731
    ours = np.array([per_problem(schemes[t], i) for t, i in enumerate(tr.problems)])
    for T in (1, 50, 200):
        best = max(sum(per_problem(s, i) for i in tr.problems[:T]) for s in deterministic_schemes())
        assert np.isclose(tr.hindsight_regret[T - 1], best - ours[:T].sum())


# ---------------------------------------------------------------- learners against a signal-only Receiver
def test_behavioural_learner_finds_what_a_wrong_model_misses(tmp_path):
    """A Receiver that submits more after 'submit' whatever it believes: always recommending submit is best.
    The model-based learners, told the Receiver wants to be right, persuade that model (recommend submit on
    a wrong proposal only as often as it would obey); the behavioural learner, told nothing, learns to
    recommend submit (its per-round regret in the last quarter is near zero)."""
    c = cfg(tmp_path, seeds=4)
    P = np.array([[0.6, 0.2], [0.5, 0.1]])
    tab = table_of(P, noise=0.05)
    res = {name: [play(tab, make_learner(name, c, SIGNAL_ONLY, s), V, U_WRONG, c, SIGNAL_ONLY, 600, s)
                  for s in range(4)] for name in ("robust", "behavioural", "full-revelation")}
    last = {k: np.mean([tr.regret[-150:].mean() for tr in v]) for k, v in res.items()}
    gap = expected_payoff(tab.signal.mean(0), V, c.prior, np.array([[1.0, 0], [1, 0]])) - \
        expected_payoff(tab.signal.mean(0), V, c.prior, np.array([[1.0, 0], [0, 1]]))
    assert gap > 0.2
    assert last["full-revelation"] == pytest.approx(gap)
    assert last["robust"] > 0.5 * gap          # it persuades a model Receiver, not this one: it stays far off
    assert last["behavioural"] < 0.05 * gap


def test_informed_play_rounds_schemes_to_the_grid(tmp_path):
    c = cfg(tmp_path, n_informed=20, informed_grid=(0.0, 0.5, 1.0))
    K = 3
    # the Receiver submits after 'submit' with probability falling in the stated P(submit | wrong)
    inf = np.zeros((20, K, 2, 2))
    for k, q in enumerate(c.informed_grid):
        inf[:, k, :, 0] = 0.9 - 0.6 * q
        inf[:, k, :, 1] = 0.1
    tab = table_of([[0.5, 0.1], [0.5, 0.1]], informed=inf)
    tr = play(tab, make_learner("behavioural", c, INFORMED, 0), V, U_WRONG, c, INFORMED, 300, seed=0)
    assert set(np.unique(tr.arms)) <= {0, 1, 2}
    values = [r["value"] for r in study(tab, c)["modes"][INFORMED]["candidates"]]
    assert np.isclose(tr.best_value, max(values))
    assert (tr.regret >= -1e-12).all()


def test_study_reports_bands_bound_and_every_learner(tmp_path):
    c = cfg(tmp_path, seeds=3, rounds=300)
    out = study(table_of([[0.6, 0.2], [0.5, 0.1]], noise=0.05), c)
    res = out["modes"][SIGNAL_ONLY]
    assert set(res["learners"]) == set(c.learners)
    for r in res["learners"].values():
        assert all(lo <= m + 1e-9 and m <= hi + 1e-9 for lo, m, hi in zip(r["lo"], r["mean"], r["hi"]))
    assert len(res["bound"]["value"]) == len(res["t"]) and isinstance(res["bound"]["within_theorem"], bool)


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ValueError, match="base_rate"):
        OnlineConfig(out=str(tmp_path), base_rate=1.5)
    with pytest.raises(ValueError, match="learners"):
        OnlineConfig(out=str(tmp_path), learners=("robust", "psychic"))
    with pytest.raises(ValueError, match="n_informed"):
        OnlineConfig(out=str(tmp_path), n_pool=5, n_informed=9)


# ---------------------------------------------------------------- the run log
def test_run_log_cuts_a_torn_line_and_refuses_other_settings(tmp_path):
    path = tmp_path / "log.jsonl"
    log = RunLog(path, {"a": 1})
    log.add_many([{"key": "x", "v": 1}, {"key": "y", "v": 2}])
    with open(path, "ab") as fh:
        fh.write(b'{"key": "z", "v"')                     # a kill in the middle of a record
    log2 = RunLog(path, {"a": 1})
    assert set(log2.done) == {"x", "y"}
    log2.add({"key": "z", "v": 3})
    assert RunLog(path, {"a": 1}).done["z"]["v"] == 3     # not glued to the torn line
    with pytest.raises(ValueError, match="another configuration"):
        RunLog(path, {"a": 2})


@pytest.mark.slow
def test_response_table_survives_kill_9_and_resumes_to_the_same_table(tmp_path):
    """The real path on a tiny untrained model: a writer killed with SIGKILL mid-run resumes to the table an
    uninterrupted run builds, decision for decision (to float rounding: a resumed batch holds fewer prompts)."""
    def script(out):
        return textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {os.getcwd()!r})
            from llm_bridge.models.language_model import load_by_name
            from llm_bridge.models.choice_receiver import ChoiceReceiver
            from llm_bridge.studies.online_play import OnlineConfig, RunLog, build_table, load_pool, table_settings
            import json, numpy as np
            cfg = OnlineConfig(out={str(out)!r}, n_estimation=2, n_pool=3, n_informed=1, informed_grid=(0.0, 1.0),
                               belief_levels=(0.0, 0.5, 1.0))
            log = RunLog({str(out / "responses.jsonl")!r}, {{"receiver": "tiny", **table_settings(cfg)}})
            est, pool = load_pool(cfg)
            t = build_table(ChoiceReceiver(load_by_name("tiny")), cfg, log, est, pool)
            print(json.dumps([t.signal.tolist(), t.told.tolist(), t.informed.tolist(), t.belief.tolist()]))
        """)
    whole = subprocess.run([sys.executable, "-c", script(tmp_path / "a")], capture_output=True, text=True,
                           timeout=300)
    assert whole.returncode == 0, whole.stderr[-2000:]
    (tmp_path / "b").mkdir()
    log_b = tmp_path / "b" / "responses.jsonl"
    for wait in (0.5, 1.5):                               # kill twice, at different points
        p = subprocess.Popen([sys.executable, "-c", script(tmp_path / "b")], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while (not log_b.exists() or log_b.stat().st_size < 200) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(wait)
        p.send_signal(signal.SIGKILL)
        p.wait()
    resumed = subprocess.run([sys.executable, "-c", script(tmp_path / "b")], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # batches differ after a resume (only the missing prompts run), so allow float rounding, nothing more
    for a, b in zip(json.loads(resumed.stdout), json.loads(whole.stdout)):
        assert np.allclose(a, b, rtol=0, atol=1e-6)


def test_figure_from_a_study(tmp_path):
    from paper_figures import fig_online_llm
    c = cfg(tmp_path, seeds=2, rounds=200, n_informed=20, informed_grid=(0.0, 1.0))
    inf = np.tile(np.array([[[0.6, 0.1], [0.5, 0.1]], [[0.7, 0.1], [0.6, 0.1]]])[None], (20, 1, 1, 1))
    out = study(table_of([[0.6, 0.2], [0.5, 0.1]], informed=inf), c)
    out["receiver"] = "synthetic"
    path = tmp_path / "report.json"
    path.write_text(json.dumps(out))
    paths = fig_online_llm.draw([path], tmp_path / "fig")
    assert all(p.stat().st_size > 1000 for p in paths)


# ---------------------------------------------------------------- the identified Receiver model
def test_belief_models_recover_a_quantal_bayesian_and_its_threshold():
    from llm_bridge.studies.online_play import fit_belief_models, threshold_interval
    mu = np.linspace(0, 1, 11)
    rng = np.random.default_rng(0)
    y = np.clip(1 / (1 + np.exp(-8 * (mu[None] - 0.6))) + 0.05 * rng.standard_normal((60, 11)), 0, 1)
    fit = fit_belief_models(mu, y)
    assert fit["identified"] and abs(fit["qre"]["threshold"] - 0.6) < 0.02 and abs(fit["qre"]["lambda"] - 8) < 1.5
    assert fit["qre"]["loglik_per_decision"] >= fit["biased_bayes"]["loglik_per_decision"] - 1e-9
    iv = threshold_interval(mu, y, reps=400)
    assert iv["lo"] <= 0.6 <= iv["hi"] and iv["never_crosses"] == 0


def test_a_receiver_that_never_crosses_is_not_identified():
    from llm_bridge.studies.online_play import fit_belief_models, threshold_interval
    mu = np.linspace(0, 1, 11)
    y = np.full((30, 11), 0.2)                    # qwen05 on the told probes: never submits, at any belief
    assert not fit_belief_models(mu, y)["identified"]
    assert threshold_interval(mu, y, reps=100) == {"point": None, "lo": None, "hi": None, "never_crosses": 1.0}


def test_the_worst_case_scheme_clears_every_threshold_in_the_set():
    from persuasion import PersuasionGame
    from persuasion.online import evaluate_scheme
    from llm_bridge.games.receiver_models import threshold_utility, worst_case_scheme
    prior = np.array([0.3, 0.7])
    scheme, worst, t = worst_case_scheme(prior, V, [0.5, 0.6, 0.7])
    assert t == 0.7                               # the highest threshold is the one to clear
    for t in (0.5, 0.6, 0.7):
        out = evaluate_scheme(PersuasionGame(prior, V, threshold_utility(t)), scheme)
        assert out.obedient and out.expected_utility >= worst - 1e-12
    # the optimum for the lowest threshold fails the highest: its worst case is full revelation's 0.3
    low, _, _ = worst_case_scheme(prior, V, [0.5])
    assert evaluate_scheme(PersuasionGame(prior, V, threshold_utility(0.7)), low).expected_utility < worst


def test_paired_effects_are_the_per_problem_differences():
    from llm_bridge.studies.online_play import paired_effects
    tab = table_of([[0.6, 0.2], [0.5, 0.1]], noise=0.05, seed=5)
    eff = paired_effects(tab)
    d = tab.signal[:, 1, 0] - tab.signal[:, 1, 1]
    assert np.isclose(eff["wrong"]["mean"], d.mean()) and eff["wrong"]["ci"][0] < d.mean() < eff["wrong"]["ci"][1]
    assert eff["correct"]["p"] < 1e-6 and eff["told"]["ci"] is None      # the synthetic told column is constant


def test_runner_end_to_end_and_the_aligned_control_from_the_same_table(tmp_path):
    """The runner on a tiny model; then the `decision` target replayed on the same logged table, which does
    not depend on the target: no new decision is made, and the report is written beside the first."""
    from experiments.online_llm import main
    out = tmp_path / "smoke"
    assert main(["experiments/configs/online_smoke.toml", "--out", str(out)]) == 0
    lines = (out / "responses.jsonl").read_text().count("\n")
    assert main(["experiments/configs/online_smoke.toml", "--out", str(out), "--report-only",
                 "--target", "decision"]) == 0
    assert (out / "responses.jsonl").read_text().count("\n") == lines          # no new decisions
    rep = json.loads((out / "report_decision.json").read_text())
    assert rep["config"]["target"] == "decision" and json.loads((out / "report.json").read_text())["config"]["target"] == "submission"
    for mode in rep["modes"].values():
        assert mode["best_value"] == max(c["value"] for c in mode["candidates"])


def test_an_unidentified_threshold_is_taken_at_the_worst_case_of_its_set(tmp_path):
    """A Receiver whose graded-belief responses never cross 1/2 (it submits at every stated level): the
    model given to the learners is a step Receiver at the worst case of the thresholds the data leave
    open, never the told-verdict smoothing's point."""
    from llm_bridge.studies.online_play import model_utility
    from llm_bridge.games.receiver_models import threshold_utility
    t = table_of([[0.9, 0.1], [0.9, 0.1]])
    flat = ResponseTable(t.pool_ids, t.estimation_ids, t.signal, t.alone, t.told, t.informed,
                         np.full_like(t.belief, 0.8), t.belief_levels, 0, 0)
    U, info = model_utility(flat, cfg(tmp_path))
    assert "not identified" in info["source"]
    ts = info["threshold_set"]
    assert 0 <= ts["lo"] <= ts["hi"] <= 1
    t_star = U[1, 1]                                       # threshold_utility(t) = [[1 - t, 0], [0, t]]
    assert np.allclose(U, threshold_utility(t_star)) and ts["lo"] - 1e-3 <= t_star <= ts["hi"] + 1e-3


def test_tables_and_traces_compare_by_value(tmp_path):
    """Both hold arrays, so the dataclass default == raised "the truth value of an array is ambiguous"."""
    c = cfg(tmp_path)
    tab = table_of([[0.4, 0.2], [0.35, 0.05]], noise=0.2, seed=3)
    assert tab == table_of([[0.4, 0.2], [0.35, 0.05]], noise=0.2, seed=3) != table_of([[0.4, 0.2], [0.35, 0.05]])
    run = lambda seed: play(tab, make_learner("behavioural", c, SIGNAL_ONLY, 0), V, U_WRONG, c,  # noqa: E731
                            SIGNAL_ONLY, 100, seed=seed)
    assert run(2) == run(2) and run(2) != run(3)
