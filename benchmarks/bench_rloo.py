"""What one step of the reverse-KL route (RLOO, ``llm_bridge.studies.afd_reverse_kl``) costs.

    python -m benchmarks.bench_rloo --model smollm2 --steps 3 --out docs/results/bench_rloo/smollm2.json
    python -m benchmarks.bench_rloo --model tiny --steps 1          # seconds; what the test runs

Chain-sum prompts (two terms of up to two digits, the AfD chain-sum run's shape), ``--prompts`` prompts x
``--generations`` samples a step at temperature 0.7 and up to ``--new-tokens`` tokens, each step sampling
then updating, on every core the process may use.  The reward is a stand-in (shorter is better): the
cost of a step does not depend on what the reward says.  trl's own per-step time is reported beside the
whole call's (the call adds saving the reference and loading it).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from . import write_json


def main(argv=None) -> int:
    from experiments.config import positive_int      # --n 0 refused as the line is read
    ap = argparse.ArgumentParser(description="seconds per RLOO step of the reverse-KL route")
    ap.add_argument("--model", default="tiny", help="smollm2, qwen05 or tiny")
    ap.add_argument("--steps", type=positive_int, default=2)
    ap.add_argument("--prompts", type=positive_int, default=8)
    ap.add_argument("--generations", type=positive_int, default=4)
    ap.add_argument("--new-tokens", type=positive_int, default=96)
    ap.add_argument("--out", default=None, help="write the results here as JSON")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.prompts < 1 or args.generations < 2 or args.new_tokens < 1:
        ap.error(f"--steps, --prompts and --new-tokens must be >= 1 and --generations >= 2; got {args.steps}, "
                 f"{args.prompts}, {args.new_tokens}, {args.generations}")
    import torch
    import trl
    from llm_bridge.studies.afd_experiment import AfdConfig, load_problems, prompt_of
    from llm_bridge.studies.afd_reverse_kl import train_reverse_kl
    from .bench_dpo import load
    cfg = AfdConfig(task="chain_sum", n_generated=4 * args.prompts * args.steps, chain_max_terms=2,
                    chain_max_digits=2)
    prompts = [prompt_of(p, cfg) for p in load_problems(cfg)]
    lm = load(args.model)

    def shorter(prompts, completions, **_):
        return [-len(c if isinstance(c, str) else c[-1]["content"]) / 50 for c in completions]
    with tempfile.TemporaryDirectory() as work:
        t = time.perf_counter()
        log = train_reverse_kl(lm, prompts, shorter, steps=args.steps, learning_rate=1e-6,
                               generations=args.generations, prompts_per_step=args.prompts,
                               max_new_tokens=args.new_tokens, temperature=0.7, seed=0, workdir=Path(work))
        seconds = time.perf_counter() - t
    steps = [h["step_time"] for h in log]
    result = {"model": args.model, "steps": len(log), "prompts": args.prompts, "generations": args.generations,
              "new_tokens": args.new_tokens, "seconds": seconds, "step_seconds": steps,
              "mean_completion_tokens": [h["completions/mean_length"] for h in log],
              "versions": {"torch": torch.__version__, "trl": trl.__version__, "threads": torch.get_num_threads()}}
    print(f"{args.model}: {len(log)} steps of {args.prompts} x {args.generations} samples, "
          f"{sum(steps) / len(steps):.1f} s a step (trl's step time), {seconds:.1f} s the whole call")
    write_json(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
