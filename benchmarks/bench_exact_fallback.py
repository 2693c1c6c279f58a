"""Benchmark: the exact path on mixed-magnitude games, where it ends in row and column generation.

The games are :func:`benchmarks.mixed_game` for each seed in ``--seeds FIRST STOP`` (every utility with its
own magnitude: HiGHS' bases are seldom exactly optimal there, so ``solve(game, exact=True)`` seldom ends at
a re-solved float basis and mostly in exact generation, docs/solver.md step 6).  Each game goes through
``solve(game, exact=True)``; the table gives how many were certified and refused, by which route, the time
in all and the longest, and the exact simplex's pivots.  With ``--rules``, each game also goes through exact
generation from full revelation (``method="rational-cg"``'s route, no float step) under each pivot rule of
the exact simplex, one after the other, with the ratio of times to the first rule's and whether every rule
gave ``solve``'s value (they must: all are exact).  Not a test: nothing is asserted.

    python -m benchmarks.bench_exact_fallback --seeds 0 300 --states 2 5 --actions 12 30
    python -m benchmarks.bench_exact_fallback --seeds 0 40 --states 2 5 --actions 12 30 --rules dantzig bland
"""
from __future__ import annotations

import argparse
import platform
import time
from collections import Counter

from . import mixed_game, write_json


def main(argv=None):
    from experiments.config import positive_int      # --n 0 refused as the line is read
    from persuasion import CertificateError, solve
    from persuasion.exact_generation import exact_generation
    from persuasion.rational import PIVOT_RULES
    from persuasion.solve import RATIONAL_SIMPLEX_LIMIT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs=2, default=[0, 40], metavar=("FIRST", "STOP"))
    ap.add_argument("--states", type=positive_int, nargs=2, default=[2, 5], metavar=("MIN", "MAX"))
    ap.add_argument("--actions", type=positive_int, nargs=2, default=[12, 30], metavar=("MIN", "MAX"))
    ap.add_argument("--rules", nargs="*", default=[], choices=PIVOT_RULES,
                    help="also time exact generation from full revelation under these pivot rules")
    ap.add_argument("--json", help="also write the per-game rows and the summary to this JSON file")
    args = ap.parse_args(argv)
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}; "
          f"mixed_game(seed, {tuple(args.states)}, {tuple(args.actions)}), seeds {args.seeds[0]}..{args.seeds[1] - 1}")
    print(f"{'seed':>6}{'shape':>8}{'exact s':>9}{'pivots':>8}  {'route':<28}" + "".join(f"{r + ' s':>12}" for r in args.rules)
          + ("  same value" if args.rules else ""))
    rows = []
    for seed in range(*args.seeds):
        game = mixed_game(seed, tuple(args.states), tuple(args.actions))
        game.rational()                      # reading the data exactly is not part of the solve
        row = {"seed": seed, "shape": list(game.shape)}
        t = time.perf_counter()
        try:
            sol = solve(game, exact=True)
            row.update(certified=sol.certificate.valid, route=sol.method, pivots=sol.stats.get("pivots", 0))
        except CertificateError as e:
            sol = None
            row.update(certified=False, route=f"refused: {str(e)[:60]}", pivots=0)
        row["exact_seconds"] = time.perf_counter() - t
        same = True
        for rule in args.rules:
            t = time.perf_counter()
            try:
                _, y, _, _ = exact_generation(game, max_entries=RATIONAL_SIMPLEX_LIMIT, rule=rule)
                same &= sol is not None and sum(y) == sol.value      # the LP's value is its dual objective
            except CertificateError:
                same = False
            row[f"{rule}_seconds"] = time.perf_counter() - t
        row["same_value"] = same
        rows.append(row)
        shape = "x".join(map(str, game.shape))
        print(f"{seed:>6}{shape:>8}{row['exact_seconds']:>9.2f}{row['pivots']:>8}  {row['route']:<28}"
              + "".join(f"{row[f'{r}_seconds']:>12.2f}" for r in args.rules)
              + (f"  {same}" if args.rules else ""), flush=True)
    summary = summarise(rows, args.rules)
    print(f"# certified {summary['certified']} of {len(rows)}; refused {summary['refused']}; "
          f"exact=True {summary['exact_seconds']:.1f} s in all, longest {summary['longest_seconds']:.2f} s; "
          f"routes {summary['routes']}")
    for rule in args.rules:
        print(f"# {rule}: {summary[f'{rule}_seconds']:.1f} s in all, "
              f"{summary[f'{rule}_seconds'] / summary[f'{args.rules[0]}_seconds']:.2f}x the {args.rules[0]} rule's")
    write_json({"rows": rows, "summary": summary}, args.json)
    return rows, summary


def summarise(rows: list[dict], rules) -> dict:
    out = {"certified": sum(r["certified"] for r in rows),
           "refused": sum(r["route"].startswith("refused") for r in rows),
           "exact_seconds": sum(r["exact_seconds"] for r in rows),
           "longest_seconds": max((r["exact_seconds"] for r in rows), default=0.0),
           "routes": dict(Counter(r["route"].split(":")[0] for r in rows)),
           "same_value": all(r["same_value"] for r in rows)}
    for rule in rules:
        out[f"{rule}_seconds"] = sum(r[f"{rule}_seconds"] for r in rows)
    return out


if __name__ == "__main__":
    main()
