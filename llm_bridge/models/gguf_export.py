"""Write a transformers model (a fine-tuned Advisor) as a GGUF file the llama.cpp engine loads.

Fine-tuning runs on transformers (:mod:`llm_bridge.models.training`); generation
can then run on llama.cpp (:mod:`llm_bridge.models.llama_engine`).  The bridge is
:func:`export_gguf`, built on the ``gguf`` package's writer:

* **Weights** are written in float32 under llama.cpp's tensor names, for
  the two architectures the package fine-tunes: ``llama`` (SmolLM2) and
  ``qwen2`` (Qwen2.5).  For ``llama``, llama.cpp applies rotary embeddings
  to adjacent pairs of dimensions where transformers rotates the two halves
  of each head, so the query and key rows of every head are interleaved
  (half ``i`` row ``r`` goes to row ``2 r + i``), the inverse of what
  transformers does when it reads a llama GGUF file.  Qwen2 files keep
  transformers' order (llama.cpp runs that architecture in the halves
  layout).
* **The tokenizer** is copied, every ``tokenizer.*`` field, from a GGUF file
  with the same vocabulary: the file the base model was loaded from
  (``config.name_or_path`` when it ends in ``.gguf``) unless another is given.
  Fine-tuning does not change the vocabulary, so this is the tokenizer the
  model was trained with; the round trip is tested on a small random llama
  model (the same next-token logits in both engines).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: transformers parameter name (after ``model.``) -> llama.cpp tensor name, per decoder layer.
_LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
ARCHITECTURES = {"llama": "llama", "qwen2": "qwen2"}     # transformers model_type -> GGUF architecture


def interleave_rotary(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Rows of a query/key projection from transformers' rotate-half order to llama.cpp's pairs order.

    Within each head of ``d`` rows, row ``r`` of half ``i`` (``r < d / 2``) moves to row ``2 r + i``.
    """
    rows = w.shape[0]
    if rows % (2 * n_heads):
        raise ValueError(f"interleave_rotary: {rows} rows do not split into {n_heads} heads of even size")
    half = rows // n_heads // 2
    return w.reshape(n_heads, 2, half, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _tokenizer_fields(source: str):
    """``(key, value, type, sub_type)`` of every ``tokenizer.*`` field of the GGUF file ``source``."""
    from gguf import GGUFReader, GGUFValueType
    reader = GGUFReader(source)
    fields = []
    for name, f in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        main = f.types[0]
        sub = f.types[-1] if main == GGUFValueType.ARRAY else None
        fields.append((name, f.contents(), main, sub))
    if not fields:
        raise ValueError(f"export_gguf: {source} has no tokenizer fields to copy")
    return fields


def export_gguf(lm, path: str | Path, tokenizer_from: str | None = None) -> Path:
    """Write ``lm`` (a transformers-engine :class:`~llm_bridge.models.language_model.LanguageModel`) to ``path`` as GGUF.

    ``tokenizer_from``: a GGUF file whose tokenizer to copy (default: the file ``lm`` was loaded from).
    Returns the path written.  Raises ``ValueError`` for an architecture other than llama or qwen2,
    or a vocabulary that does not match the tokenizer's.
    """
    import gguf
    cfg = lm.model.config
    arch = ARCHITECTURES.get(getattr(cfg, "model_type", None))
    if arch is None:
        raise ValueError(f"export_gguf: model_type must be one of {sorted(ARCHITECTURES)}; "
                         f"got {getattr(cfg, 'model_type', None)!r}")
    source = tokenizer_from or lm.config.name_or_path
    if not str(source).endswith(".gguf") or not Path(source).is_file():
        raise ValueError(f"export_gguf: tokenizer_from must be a GGUF file with this model's tokenizer; "
                         f"got {source!r} (pass the base model's .gguf file)")
    tok_fields = _tokenizer_fields(str(source))
    n_tokens = next(len(v) for k, v, _, _ in tok_fields if k == "tokenizer.ggml.tokens")
    if n_tokens != cfg.vocab_size:
        raise ValueError(f"export_gguf: the model has {cfg.vocab_size} embeddings but {source} has "
                         f"{n_tokens} tokens")
    n_head, n_kv = cfg.num_attention_heads, getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(Path(str(lm.config.name_or_path)).stem)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_context_length(int(cfg.max_position_embeddings))
    w.add_embedding_length(int(cfg.hidden_size))
    w.add_block_count(int(cfg.num_hidden_layers))
    w.add_feed_forward_length(int(cfg.intermediate_size))
    w.add_head_count(int(n_head))
    w.add_head_count_kv(int(n_kv))
    w.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
    rope = getattr(cfg, "rope_theta", None) or (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta")
    if rope is not None:
        w.add_rope_freq_base(float(rope))
    w.add_rope_dimension_count(int(head_dim))
    for key, value, vtype, sub in tok_fields:
        w.add_key_value(key, value, vtype, sub_type=sub)

    state = {k: v.detach().float().cpu().numpy() for k, v in lm.model.state_dict().items()}
    tied = bool(getattr(cfg, "tie_word_embeddings", False))
    for name, array in state.items():
        if name == "model.embed_tokens.weight":
            out = "token_embd.weight"
        elif name == "model.norm.weight":
            out = "output_norm.weight"
        elif name == "lm_head.weight":
            if tied:
                continue
            out = "output.weight"
        elif name.startswith("model.layers."):
            layer, rest = name[len("model.layers."):].split(".", 1)
            if rest not in _LAYER_NAMES:
                raise ValueError(f"export_gguf: no llama.cpp name for parameter {name!r}")
            out = f"blk.{layer}.{_LAYER_NAMES[rest]}"
            if arch == "llama" and rest.startswith(("self_attn.q_proj", "self_attn.k_proj")):
                array = interleave_rotary(array, n_head if "q_proj" in rest else n_kv)
        elif name.endswith("rotary_emb.inv_freq"):
            continue
        else:
            raise ValueError(f"export_gguf: no llama.cpp name for parameter {name!r}")
        w.add_tensor(out, np.ascontiguousarray(array, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
