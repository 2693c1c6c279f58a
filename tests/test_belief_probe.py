"""The step-by-step belief probe (llm_bridge.studies.belief_probe).

What defines a right answer here: the scheme built for a posterior gives that posterior by Bayes' rule
(and so does the prompt's wording, read back by a simulated Receiver that computes it from the text);
a Receiver that is a Bayesian with a threshold yields a step curve crossing 1/2 at its threshold, a
positive sensitivity, and written probabilities equal to the true ones; one that ignores the prompt
yields a flat curve and zero sensitivity; a run killed part-way resumes to the same report.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_bridge.models.choice_receiver import Choice
from llm_bridge.models.language_model import Generation
from llm_bridge.studies import belief_probe as bp
from llm_bridge.studies.run_log import RunLog


@given(st.floats(0, 1), st.floats(0.01, 0.99))
def test_the_scheme_built_for_a_posterior_gives_it_by_bayes_rule(t, prior):
    s = bp.scheme_for_posterior(t, prior)
    assert np.all(s >= -1e-12) and np.all(s <= 1 + 1e-12)
    assert np.allclose(s.sum(axis=1), 1.0)
    assert bp.posterior_after_submit(s, prior) == pytest.approx(t, abs=1e-9)
    assert max(s[0, 0], s[1, 0]) == pytest.approx(1.0)      # the most informative such scheme


@pytest.mark.parametrize("bad", [dict(t=-0.1, base_rate=0.3), dict(t=0.5, base_rate=0.0), dict(t=1.2, base_rate=0.5)])
def test_bad_arguments_are_named(bad):
    with pytest.raises(ValueError, match="t must|base_rate must"):
        bp.scheme_for_posterior(**bad)


def test_bad_configs_are_named():
    with pytest.raises(ValueError, match="n_problems"):
        bp.BeliefProbeConfig(out="x", n_problems=1)
    with pytest.raises(ValueError, match="posteriors"):
        bp.BeliefProbeConfig(out="x", posteriors=(0.5, 1.5))


def test_the_written_probability_and_the_decision_point_are_read():
    assert bp.written_probability("P = 0.3*1/(0.3+0.7*0.2)\nProbability: 68%\nDecision: Yes") == pytest.approx(0.68)
    assert bp.written_probability("so the probability is **42.5%**") == pytest.approx(0.425)
    assert bp.written_probability("first 10%, Probability: 20%, then Probability: 30%") == pytest.approx(0.3)
    assert bp.written_probability("no number here") is None
    assert bp.written_probability("Probability: 130%") is None
    assert bp.reasoning_until_decision("x\nDecision: No\nmore") == ("x\nDecision:", True)
    assert bp.reasoning_until_decision("x then stops  ") == ("x then stops\nDecision:", False)


def _implied_posterior(tail: str) -> float:
    """What the prompt says, computed from its words (independently of scheme_for_posterior)."""
    m = re.search(r"probability that the proposal is correct is (\d+)%", tail)
    if m:
        return int(m.group(1)) / 100
    prior = int(re.search(r"correct (\d+)% of the time", tail).group(1)) / 100
    same = re.search(r"does not look at the proposal", tail)
    if same:
        return prior
    a, b = (int(x) / 100 for x in re.findall(r"recommends submitting (\d+)% of the time", tail))
    return prior * a / (prior * a + (1 - prior) * b)


class _Engine:
    def __init__(self, owner):
        self.owner = owner

    def generate_scored(self, prompts, sampling=None):
        self.owner.generated += 1
        t = _implied_posterior(prompts[0])
        text = f"By Bayes' rule the posterior is ...\nProbability: {100 * t:.0f}%\nDecision: {'Yes' if t >= self.owner.threshold else 'No'}"
        return [Generation(text, -1.0, 12)]


class BayesReceiver:
    """Submits with probability 0.95 above its threshold and 0.05 below, reading the posterior from the text
    (or, if ``flat``, submits with probability 0.4 whatever it reads)."""

    def __init__(self, threshold=0.5, flat=False):
        self.threshold, self.flat, self.generated = threshold, flat, 0
        self.lm = _Engine(self)

    def _p(self, text):
        return 0.4 if self.flat else (0.95 if _implied_posterior(text) >= self.threshold - 1e-9 else 0.05)

    def choose(self, head, tails, options):
        return [Choice(head + t, "Yes", {"Yes": self._p(t), "No": 1 - self._p(t)}, True) for t in tails]

    def choose_after(self, prompt, reply, options):
        p = self._p(prompt)
        return Choice(prompt + reply, options[0], {options[0]: p, options[1]: 1 - p}, True)


def test_a_bayesian_receiver_gives_a_step_at_its_threshold_and_a_flat_one_none(tmp_path):
    cfg = bp.BeliefProbeConfig(out=str(tmp_path / "bayes"), n_problems=4, bootstrap=200)
    rep = bp.run_probe(BayesReceiver(threshold=0.5), cfg, "bayes")
    for v in bp.VARIANTS:
        c = rep["curves"][v]
        assert c["mean_p_submit"] == pytest.approx([0.05, 0.05, 0.05, 0.95, 0.95, 0.95], abs=0.011)
        assert 0.4 <= c["threshold"]["point"] <= 0.6
        assert c["sensitivity"] == pytest.approx(0.9, abs=0.011)
    assert rep["stepwise"]["written_abs_error"]["within_5_points"] == 1.0
    assert rep["stepwise"]["wrote_decision"] == 1.0 and rep["stepwise"]["truncated"] == 0.0
    assert rep["tests"]["stepwise vs bare"]["mean"] == pytest.approx(0.0, abs=1e-9)

    flat = bp.run_probe(BayesReceiver(flat=True), bp.BeliefProbeConfig(out=str(tmp_path / "flat"), n_problems=4,
                                                                      bootstrap=200), "flat")
    assert flat["curves"]["stepwise"]["sensitivity"] == pytest.approx(0.0, abs=1e-12)
    assert flat["curves"]["bare"]["threshold"]["point"] is None
    assert not flat["curves"]["bare"]["models"]["identified"]
    assert "stepwise vs bare" in (tmp_path / "flat" / "report.md").read_text()


def test_a_stopped_run_resumes_to_the_same_report_without_rewriting(tmp_path):
    cfg = bp.BeliefProbeConfig(out=str(tmp_path / "run"), n_problems=3, bootstrap=100)
    full = bp.run_probe(BayesReceiver(), cfg, "bayes")
    lines = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    (tmp_path / "run" / "log.jsonl").write_text("\n".join(lines[:len(lines) // 2]) + "\n")
    again = BayesReceiver()
    assert bp.run_probe(again, cfg, "bayes") == full
    assert 0 < again.generated < 3 * 2 * len(cfg.posteriors)            # only the missing answers are written
    assert bp.run_probe(None, cfg, "bayes") == full                      # the report from the log alone
    with pytest.raises(ValueError, match="receiver is None but"):
        bp.run_probe(None, bp.BeliefProbeConfig(out=str(tmp_path / "empty"), n_problems=3), "bayes")
    with pytest.raises(ValueError, match="another configuration"):
        RunLog(tmp_path / "run" / "log.jsonl", {"other": 1})


def test_the_figure_draws_each_receiver_from_its_report(tmp_path):
    from paper_figures import fig_belief_probe
    cfg = bp.BeliefProbeConfig(out=str(tmp_path / "bayes"), n_problems=3, bootstrap=100)
    bp.run_probe(BayesReceiver(), cfg, "bayes")
    mean, lo, hi = fig_belief_probe.band(json.loads((tmp_path / "bayes" / "report.json").read_text())
                                         ["curves"]["stepwise"]["rows"])
    assert np.all(lo <= mean + 1e-12) and np.all(mean <= hi + 1e-12)
    assert mean[0] == pytest.approx(0.05) and mean[-1] == pytest.approx(0.95)
    paths = fig_belief_probe.draw([tmp_path / "bayes" / "report.json"] * 2, tmp_path / "fig")
    assert {p.suffix for p in paths} == {".png", ".pdf"} and all(p.stat().st_size > 0 for p in paths)
