"""One conformance suite, run on every implementation of the bridge's two interfaces
(llm_bridge.models.interfaces): the tiny transformers model, SmolLM2 on the llama.cpp engine, and the same file
behind llama.cpp's OpenAI-compatible server on loopback.

What defines a conforming Receiver: one Choice per tail, the letter one of the options and the argmax of
a distribution over exactly the options, the prompt holding the tail, the shared-work ``choose`` agreeing
with the whole-prompt ``choose_full``, and the same answer twice.  A conforming Advisor: one text per
prompt, greedy text the same twice and the same through ``generate`` and ``generate_scored``, a
non-positive log-probability over at most the allowed number of tokens.
"""
from __future__ import annotations

import math
import sys

import pytest

from llm_bridge.models.interfaces import Advisor, Receiver
from llm_bridge.models.language_model import Generation, SamplingConfig

HEAD = "Problem: Tom has 3 apples and buys 4 more. How many apples does he have?\nA junior solver proposes: 7\n"
TAILS = ["Submit the proposed answer? Reply with one word: Yes or No.",
         "An advisor recommends declining it. Submit the proposed answer? Reply with one word: Yes or No."]
PROMPTS = ["What is 2+2? Answer briefly.", "Name a colour of the sky."]
GREEDY = SamplingConfig(max_new_tokens=8)


def _tiny():
    pytest.importorskip("torch")
    from llm_bridge.models.language_model import LanguageModel, ModelConfig
    from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2
    tok = char_tokenizer()
    return LanguageModel(tok, tiny_gpt2(tok, seed=5), ModelConfig("tiny-5"))


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """name -> (Receiver, Advisor, options), built on first use; servers stopped at the end."""
    import contextlib
    stack = contextlib.ExitStack()
    built = {}

    def get(name):
        if name in built:
            return built[name]
        from llm_bridge.models.choice_receiver import ChoiceReceiver
        if name == "transformers":
            lm = _tiny()
            built[name] = (ChoiceReceiver(lm), lm, ("A", "B"))
        else:
            pytest.importorskip("llama_cpp")
            from llm_bridge.models.llama_engine import LlamaCppModel
            from llm_bridge.models.language_model import ModelConfig, smollm2_gguf
            path = smollm2_gguf()
            if name == "llama.cpp":
                lm = LlamaCppModel(path, ModelConfig(path, engine="llama.cpp", n_threads=2))
                stack.callback(lm.close)
                built[name] = (ChoiceReceiver(lm), lm, ("Yes", "No"))
            else:
                pytest.importorskip("llama_cpp.server.app")
                from llm_bridge.models.openai_receiver import LLAMA_CPP_PLAIN, from_spec
                from ._loopback import free_port, server_process
                port = free_port()
                cmd = [sys.executable, "-m", "llama_cpp.server", "--model", path, "--host", "127.0.0.1",
                       "--port", str(port), "--n_threads", "2", "--n_ctx", "2048", "--logits_all", "true",
                       "--model_alias", "smol", "--verbose", "false"]
                url = f"http://127.0.0.1:{port}"
                stack.enter_context(server_process(cmd, url + "/v1/models",
                                                   tmp_path_factory.mktemp("conformance") / "server.log"))
                rx = from_spec(f"openai:{url}#smol", max_tokens=8, concurrency=2, extra_body=LLAMA_CPP_PLAIN)
                built[name] = (rx, rx, ("Yes", "No"))
        return built[name]

    yield get
    stack.close()


IMPLEMENTATIONS = ["transformers", "llama.cpp", "served"]


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_receiver_conformance(engines, name):
    rx, _, options = engines(name)
    assert isinstance(rx, Receiver)
    choices = rx.choose(HEAD, TAILS, options=options)
    assert len(choices) == len(TAILS)
    for tail, ch in zip(TAILS, choices):
        assert tail in ch.prompt and ch.letter in options and isinstance(ch.on_format, bool)
        assert set(ch.probs) == set(options)
        assert all(0.0 <= p <= 1.0 for p in ch.probs.values()) and math.isclose(sum(ch.probs.values()), 1.0,
                                                                                   abs_tol=1e-6)
        assert ch.probs[ch.letter] == max(ch.probs.values())
        whole = rx.choose_full(HEAD + tail, options=options)         # nothing shared: the reference
        assert all(abs(whole.probs[o] - ch.probs[o]) < 2e-3 for o in options)
        if abs(whole.probs[options[0]] - 0.5) > 2e-3:
            assert whole.letter == ch.letter
    again = rx.choose(HEAD, TAILS, options=options)
    assert [c.letter for c in again] == [c.letter for c in choices]
    assert all(abs(a.probs[o] - b.probs[o]) < 1e-6 for a, b in zip(again, choices) for o in options)


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_advisor_conformance(engines, name):
    _, adv, _ = engines(name)
    assert isinstance(adv, Advisor)
    texts = adv.generate(PROMPTS, GREEDY)
    assert len(texts) == len(PROMPTS) and all(isinstance(t, str) for t in texts)
    assert adv.generate(PROMPTS, GREEDY) == texts                      # greedy is deterministic
    scored = adv.generate_scored(PROMPTS, GREEDY)
    assert len(scored) == len(PROMPTS)
    for text, g in zip(texts, scored):
        assert isinstance(g, Generation) and g.text == text
        assert g.logprob <= 1e-9 and 0 <= g.n_tokens <= GREEDY.max_new_tokens
        assert math.isclose(g.mean_logprob * max(g.n_tokens, 1), g.logprob if g.n_tokens else 0.0, abs_tol=1e-9)
