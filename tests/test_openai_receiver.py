"""The OpenAI-compatible Receiver against a real server process on loopback.

The test trains a tiny model, saves it, starts ``transformers serve`` on
127.0.0.1 with it (a real FastAPI/uvicorn server from transformers), and
checks that the Receiver gets the same greedy answers as local generation.
"""
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from llm_bridge.models import LanguageModel, ModelConfig, SamplingConfig
from llm_bridge.openai_receiver import EndpointError, OpenAICompatibleReceiver
from llm_bridge.tiny import char_tokenizer, tiny_gpt2
from llm_bridge.training import SFTConfig, sft


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tok = char_tokenizer()
    tok.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    lm = LanguageModel(tok, tiny_gpt2(tok), ModelConfig("tiny", chat_template=True))
    words = {0: "alpha", 1: "beta", 2: "gamma"}
    pairs = [(f"state {k} ->", f" {w}") for k, w in words.items() for _ in range(40)]
    random.Random(1).shuffle(pairs)
    sft(lm, pairs, SFTConfig(epochs=25, batch_size=16, learning_rate=5e-3))
    folder = tmp_path_factory.mktemp("served") / "tiny"
    lm.save(folder)
    # the `transformers` console script, run through this interpreter (independent of PATH)
    cli = ["-c", "import sys; from transformers.cli.transformers import main; sys.argv[0] = 'transformers'; "
                 "sys.exit(main())"]
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path_factory.mktemp("hf"))}
    proc = subprocess.Popen([sys.executable, *cli, "serve", str(folder), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/health", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("transformers serve exited early")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("transformers serve did not come up in 120 s")
    yield url, str(folder), lm, words
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_receiver_matches_local_greedy_generation(server):
    url, name, lm, words = server
    rx = OpenAICompatibleReceiver(url, name, max_tokens=8, temperature=0.0, concurrency=3)
    prompts = [f"state {k} ->" for k in words]
    remote = rx.generate(prompts)
    local = lm.generate(prompts, SamplingConfig(max_new_tokens=8))
    assert [r.strip() for r in remote] == [w for w in words.values()]
    assert [r.strip() for r in remote] == [x.strip() for x in local]


def test_unreachable_endpoint_is_a_clear_error():
    rx = OpenAICompatibleReceiver(f"http://127.0.0.1:{_free_port()}", "none", timeout=2)
    with pytest.raises(EndpointError, match="127.0.0.1"):
        rx.complete("hello")
