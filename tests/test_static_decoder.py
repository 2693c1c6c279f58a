"""Our own decode loop (``ModelConfig.decode = "static" | "compiled"``) against transformers' ``generate``.

* Greedy decoding gives the same token ids as ``generate`` and the same log-probabilities (1e-4 in fp32),
  for both architectures the loop runs (Qwen2, Llama), with left-padded prompts of different lengths, a
  repetition penalty from the model's generation config, a minimum length, and rows that end early.
* The compiled step (``torch.compile``) gives the same ids as the eager one, and so does the compiled
  step attending through ``flex_attention`` (``decode_attention="flex"``), past a cache block boundary and
  with query heads per key/value head that are not a power of two (as in Qwen2.5, 7); a flex step reads
  only the cache blocks filled so far (slots beyond them hold NaN and the step's output stays finite).
* Sampling draws the first token from the distribution transformers' own processors define
  (temperature, top-k, top-p), checked by a chi-square test on 4,000 draws (fixed seed; at the 1e-3 level
  a correct sampler fails with probability 1e-3 over seeds, and this seed is fixed).
* The next token's choice in two stages: tests/test_vocab_reduction.py (this module needs no hypothesis,
  so benchmarks/gpu_session.sh runs it on a lent machine that has only torch, transformers and pytest).
* Models the loop cannot run, and unknown decode values, are refused by name.

On a machine with CUDA every test also runs there (each step replayed from a CUDA graph); on CPU the
same code runs without graphs.
"""
import pytest

torch = pytest.importorskip("torch")

from llm_bridge.models.language_model import LanguageModel, ModelConfig, SamplingConfig
from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
PROMPTS = ["hello there", "a much longer prompt about numbers 1 2 3 and more", "x", "what is 2+2?", "ok"]


