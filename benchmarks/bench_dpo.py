"""DPO training, trl's default path against ours (reference log-probabilities precomputed, no activation
checkpointing), side by side in one run.

    python -m benchmarks.bench_dpo --model smollm2 --steps 6 --out docs/results/bench_dpo/smollm2.json
    python -m benchmarks.bench_dpo --model tiny --steps 2          # seconds; what the test runs

The pairs are chain sums (``llm_bridge.tasks.chain_sum``, two terms of up to two digits, the AfD chain-sum
run's shape): each sum's worked solution is chosen and the next sum's worked solution, a wrong answer of
the same length, rejected; ``--batch`` pairs a step, ``--steps`` steps, one epoch, on every core the
process may use.  Each path starts from a freshly loaded initial policy; the fast path's time includes
its precomputation.  Both paths train the same policy against the same reference, so the losses of
their steps are printed beside each other: they must agree (to float error), or the speed is not
comparable.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

from . import write_json


def pairs(n: int) -> list[dict]:
    from llm_bridge.studies.afd_experiment import demonstration
    from llm_bridge.tasks.problems import chain_sum
    probs = chain_sum(n + 1, seed=0, max_terms=2, max_digits=2)
    instruction = "Solve the problem step by step. End with a last line of the form '#### <number>'."
    return [{"prompt": f"{p.prompt}\n{instruction}", "chosen": demonstration(p), "rejected": demonstration(q)}
            for p, q in zip(probs, probs[1:])]


def load(name: str):
    from llm_bridge.models.language_model import LanguageModel, ModelConfig, load_by_name
    if name == "tiny":
        from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2
        tok = char_tokenizer()
        return LanguageModel(tok, tiny_gpt2(tok, n_layer=1, n_embd=32), ModelConfig("tiny", batch_size=16))
    return load_by_name(name, device="cpu")


def time_path(name: str, rows: list[dict], batch: int, fast: bool) -> dict:
    from llm_bridge.studies.afd_baselines import train_dpo
    lm = load(name)
    chat = lm.format("x") != "x"
    if chat:        # as dpo_pairs writes them for a chat model
        rows = [{"prompt": [{"role": "user", "content": r["prompt"]}],
                 "chosen": [{"role": "assistant", "content": r["chosen"]}],
                 "rejected": [{"role": "assistant", "content": r["rejected"]}]} for r in rows]
    with tempfile.TemporaryDirectory() as work:
        t = time.perf_counter()
        losses = train_dpo(lm, rows, beta=0.1, learning_rate=1e-5, epochs=1, batch_size=batch, max_length=512,
                           seed=0, workdir=Path(work), fast=fast)
        seconds = time.perf_counter() - t
    return {"fast": fast, "seconds": seconds, "steps": len(losses), "seconds_per_step": seconds / len(losses),
            "losses": losses}


def main(argv=None) -> int:
    from experiments.config import positive_int      # --n 0 refused as the line is read
    ap = argparse.ArgumentParser(description="DPO: trl's default path against precomputed reference, side by side")
    ap.add_argument("--model", default="tiny", help="smollm2, qwen05 or tiny")
    ap.add_argument("--steps", type=positive_int, default=4)
    ap.add_argument("--batch", type=positive_int, default=8)
    ap.add_argument("--out", default=None, help="write the results here as JSON")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.batch < 1:
        ap.error(f"--steps and --batch must be >= 1; got {args.steps} and {args.batch}")
    import torch
    import transformers
    import trl
    rows = pairs(args.steps * args.batch)
    default = time_path(args.model, rows, args.batch, fast=False)
    fast = time_path(args.model, rows, args.batch, fast=True)
    gap = max(abs(a - b) for a, b in zip(default["losses"], fast["losses"]))
    result = {"model": args.model, "steps": args.steps, "batch": args.batch, "paths": [default, fast],
              "speedup": default["seconds"] / fast["seconds"], "largest_loss_gap": gap,
              "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                           "trl": trl.__version__, "python": platform.python_version(),
                           "threads": torch.get_num_threads()}}
    for r in (default, fast):
        print(f"{'precomputed' if r['fast'] else 'trl default':12s} {r['seconds']:8.1f} s  "
              f"{r['seconds_per_step']:6.2f} s/step over {r['steps']} steps")
    print(f"speed-up {result['speedup']:.2f}x; largest gap between the two paths' step losses {gap:.2e}")
    write_json(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
