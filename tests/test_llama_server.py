"""A served Receiver that really runs: llama.cpp's OpenAI-compatible server on loopback.

The test starts ``python -m llama_cpp.server`` (a real process, the command
docs/llm_bridge.md gives) with SmolLM2-135M-Instruct, and checks that the
OpenAI-compatible Receiver gets from it what the in-process llama.cpp
engine computes from the same file: the same greedy text, the same
per-token log-probabilities (both decode one token at a time after the
prompt, so the arithmetic is the same), and the same Yes/No decisions.
"""
from __future__ import annotations

import sys

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("llama_cpp.server.app")

from llm_bridge.models.llama_engine import LlamaCppModel  # noqa: E402
from llm_bridge.models.language_model import ModelConfig, SamplingConfig, smollm2_gguf  # noqa: E402
from llm_bridge.models.openai_receiver import LLAMA_CPP_PLAIN, from_spec  # noqa: E402
from llm_bridge.models.choice_receiver import ChoiceReceiver  # noqa: E402

from ._loopback import free_port, server_process  # noqa: E402

PROMPTS = ["What is 2+2? Answer briefly.", "Name a colour of the sky.", "Write one word that rhymes with cat."]
HEAD = "Problem: Tom has 3 apples and buys 4 more. How many apples does he have?\nA junior solver proposes: {}\n"
TAILS = ["Submit the proposed answer? Reply with one word: Yes or No.",
         "An advisor recommends declining it. Submit the proposed answer? Reply with one word: Yes or No."]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path, port = smollm2_gguf(), free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", path, "--host", "127.0.0.1", "--port", str(port),
           "--n_threads", "2", "--n_ctx", "4096", "--logits_all", "true", "--model_alias", "smol",
           "--verbose", "false"]
    url = f"http://127.0.0.1:{port}"
    with server_process(cmd, url + "/v1/models", tmp_path_factory.mktemp("server") / "server.log"):
        local = LlamaCppModel(path, ModelConfig(path, engine="llama.cpp", n_threads=2))
        yield from_spec(f"openai:{url}#smol", max_tokens=32, concurrency=2, extra_body=LLAMA_CPP_PLAIN), local
        local.close()


def test_served_generation_equals_the_in_process_engine(served):
    remote, local = served
    greedy = SamplingConfig(max_new_tokens=32)
    assert remote.generate(PROMPTS, greedy) == local.generate(PROMPTS, greedy)


def test_the_servers_default_repeat_penalty_changes_greedy_text(served):
    """Why LLAMA_CPP_PLAIN exists: without it the server penalises repeats even at temperature 0.  Prose of a
    few lines reuses tokens, so the penalty changes it; a short answer with nothing repeated can come out the
    same (the earlier prompts of this file did, on an AVX-512 machine), so the test writes prose."""
    remote, local = served
    greedy = SamplingConfig(max_new_tokens=32)
    prompt = ["Write a short poem about the sea.", "Explain what a prime number is."]
    remote.extra_body = None
    try:
        penalised = remote.generate(prompt, greedy)
    finally:
        remote.extra_body = LLAMA_CPP_PLAIN
    plain = local.generate(prompt, greedy)
    assert plain == remote.generate(prompt, greedy) and penalised != plain


def test_served_scored_generation_has_the_in_process_log_probabilities(served):
    remote, local = served
    greedy = SamplingConfig(max_new_tokens=32)
    for r, g in zip(remote.generate_scored(PROMPTS, greedy), local.generate_scored(PROMPTS, greedy)):
        assert r.text == g.text and r.n_tokens == g.n_tokens
        assert r.logprob == pytest.approx(g.logprob, abs=1e-3)


