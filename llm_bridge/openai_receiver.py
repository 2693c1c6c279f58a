"""A Receiver behind any OpenAI-compatible HTTP endpoint (vLLM, TGI, ``transformers serve``, ...).

This is how users scale the Receiver past one machine: the bridge sends chat
completion requests and reads back the text.  Only the standard library is
used (``urllib``); requests run concurrently in threads.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


class EndpointError(RuntimeError):
    """The endpoint answered with an error or not at all (the message has the URL and status)."""


@dataclass
class OpenAICompatibleReceiver:
    """Chat completions from ``base_url`` (e.g. ``http://127.0.0.1:8000``) for ``model``.

    Parameters
    ----------
    base_url : str
        Server root; ``/v1/chat/completions`` is appended.
    model : str
        Model name as the server knows it.
    api_key : str, optional
        Sent as a bearer token.
    max_tokens, temperature, seed : generation settings sent with each request.
    timeout : float
        Seconds per request.
    concurrency : int
        Requests in flight at once.
    """

    base_url: str
    model: str
    api_key: str | None = None
    max_tokens: int = 128
    temperature: float = 0.0
    seed: int | None = 0
    timeout: float = 120.0
    concurrency: int = 4

    def _post(self, path: str, payload: dict) -> dict:
        req = urllib.request.Request(self.base_url.rstrip("/") + path, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode())
        except urllib.error.HTTPError as e:
            raise EndpointError(f"{req.full_url}: HTTP {e.code}: {e.read()[:300]!r}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            raise EndpointError(f"{req.full_url}: {e}") from None

    def complete(self, prompt: str) -> str:
        """One chat completion: the assistant message's text."""
        payload = {"model": self.model, "messages": [{"role": "user", "content": prompt}],
                   "max_tokens": self.max_tokens, "temperature": self.temperature}
        if self.seed is not None:
            payload["seed"] = self.seed
        data = self._post("/v1/chat/completions", payload)
        try:
            return data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise EndpointError(f"{self.base_url}: unexpected response {str(data)[:300]}") from None

    def generate(self, prompts: list[str], sampling=None, progress: bool = False) -> list[str]:
        """Completions of ``prompts``, ``concurrency`` requests at a time (same interface as LanguageModel)."""
        if sampling is not None:
            self.max_tokens, self.temperature = sampling.max_new_tokens, sampling.temperature
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(self.complete, prompts))
