"""The OpenAI-compatible Receiver against real server processes on loopback.

The test trains a tiny model, saves it, and starts ``transformers serve`` on
127.0.0.1 with it (a real FastAPI/uvicorn server from transformers): the
Receiver gets the same greedy answers as local generation, and, because that
server refuses the ``logprobs`` field, asking it for log-probabilities raises
``LogprobsUnavailable`` naming the server.

The log-probability path is tested against a second server on loopback: a
small HTTP server in this file that speaks the chat-completions format and
computes every number with the same tiny model through the library
(``LanguageModel``).  The Receiver's scores and option probabilities read
over HTTP through the ``openai`` SDK must equal the local ones; the same
server tests retries (it can fail its first requests with 503) and a reply
without log-probabilities.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import os
import random
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from llm_bridge.models.language_model import LanguageModel, ModelConfig, SamplingConfig
from llm_bridge.models.openai_receiver import EndpointError, LogprobsUnavailable, OpenAICompatibleReceiver, from_spec
from llm_bridge.models.choice_receiver import ChoiceReceiver
from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2
from llm_bridge.models.training import SFTConfig, sft

from ._loopback import free_port, server_process


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
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path_factory.mktemp("hf"))}
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, *cli, "serve", str(folder), "--host", "127.0.0.1", "--port", str(port)]
    with server_process(cmd, url + "/health", tmp_path_factory.mktemp("serve") / "serve.log", env=env):
        yield url, str(folder), lm, words


def test_receiver_matches_local_greedy_generation(server):
    url, name, lm, words = server
    rx = OpenAICompatibleReceiver(url, name, max_tokens=8, temperature=0.0, concurrency=3)
    prompts = [f"state {k} ->" for k in words]
    remote = rx.generate(prompts)
    local = lm.generate(prompts, SamplingConfig(max_new_tokens=8))
    assert [r.strip() for r in remote] == [w for w in words.values()]
    assert [r.strip() for r in remote] == [x.strip() for x in local]


def test_unreachable_endpoint_is_a_clear_error():
    rx = OpenAICompatibleReceiver(f"http://127.0.0.1:{free_port()}", "none", timeout=2)
    with pytest.raises(EndpointError, match="127.0.0.1"):
        rx.complete("hello")


def test_transformers_serve_refuses_logprobs_and_the_receiver_says_so(server):
    url, name, lm, words = server
    rx = OpenAICompatibleReceiver(url, name, max_tokens=8, max_retries=0)
    with pytest.raises(LogprobsUnavailable, match="127.0.0.1"):
        rx.generate_scored(["state 0 ->"])
    with pytest.raises(LogprobsUnavailable):
        rx.choose("state 0 ", ["->"], options=("a", "b"))


# ---------------------------------------------------------------- a log-probability server on loopback
class _ModelServer(ThreadingHTTPServer):
    """Chat completions with log-probabilities, computed by a local LanguageModel."""

    def __init__(self, lm, fail_first: int = 0, omit_logprobs: bool = False):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lm, self.fail_left, self.omit, self.lock, self.requests = lm, fail_first, omit_logprobs, \
            threading.Lock(), 0


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, code: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        srv = self.server
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with srv.lock:
            srv.requests += 1
            if srv.fail_left > 0:
                srv.fail_left -= 1
                return self._send(503, {"error": {"message": "warming up", "type": "server_error"}})
            lm = srv.lm
            tok = lm.tokenizer
            prompt = req["messages"][-1]["content"]
            p_ids = tok(lm._format(prompt), add_special_tokens=False)["input_ids"]
            if req.get("max_tokens") == 1:          # one token: its top alternatives (a decision)
                with torch.no_grad():
                    lp = torch.log_softmax(lm.model(torch.tensor([p_ids])).logits[0, -1].float(), dim=-1)
                top = torch.topk(lp, req["top_logprobs"])
                alts = [{"token": tok.decode([int(i)]), "logprob": float(v), "bytes": None}
                        for v, i in zip(top.values, top.indices)]
                content = [{**alts[0], "top_logprobs": alts}]
                text = alts[0]["token"]
            else:
                text = lm.generate([prompt], SamplingConfig(max_new_tokens=req["max_tokens"]))[0]
                c_ids = tok(text, add_special_tokens=False)["input_ids"]
                ids = torch.tensor([p_ids + c_ids])
                with torch.no_grad():
                    lp = torch.log_softmax(lm.model(ids).logits[0, :-1].float(), dim=-1)
                content = [{"token": tok.decode([c]), "logprob": float(lp[len(p_ids) - 1 + k, c]), "bytes": None,
                            "top_logprobs": []} for k, c in enumerate(c_ids)]
                if req.get("top_logprobs"):           # the chosen token is its own best alternative (greedy)
                    for entry in content:
                        entry["top_logprobs"] = [{k: entry[k] for k in ("token", "logprob", "bytes")}]
        choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text},
                  "logprobs": None if srv.omit or not req.get("logprobs") else {"content": content}}
        self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": req["model"],
                         "choices": [choice]})


@pytest.fixture(scope="module")
def model_server(server):
    _, _, lm, words = server
    srv = _ModelServer(lm)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv, lm, words
    srv.shutdown()


def _url(srv) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def test_scored_generations_over_http_equal_the_local_model(model_server):
    srv, lm, words = model_server
    rx = from_spec(f"openai:{_url(srv)}#tiny", max_tokens=8, concurrency=3)
    prompts = [f"state {k} ->" for k in words]
    remote = rx.generate_scored(prompts)
    local = lm.generate_scored(prompts, SamplingConfig(max_new_tokens=8))
    assert [g.text for g in remote] == [g.text for g in local]
    for r, g in zip(remote, local):
        assert r.n_tokens == g.n_tokens
        assert r.logprob == pytest.approx(g.logprob, abs=1e-4)


def test_option_probabilities_over_http_equal_the_local_choice_receiver(model_server):
    srv, lm, words = model_server
    rx = OpenAICompatibleReceiver(_url(srv), "tiny", top_logprobs=len(lm.tokenizer))
    head, tails, options = "state ", ["0 ->", "1 ->", "2 ->"], (" ", "a", "b", "g")
    remote = rx.choose(head, tails, options=tuple(o.strip() or o for o in options[1:]))
    local = ChoiceReceiver(lm).choose(head, tails, options=options[1:])
    for r, c in zip(remote, local):
        assert r.letter == c.letter
        for o in options[1:]:
            assert r.probs[o] == pytest.approx(c.probs[o], abs=1e-5)


def test_retries_ride_out_a_server_that_fails_first(server):
    _, _, lm, _ = server
    srv = _ModelServer(lm, fail_first=2)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        rx = OpenAICompatibleReceiver(_url(srv), "tiny", max_tokens=8, max_retries=3)
        assert rx.generate_scored(["state 1 ->"])[0].text.strip() == "beta"
        assert srv.requests == 3
        srv.fail_left = 5
        with pytest.raises(EndpointError, match="HTTP 503"):
            OpenAICompatibleReceiver(_url(srv), "tiny", max_tokens=8, max_retries=1).complete("state 1 ->")
    finally:
        srv.shutdown()


def test_a_reply_without_logprobs_is_an_error_not_a_silent_zero(server):
    _, _, lm, _ = server
    srv = _ModelServer(lm, omit_logprobs=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        rx = OpenAICompatibleReceiver(_url(srv), "tiny", max_tokens=8)
        with pytest.raises(LogprobsUnavailable, match="without log-probabilities"):
            rx.generate_scored(["state 1 ->"])
    finally:
        srv.shutdown()


def test_a_reply_without_a_token_count_is_an_error_for_a_counted_answer(model_server):
    """generate_counted takes an answer's length from the server's usage count; a server that sends none
    (this one) is an error naming it, not a length of zero (which would read as never cut)."""
    srv, _, _ = model_server
    rx = OpenAICompatibleReceiver(_url(srv), "tiny", max_tokens=8)
    with pytest.raises(EndpointError, match="no usage.completion_tokens"):
        rx.generate_counted(["state 1 ->"])


@pytest.mark.parametrize("kwargs, rule", [({"concurrency": 0}, "concurrency must be an integer >= 1"),
                                          ({"max_retries": -1}, "max_retries must be an integer >= 0"),
                                          ({"timeout": 0}, r"timeout must be a finite number > 0"),
                                          ({"temperature": -1.0}, "temperature must be a finite number >= 0"),
                                          ({"temperature": float("nan")}, "temperature must be"),
                                          ({"seed": -1}, "seed must be an integer >= 0"),
                                          ({"extra_body": [1]}, r"extra_body must be a JSON object")])
def test_bad_settings_are_named(kwargs, rule):
    with pytest.raises(ValueError, match=rule):
        OpenAICompatibleReceiver("http://127.0.0.1:1", "m", **kwargs)


@pytest.mark.parametrize("spec", ["openai:127.0.0.1:8000#m", "openai:http://h:1", "http://h:1#m", "openai:http://h#"])
def test_bad_receiver_specs_are_named(spec):
    with pytest.raises(ValueError, match="openai:"):
        from_spec(spec)


def test_a_spec_names_a_model_in_process_or_a_served_one():
    """load_by_spec: 'openai:URL#MODEL' builds the served Receiver (no request is made), which chooses by
    itself; a name loads in process and is wrapped to choose; extra_body is refused for a model in process."""
    from llm_bridge.models.language_model import load_by_spec
    from llm_bridge.models.choice_receiver import as_choice_receiver
    from llm_bridge.models.openai_receiver import LLAMA_CPP_PLAIN
    served = load_by_spec("openai:http://127.0.0.1:9#m", extra_body=LLAMA_CPP_PLAIN, engine="llama.cpp")
    assert isinstance(served, OpenAICompatibleReceiver) and served.extra_body == LLAMA_CPP_PLAIN
    assert as_choice_receiver(served) is served
    local = load_by_spec("tiny")
    assert isinstance(local, LanguageModel) and isinstance(as_choice_receiver(local), ChoiceReceiver)
    with pytest.raises(ValueError, match="extra_body.*'tiny'"):
        load_by_spec("tiny", extra_body={"top_k": 0})
    with pytest.raises(ValueError, match="openai:"):
        load_by_spec("openai:127.0.0.1#m")


def test_the_probes_refuse_a_request_body_for_a_model_in_process(capsys):
    """--extra-body goes to a server: with a model in process the probes stop before loading anything and
    name the two arguments."""
    from experiments import hint_values, verdict_value
    for main in (hint_values.main, verdict_value.main):
        with pytest.raises(SystemExit) as e:
            main(["--receiver", "qwen05", "--extra-body", '{"top_k": 0}'])
        err = capsys.readouterr().err
        assert e.value.code == 2 and "--extra-body" in err and "--receiver qwen05" in err


def test_the_probes_refuse_a_request_body_that_is_not_a_json_object(capsys):
    """A JSON list or number parsed and reached the receiver's constructor (or the server) as it was."""
    from experiments import hint_values, verdict_value
    for main in (hint_values.main, verdict_value.main):
        with pytest.raises(SystemExit) as e:
            main(["--receiver", "openai:http://127.0.0.1:1#m", "--extra-body", "[1, 2]"])
        err = capsys.readouterr().err
        assert e.value.code == 2 and "--extra-body must be a JSON object" in err
