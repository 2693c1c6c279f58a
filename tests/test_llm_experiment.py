"""The LLM experiment end to end with tiny models, and its resumption.

Tiny from-scratch models answer nonsense, so the accuracies here are zero;
what is tested is the pipeline: every phase writes its generations, the
estimated game is solved, the Advisor is trained and saved, the four
conditions are evaluated, and an interrupted run resumes without redoing or
duplicating generations and ends with the same report.
"""
import json

import pytest

torch = pytest.importorskip("torch")

from llm_bridge.experiment import CONDITIONS, ExperimentConfig, champ_spec, format_report, run_experiment
from llm_bridge.models import LanguageModel, ModelConfig
from llm_bridge.tasks import champ
from llm_bridge.tiny import char_tokenizer, tiny_gpt2


def models():
    tok = char_tokenizer()
    receiver = LanguageModel(tok, tiny_gpt2(tok, seed=1), ModelConfig("tiny-receiver", batch_size=8))
    tok2 = char_tokenizer()
    advisor = LanguageModel(tok2, tiny_gpt2(tok2, seed=2), ModelConfig("tiny-advisor", batch_size=8))
    return receiver, advisor


@pytest.fixture(scope="module")
def setup():
    problems = champ(categories=["Combinatorics", "Inequality", "Sequence"])
    return problems, champ_spec(problems)


def cfg(out):
    return ExperimentConfig(out=str(out), n_estimation=2, n_evaluation=5, max_new_tokens=12, signals_per_problem=4,
                            sft_epochs=2)


class Interrupt(Exception):
    pass


class FlakyReceiver:
    """Delegates to a real model and is interrupted after a number of generations."""

    def __init__(self, lm, budget):
        self.lm, self.budget, self.config = lm, budget, lm.config

    def generate_scored(self, prompts, sampling=None, progress=False):
        if self.budget <= 0:
            raise Interrupt()
        self.budget -= len(prompts)
        return self.lm.generate_scored(prompts, sampling)


def test_end_to_end_and_resume_give_the_same_report(setup, tmp_path):
    problems, spec = setup
    receiver, advisor = models()
    report = run_experiment(problems, spec, receiver, advisor, cfg(tmp_path / "clean"), progress=False)
    assert set(report["conditions"]) == set(CONDITIONS)
    assert all(r["n"] == 5 for r in report["conditions"].values())
    assert (tmp_path / "clean" / "advisor" / "config.json").exists()
    lines = (tmp_path / "clean" / "generations.jsonl").read_text().splitlines()
    n_states = len(spec.states)
    assert len(lines) == 2 * n_states * n_states + 5 * len(CONDITIONS)
    rec = json.loads(lines[0])
    assert {"prompt", "output", "correct", "reason", "seed", "receiver_loglik"} <= set(rec)
    assert "Case:" in format_report(report)

    # interrupted half-way through the estimation phase, then resumed
    receiver2, advisor2 = models()
    with pytest.raises(Interrupt):
        run_experiment(problems, spec, FlakyReceiver(receiver2, 16), advisor2, cfg(tmp_path / "resumed"),
                       progress=False)
    partial = (tmp_path / "resumed" / "generations.jsonl").read_text().splitlines()
    assert 0 < len(partial) < 2 * n_states * n_states
    receiver3, advisor3 = models()
    again = run_experiment(problems, spec, receiver3, advisor3, cfg(tmp_path / "resumed"), progress=False)
    keys = [json.loads(x)["key"] for x in (tmp_path / "resumed" / "generations.jsonl").read_text().splitlines()]
    assert len(keys) == len(set(keys)) == len(lines)
    assert again["conditions"] == report["conditions"] and again["predicted_value"] == report["predicted_value"]


def test_document_spec_places_the_relevant_document_at_the_state():
    from llm_bridge.experiment import DocumentSpec
    from llm_bridge.tasks import gsm_symbolic
    probs = gsm_symbolic(12, seed=5)
    spec = DocumentSpec(probs, "worked_solution", k=3, seed=1)
    again = DocumentSpec(probs, "worked_solution", k=3, seed=1)
    assert spec.states == ["document 1", "document 2", "document 3"]
    for p in probs:
        w = spec.state_of(p)
        assert w == again.state_of(p)
        assert p.items["worked_solution"] in spec.guidance_for(p, w)
        others = [spec.guidance_for(p, a) for a in range(3) if a != w]
        assert all(p.items["worked_solution"] not in g for g in others)
    assert len({spec.state_of(p) for p in probs}) > 1


def test_a_run_stopped_in_the_evaluation_phase_resumes_to_the_same_sheets(setup, tmp_path):
    """Stopped after the Advisor was trained and saved, the resumed run draws the same prior-item sheets as
    an uninterrupted run (the random stream does not depend on whether the Advisor was trained or loaded)."""
    problems, spec = setup
    receiver, advisor = models()
    clean = run_experiment(problems, spec, receiver, advisor, cfg(tmp_path / "clean"), progress=False)
    n_est = 2 * len(spec.states) ** 2
    receiver2, advisor2 = models()
    with pytest.raises(Interrupt):
        run_experiment(problems, spec, FlakyReceiver(receiver2, n_est + 1), advisor2, cfg(tmp_path / "resumed"),
                       progress=False)
    assert (tmp_path / "resumed" / "advisor" / "config.json").exists()
    receiver3, advisor3 = models()
    again = run_experiment(problems, spec, receiver3, advisor3, cfg(tmp_path / "resumed"), progress=False)

    def sheets(folder):
        recs = [json.loads(x) for x in (folder / "generations.jsonl").read_text().splitlines()]
        return {r["key"]: (r["action"], r["output"]) for r in recs}
    assert sheets(tmp_path / "resumed") == sheets(tmp_path / "clean")
    assert again["conditions"] == clean["conditions"]
