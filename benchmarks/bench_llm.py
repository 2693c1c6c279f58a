"""Generation and scoring throughput of the bridge's LanguageModel, with baselines side by side.

    python -m benchmarks.bench_llm --models smollm2 qwen05 --device cpu --out results/bench_llm_cpu.json
    python -m benchmarks.bench_llm --models smollm2 --device cuda --dtypes float32 bfloat16 \\
        --kv dynamic static --min-prompts 64 --compare results/bench_llm_cpu.json

Prompts are GSM-Symbolic questions (reasoning-gym, seed 0) in the model's chat template.  For each
model, dtype and KV cache it times greedy generation of exactly ``--new-tokens`` tokens (end tokens
are suppressed until then, so every batch size does the same work) at batch sizes 1/8/32/64 on
``max(batch, --min-prompts)`` prompts, and reports tokens/s, the first call's seconds (compilation
for a static cache) and the ratio to batch 1.  Scoring times ``log_likelihood`` on ``--prompts``
(prompt, completion) pairs one pair per forward pass (the baseline) and batched, and reports the
ratio and the largest difference between the two, for long continuations (the problems' worked
solutions) and short ones (the final answer).

The outputs at the largest batch are saved in the JSON (``outputs``); ``--compare FILE`` counts how
many of them are byte-identical to those saved by another run (e.g. the CPU fp32 run), per setting.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from . import write_json


def _versions(device: str) -> dict:
    import torch
    import transformers
    v = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
         "device": device}
    if device.startswith("cuda"):
        v["gpu"] = torch.cuda.get_device_name(0)
    else:
        v["cpu_threads"] = torch.get_num_threads()
    return v


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch
        torch.cuda.synchronize()


def bench_generation(lm, prompts, batches, new_tokens, min_prompts, device):
    from llm_bridge.models.language_model import SamplingConfig
    cfg = SamplingConfig(max_new_tokens=new_tokens, min_new_tokens=new_tokens)
    rows, outputs = [], {}
    for b in batches:
        lm.config.batch_size = b
        use = prompts[:max(b, min_prompts)]
        _sync(device)
        t0 = time.perf_counter()
        lm.generate(use[:b], cfg)                     # first call: compilation and allocation
        _sync(device)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        outs = lm.generate(use, cfg)
        _sync(device)
        dt = time.perf_counter() - t0
        rows.append({"batch": b, "prompts": len(use), "seconds": dt, "first_call_s": first,
                     "tokens_per_s": len(use) * new_tokens / dt})
        outputs[b] = outs
        print(f"  batch {b:3d}: {len(use) * new_tokens / dt:8.1f} tokens/s  ({len(use)} prompts, {dt:.1f} s; "
              f"first call {first:.1f} s)", flush=True)
    base = rows[0]["tokens_per_s"]
    for r in rows:
        r["ratio_to_batch1"] = r["tokens_per_s"] / base
    largest = max(outputs)
    same = {b: sum(x == y for x, y in zip(outputs[b], outputs[largest])) for b in outputs}
    return rows, outputs[largest], {str(b): f"{same[b]}/{len(outputs[b])}" for b in outputs}


def bench_scoring(lm, prompts, continuations, device, batch):
    lm.config.batch_size = 1
    lm.log_likelihood(prompts[:2], continuations[:2])
    _sync(device)
    t0 = time.perf_counter()
    one = lm.log_likelihood(prompts, continuations)
    _sync(device)
    t_one = time.perf_counter() - t0
    lm.config.batch_size = batch
    lm.log_likelihood(prompts[:batch], continuations[:batch])
    _sync(device)
    t0 = time.perf_counter()
    many = lm.log_likelihood(prompts, continuations)
    _sync(device)
    t_many = time.perf_counter() - t0
    diff = max(abs(a - b) for a, b in zip(one, many))
    print(f"  scoring {len(prompts)} pairs ({sum(map(len, continuations)) // len(prompts)} characters each): one at a time {t_one:.2f} s, batched ({batch}) {t_many:.2f} s, "
          f"ratio {t_one / t_many:.1f}x, max |difference| {diff:.1e}", flush=True)
    return {"pairs": len(prompts), "one_at_a_time_s": t_one, "batched_s": t_many, "batch": batch,
            "ratio": t_one / t_many, "max_abs_difference": diff}


def markdown(reports: list[dict]) -> str:
    """Tables of tokens/s and scoring ratios from saved reports (``--markdown FILE ...``)."""
    lines = ["| model | device | dtype | KV cache | " + " | ".join(f"batch {b}" for b in (1, 8, 32, 64))
             + " | batch 8 / batch 1 | outputs equal across batches |", "|---" * 10 + "|"]
    score = ["| model | device | dtype | pairs | continuation | one at a time (s) | batched (s) | ratio | "
             "max abs difference |", "|---" * 9 + "|"]
    for rep in reports:
        v = rep["versions"]
        dev = v.get("gpu", f"CPU ({v.get('cpu_threads')} threads)")
        for r in rep["runs"]:
            tps = {g["batch"]: g["tokens_per_s"] for g in r["generation"]}
            cells = [f"{tps[b]:,.0f}" if b in tps else "-" for b in (1, 8, 32, 64)]
            ratio = f"{tps[8] / tps[1]:.1f}x" if 1 in tps and 8 in tps else "-"
            agree = ", ".join(f"{b}: {a}" for b, a in r["outputs_equal_to_largest_batch"].items())
            lines.append(f"| {r['model']} | {dev} | {r['dtype']} | {r['kv_cache']} | " + " | ".join(cells)
                         + f" | {ratio} | {agree} |")
            for kind, sc in (r.get("scoring") or {}).items():
                score.append(f"| {r['model']} | {dev} | {r['dtype']} | {sc['pairs']} | {kind.replace('_', ' ')} | "
                             f"{sc['one_at_a_time_s']:.2f} | {sc['batched_s']:.2f} (batch {sc['batch']}) | "
                             f"{sc['ratio']:.1f}x | {sc['max_abs_difference']:.1e} |")
    return "\n".join(lines) + "\n\n" + "\n".join(score) + "\n"


def main(argv=None) -> int:
    from experiments.config import positive_int      # --n 0 refused as the line is read
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["smollm2"], help="names for llm_bridge.models.language_model.load_by_name")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtypes", nargs="+", default=["float32"])
    ap.add_argument("--kv", nargs="+", default=["dynamic"], help="KV caches to time: dynamic, static")
    ap.add_argument("--batches", nargs="+", type=positive_int, default=[1, 8, 32, 64])
    ap.add_argument("--new-tokens", type=positive_int, default=128)
    ap.add_argument("--prompts", type=positive_int, default=64, help="prompts available (and scoring pairs)")
    ap.add_argument("--min-prompts", type=positive_int, default=8, help="prompts generated at each batch size at least")
    ap.add_argument("--score-batch", type=positive_int, default=16)
    ap.add_argument("--compare", default=None, help="a JSON written by another run: count identical outputs")
    ap.add_argument("--out", default="results/bench_llm.json")
    ap.add_argument("--markdown", nargs="+", default=None, help="print tables from saved reports and stop")
    args = ap.parse_args(argv)
    if args.markdown:
        print(markdown([json.loads(Path(f).read_text()) for f in args.markdown]))
        return 0
    from llm_bridge.models.language_model import load_by_name
    from llm_bridge.tasks.problems import gsm_symbolic
    problems = gsm_symbolic(args.prompts, seed=0)
    prompts = [p.prompt for p in problems]
    solutions = [p.items.get("worked_solution") or p.answer for p in problems]   # long continuations
    answers = [f" The answer is {p.answer}." for p in problems]                      # short continuations
    report = {"versions": _versions(args.device), "new_tokens": args.new_tokens, "runs": []}
    other = json.loads(Path(args.compare).read_text()) if args.compare else None
    for name in args.models:
        for dtype in args.dtypes:
            lm = load_by_name(name, device=args.device, dtype=dtype)
            for kv in args.kv:
                lm.config.kv_cache = kv
                print(f"{name} {dtype} {kv} cache on {args.device}", flush=True)
                rows, outs, agree = bench_generation(lm, prompts, args.batches, args.new_tokens,
                                                     args.min_prompts, args.device)
                run = {"model": name, "dtype": dtype, "kv_cache": kv, "generation": rows,
                       "outputs_equal_to_largest_batch": agree, "outputs": outs}
                if other is not None:
                    ref = next((r["outputs"] for r in other["runs"] if r["model"] == name
                                and r["dtype"] == "float32"), None)
                    if ref is not None:
                        n = min(len(ref), len(outs))
                        run["identical_to_compare_fp32"] = f"{sum(a == b for a, b in zip(ref[:n], outs[:n]))}/{n}"
                        print(f"  identical to {args.compare} (fp32): {run['identical_to_compare_fp32']}")
                report["runs"].append(run)
            run["scoring"] = {kind: bench_scoring(lm, prompts, conts, args.device, args.score_batch)
                              for kind, conts in (("worked_solutions", solutions), ("final_answers", answers))}
            del lm
    write_json(report, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
