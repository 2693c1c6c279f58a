"""Decoding in our own loop over a preallocated key/value cache: eager, or compiled, and on CUDA replayed
from one CUDA graph per shape.

``LanguageModel`` uses this when ``ModelConfig.decode`` is ``"static"`` or ``"compiled"`` (the default,
``"generate"``, calls transformers' ``generate``).  Why a loop of our own: on a GPU a decode step of a
small model is bound by host-side overhead, not by the card (docs/performance.md, Generation on a GPU: 3.65 ms per step at
batch 1 for a 0.5B model whose weights stream in 0.23 ms).  ``generate`` runs its logits processors,
stopping criteria and input preparation in Python at every step, outside any graph.  Here one decode
step -- the forward pass, the choice of the next token, its log-probability, the end-of-turn bookkeeping
-- reads and writes only tensors allocated once per shape, so the whole step can be captured once into a
CUDA graph and replayed with one call per token.  ``"compiled"`` also passes the step through
``torch.compile`` (inductor), which fuses its element-wise work into fewer kernels.  With
``attention="flex"`` (``ModelConfig.decode_attention``; compiled mode only) a decode step attends through
PyTorch's ``flex_attention``, which inductor lowers, for a query this short, to a kernel split over the
cache length (its "flex decoding" kernel) instead of one block per head walking all slots; a block mask,
updated inside the step, also limits it to the cache blocks filled so far.

The forward pass is written here for the Llama-family decoders the bridge runs (``qwen2``: Qwen2.5;
``llama``: SmolLM2), from the model's own modules (its norms, projections, MLPs and rotary embedding),
so it does not depend on transformers' cache and mask interfaces, which changed within 5.x.  The query,
key and value projections run as one matrix product, and the gate and up projections as another (fused
copies of the weights, refreshed when fine-tuning changes the originals).  It agrees
with transformers' own forward to float rounding, and greedy decoding gives the same tokens as
``generate`` with the same logits processors (repetition penalty, minimum length, temperature, top-k,
top-p; the penalty counts the prompt's tokens, not its padding; tests check on CPU, and on a GPU where
one is lent).  Sampling draws the same distributions as
``generate`` through the Gumbel-max rule with noise from a seeded generator, so sampled texts are not
the same draws as ``generate``'s.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

#: Values of ``ModelConfig.decode``.
DECODE_MODES = ("generate", "static", "compiled")
#: Values of ``ModelConfig.decode_attention``: the kernel a decode step attends through.
ATTENTIONS = ("sdpa", "flex")
#: Cache slots per block of the flex block mask (a multiple of the decoding kernel's own block).
_FLEX_BLOCK = 128
#: Vocabulary entries per chunk of a two-stage reduction over the vocabulary (the next token's choice).
_VOCAB_CHUNK = 1024
#: ``config.model_type`` of the models this loop can run.
ARCHITECTURES = ("qwen2", "llama")
#: Steps run before a CUDA graph is captured (allocation, compilation); their cache slots are spare ones.
_WARMUP_STEPS = 2
#: Host checks for "every row has ended" happen once per this many steps (each check waits for the GPU).
_CHECK_EVERY = 8


def check_attention(decode: str, attention: str) -> None:
    """Refuse a ``ModelConfig.decode_attention`` that is unknown, or ``"flex"`` outside ``decode="compiled"``
    (uncompiled, ``flex_attention`` materialises every score, slower than SDPA, and warns; ``generate``
    attends through ``attn_implementation``)."""
    if attention not in ATTENTIONS:
        raise ValueError(f"ModelConfig: decode_attention must be one of {ATTENTIONS}; got {attention!r}")
    if attention == "flex" and decode != "compiled":
        raise ValueError(f"ModelConfig: decode_attention='flex' needs decode='compiled'; got decode={decode!r}")


def unsupported_reason(model) -> str | None:
    """Why ``model`` cannot be decoded here, or None if it can."""
    cfg = model.config
    kind = getattr(cfg, "model_type", None)
    if kind not in ARCHITECTURES:
        return f"model_type {kind!r} is not one of {ARCHITECTURES}"
    base = model.base_model
    for name in ("layers", "norm", "rotary_emb"):
        if not hasattr(base, name):
            return f"the model has no base_model.{name}"
    if any(t != "full_attention" for t in (getattr(cfg, "layer_types", None) or [])):
        return "sliding-window attention layers are not supported"
    attn = base.layers[0].self_attn
    for name in ("q_proj", "k_proj", "v_proj", "o_proj", "head_dim", "scaling"):
        if not hasattr(attn, name):
            return f"its attention has no {name}"
    if hasattr(attn, "q_norm"):
        return "per-head query/key norms are not supported"
    mlp = base.layers[0].mlp
    for name in ("gate_proj", "up_proj", "down_proj", "act_fn"):
        if not hasattr(mlp, name):
            return f"its MLP has no {name}"
    if getattr(mlp.gate_proj, "bias", None) is not None:
        return "MLP biases are not supported"
    return None


def _clear_cublas_workspaces() -> None:
    import torch
    clear = getattr(torch._C, "_cuda_clearCublasWorkspaces", None)
    if clear is not None:
        clear()


def _chunked(x, fill: float):
    """``x`` (batch, vocab) as (batch, chunks, width), padded with ``fill``: a reduction over the vocabulary
    done in two stages, first within chunks, then over them.  At batch 1 a one-stage reduction over a
    152k vocabulary is one GPU block walking the whole row (43 us a step in the H200 profile); the
    first stage of two runs in as many blocks as there are chunks."""
    import torch.nn.functional as F
    vocab = x.shape[-1]
    chunks = max(1, vocab // _VOCAB_CHUNK)
    width = -(-vocab // chunks)
    if chunks * width != vocab:
        x = F.pad(x, (0, chunks * width - vocab), value=fill)
    return x.view(x.shape[0], chunks, width)


def _argmax(x):
    """``torch.argmax(x, dim=-1)`` of a (batch, vocab) tensor in two stages (:func:`_chunked`); ties go
    to the first index, as ``argmax``'s do."""
    import torch
    chunked = _chunked(x, float("-inf"))
    best, where = chunked.max(dim=-1)
    chunk = torch.argmax(best, dim=-1, keepdim=True)
    return (chunk * chunked.shape[-1] + where.gather(1, chunk)).squeeze(1)


