"""Benchmark: rounds per second of the robust learner, doubling re-solves vs re-solving every round.

Both schedules run in the same process on the same game and seed; the
every-round baseline is run for fewer rounds (it re-solves an LP per round)
and both are reported in rounds per second, with the ratio.

    python -m benchmarks.bench_online --T 1000000 --T-every 3000
"""
from __future__ import annotations

import argparse
import time


def main(argv=None):
    from experiments.config import positive_int      # --n 0 refused as the line is read
    from persuasion import examples
    from persuasion.online import RobustPersuader, run
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", nargs="+", default=["prosecutor_judge", "investment_advice", "reasoning_hint"])
    ap.add_argument("--T", type=positive_int, default=1_000_000, help="rounds with the doubling schedule")
    ap.add_argument("--T-every", type=positive_int, default=3000, help="rounds with a re-solve every round")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"{'game':>20}{'doubling rounds/s':>20}{'every-round rounds/s':>22}{'ratio':>10}{'re-solves':>14}")
    rows = []
    for name in args.games:
        g = examples.load(name)
        t = time.perf_counter()
        fast = run(g, RobustPersuader(0.05), args.T, args.seed)
        rate_fast = args.T / (time.perf_counter() - t)
        t = time.perf_counter()
        slow = run(g, RobustPersuader(0.05, schedule="every-round"), args.T_every, args.seed)
        rate_slow = args.T_every / (time.perf_counter() - t)
        print(f"{name:>20}{rate_fast:>20.0f}{rate_slow:>22.0f}{rate_fast / rate_slow:>10.0f}"
              f"{len(fast.resolves):>7} vs {len(slow.resolves)}")
        rows.append({"game": name, "doubling_rounds_per_s": rate_fast, "every_round_rounds_per_s": rate_slow})
    return rows


if __name__ == "__main__":
    main()
