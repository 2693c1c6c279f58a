"""llama.cpp as the engine under an Advisor or Receiver (``ModelConfig(engine="llama.cpp")``).

:class:`LlamaCppModel` answers the same calls as
:class:`llm_bridge.models.language_model.LanguageModel` (``generate``, ``generate_scored``,
``log_likelihood``, ``format``, ``encode``, ``next_logits``,
``continuation_logits``), running the GGUF file as it is, quantised, through
``llama-cpp-python`` (the ``llama`` extra; it builds from source).  On two
cores that decodes 5.5x faster than transformers running the same file
dequantised to fp32, prefills 1.5x faster, in a third of the memory
(``benchmarks/bench_engines.py``, docs/performance.md).
Fine-tuning stays on transformers; :mod:`llm_bridge.models.gguf_export` writes a
fine-tuned model back to GGUF for this engine.

How it runs
-----------
* The prompt is formatted with the chat template stored in the GGUF file
  (rendered by llama-cpp-python's Jinja2 formatter, which mirrors
  transformers' rendering; a test checks the text is the same) and
  tokenised by llama.cpp's own tokenizer.
* Decoding goes through llama.cpp's batch API directly, one sequence, with
  logits requested only where they are read.  The high-level ``Llama``
  object is used to load the model and tokenise; its ``scores`` buffer is
  not: with ``logits_all=False`` (the only setting that does not keep a
  ``n_ctx x vocabulary`` array) llama-cpp-python 0.3.x never writes it, so
  code reading it reads stale or uninitialised memory: the likely cause of
  an earlier trial that disagreed with the logged decisions on 11 of 56
  prompts (read this way, 96.5% of 2,300 agree, docs/llm_results.md).
* **Prompt cache.**  The key/value cache keeps the tokens of the last
  evaluation; a new sequence reuses its longest common prefix and evaluates
  only the rest (``stats`` counts both).  The review game's prompts share a
  long head, so each decision costs only its tail.
* Greedy decoding is the argmax of the logits; sampling (temperature,
  top-p) draws from a numpy generator seeded by ``(seed, prompt index)``,
  so a prompt's completion does not depend on the other prompts of the call.
  Every generated token's log-probability is the log-softmax of the raw
  logits (temperature 1), the quantity ``LanguageModel.generate_scored``
  reports.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from .language_model import Generation, ModelConfig, SamplingConfig

_SENTINEL = "\uE001"          # marks where an assistant message ends in a rendered template


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def gpu_placement(device: str) -> dict:
    """llama.cpp's placement arguments for a checked ``ModelConfig.device``: nothing offloaded on ``cpu``;
    every layer offloaded on ``cuda`` (split over the visible GPUs, llama.cpp's default); on ``cuda:N``
    the whole model on GPU ``N`` (split mode none, ``main_gpu=N``), so the index is not silently dropped.

    >>> gpu_placement("cpu"), gpu_placement("cuda:1")
    ({'n_gpu_layers': 0}, {'n_gpu_layers': -1, 'split_mode': 0, 'main_gpu': 1})
    """
    if device == "cpu":
        return {"n_gpu_layers": 0}
    _, _, index = device.partition(":")
    return {"n_gpu_layers": -1, **({"split_mode": 0, "main_gpu": int(index)} if index else {})}


def default_threads() -> int:
    """Cores this process may run on (llama-cpp-python's own default is half the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:          # not on Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def _quiet_fds():
    """Send stdout and stderr (the file descriptors and Python's streams) to /dev/null for the block:
    llama.cpp writes some warnings even with ``verbose=False`` (a context longer than the trained one)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        # llama-cpp-python's log callback prints through Python's sys.stderr, which may not be fd 2
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved + [null]:
            os.close(fd)


@dataclass
class CacheStats:
    """What the prompt cache saved: tokens evaluated and tokens reused from the key/value cache."""

    evaluated: int = 0
    reused: int = 0
    calls: int = 0

    @property
    def reuse_rate(self) -> float:
        total = self.evaluated + self.reused
        return self.reused / total if total else 0.0


@dataclass
class LlamaCppModel:
    """A GGUF model run by llama.cpp, with the interface of :class:`~llm_bridge.models.language_model.LanguageModel`.

    Build with :meth:`load` (or ``load_by_name(name, engine="llama.cpp")``).
    """

    path: str
    config: ModelConfig
    stats: CacheStats = field(default_factory=CacheStats)

    N_BATCH = 512                  # tokens per llama_decode call

    def __post_init__(self):
        try:
            import llama_cpp
        except ImportError:
            raise ImportError("the llama.cpp engine needs llama-cpp-python: pip install -e \".[llama]\" "
                              "(it builds from source, about 12 minutes on two cores the first time)") from None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        if not str(self.path).endswith(".gguf") or not os.path.isfile(self.path):
            raise FileNotFoundError(f"LlamaCppModel: path must be an existing .gguf file; got {self.path!r}")
        self.config.check()
        threads = self.config.n_threads or default_threads()
        self._lib = llama_cpp
        with _quiet_fds():
            # the Llama object holds the model, its tokenizer and metadata; its own (small) context is unused:
            # ours is sized to the model's trained context, which Llama would only learn after making one
            self.llm = llama_cpp.Llama(model_path=str(self.path), n_ctx=256, n_batch=256, n_threads=threads,
                                       n_threads_batch=threads, logits_all=False, verbose=False,
                                       **gpu_placement(self.config.device))
            arch = self.llm.metadata.get("general.architecture")
            trained = int(self.llm.metadata.get(f"{arch}.context_length", 0) or 0)
            params = llama_cpp.llama_context_default_params()
            params.n_ctx = min(self.config.n_ctx, trained) if trained > 0 else self.config.n_ctx
            params.n_batch = params.n_ubatch = min(self.N_BATCH, params.n_ctx)
            params.n_seq_max = 1
            params.n_threads = params.n_threads_batch = threads
            params.no_perf = True
            # as llama-cpp-python's Llama (and so its server) runs: flash attention off, the same arithmetic
            params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
            self._ctx = llama_cpp.llama_init_from_model(self.llm.model, params)
        if not self._ctx:
            raise RuntimeError(f"llama.cpp could not create a context of {params.n_ctx} tokens for {self.path}")
        self._mem = llama_cpp.llama_get_memory(self._ctx)
        self.n_ctx = int(llama_cpp.llama_n_ctx(self._ctx))
        self._chunk = int(llama_cpp.llama_n_batch(self._ctx))
        self.n_vocab = int(self.llm.n_vocab())
        self._batch = llama_cpp.llama_batch_init(self._chunk, 0, 1)
        self._cached: list[int] = []          # tokens whose keys and values sit in the cache, in order
        template = self.llm.metadata.get("tokenizer.chat_template")
        self._formatter = None
        if template:
            self._formatter = Jinja2ChatFormatter(template, eos_token=self._token_text(self.llm.token_eos()),
                                                  bos_token=self._token_text(self.llm.token_bos()),
                                                  add_generation_prompt=True)
        self.end_ids = self._end_ids()

    @classmethod
    def load(cls, config: ModelConfig | str, **overrides) -> "LlamaCppModel":
        if isinstance(config, str):
            config = ModelConfig(config, **{"engine": "llama.cpp", **overrides})
        return cls(config.name_or_path, config)

    def close(self) -> None:
        """Free llama.cpp's batch and model now (otherwise at garbage collection)."""
        if getattr(self, "_batch", None) is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None
        if getattr(self, "_ctx", None):
            self._lib.llama_free(self._ctx)
            self._ctx = None
        if getattr(self, "llm", None) is not None:
            self.llm.close()
            self.llm = None

    def __del__(self):
        try:
            self.close()
        except Exception:          # interpreter shutdown: the library may already be gone
            pass

    # ------------------------------------------------------------------ text
    def _token_text(self, token: int) -> str:
        if token is None or token < 0:
            return ""
        return self.llm.detokenize([token], special=True).decode("utf-8", errors="replace")

    def _render(self, messages: list[dict], generation_prompt: bool = True) -> str:
        self._formatter.add_generation_prompt = generation_prompt
        try:
            return self._formatter(messages=messages).prompt
        finally:
            self._formatter.add_generation_prompt = True

    def format(self, prompt: str) -> str:
        """``prompt`` as the model reads it: wrapped in the GGUF file's chat template (if it has one and
        ``config.chat_template`` is not False)."""
        use_chat = self.config.chat_template
        if use_chat is None:
            use_chat = self._formatter is not None
        if not use_chat:
            return prompt
        if self._formatter is None:
            raise ValueError(f"ModelConfig: chat_template is True but {self.path} stores no chat template")
        return self._render([{"role": "user", "content": prompt}])

    _format = format        # the name LanguageModel's callers use

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens written in it are parsed; no BOS is added)."""
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids`` without special tokens."""
        return self.llm.detokenize(list(ids), special=False).decode("utf-8", errors="replace")

    def _end_ids(self) -> list[int]:
        """The token after an assistant message in the chat template, then the file's end-of-generation tokens."""
        ids: list[int] = []
        vocab = self._lib.llama_model_get_vocab(self.llm.model)
        if self._formatter is not None:
            text = self._render([{"role": "user", "content": "x"}, {"role": "assistant", "content": _SENTINEL}],
                                generation_prompt=False)
            if _SENTINEL in text:
                after = self.encode(text[text.index(_SENTINEL) + 1:])
                if after and self._lib.llama_vocab_is_eog(vocab, after[0]):
                    ids.append(after[0])
        eos = int(self.llm.token_eos())
        if eos >= 0 and eos not in ids:
            ids.append(eos)
        if not ids:
            raise ValueError(f"{self.path}: no end-of-turn token in its chat template or metadata")
        return ids

    @property
    def end_token_id(self) -> int:
        return self.end_ids[0]

    # ------------------------------------------------------------------ evaluation
    def reset_cache(self) -> None:
        """Forget the cached prefix (the next evaluation starts from an empty key/value cache)."""
        self._lib.llama_memory_clear(self._mem, True)
        self._cached = []

    def _evaluate(self, ids: list[int], outputs_from: int | None = None) -> np.ndarray:
        """Make the cache hold exactly ``ids``; the logits at positions ``outputs_from .. len(ids) - 1``.

        Positions before ``outputs_from`` that the cache already holds (the longest common prefix with the
        previous evaluation) are reused, not evaluated again.  Returns a ``(rows, vocabulary)`` float32 array.
        """
        n = len(ids)
        if n == 0:
            raise ValueError("LlamaCppModel: nothing to evaluate (an empty prompt)")
        if n > self.n_ctx:
            raise ValueError(f"LlamaCppModel: {n} tokens exceed the context of {self.n_ctx} "
                             f"(ModelConfig.n_ctx, at most the model's trained context)")
        outputs_from = n - 1 if outputs_from is None else outputs_from
        keep = 0
        for a, b in zip(self._cached, ids[:outputs_from]):
            if a != b:
                break
            keep += 1
        lib, batch, ctx = self._lib, self._batch, self._ctx
        if keep < len(self._cached):
            lib.llama_memory_seq_rm(self._mem, 0, keep, -1)
            del self._cached[keep:]
        self.stats.calls += 1
        self.stats.reused += keep
        self.stats.evaluated += n - keep
        rows = []
        for start in range(keep, n, self._chunk):
            chunk = ids[start:start + self._chunk]
            batch.n_tokens = len(chunk)
            for j, t in enumerate(chunk):
                batch.token[j] = t
                batch.pos[j] = start + j
                batch.n_seq_id[j] = 1
                batch.seq_id[j][0] = 0
                batch.logits[j] = start + j >= outputs_from
            rc = lib.llama_decode(ctx, batch)
            if rc != 0:
                self.reset_cache()
                raise RuntimeError(f"llama_decode failed with code {rc} at position {start} of {n}")
            self._cached.extend(chunk)
            for j in range(len(chunk)):
                if start + j >= outputs_from:
                    ptr = lib.llama_get_logits_ith(ctx, j)
                    rows.append(np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy())
        return np.stack(rows)

    def next_logits(self, text: str, reuse_cache: bool = True) -> np.ndarray:
        """Next-token logits after ``text`` (already formatted); ``reuse_cache=False`` evaluates from scratch."""
        if not reuse_cache:
            self.reset_cache()
        return self._evaluate(self.encode(text))[-1]

    def continuation_logits(self, head: str, tails: list[str]):
        """Next-token logits after ``head + tail`` for each tail (texts already formatted).

        The head is evaluated once and stays in the cache; each tail is evaluated on top of it and
        cropped off again.  Each side is tokenised on its own, as the transformers engine does.  (Putting
        all tails of a head into one multi-sequence batch was measured too: about 10% faster on two
        cores, where prefill is compute-bound at about 100-115 tokens/s for Qwen2.5-0.5B whatever the
        batch, and its logits moved by up to 0.3 nats; not worth it here.)
        """
        from .field_rules import text_list          # checked now, not at the first logits asked for
        return self._continuation_logits(head, text_list("LlamaCppModel.continuation_logits()", "tails", tails))

    def _continuation_logits(self, head: str, tails: list[str]):
        head_ids = self.encode(head)
        for tail in tails:
            tail_ids = self.encode(tail)
            if not tail_ids:
                raise ValueError("LlamaCppModel.continuation_logits(): a tail encodes to no token")
            yield self._evaluate(head_ids + tail_ids)[-1]

    # ------------------------------------------------------------------ generation
    def generate(self, prompts: list[str], sampling: SamplingConfig | None = None, progress: bool = False) -> list[str]:
        """Completions of ``prompts``, decoded without the prompt and without special tokens."""
        return [g.text for g in self.generate_scored(prompts, sampling, progress)]

    def generate_scored(self, prompts: list[str], sampling: SamplingConfig | None = None,
                        progress: bool = False) -> list[Generation]:
        """Completions with the summed log-probability of their tokens (end token excluded)."""
        from .field_rules import sampling_config, text_list
        prompts = text_list("LlamaCppModel.generate()", "prompts", prompts)
        sampling = sampling_config("LlamaCppModel.generate()", sampling, SamplingConfig)
        if sampling.temperature < 0 or not 0 < sampling.top_p <= 1:
            raise ValueError(f"SamplingConfig: temperature must be >= 0 and top_p in (0, 1]; got "
                             f"{sampling.temperature!r}, {sampling.top_p!r}")
        from persuasion.progress import progress as progress_bar
        items = progress_bar(range(len(prompts)), "generate", unit="prompt", enabled=progress)
        return [self._generate_one(prompts[i], sampling, i) for i in items]

    def _pick(self, logits: np.ndarray, sampling: SamplingConfig, rng) -> int:
        if sampling.temperature == 0:
            return int(np.argmax(logits))
        z = logits.astype(np.float64) / sampling.temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        if sampling.top_p < 1:
            order = np.argsort(-p, kind="stable")
            cum = np.cumsum(p[order])
            keep = order[:int(np.searchsorted(cum, sampling.top_p)) + 1]
            q = np.zeros_like(p)
            q[keep] = p[keep]
            p = q / q.sum()
        return int(rng.choice(self.n_vocab, p=p))

    def _generate_one(self, prompt: str, sampling: SamplingConfig, index: int) -> Generation:
        ids = self.encode(self.format(prompt))
        if len(ids) + sampling.max_new_tokens > self.n_ctx:
            raise ValueError(f"LlamaCppModel: a prompt of {len(ids)} tokens plus max_new_tokens="
                             f"{sampling.max_new_tokens} exceeds the context of {self.n_ctx} "
                             f"(ModelConfig.n_ctx, at most the model's trained context)")
        rng = np.random.default_rng([sampling.seed, index])
        logits = self._evaluate(ids)[-1]
        out: list[int] = []
        total = 0.0
        for step in range(sampling.max_new_tokens):
            if step < sampling.min_new_tokens:
                logits = logits.copy()
                logits[self.end_ids] = -np.inf
            token = self._pick(logits, sampling, rng)
            if token in self.end_ids:
                break
            total += float(_log_softmax(logits)[token]) if np.isfinite(logits[token]) else -np.inf
            out.append(token)
            if step + 1 < sampling.max_new_tokens:
                logits = self._evaluate(ids + out)[-1]
        return Generation(self.decode(out), total, len(out))

    def log_likelihood(self, prompts: list[str], continuations: list[str], progress: bool = False,
                       reduce: str = "mean") -> list[float]:
        """Mean (``reduce="mean"``) or total (``reduce="sum"``) log-probability of each continuation given
        its prompt (prompt formatted, each side tokenised on its own, as the transformers engine does)."""
        from .field_rules import text_list
        if reduce not in ("mean", "sum"):
            raise ValueError(f"log_likelihood: reduce must be 'mean' or 'sum'; got {reduce!r}")
        prompts = text_list("LlamaCppModel.log_likelihood()", "prompts", prompts)
        continuations = text_list("LlamaCppModel.log_likelihood()", "continuations", continuations)
        if len(prompts) != len(continuations):
            raise ValueError(f"log_likelihood: {len(prompts)} prompts but {len(continuations)} continuations")
        from persuasion.progress import progress as progress_bar
        items = progress_bar(range(len(prompts)), "score", unit="pair", enabled=progress)
        scores = []
        for i in items:
            p_ids, c_ids = self.encode(self.format(prompts[i])), self.encode(continuations[i])
            if not c_ids:
                scores.append(0.0)
                continue
            rows = self._evaluate(p_ids + c_ids[:-1], outputs_from=len(p_ids) - 1)
            lp = _log_softmax(rows)[np.arange(len(c_ids)), c_ids]
            s = float(lp.sum())
            scores.append(s if reduce == "sum" else s / len(c_ids))
        return scores
