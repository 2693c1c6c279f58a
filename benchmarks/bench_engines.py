"""transformers (fp32, dequantised) against llama.cpp (the GGUF file as it is), side by side in one run.

    python -m benchmarks.bench_engines --model qwen05 --out docs/results/bench_engines/qwen05.json
    python -m benchmarks.bench_engines --model qwen15 --engines llama.cpp --out docs/results/bench_engines/qwen15.json

Same GGUF file, same GSM-Symbolic prompts (reasoning-gym, seed 0) in the same chat template, greedy,
on every core the process may use.  For each engine:

* **load**: seconds to a usable model (transformers reads the dequantised fp32 copy in the package
  cache, made on first use; llama.cpp maps the GGUF file);
* **prefill**: tokens/s of one uncached evaluation of each whole prompt;
* **decode at batch 1**: ``--new-tokens`` tokens forced (end tokens suppressed) on each of
  ``--prompts`` prompts, one at a time: tokens/s of the generate calls less the prompts' prefill
  (``decode``), and of the whole calls (``generate_call``);
* **review decisions**: the review game's cost per decision, ``ChoiceReceiver.choose`` on the heads
  of ``--prompts`` GSM review items with the game's five kinds of tail (fact, recommendation with and
  without the scheme statement, nothing), and, for llama.cpp, the same decisions with its prompt cache
  off (each prompt evaluated from scratch) to show what the cache saves;
* **resident memory** after all of the above (VmHWM, the peak resident set of the process); each engine
  runs in its own subprocess so one does not count the other;
* with ``--review CONFIG``: a whole review run end to end (``experiments.llm_review CONFIG --engine E``,
  estimation, Advisor training, evaluation, report) per engine, into a fresh folder, timed from the
  command's start to its end.

The ratios llama.cpp / transformers are printed and saved.  Each engine's numbers come from one
process; run it on an idle machine (the 2-core CI kind is what docs/performance.md reports).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from . import write_json


def _peak_rss_gb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def _review_cases(n: int):
    """Heads and tails of ``n`` GSM review items, as the review game writes them."""
    import numpy as np
    from llm_bridge.games import review_game as rg
    from llm_bridge.tasks.problems import gsm_symbolic
    items = []
    for p in gsm_symbolic(3 * n, seed=0):
        pair = rg.proposals_for(p, 0)
        if pair is not None:
            items.append(pair[1])
        if len(items) == n:
            break
    scheme, prior = np.array([[1.0, 0.0], [0.4, 0.6]]), np.array([0.3, 0.7])
    statement = rg.scheme_statement(scheme, prior, "gsm_symbolic")
    cases = []
    for it in items:
        tails = [rg.message_tail(it.problem, 0, None, fact=rg.fact_text(it)),
                 rg.message_tail(it.problem, 0, rg.RECOMMEND["submit"]),
                 rg.message_tail(it.problem, 0, rg.RECOMMEND["decline"]),
                 rg.message_tail(it.problem, 0, rg.RECOMMEND["submit"], statement),
                 rg.message_tail(it.problem, 0, None)]
        cases.append((rg.head(it), tails))
    return cases


def run_engine(model: str, engine: str, n_prompts: int, new_tokens: int) -> dict:
    """Every measurement for one engine (run in a fresh process by :func:`main`)."""
    from llm_bridge.models.language_model import SamplingConfig, load_by_name
    from llm_bridge.models.choice_receiver import ChoiceReceiver
    from llm_bridge.tasks.problems import gsm_symbolic
    t0 = time.perf_counter()
    lm = load_by_name(model, engine=engine)
    load = time.perf_counter() - t0
    prompts = [p.prompt for p in gsm_symbolic(n_prompts, seed=0)]
    if engine == "transformers":
        lm.config.batch_size = 1
    cfg = SamplingConfig(max_new_tokens=new_tokens, min_new_tokens=new_tokens)
    lm.generate(prompts[:1], SamplingConfig(max_new_tokens=4))         # warm up
    texts = [lm.format(p) for p in prompts]
    n_tok = sum(len(lm.encode(t)) for t in texts)
    outs, generate, prefill = [], 0.0, 0.0
    for p, t in zip(prompts, texts):
        t0 = time.perf_counter()
        lm.next_logits(t, reuse_cache=False)          # the prompt alone, from an empty cache
        prefill += time.perf_counter() - t0
        if hasattr(lm, "reset_cache"):
            lm.reset_cache()                          # the generate call pays its own prefill too
        t0 = time.perf_counter()
        outs.append(lm.generate([p], cfg)[0])
        generate += time.perf_counter() - t0
    decode = generate - prefill                        # the generate calls less their prompts' prefill
    cases = _review_cases(n_prompts)
    rec = ChoiceReceiver(lm)
    t0 = time.perf_counter()
    probs = [c.probs["Yes"] for head, tails in cases for c in rec.choose(head, tails, options=("No", "Yes"))]
    decisions = time.perf_counter() - t0
    n_dec = len(probs)
    row = {"engine": engine, "load_s": load, "decode_tokens_per_s": n_prompts * new_tokens / decode,
           "generate_call_tokens_per_s": n_prompts * new_tokens / generate,
           "prefill_tokens_per_s": n_tok / prefill, "review_s_per_decision": decisions / n_dec,
           "review_decisions": n_dec, "p_yes": probs, "outputs": outs}
    if engine == "llama.cpp":
        t0 = time.perf_counter()
        for head, tails in cases:
            for tail in tails:
                rec.choose_full(head + tail, options=("No", "Yes"))
        row["review_s_per_decision_cache_off"] = (time.perf_counter() - t0) / n_dec
        row["threads"] = lm.llm.n_threads if hasattr(lm.llm, "n_threads") else None
    else:
        import torch
        row["threads"] = torch.get_num_threads()
    row["peak_rss_gb"] = _peak_rss_gb()
    return row


def main(argv=None) -> int:
    from experiments.config import positive_int      # --n 0 refused as the line is read
    ap = argparse.ArgumentParser(description="transformers vs llama.cpp on the same GGUF file")
    ap.add_argument("--model", default="qwen05", help="qwen05, qwen15, smollm2 or a .gguf file")
    ap.add_argument("--engines", nargs="+", default=["transformers", "llama.cpp"])
    ap.add_argument("--prompts", type=positive_int, default=6)
    ap.add_argument("--new-tokens", type=positive_int, default=64)
    ap.add_argument("--out", default=None)
    ap.add_argument("--review", default=None, help="a review config to run end to end per engine")
    ap.add_argument("--review-out", default=None, help="keep each engine's review run under this folder "
                    "(it must not hold an earlier run: the runner resumes)")
    ap.add_argument("--skip-micro", action="store_true", help="only the --review runs")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)      # run one engine here (subprocess)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_engine(args.model, args.one, args.prompts, args.new_tokens)))
        return 0
    rows, whole = [], {}
    root = Path(__file__).resolve().parent.parent
    if args.review:
        import tempfile
        for engine in args.engines:
            with tempfile.TemporaryDirectory() as tmp:
                where = str(Path(args.review_out) / engine) if args.review_out else tmp
                cmd = [sys.executable, "-m", "experiments.llm_review", args.review, "--out", where, "--engine", engine]
                t0 = time.perf_counter()
                res = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
                whole[engine] = {"seconds": time.perf_counter() - t0, "returncode": res.returncode,
                                 "summary": res.stdout.strip().splitlines()[-40:]}
                if res.returncode != 0:
                    print(res.stderr[-3000:], file=sys.stderr)
                    return 1
            print(f"{engine:12s} whole review run {whole[engine]['seconds']:.0f} s")
    for engine in ([] if args.skip_micro else args.engines):
        cmd = [sys.executable, "-m", "benchmarks.bench_engines", "--model", args.model, "--one", engine,
               "--prompts", str(args.prompts), "--new-tokens", str(args.new_tokens)]
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
        if res.returncode != 0:
            print(res.stderr[-3000:], file=sys.stderr)
            return 1
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    report = {"model": args.model, "prompts": args.prompts, "new_tokens": args.new_tokens,
              "machine": {"python": platform.python_version(), "cores": len(os.sched_getaffinity(0))},
              "rows": rows, "review": args.review, "whole_review_run": whole}
    if {"transformers", "llama.cpp"} <= set(whole):
        report["whole_review_speedup"] = whole["transformers"]["seconds"] / whole["llama.cpp"]["seconds"]
    by = {r["engine"]: r for r in rows}
    if {"transformers", "llama.cpp"} <= set(by):
        a, b = by["llama.cpp"], by["transformers"]
        report["ratios_llama_over_transformers"] = {
            "decode": a["decode_tokens_per_s"] / b["decode_tokens_per_s"],
            "prefill": a["prefill_tokens_per_s"] / b["prefill_tokens_per_s"],
            "review_decision_speedup": b["review_s_per_decision"] / a["review_s_per_decision"],
            "peak_rss": a["peak_rss_gb"] / b["peak_rss_gb"],
            "same_greedy_outputs": sum(x == y for x, y in zip(a["outputs"], b["outputs"])),
            "max_abs_p_yes_diff": max(abs(x - y) for x, y in zip(a["p_yes"], b["p_yes"])),
            "same_decisions": sum((x >= 0.5) == (y >= 0.5) for x, y in zip(a["p_yes"], b["p_yes"])),
        }
    for r in rows:
        extra = (f", cache off {r['review_s_per_decision_cache_off']:.3f} s" if "review_s_per_decision_cache_off"
                 in r else "")
        print(f"{r['engine']:12s} load {r['load_s']:6.1f} s  decode {r['decode_tokens_per_s']:6.1f} tok/s  "
              f"prefill {r['prefill_tokens_per_s']:6.1f} tok/s  decision {r['review_s_per_decision']:.3f} s{extra}  "
              f"peak RSS {r['peak_rss_gb']:.2f} GB")
    if "ratios_llama_over_transformers" in report:
        print(json.dumps(report["ratios_llama_over_transformers"], indent=1))
    write_json(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