def test_a_written_answer_without_log_probabilities_is_the_same_text_and_length(served):
    """generate_counted (what the written-answer games ask a served Receiver for) leaves the costly
    log-probabilities out: same text and token count as the scored request and as the in-process engine."""
    import math
    from llm_bridge.models.language_model import written_answers
    remote, local = served
    greedy = SamplingConfig(max_new_tokens=32)
    counted, scored = remote.generate_counted(PROMPTS, greedy), remote.generate_scored(PROMPTS, greedy)
    assert [(c.text, c.n_tokens) for c in counted] == [(s.text, s.n_tokens) for s in scored]
    assert all(math.isnan(c.logprob) for c in counted)
    assert [(g.text, g.n_tokens) for g in written_answers(local, PROMPTS, greedy)] == \
        [(c.text, c.n_tokens) for c in written_answers(remote, PROMPTS, greedy)]


def test_served_decisions_match_the_in_process_decisions(served):
    """The server evaluates each whole prompt in one batch, the in-process receiver the head once and
    each tail on its cache: quantised kernels round the two a little differently, so the probabilities
    agree to a few hundredths and the decision wherever it is not within that of 1/2."""
    remote, local = served
    mine = ChoiceReceiver(local)
    for proposal in ("7", "12"):
        head = HEAD.format(proposal)
        here = mine.choose(head, TAILS, options=("No", "Yes"))
        there = remote.choose(head, TAILS, options=("No", "Yes"))
        for a, b in zip(here, there):
            assert abs(a.probs["Yes"] - b.probs["Yes"]) < 0.05
            if abs(a.probs["Yes"] - 0.5) > 0.05:
                assert a.letter == b.letter


def test_the_written_answer_replay_finds_the_logged_text_and_where_a_changed_one_departs(served, tmp_path):
    """experiments.engine_agreement --written, through the server, on a log the in-process engine wrote:
    identical where nothing was changed; a logged answer altered at character 5 is reported as departing
    there."""
    import json
    from experiments.engine_agreement import main
    remote, local = served
    gens = local.generate(PROMPTS, SamplingConfig(max_new_tokens=24))
    rows = [{"key": f"p{i}", "prompt": p, "output": g} for i, (p, g) in enumerate(zip(PROMPTS, gens))]
    text = rows[1]["output"]
    assert len(text) > 6
    rows[1]["output"] = text[:5] + ("#" if text[5] != "#" else "%") + text[6:]
    run = tmp_path / "run"
    run.mkdir()
    (run / "generations.jsonl").write_text("\n".join(json.dumps(r) for r in
                                                    [{"header": True, "config": {"max_new_tokens": 24}}, *rows]))
    out = tmp_path / "agreement.json"
    assert main([str(run), "--written", "--receiver", f"openai:{remote.base_url}#smol", "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["n"] == 3 and rep["identical"] == 2 and rep["max_new_tokens"] == 24
    assert [r["first_difference"] for r in rep["rows"]] == [None, 5, None]


def test_a_probe_runs_on_a_served_receiver_as_in_process(served, tmp_path):
    """experiments.hint_values --receiver openai:URL#MODEL (with --extra-body for llama.cpp's server) writes
    the answers, truncation and report the in-process engine gives on the same problems."""
    import json
    pytest.importorskip("reasoning_gym")
    pytest.importorskip("math_verify")
    from experiments import hint_values
    from llm_bridge.games.hints import gsm_menus
    from llm_bridge.models.openai_receiver import LLAMA_CPP_PLAIN
    from llm_bridge.tasks.problems import gsm_symbolic
    remote, local = served
    args = ["--receiver", f"openai:{remote.base_url}#smol", "--extra-body", json.dumps(LLAMA_CPP_PLAIN),
            "--n", "2", "--pool", "200", "--max-new-tokens", "24", "--out", str(tmp_path / "served")]
    assert hint_values.main(args) == 0
    here = hint_values.run(local, gsm_menus(gsm_symbolic(200, seed=0), 2), tmp_path / "local", 24, progress=False)
    def answers(folder):
        return {(r["id"], r["condition"]): (r["output"], r["n_tokens"])
                for r in map(json.loads, (folder / "generations.jsonl").read_text().splitlines())}
    assert answers(tmp_path / "served") == answers(tmp_path / "local") and len(answers(tmp_path / "local")) == 8
    there = json.loads((tmp_path / "served" / "report.json").read_text())
    assert there["conditions"] == json.loads(json.dumps(here["conditions"]))
