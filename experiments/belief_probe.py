"""The step-by-step belief probe (llm_bridge/studies/belief_probe.py): does a Receiver act on a posterior
it is told, one it could infer from a stated scheme, and one it is asked to work out step by step?

    python -m experiments.belief_probe --receiver qwen05 --out results/belief_probe_qwen05 [--n 15]
    python -m experiments.belief_probe --receiver qwen05 --out results/belief_probe_qwen05 --report-only
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    from llm_bridge.models import load_by_name
    from llm_bridge.models.choice_receiver import ChoiceReceiver
    from llm_bridge.studies.belief_probe import BeliefProbeConfig, run_probe
    from persuasion.progress import progress

    from .config import output_folder, positive_int
    ap = argparse.ArgumentParser(description="Step-by-step belief probe of a Receiver model")
    ap.add_argument("--receiver", default="qwen05", help="a name for llm_bridge.models.load_by_name")
    ap.add_argument("--engine", default="llama.cpp", choices=["transformers", "llama.cpp"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=positive_int, default=15, help="problems (each with a correct and a wrong proposal)")
    ap.add_argument("--max-new-tokens", type=positive_int, default=256)
    ap.add_argument("--report-only", action="store_true", help="report from the saved log, load no model")
    args = ap.parse_args(argv)
    try:
        cfg = BeliefProbeConfig(out=args.out, n_problems=args.n, max_new_tokens=args.max_new_tokens)
    except ValueError as e:
        ap.error(str(e))
    if not args.report_only:
        output_folder(ap, args.out)
    rx = None if args.report_only else ChoiceReceiver(load_by_name(args.receiver, engine=args.engine))
    run_probe(rx, cfg, args.receiver, progress=lambda xs: progress(xs, "belief probe", unit="proposal"))
    print((Path(args.out) / "report.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
