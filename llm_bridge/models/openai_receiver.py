"""A Receiver behind any OpenAI-compatible server (llama.cpp's, vLLM, TGI, the OpenAI API).

This is how users scale the Receiver past one machine.  It is built on the
``openai`` SDK (its client handles timeouts, retries with backoff on
connection errors, 408/409/429 and 5xx answers, and the wire format);
requests run concurrently in threads.

The game needs more than text from the Receiver: the estimate of ``U``
reads the Receiver's log-probabilities.  The receiver asks for them
(``logprobs``/``top_logprobs`` on chat completions), and gives

* :meth:`OpenAICompatibleReceiver.generate_scored`: completions with the
  summed log-probability of their tokens (the same quantity as
  :meth:`llm_bridge.models.language_model.LanguageModel.generate_scored`);
* :meth:`OpenAICompatibleReceiver.choose`: the Receiver's distribution over
  option tokens from the top log-probabilities of its first token (the same
  decision :class:`llm_bridge.models.choice_receiver.ChoiceReceiver` reads locally, without
  the shared-head cache).

A server that refuses or omits log-probabilities (``transformers serve``
5.x rejects the ``logprobs`` field) raises :class:`LogprobsUnavailable`,
naming the server and what it answered; nothing falls back silently.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field


#: llama.cpp server fields that switch off its default repeat penalty, top-k and min-p (see ``extra_body``).
LLAMA_CPP_PLAIN = {"repeat_penalty": 1.0, "top_k": 0, "min_p": 0.0}


class EndpointError(RuntimeError):
    """The endpoint answered with an error or not at all (the message has the URL and status)."""


class LogprobsUnavailable(EndpointError):
    """The server does not return log-probabilities, which the estimate of ``U`` needs."""


@dataclass
class OpenAICompatibleReceiver:
    """Chat completions from ``base_url`` (e.g. ``http://127.0.0.1:8000``) for ``model``.

    Parameters
    ----------
    base_url : str
        Server root; the SDK's paths are under ``base_url + "/v1"``.
    model : str
        Model name as the server knows it.
    api_key : str, optional
        Sent as a bearer token (servers without authentication accept any value).
    max_tokens, temperature, seed : generation settings sent with each request.
    timeout : float
        Seconds per request attempt.
    max_retries : int
        Retries after a connection error, timeout, 408/409/429 or 5xx answer (exponential backoff).
    concurrency : int
        Requests in flight at once.
    top_logprobs : int
        Alternatives per token asked for by :meth:`choose` (servers cap it; the OpenAI API at 20).
    extra_body : dict, optional
        Server-specific fields sent with every request.  llama.cpp's server applies a repeat penalty
        of 1.1, top-k 40 and min-p 0.05 unless told otherwise, even at temperature 0: pass
        :data:`LLAMA_CPP_PLAIN` so its tokens come from the model's own distribution, as in process.
        (The OpenAI API rejects unknown fields, so nothing is sent by default.)
    """

    base_url: str
    model: str
    api_key: str | None = None
    max_tokens: int = 128
    temperature: float = 0.0
    seed: int | None = 0
    timeout: float = 120.0
    max_retries: int = 3
    concurrency: int = 4
    top_logprobs: int = 20
    extra_body: dict | None = None
    _client: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        from .field_rules import integers_at_least, numbers_in
        integers_at_least(self, 1, "max_tokens", "concurrency", "top_logprobs")
        integers_at_least(self, 0, "max_retries")
        numbers_in(self, "> 0", "timeout")
        numbers_in(self, ">= 0", "temperature")          # a negative or NaN one went to the server as it was
        if self.seed is not None:
            integers_at_least(self, 0, "seed")
        if self.extra_body is not None and not isinstance(self.extra_body, dict):
            raise ValueError(f"OpenAICompatibleReceiver: extra_body must be a JSON object (a dict) or None; "
                             f"got {self.extra_body!r}")
        self.name = f"{self.base_url}#{self.model}"

    @property
    def client(self):
        if self._client is None:
            import openai
            self._client = openai.OpenAI(base_url=self.base_url.rstrip("/") + "/v1", api_key=self.api_key or "none",
                                         timeout=self.timeout, max_retries=self.max_retries)
        return self._client

    # ------------------------------------------------------------------ requests
    def _chat(self, prompt: str, **extra):
        import openai
        kwargs = dict(model=self.model, messages=[{"role": "user", "content": prompt}],
                      max_tokens=self.max_tokens, temperature=self.temperature)
        if self.seed is not None:
            kwargs["seed"] = self.seed
        if self.extra_body:
            kwargs["extra_body"] = dict(self.extra_body)
        kwargs.update(extra)
        url = self.base_url.rstrip("/") + "/v1/chat/completions"
        try:
            resp = self.client.chat.completions.create(**kwargs)
        except openai.APIStatusError as e:
            body = str(getattr(e, "body", None) or e.message)[:300]
            if "logprobs" in extra and "logprob" in body.lower():
                raise LogprobsUnavailable(f"{url}: the server refused log-probabilities (HTTP {e.status_code}: "
                                          f"{body}); the game's estimate of U needs them") from None
            raise EndpointError(f"{url}: HTTP {e.status_code}: {body}") from None
        except openai.APIConnectionError as e:       # includes timeouts, after the retries
            raise EndpointError(f"{url}: {type(e).__name__}: {e}") from None
        if not resp.choices:
            raise EndpointError(f"{url}: the response has no choices: {str(resp)[:300]}")
        return resp

    def _token_logprobs(self, choice) -> list:
        lp = getattr(choice, "logprobs", None)
        content = getattr(lp, "content", None) if lp is not None else None
        if content is None:
            raise LogprobsUnavailable(f"{self.base_url}: the server answered without log-probabilities "
                                      f"although they were asked for; the game's estimate of U needs them")
        return content

    def complete(self, prompt: str) -> str:
        """One chat completion: the assistant message's text."""
        return self._chat(prompt).choices[0].message.content or ""

    def complete_scored(self, prompt: str):
        """One completion with the summed log-probability of its tokens."""
        from .language_model import Generation
        # top_logprobs too: llama.cpp's server (llama-cpp-python 0.3.x) reads only top_logprobs and answers
        # logprobs=True alone without any; OpenAI, vLLM and TGI accept both
        choice = self._chat(prompt, logprobs=True, top_logprobs=1).choices[0]
        toks = self._token_logprobs(choice)
        return Generation(choice.message.content or "", float(sum(t.logprob for t in toks)), len(toks))

    def complete_counted(self, prompt: str):
        """One completion and its length in tokens (the server's usage count), without log-probabilities:
        llama-cpp-python's server ranks the whole vocabulary in Python for every token whose log-probability
        is asked for (about 0.15 s a token for Qwen's 151,936), so a written answer that needs only its text
        and length costs several times less this way."""
        from .language_model import Generation
        resp = self._chat(prompt)
        n = getattr(getattr(resp, "usage", None), "completion_tokens", None)
        if n is None:
            raise EndpointError(f"{self.base_url}: the response has no usage.completion_tokens, so the "
                                f"answer's length is unknown")
        return Generation(resp.choices[0].message.content or "", float("nan"), int(n))

    def _map(self, fn, items: list):
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(fn, items))

    def _apply(self, sampling, prompts) -> list:
        """Take ``sampling``'s length and temperature; ``prompts`` back as a checked list of strings."""
        from .field_rules import sampling_config, text_list
        from .language_model import SamplingConfig
        prompts = text_list(f"{type(self).__name__}.generate()", "prompts", prompts)
        if sampling is not None:
            sampling = sampling_config(f"{type(self).__name__}.generate()", sampling, SamplingConfig)
            self.max_tokens, self.temperature = sampling.max_new_tokens, sampling.temperature
        return prompts

    def generate(self, prompts: list[str], sampling=None, progress: bool = False) -> list[str]:
        """Completions of ``prompts``, ``concurrency`` requests at a time (same interface as LanguageModel)."""
        prompts = self._apply(sampling, prompts)
        return self._map(self.complete, prompts)

    def generate_scored(self, prompts: list[str], sampling=None, progress: bool = False) -> list:
        """Completions with log-probabilities (same interface as LanguageModel.generate_scored)."""
        prompts = self._apply(sampling, prompts)
        return self._map(self.complete_scored, prompts)

    def generate_counted(self, prompts: list[str], sampling=None, progress: bool = False) -> list:
        """Completions with their lengths in tokens and no log-probabilities (``logprob`` is NaN): what the
        written-answer games read (:func:`llm_bridge.models.language_model.written_answers`)."""
        prompts = self._apply(sampling, prompts)
        return self._map(self.complete_counted, prompts)

    # ------------------------------------------------------------------ decisions
    def choose_full(self, prompt: str, options=("A", "B")):
        """The Receiver's option and its distribution over ``options`` from its first token's log-probabilities.

        Options missing from the server's top list get probability 0; if none of them is there the
        decision cannot be read and :class:`EndpointError` says so.
        """
        from .choice_receiver import Choice
        from .field_rules import option_list
        options = option_list(f"{type(self).__name__}.choose_full()", options)
        choice = self._chat(prompt, logprobs=True, top_logprobs=self.top_logprobs, max_tokens=1,
                            temperature=0.0).choices[0]
        toks = self._token_logprobs(choice)
        if not toks:
            raise EndpointError(f"{self.base_url}: the server generated no token for a decision")
        first = toks[0]
        top = {}
        for alt in (getattr(first, "top_logprobs", None) or []) + [first]:
            top.setdefault(alt.token.strip(), alt.logprob)
        mass = {o: math.exp(top[o]) for o in options if o in top}
        if not mass:
            raise EndpointError(f"{self.base_url}: none of the options {list(options)} is among the first "
                                f"token's top {self.top_logprobs} alternatives {sorted(top)[:10]}")
        total = sum(mass.values())
        probs = {o: mass.get(o, 0.0) / total for o in options}
        letter = max(options, key=lambda o: probs[o])
        return Choice(prompt, letter, probs, first.token.strip() in options)

    def choose(self, head: str, tails: list[str], options=("A", "B")) -> list:
        """The Receiver's choice for each prompt ``head + tail`` (the ChoiceReceiver interface)."""
        from .field_rules import text_list
        tails = text_list(f"{type(self).__name__}.choose()", "tails", tails)
        return self._map(lambda t: self.choose_full(head + t, options), tails)


def from_spec(spec: str, **settings) -> OpenAICompatibleReceiver:
    """A receiver from ``"openai:BASE_URL#MODEL"`` (e.g. ``"openai:http://127.0.0.1:8000#Qwen/Qwen2.5-7B"``)."""
    if not spec.startswith("openai:") or "#" not in spec:
        raise ValueError(f"receiver spec must look like 'openai:BASE_URL#MODEL'; got {spec!r}")
    base_url, model = spec[len("openai:"):].split("#", 1)
    if not base_url.startswith(("http://", "https://")) or not model:
        raise ValueError(f"receiver spec must look like 'openai:http(s)://HOST[:PORT]#MODEL'; got {spec!r}")
    return OpenAICompatibleReceiver(base_url, model, **settings)