def _model(kind: str, tok, seed: int = 0, heads: int = 4):
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
    torch.manual_seed(seed)
    common = dict(hidden_size=16 * heads, num_hidden_layers=2, num_attention_heads=heads, num_key_value_heads=2,
                  intermediate_size=128, vocab_size=len(tok), max_position_embeddings=512,
                  bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model = Qwen2ForCausalLM(Qwen2Config(**common)) if kind == "qwen2" else LlamaForCausalLM(LlamaConfig(**common))
    with torch.no_grad():
        # the padding token's logit is 0, which a repetition penalty leaves as it is: transformers releases
        # differ on whether the prompt's padding counts as repeated (5.17 yes, 5.25 no; ours no)
        model.lm_head.weight[tok.pad_token_id] = 0.0
    return model


def _lm(tok, model, device, decode, batch_size=8, attention="sdpa"):
    return LanguageModel(tok, model, ModelConfig("tiny", device=device, decode=decode, batch_size=batch_size,
                                                 chat_template=False, decode_attention=attention))


def _same(a, b, tol=1e-4):
    assert [g.token_ids for g in a] == [g.token_ids for g in b]
    assert [g.text for g in a] == [g.text for g in b]
    assert [g.n_tokens for g in a] == [g.n_tokens for g in b]
    for x, y in zip(a, b):
        assert abs(x.logprob - y.logprob) <= tol * max(1.0, abs(y.logprob))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_greedy_equals_generate(kind, device):
    tok = char_tokenizer()
    model = _model(kind, tok)
    model.generation_config.repetition_penalty = 1.3
    sampling = SamplingConfig(max_new_tokens=24, min_new_tokens=3)
    reference = _lm(tok, model, device, "generate", batch_size=3).generate_scored(PROMPTS, sampling)
    ours = _lm(tok, model, device, "static", batch_size=3).generate_scored(PROMPTS, sampling)
    assert max(g.n_tokens for g in reference) == 24           # the control: long generations are compared
    _same(ours, reference)


@pytest.mark.parametrize("device", DEVICES)
def test_rows_that_end_early_stop_and_pad(device):
    """An end token made likely (its output row scaled up) ends rows at different steps; the loop stops
    once all have ended, and texts, counts and log-probabilities still equal generate's."""
    tok = char_tokenizer()
    model = _model("qwen2", tok, seed=3)
    with torch.no_grad():
        model.lm_head.weight[tok.eos_token_id] *= 4.0
        model.lm_head.weight[tok.eos_token_id] += 0.3 * model.lm_head.weight.std()
    sampling = SamplingConfig(max_new_tokens=40)
    reference = _lm(tok, model, device, "generate").generate_scored(PROMPTS, sampling)
    ours = _lm(tok, model, device, "static").generate_scored(PROMPTS, sampling)
    assert any(g.n_tokens < 40 for g in reference), "the control: some row must end early"
    _same(ours, reference)


@pytest.mark.parametrize("device", DEVICES)
def test_compiled_step_equals_eager(device):
    tok = char_tokenizer()
    model = _model("qwen2", tok, seed=1)
    sampling = SamplingConfig(max_new_tokens=16)
    eager = _lm(tok, model, device, "static", batch_size=5)
    compiled = _lm(tok, model, device, "compiled", batch_size=5)
    _same(compiled.generate_scored(PROMPTS, sampling), eager.generate_scored(PROMPTS, sampling))
    # a second call of the same shape reuses the compiled step and its buffers
    _same(compiled.generate_scored(PROMPTS[::-1], sampling), eager.generate_scored(PROMPTS[::-1], sampling))


@pytest.mark.parametrize("device", DEVICES)
def test_flex_attention_step_equals_sdpa(device):
    """Six query heads on two key/value heads (three per group, not a power of two), a repetition penalty,
    and 150 new tokens, so the cache crosses a 128-slot block of the flex block mask."""
    tok = char_tokenizer()
    model = _model("qwen2", tok, seed=5, heads=6)
    model.generation_config.repetition_penalty = 1.2
    sampling = SamplingConfig(max_new_tokens=150)
    eager = _lm(tok, model, device, "static", batch_size=5).generate_scored(PROMPTS, sampling)
    flex = _lm(tok, model, device, "compiled", batch_size=5, attention="flex")
    assert max(g.n_tokens for g in eager) == 150           # the control: the long rows cross the boundary
    _same(flex.generate_scored(PROMPTS, sampling), eager)
    # a second call of the same shape reuses the compiled step, its buffers and its block mask
    _same(flex.generate_scored(PROMPTS[::-1], sampling),
          _lm(tok, model, device, "static", batch_size=5).generate_scored(PROMPTS[::-1], sampling))


@pytest.mark.parametrize("device", DEVICES)
def test_flex_step_reads_only_the_filled_cache_blocks(device):
    from llm_bridge.models.static_decoder import _FLEX_BLOCK, StaticDecoder
    tok = char_tokenizer()
    model = _model("llama", tok, seed=6).to(device)
    decoder = StaticDecoder(model, "compiled", tok.pad_token_id, [tok.eos_token_id], attention="flex")
    ids = torch.tensor([[tok.pad_token_id] * 3 + list(range(5, 15)), list(range(20, 33))], device=device)
    mask = torch.ones_like(ids)
    mask[0, :3] = 0
    sampling = SamplingConfig(max_new_tokens=2 * _FLEX_BLOCK)

    def one_step(poison: bool):
        st = decoder._state(2, ids.shape[1], 2 * _FLEX_BLOCK, decoder.rules(sampling))
        with torch.no_grad():
            decoder._prefill(st, ids, mask)
            if poison:                                   # every slot past the first block
                for cache in st.keys + st.values:
                    cache[:, :, _FLEX_BLOCK:] = float("nan")
            decoder._run_step(st)
        return st.out_logprobs[:, :2].clone()

    clean, poisoned = one_step(False), one_step(True)
    assert torch.isfinite(poisoned).all()
    assert torch.allclose(poisoned, clean, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_weights_changed_in_place_are_used(device):
    """The loop multiplies fused copies of the projection weights; an in-place change of the model's own
    weights (what a fine-tuning step does) must reach them, also in a shape already captured."""
    tok = char_tokenizer()
    model = _model("llama", tok, seed=4)
    sampling = SamplingConfig(max_new_tokens=12)
    ours, reference = _lm(tok, model, device, "static", 5), _lm(tok, model, device, "generate", 5)
    before = ours.generate_scored(PROMPTS, sampling)
    _same(before, reference.generate_scored(PROMPTS, sampling))
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.k_proj.weight.mul_(3.0)
            layer.mlp.up_proj.weight.add_(0.05)
    after = ours.generate_scored(PROMPTS, sampling)
    _same(after, reference.generate_scored(PROMPTS, sampling))
    assert [g.logprob for g in after] != [g.logprob for g in before], "the control: the change must matter"


@pytest.mark.parametrize("device", DEVICES)
def test_sampling_draws_the_processed_distribution(device):
    from scipy.stats import chisquare
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper
    tok = char_tokenizer()
    model = _model("llama", tok, seed=2)
    with torch.no_grad():                     # a spread-out next-token distribution over a few dozen tokens
        model.lm_head.weight *= 6.0
    model.generation_config.top_k = 30
    model.generation_config.repetition_penalty = 1.0
    temperature, top_p, n = 0.8, 0.9, 4000
    lm = _lm(tok, model, device, "static", batch_size=n)
    prompt = "the answer is"
    draws = lm.generate_scored([prompt] * n, SamplingConfig(max_new_tokens=1, temperature=temperature,
                                                            top_p=top_p, seed=7))
    # the independent reference: transformers' own warpers on the model's logits, in generate's order
    ids = torch.tensor([lm.encode(prompt)])
    with torch.no_grad():
        logits = model.to("cpu")(input_ids=ids).logits[:, -1].float()
    scores = logits
    for warper in (TemperatureLogitsWarper(temperature), TopKLogitsWarper(30), TopPLogitsWarper(top_p)):
        scores = warper(ids, scores)
    probs = torch.softmax(scores, dim=-1)[0]
    support = torch.nonzero(probs > 0).flatten().tolist()
    counts = torch.zeros(len(tok))
    for g in draws:
        assert len(g.token_ids) == 1
        counts[g.token_ids[0]] += 1
    assert counts.sum() == n and set(torch.nonzero(counts).flatten().tolist()) <= set(support)
    assert 5 <= len(support) <= 30, "the control: the test needs a distribution over several tokens"
    kept = probs[support].double()
    expected = kept / kept.sum() * n
    stat = chisquare(counts[support].double().numpy(), expected.numpy())
    assert stat.pvalue > 1e-3, stat
    # each draw's log-probability is under the model's own distribution (temperature 1, no filtering)
    own = torch.log_softmax(logits, dim=-1)[0]
    for g in draws[:50]:
        assert abs(g.logprob - float(own[g.token_ids[0]])) < 1e-4


def test_models_outside_the_llama_family_are_refused():
    tok = char_tokenizer()
    with pytest.raises(ValueError, match=r"decode='static'.*model_type 'gpt2'.*decode='generate'"):
        _lm(tok, tiny_gpt2(tok), "cpu", "static")


def test_unknown_decode_value_is_refused():
    tok = char_tokenizer()
    with pytest.raises(ValueError, match=r"decode must be one of .*'fast'"):
        _lm(tok, _model("qwen2", tok), "cpu", "fast")


@pytest.mark.parametrize("decode, attention, message", [
    ("compiled", "paged", r"decode_attention must be one of \('sdpa', 'flex'\); got 'paged'"),
    ("generate", "paged", r"decode_attention must be one of \('sdpa', 'flex'\); got 'paged'"),
    ("static", "flex", r"decode_attention='flex' needs decode='compiled'; got decode='static'"),
    ("generate", "flex", r"decode_attention='flex' needs decode='compiled'.*got decode='generate'"),
])
def test_flex_attention_outside_the_compiled_loop_is_refused(decode, attention, message):
    tok = char_tokenizer()
    with pytest.raises(ValueError, match=message):
        _lm(tok, _model("qwen2", tok), "cpu", decode, attention=attention)