def _logsumexp(x):
    """``torch.logsumexp(x, dim=-1)`` of a (batch, vocab) tensor in two stages (:func:`_chunked`)."""
    import torch
    return torch.logsumexp(torch.logsumexp(_chunked(x, float("-inf")), dim=-1), dim=-1)


def _rotate_half(x):
    import torch
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


@dataclass(frozen=True)
class _Rules:
    """How the next token is chosen (the logits processors ``generate`` would apply, in its order)."""

    sample: bool
    temperature: float
    top_k: int            # 0: off
    top_p: float          # 1.0: off
    penalty: float        # repetition penalty; 1.0: off
    min_new: int          # end tokens forbidden while fewer tokens have been generated


class _State:
    """Every tensor one decode step reads or writes, allocated once per shape and then changed in place
    (a captured CUDA graph keeps their addresses)."""

    def __init__(self, model, batch: int, prompt: int, new: int, rules: _Rules, device, vocab: int,
                 attention: str = "sdpa"):
        import torch
        cfg = model.config
        attn = model.base_model.layers[0].self_attn
        self.length = prompt + new + _WARMUP_STEPS       # cache slots; the spare ones take warm-up writes
        self.rules = rules
        dtype = next(model.parameters()).dtype
        kv_heads = attn.k_proj.out_features // attn.head_dim
        shape = (batch, kv_heads, self.length, attn.head_dim)
        n_layers = cfg.num_hidden_layers
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.key_valid = torch.ones((batch, self.length), dtype=torch.bool, device=device)
        self.slots = torch.arange(self.length, device=device)
        self.cache_index = torch.zeros((), dtype=torch.long, device=device)
        self.positions = torch.zeros(batch, dtype=torch.long, device=device)
        self.token = torch.zeros(batch, dtype=torch.long, device=device)
        self.finished = torch.zeros(batch, dtype=torch.bool, device=device)
        self.step = torch.zeros((), dtype=torch.long, device=device)
        width = new + _WARMUP_STEPS
        self.out_tokens = torch.zeros((batch, width), dtype=torch.long, device=device)
        self.out_logprobs = torch.zeros((batch, width), dtype=torch.float32, device=device)
        self.presence = torch.zeros((batch, vocab), dtype=torch.bool, device=device) if rules.penalty != 1.0 else None
        self.noise = torch.zeros((batch, vocab), dtype=torch.float32, device=device) if rules.sample else None
        self.graph = None
        self.block_mask = self.filled_blocks = None
        if attention == "flex":
            self._flex_mask(batch, groups=cfg.num_attention_heads // kv_heads, device=device)

    def _flex_mask(self, batch: int, groups: int, device) -> None:
        """The block mask a flex decode step attends through: per row, the cache blocks up to the one
        holding slot ``cache_index`` (their count, ``filled_blocks``, is set inside each step), and within
        them the slots a padding-aware causal mask allows (the ``key_valid`` ones up to ``cache_index``).
        The query heads sharing a key/value head are folded into the query length, as for SDPA."""
        import torch
        from torch.nn.attention.flex_attention import BlockMask
        blocks = -(-self.length // _FLEX_BLOCK)
        self.filled_blocks = torch.zeros((batch, 1, 1), dtype=torch.int32, device=device)
        order = torch.arange(blocks, dtype=torch.int32, device=device).view(1, 1, 1, blocks)
        valid, index = self.key_valid, self.cache_index

        def allowed(b, h, q, kv):
            return valid[b, kv] & (kv <= index)

        self.block_mask = BlockMask.from_kv_blocks(self.filled_blocks, order.expand(batch, 1, 1, blocks).contiguous(),
                                                   BLOCK_SIZE=(_FLEX_BLOCK, _FLEX_BLOCK), mask_mod=allowed,
                                                   seq_lengths=(groups, self.length))

    def small(self) -> list:
        """The state a warm-up step changes outside the spare cache slots and output columns."""
        return [t for t in (self.cache_index, self.positions, self.token, self.finished, self.step, self.presence)
                if t is not None]


class StaticDecoder:
    """Batched decoding of a Llama-family model in our own loop (see the module docstring).

    ``mode`` is ``"static"`` (eager kernels) or ``"compiled"`` (the step through ``torch.compile``); on
    CUDA either is captured into a CUDA graph per shape.  ``attention`` is ``"sdpa"`` or, compiled only,
    ``"flex"``.  Shapes are keyed by batch size, prompt length, new tokens and the choice rules; the
    ``keep`` most recent ones stay allocated.
    """

    def __init__(self, model, mode: str, pad_id: int, end_ids: list[int], keep: int = 2,
                 attention: str = "sdpa"):
        import torch
        if mode not in ("static", "compiled"):
            raise ValueError(f"StaticDecoder: mode must be 'static' or 'compiled'; got {mode!r}")
        check_attention(mode, attention)
        self.attention = attention
        reason = unsupported_reason(model)
        if reason is not None:
            raise ValueError(f"ModelConfig.decode={mode!r} runs Llama-family decoders only: {reason}; "
                             f"use decode='generate' for this model")
        self.model, self.mode, self.pad_id, self.keep = model, mode, int(pad_id), keep
        base = model.base_model
        self.layers, self.norm, self.rotary = base.layers, base.norm, base.rotary_emb
        self.embed, self.head = model.get_input_embeddings(), model.get_output_embeddings()
        self.vocab = self.head.out_features
        self.device = next(model.parameters()).device
        self.end_ids = torch.tensor(sorted(set(end_ids)), dtype=torch.long, device=self.device)
        self.end_mask = torch.zeros(self.vocab, dtype=torch.bool, device=self.device)
        self.end_mask[self.end_ids] = True
        self._states: OrderedDict = OrderedDict()
        self.cuda = self.device.type == "cuda"
        self._fuse()
        if mode == "compiled":
            import torch._dynamo
            # one compiled step per shape and per model: raise dynamo's per-function recompile limit
            for name in ("recompile_limit", "cache_size_limit"):
                if hasattr(torch._dynamo.config, name):
                    setattr(torch._dynamo.config, name, max(64, getattr(torch._dynamo.config, name)))
            # flex decoding's split over the cache needs the batch size as a constant, so a flex step is
            # compiled for static shapes (a new shape recompiles instead of generalising)
            self._run_step = torch.compile(self._step, fullgraph=True, dynamic=False if attention == "flex" else None)
        else:
            self._run_step = self._step

    # ------------------------------------------------------------------ fused weights
    @staticmethod
    def _groups(layer) -> tuple:
        """The weights fused into one product each: query/key/value, their biases (or None), gate/up."""
        a, m = layer.self_attn, layer.mlp
        biases = [a.q_proj.bias, a.k_proj.bias, a.v_proj.bias] if a.q_proj.bias is not None else None
        return [a.q_proj.weight, a.k_proj.weight, a.v_proj.weight], biases, [m.gate_proj.weight, m.up_proj.weight]

    def _fuse(self) -> None:
        """One weight matrix for the query, key and value projections and one for the gate and up
        projections of each layer (4 matrix products per layer and step instead of 7: at batch 1 on a GPU
        each is a launch-bound kernel of a few microseconds).  They are copies, refreshed in place (so a
        captured graph keeps their addresses) whenever a source weight has changed since (fine-tuning)."""
        import torch
        self._fused = []
        for layer in self.layers:
            qkv, biases, gate_up = self._groups(layer)
            split = tuple(w.shape[0] for w in qkv)
            self._fused.append([None if g is None else torch.cat(g).detach() for g in (qkv, biases, gate_up)]
                               + [split])
        self._versions = self._weight_versions()

    def _weight_versions(self) -> list:
        return [(id(w), w._version) for layer in self.layers for g in self._groups(layer) if g is not None
                for w in g]

    def _refresh(self) -> None:
        """Copy changed source weights into the fused ones (in place)."""
        import torch
        if self._weight_versions() == self._versions:
            return
        with torch.no_grad():
            for layer, fused in zip(self.layers, self._fused):
                for group, out in zip(self._groups(layer), fused):
                    if group is not None:
                        torch.cat(group, out=out)
        self._versions = self._weight_versions()

    # ------------------------------------------------------------------ rules
    def rules(self, sampling) -> _Rules:
        """The choice rules ``generate`` would apply for ``sampling`` and the model's generation config."""
        gc = getattr(self.model, "generation_config", None)
        penalty = float(getattr(gc, "repetition_penalty", None) or 1.0)
        sample = sampling.temperature > 0
        top_k = int(getattr(gc, "top_k", None) or 0) if sample else 0
        return _Rules(sample=sample, temperature=float(sampling.temperature) if sample else 1.0,
                      top_k=top_k if 0 < top_k < self.vocab else 0,
                      top_p=float(sampling.top_p) if sample else 1.0,
                      penalty=penalty, min_new=int(sampling.min_new_tokens or 0))

    # ------------------------------------------------------------------ forward
    def _forward(self, st: _State, ids, positions, slots, mask, width: int):
        """Last-position logits (float32) of ``ids`` at cache ``slots``, attending to the first ``width``
        slots through ``mask`` (batch, 1, tokens, width), or, when ``mask`` is None (a flex decode step),
        through ``st.block_mask``."""
        import torch.nn.functional as F
        batch, tokens = ids.shape
        x = self.embed(ids)
        cos, sin = self.rotary(x, positions)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        for i, layer in enumerate(self.layers):
            attn, mlp = layer.self_attn, layer.mlp
            qkv_w, qkv_b, gate_up_w, split = self._fused[i]
            hd = attn.head_dim
            h = layer.input_layernorm(x)
            q, k, v = F.linear(h, qkv_w, qkv_b).split(split, dim=-1)
            q = q.reshape(batch, tokens, -1, hd).transpose(1, 2)
            k = k.reshape(batch, tokens, -1, hd).transpose(1, 2)
            v = v.reshape(batch, tokens, -1, hd).transpose(1, 2)
            q = q * cos + _rotate_half(q) * sin
            k = k * cos + _rotate_half(k) * sin
            st.keys[i].index_copy_(2, slots, k)
            st.values[i].index_copy_(2, slots, v)
            kv_heads, groups = k.shape[1], q.shape[1] // k.shape[1]
            # query heads g*j .. g*j+g-1 share key/value head j: fold them into the query length
            qg = q.reshape(batch, kv_heads, groups * tokens, hd)
            if mask is None:
                from torch.nn.attention.flex_attention import flex_attention
                a = flex_attention(qg, st.keys[i], st.values[i], block_mask=st.block_mask, scale=attn.scaling)
            else:
                mg = mask if tokens == 1 else mask.unsqueeze(2).expand(batch, 1, groups, tokens, width).reshape(
                    batch, 1, groups * tokens, width)
                a = F.scaled_dot_product_attention(qg, st.keys[i][:, :, :width], st.values[i][:, :, :width],
                                                   attn_mask=mg, scale=attn.scaling)
            a = a.reshape(batch, -1, tokens, hd).transpose(1, 2).reshape(batch, tokens, -1)
            x = x + attn.o_proj(a)
            gate, up = F.linear(layer.post_attention_layernorm(x), gate_up_w).chunk(2, dim=-1)
            x = x + mlp.down_proj(mlp.act_fn(gate) * up)
        return self.head(self.norm(x[:, -1])).float()

    def _advance(self, st: _State, logits) -> None:
        """Choose the next token from ``logits`` and record it and its log-probability at ``st.step``."""
        import torch
        r = st.rules
        norm = _logsumexp(logits)
        scores = logits
        if r.penalty != 1.0:
            penalised = torch.where(scores < 0, scores * r.penalty, scores / r.penalty)
            scores = torch.where(st.presence, penalised, scores)
        if r.min_new > 0:
            scores = scores.masked_fill(self.end_mask & (st.step < r.min_new), float("-inf"))
        if r.sample:
            scores = scores / r.temperature
            if r.top_k:
                kth = torch.topk(scores, r.top_k, dim=-1).values[:, -1:]
                scores = scores.masked_fill(scores < kth, float("-inf"))
            if r.top_p < 1.0:
                ordered, order = torch.sort(scores, dim=-1, descending=True)
                probs = torch.softmax(ordered, dim=-1)
                before = torch.cumsum(probs, dim=-1) - probs          # mass of the tokens ranked above
                drop = before >= r.top_p
                drop[:, 0] = False
                scores = scores.masked_fill(drop.scatter(1, order, drop), float("-inf"))
            gumbel = -torch.log(-torch.log(st.noise))
            chosen = _argmax(scores + gumbel)
        else:
            chosen = _argmax(scores)
        chosen = torch.where(st.finished, self.pad_id, chosen)
        at = st.step.view(1)
        st.out_tokens.index_copy_(1, at, chosen.unsqueeze(1))
        st.out_logprobs.index_copy_(1, at, logits.gather(1, chosen.unsqueeze(1)) - norm.unsqueeze(1))
        st.finished.logical_or_(chosen.unsqueeze(1).eq(self.end_ids).any(dim=1))
        st.token.copy_(chosen)
        if st.presence is not None:
            st.presence.scatter_(1, chosen.unsqueeze(1), True)
        st.step.add_(1)

    def _step(self, st: _State) -> None:
        """One decode step: the last chosen token goes through the model at the next cache slot."""
        import torch
        if st.block_mask is not None:
            mask = None
            st.filled_blocks.copy_((st.cache_index // _FLEX_BLOCK + 1).to(torch.int32).expand_as(st.filled_blocks))
        else:
            mask = (st.key_valid & (st.slots <= st.cache_index)).view(st.token.shape[0], 1, 1, st.length)
        logits = self._forward(st, st.token.unsqueeze(1), st.positions.unsqueeze(1), st.cache_index.view(1),
                               mask, st.length)
        self._advance(st, logits)
        st.positions.add_(1)
        st.cache_index.add_(1)

    # ------------------------------------------------------------------ loop
    def _state(self, batch: int, prompt: int, new: int, rules: _Rules) -> _State:
        key = (batch, prompt, new, rules)
        st = self._states.pop(key, None)
        if st is None:
            while len(self._states) >= self.keep:
                self._states.popitem(last=False)
            st = _State(self.model, batch, prompt, new, rules, self.device, self.vocab, self.attention)
        self._states[key] = st
        return st

    def _prefill(self, st: _State, input_ids, attention_mask) -> None:
        """Run the prompts into slots ``0..P-1`` and choose the first token."""
        import torch
        batch, prompt = input_ids.shape
        valid = attention_mask.bool()
        st.key_valid.fill_(True)
        st.key_valid[:, :prompt].copy_(valid)
        positions = (attention_mask.long().cumsum(dim=1) - 1).masked_fill(~valid, 1)
        causal = torch.ones((prompt, prompt), dtype=torch.bool, device=self.device).tril()
        # a padding position attends to itself only, so no row of the mask is empty
        mask = (causal & valid[:, None, :]) | torch.eye(prompt, dtype=torch.bool, device=self.device)
        logits = self._forward(st, input_ids, positions, st.slots[:prompt], mask.unsqueeze(1), prompt)
        st.cache_index.fill_(prompt)
        st.positions.copy_(positions[:, -1] + 1)
        st.finished.fill_(False)
        st.step.fill_(0)
        if st.presence is not None:
            st.presence.fill_(False)
            # the prompt's own tokens, not its padding (as transformers 5.25 does; 5.17 counted the padding
            # token too): padding slots repeat the row's last token, which is real under left padding
            st.presence.scatter_(1, torch.where(valid, input_ids, input_ids[:, -1:]), True)
        self._advance(st, logits)

    def _capture(self, st: _State) -> None:
        """Warm the step up on a side stream (allocation, compilation), capture it, and undo the warm-up."""
        import torch
        saved = [t.clone() for t in st.small()]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(_WARMUP_STEPS):
                self._run_step(st)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # cuBLAS keeps one workspace per stream, and a captured matrix product keeps its address.  Without
        # this, a graph could borrow the workspace an earlier capture made in its own (since freed) pool;
        # whoever clears the workspaces next (torch.compile's CUDA-graph trees do, e.g. under generate with
        # a static cache) frees that memory under this graph (an illegal memory access on replay, seen on
        # an H200).  Cleared here, the capture allocates its workspace in this graph's own pool, which
        # lives as long as the graph does; cleared after, no later capture borrows it.
        _clear_cublas_workspaces()
        with torch.cuda.graph(graph):
            self._run_step(st)
        _clear_cublas_workspaces()
        for t, s in zip(st.small(), saved):
            t.copy_(s)
        st.graph = graph

    def generate(self, input_ids, attention_mask, sampling, generator=None):
        """``(tokens, logprobs)``, each ``(batch, steps)``: the generated ids (padding after a row's end
        token) and each one's log-probability under the model (temperature 1).  ``steps`` is at most
        ``sampling.max_new_tokens``; decoding stops early once every row has ended."""
        import torch
        rules = self.rules(sampling)
        new = int(sampling.max_new_tokens)
        batch, prompt = input_ids.shape
        st = self._state(batch, prompt, new, rules)
        self._refresh()
        with torch.no_grad():
            if st.noise is not None:
                st.noise.uniform_(generator=generator)
            self._prefill(st, input_ids, attention_mask)
            if self.cuda and new > 1 and st.graph is None:
                self._capture(st)
            done = 1
            while done < new:
                if done % _CHECK_EVERY == 0 and bool(st.finished.all()):
                    break
                if st.noise is not None:
                    st.noise.uniform_(generator=generator)
                if st.graph is not None:
                    st.graph.replay()
                else:
                    self._run_step(st)
                done += 1
            return st.out_tokens[:, :done].clone(), st.out_logprobs[:, :done].clone()
