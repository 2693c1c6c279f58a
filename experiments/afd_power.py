"""What a comparison of a saved AfD run's pools can detect, and what its samples look like; loads no model.

    # detectable sizes of pairs of pools, at Holm's smallest level over 135 tests
    python -m experiments.afd_power docs/results/afd_chain_sum_smollm2 --tests 135 \\
        --pair rkl_nf_lr5e-05_s1:rkl_nf_lr3e-05_s1 --pair rkl_nf_lr5e-05_s1:init
    # the same, the family's size read from a config (the routes' comparison rule)
    python -m experiments.afd_power docs/results/afd_chain_sum_smollm2 \\
        --config experiments/configs/afd_chain_sum_smollm2.toml --family-of rkl_nf_lr5e-05_s1 --pair ...
    # what the samples look like
    python -m experiments.afd_power docs/results/afd_chain_sum_smollm2 --shapes rkl_nf_lr5e-05_s1 sft

Before a run, a pair of saved pools stands in for the pair the run will make (its SD of per-problem
differences); after, the pair itself gives the realised size (llm_bridge/studies/afd_power.py says how).
``--json`` prints everything as JSON instead of tables.
"""
from __future__ import annotations

import argparse
import json
import sys


def _pair(text: str) -> tuple[str, str]:
    a, sep, b = text.partition(":")
    if not sep or not a or not b:
        raise argparse.ArgumentTypeError(f"a pair is POLICY:POLICY; got {text!r}")
    return a, b


def main(argv=None) -> int:
    from .config import positive_int
    ap = argparse.ArgumentParser(description="detectable sizes and sample shapes of a saved AfD run's pools")
    ap.add_argument("folder", help="a finished AfD run's folder (its pools plain or gzipped)")
    ap.add_argument("--pair", type=_pair, action="append", default=[], metavar="A:B",
                    help="two policies whose paired differences (A - B) are measured; repeatable")
    ap.add_argument("--tests", type=positive_int, help="the Holm family's size (the level is 0.05 / tests)")
    ap.add_argument("--config", help="a TOML config whose comparison rule gives the family's size ...")
    ap.add_argument("--family-of", metavar="POLICY", help="... of this trained route's comparison")
    ap.add_argument("--size", type=positive_int, default=8, help="samples per problem each pool is cut to (default 8)")
    ap.add_argument("--power", type=float, default=0.8)
    ap.add_argument("--shapes", nargs="+", default=[], metavar="POLICY", help="policies whose samples to describe")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = ap.parse_args(argv)
    from llm_bridge.studies.afd_power import load_pools, pair_detectable, sample_shapes
    if not args.pair and not args.shapes:
        ap.error("nothing to do: give --pair or --shapes")
    n_tests = args.tests
    try:
        if args.pair:
            if (args.config is None) != (args.family_of is None):
                ap.error("--config and --family-of go together")
            if (n_tests is None) == (args.config is None):
                ap.error("give the family's size once: --tests N, or --config with --family-of")
            if args.config is not None:
                from llm_bridge.studies.afd_experiment import family_size
                from .afd_best_of_n import load_afd_config
                n_tests = family_size(load_afd_config(args.config)[1], args.family_of)
        policies = [p for pair in args.pair for p in pair] + args.shapes
        pools, cfg = load_pools(args.folder, policies)
        result = {"folder": args.folder, "size": args.size, "power": args.power, "n_tests": n_tests,
                  "pairs": [{"a": a, "b": b, **pair_detectable(pools, a, b, n_tests, args.size,
                                                               cfg["checker_mode"], args.power)}
                            for a, b in args.pair],
                  "shapes": {p: sample_shapes(pools, p, args.size, cfg["max_new_tokens"],
                                                  cfg.get("task", "gsm_symbolic")) for p in args.shapes}}
    except (FileNotFoundError, ValueError) as e:
        print(f"afd_power: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    if result["pairs"]:
        print(f"detectable at Holm's smallest level 0.05/{n_tests}, power {args.power}, pools cut to {args.size}")
        print(f"{'A':22s} {'B':22s} {'measure':17s} {'diff A-B':>9s} {'sd':>7s} {'n':>4s} {'detectable':>10s}")
        for row in result["pairs"]:
            for measure in ("pass@1", "pass@k", "distinct answers"):
                m = row[measure]
                name = f"pass@{args.size}" if measure == "pass@k" else measure
                print(f"{row['a']:22s} {row['b']:22s} {name:17s} {m['diff']:+9.3f} {m['sd']:7.3f} {m['n']:4d} "
                      f"{m['detectable']:10.3f}")
    for pol, s in result["shapes"].items():
        right = "-" if s["equation_right"] is None else f"{s['equation_right']:.1%}"
        print(f"{pol}: {s['n_samples']} samples of {s['n_problems']} problems; {s['empty']} empty, "
              f"{s['truncated']} cut at the token limit; one line {s['single_line']:.1%}, in the asked format "
              f"{s['format_rate']:.1%}; open with an equation {s['opens_with_equation']:.1%}, its arithmetic "
              f"right {right}; {s['mean_tokens']:.1f} tokens on average")
    return 0


if __name__ == "__main__":
    sys.exit(main())
