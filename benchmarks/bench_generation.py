"""Decode speed and memory of ``LanguageModel`` on Qwen2.5-shaped models with random weights, by decode path.

    python -m benchmarks.bench_generation --device cpu --shapes tiny                 # seconds (a test runs it)
    python -m benchmarks.bench_generation --device cuda --shapes qwen05 --dtype bfloat16 \\
        --batches 1 64 256 --json results/bench_generation_gpu.json                  # one call on a lent GPU

The models are built from their configurations (``Qwen2Config`` then ``Qwen2ForCausalLM``), so nothing
but this source has to reach the machine; a character tokenizer writes the prompts (random text of
``--prompt-tokens`` characters).  The decode paths (``--paths``):

* ``generate-dynamic`` / ``generate-static``: transformers' ``generate`` with a dynamic or static key/value
  cache (with the static one, transformers compiles the forward on CUDA itself);
* ``static`` / ``compiled``: our own loop (``llm_bridge.models.static_decoder``), eager or through
  ``torch.compile``; on CUDA each is replayed from one CUDA graph per shape;
* ``compiled-flex``: the compiled loop with each decode step attending through ``flex_attention``
  (``decode_attention="flex"``: a kernel split over the cache length, over the filled cache blocks only).

For each shape, path, batch and scored/unscored call it times generation of exactly 1 and exactly
``--new-tokens`` tokens (end tokens suppressed until then; the fastest of ``--repeats`` calls each, after
one warm-up call of the full length, which compiles and captures) and reports

* ms per decode step, ``(t_N - t_1) / (N - 1)`` (prefill excluded), and tokens/s over the batch;
* peak memory above the loaded model (CUDA: ``max_memory_allocated``, what the path keeps between calls
  included; CPU: resident set above the call's start, sampled);
* ``same_ids``: the fraction of prompts whose generated token ids equal those of the first path in
  ``--paths`` at the same shape and batch (random weights make near-ties; in bf16 a path that rounds
  differently can flip one);
* the floors of a decode step on the card: weight bytes / bandwidth, key/value bytes / bandwidth, and
  FLOPs / peak (``--bandwidth-gbs``, ``--peak-tflops``; known cards are filled in, a CPU has none);
* with ``--profile-batches``, what one decode step launches at those batch sizes (PyTorch's profiler over
  a call of ``--new-tokens`` tokens less a call of one): kernels per step, the card's busy time per step
  and the costliest kernels (on CPU: operators and their CPU time).

The JSON is rewritten after every row, so a run cut short keeps what it measured.  Nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import platform
import threading
import time

from . import write_json

#: Shapes from the published Qwen2.5 configurations (tiny: the same architecture, for CPU tests).
SHAPES = {
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=128, vocab_size=4096),
    "qwen05": dict(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                   intermediate_size=4864, vocab_size=151936, tie_word_embeddings=True),
    "qwen15": dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                   intermediate_size=8960, vocab_size=151936, tie_word_embeddings=True),
}

#: (memory bandwidth GB/s, dense bf16 TFLOP/s) by the name CUDA reports, as published by the vendor.
CARDS = {"H100": (3350.0, 989.0), "H200": (4800.0, 989.0), "A100": (2039.0, 312.0)}


#: Decode paths: (ModelConfig.decode, kv_cache, ModelConfig.decode_attention).
PATHS = {"generate-dynamic": ("generate", "dynamic", "sdpa"), "generate-static": ("generate", "static", "sdpa"),
         "static": ("static", "auto", "sdpa"), "compiled": ("compiled", "auto", "sdpa"),
         "compiled-flex": ("compiled", "auto", "flex")}


def build_model(shape: str, dtype: str, device: str):
    """A ``Qwen2ForCausalLM`` of ``shape`` with random weights (seed 0), built on ``device``, and its tokenizer."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from llm_bridge.models.tiny import char_tokenizer
    torch.manual_seed(0)
    tok = char_tokenizer()
    cfg = Qwen2Config(**SHAPES[shape], max_position_embeddings=4096, bos_token_id=tok.eos_token_id,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    with torch.device(device):
        model = Qwen2ForCausalLM(cfg).to(getattr(torch, dtype))
    return tok, model


def wrap(tok, model, shape: str, dtype: str, device: str, path: str):
    """``LanguageModel`` over ``model`` for decode ``path``."""
    from llm_bridge.models.language_model import LanguageModel, ModelConfig
    decode, kv, attention = PATHS[path]
    return LanguageModel(tok, model, ModelConfig(shape, device=device, dtype=dtype, kv_cache=kv, decode=decode,
                                                 decode_attention=attention, chat_template=False))


class _PeakRSS:
    """Resident set size sampled every few milliseconds (CPU peak memory; ru_maxrss cannot be reset)."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()

    def _rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def __enter__(self):
        self.base = self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def _timed(lm, prompts, tokens: int, scored: bool, device: str, base: int = 0) -> tuple[float, int, list]:
    """Seconds for one call generating exactly ``tokens`` tokens, peak bytes (CUDA: above ``base``; CPU:
    above the call's start), and the generations."""
    import torch
    from llm_bridge.models.language_model import SamplingConfig
    sampling = SamplingConfig(max_new_tokens=tokens, min_new_tokens=tokens)
    def call(texts, sampling):          # Generation objects either way (their token ids are compared)
        return lm._generate(texts, sampling, progress=False, scored=scored)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        out = call(prompts, sampling)
        torch.cuda.synchronize()
        return time.perf_counter() - t, torch.cuda.max_memory_allocated() - base, out
    with _PeakRSS() as peak:
        t = time.perf_counter()
        out = call(prompts, sampling)
        seconds = time.perf_counter() - t
    return seconds, peak.peak - peak.base, out


def floors(shape: str, dtype: str, batch: int, context: int, card: tuple[float, float] | None) -> dict:
    """Lower bounds on one decode step's time from bytes moved and FLOPs done."""
    s = SHAPES[shape]
    h, L, kv, inter, V = s["hidden_size"], s["num_hidden_layers"], s["num_key_value_heads"], s["intermediate_size"], s["vocab_size"]
    head = h // s["num_attention_heads"]
    per_layer = h * h * 2 + 2 * h * kv * head + 3 * h * inter          # q, o; k, v; gate, up, down
    params = L * per_layer + V * h * (1 if s.get("tie_word_embeddings") else 2)
    width = 2 if dtype in ("bfloat16", "float16") else 4
    kv_bytes = 2 * L * kv * head * context * batch * width
    flops = 2 * params * batch + 4 * L * h * context * batch
    out = {"params": params, "weight_bytes": params * width, "kv_bytes": kv_bytes, "flops": flops}
    if card is not None:
        bw, tflops = card
        out.update(weights_ms=params * width / (bw * 1e9) * 1e3, kv_ms=kv_bytes / (bw * 1e9) * 1e3,
                   flops_ms=flops / (tflops * 1e12) * 1e3)
    return out


def _events(lm, prompts, tokens: int, device: str):
    """Per device event name (CUDA kernels on CUDA, operators on CPU): (calls, microseconds) in one plain
    call generating exactly ``tokens`` tokens, read by PyTorch's profiler."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    cuda = device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        _timed(lm, prompts, tokens, False, device)
    wanted = torch.autograd.DeviceType.CUDA if cuda else torch.autograd.DeviceType.CPU
    out = {}
    for e in prof.key_averages():
        if e.device_type == wanted:
            us = e.self_device_time_total if cuda else e.self_cpu_time_total
            out[e.key] = (e.count, us)
    return out


def _fastest_events(lm, prompts, tokens: int, device: str, repeats: int) -> dict:
    """:func:`_events` over ``repeats`` calls: each event's calls, and its least time of the calls (what
    another process on the same cores added to one call stays out)."""
    runs = [_events(lm, prompts, tokens, device) for _ in range(repeats)]
    return {name: (runs[0][name][0], min(r.get(name, (0, float("inf")))[1] for r in runs)) for name in runs[0]}


def profile_step(lm, prompts, new_tokens: int, device: str, top: int = 12, repeats: int = 3) -> dict:
    """What one decode step launches: events (kernels on CUDA, operators on CPU) and their time per step,
    as the difference between a call of ``new_tokens`` tokens and a call of one (prefill excluded, as
    for ``ms_per_step``; each the fastest of ``repeats`` calls), with the ``top`` events by time.  The
    times are a difference of two measurements: on a busy CPU a short call's can come out below zero."""
    _timed(lm, prompts, 1, False, device)      # one-time costs (cache set-up, lazy init) stay out of the baseline
    one = _fastest_events(lm, prompts, 1, device, repeats)
    many = _fastest_events(lm, prompts, new_tokens, device, repeats)
    steps = new_tokens - 1

    def per_step(name):
        calls, us = many[name]
        calls0, us0 = one.get(name, (0, 0.0))
        return (calls - calls0) / steps, (us - us0) / steps / 1e3
    rows = sorted(((name, *per_step(name)) for name in many), key=lambda r: -r[2])
    return {"kind": "cuda kernels" if device.startswith("cuda") else "cpu operators",
            "events_per_step": sum(r[1] for r in rows), "busy_ms_per_step": sum(r[2] for r in rows),
            "top": [{"name": n[:120], "per_step": c, "ms_per_step": ms} for n, c, ms in rows[:top]]}


def _measure(lm, shape, path, batch, prompts, reference, card, report, args) -> None:
    """Rows for one shape, path and batch: plain and scored."""
    import torch
    device = args.device
    lm.config.batch_size = batch
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
    base = torch.cuda.memory_allocated() if device.startswith("cuda") else 0
    started = time.perf_counter()
    warm = _timed(lm, prompts, args.new_tokens, False, device, base)              # compiles, captures
    ids = [g.token_ids for g in warm[2]]
    reference.setdefault(batch, ids)
    same = sum(a == b for a, b in zip(ids, reference[batch])) / batch
    for scored in (False, True):
        t1 = min(_timed(lm, prompts, 1, scored, device, base)[0] for _ in range(args.repeats))
        runs = [_timed(lm, prompts, args.new_tokens, scored, device, base) for _ in range(args.repeats)]
        tn, peak = min(r[0] for r in runs), max(r[1] for r in runs)
        step = (tn - t1) / (args.new_tokens - 1)
        row = {"shape": shape, "path": path, "batch": batch, "scored": scored,
               "ms_per_step": step * 1e3, "tokens_per_s": batch / step if step > 0 else float("inf"),
               "peak_mib": peak / 2**20, "same_ids": same, "reference": args.paths[0],
               "first_call_s": warm[0], "setting_s": time.perf_counter() - started,
               "floors": floors(shape, args.dtype, batch, args.prompt_tokens + args.new_tokens, card)}
        report["rows"].append(row)
        print(f"{shape:>7} {path:>16} batch {batch:>4} {'scored' if scored else 'plain':>7}: "
              f"{row['ms_per_step']:8.2f} ms/step {row['tokens_per_s']:10.1f} tok/s "
              f"peak +{row['peak_mib']:8.1f} MiB  same ids {same:.2f}  first call {warm[0]:.1f} s", flush=True)
        write_json(report, args.json)
    if batch in args.profile_batches:
        prof = profile_step(lm, prompts, args.new_tokens, device)
        report.setdefault("profiles", []).append({"shape": shape, "path": path, "batch": batch, **prof})
        print(f"{shape:>7} {path:>16} batch {batch:>4} profile: {prof['events_per_step']:.0f} {prof['kind']} "
              f"per step, busy {prof['busy_ms_per_step']:.3f} ms per step", flush=True)
        write_json(report, args.json)


def run(args) -> dict:
    import random

    import torch
    import transformers
    device = args.device
    card = None
    if args.bandwidth_gbs and args.peak_tflops:
        card = (args.bandwidth_gbs, args.peak_tflops)
    elif device.startswith("cuda"):
        name = torch.cuda.get_device_name(0)
        card = next((v for k, v in CARDS.items() if k in name), None)
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "transformers": transformers.__version__, "device": device,
                "card": torch.cuda.get_device_name(0) if device.startswith("cuda") else f"cpu x {torch.get_num_threads()} threads"}
    report = {"settings": vars(args), "versions": versions, "card_floors": card, "rows": []}
    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz "
    prompts = ["".join(rng.choice(letters) for _ in range(args.prompt_tokens)) for _ in range(max(args.batches))]
    for shape in args.shapes:
        tok, model = build_model(shape, args.dtype, device)
        reference: dict[int, list] = {}
        for path in args.paths:
            lm = wrap(tok, model, shape, args.dtype, device, path)
            for batch in args.batches:
                try:
                    _measure(lm, shape, path, batch, prompts[:batch], reference, card, report, args)
                except Exception as exc:                  # a path that fails on this machine is a result too
                    report["rows"].append({"shape": shape, "path": path, "batch": batch,
                                           "error": f"{type(exc).__name__}: {exc}"[:2000]})
                    print(f"{shape:>7} {path:>16} batch {batch:>4}: FAILED {type(exc).__name__}: {exc}"[:400],
                          flush=True)
                    write_json(report, args.json)
            del lm
        del model
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    return report


def main(argv=None) -> int:
    from experiments.config import positive_int      # --n 0 refused as the line is read
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--shapes", nargs="+", default=["tiny"], choices=sorted(SHAPES))
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--batches", nargs="+", type=positive_int, default=[1, 8])
    p.add_argument("--paths", nargs="+", default=["generate-dynamic", "generate-static", "static", "compiled"],
                   choices=list(PATHS), help="decode paths (the first is the reference for same_ids)")
    p.add_argument("--prompt-tokens", type=positive_int, default=64, help="characters (= tokens) per prompt")
    p.add_argument("--new-tokens", type=positive_int, default=32, help="tokens generated per prompt (at least 2)")
    p.add_argument("--repeats", type=positive_int, default=3, help="timed calls per setting (the fastest counts)")
    p.add_argument("--bandwidth-gbs", type=float, help="the card's memory bandwidth, for the floors")
    p.add_argument("--peak-tflops", type=float, help="the card's peak TFLOP/s in --dtype, for the floors")
    p.add_argument("--profile-batches", nargs="+", type=positive_int, default=[], metavar="B",
                   help="also profile one plain call at these batch sizes: kernels (CPU: operators) per decode "
                        "step, the device's busy time per step, and the costliest kernels")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    if args.new_tokens < 2:
        p.error(f"--new-tokens must be at least 2 (a step time needs two lengths); got {args.new_tokens}")
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
