"""Benchmark: float and exact solve times on random square games.

Random games as in the issues: Dirichlet(1) prior, U and V uniform on [0, 1]
(``--kind uniform``), or each utility ``sign x digit x 10^e`` with its own
``e`` in -12..12 (``--kind mixed``, where HiGHS' bases are seldom exactly
optimal).  For each size the same instances go through the float path and
the exact path; the ratio exact/float is printed.  Up to ``--simplex-max``
states and actions the same instances also go through the float-free simplex
on the whole LP (``method="rational-simplex"``), and up to
``--generation-max`` through the float-free exact generation
(``method="rational-cg"``), beside the exact path.  Not a test: nothing is
asserted but the values agree (the ``valid`` column).

    python -m benchmarks.bench_solve --sizes 5 10 20 30 50 --reps 3
    python -m benchmarks.bench_solve --sizes 4 6 8 10 14 --simplex-max 14 --generation-max 14
"""
from __future__ import annotations

import argparse
import platform
import time
from collections import Counter

import numpy as np

from . import write_json


def random_game(m: int, n: int, rng: np.random.Generator, kind: str = "uniform"):
    from persuasion import PersuasionGame
    if kind == "uniform":
        return PersuasionGame(rng.dirichlet(np.ones(m)), rng.uniform(size=(m, n)), rng.uniform(size=(m, n)))
    V, U = (rng.choice([-1, 1], size=(m, n)) * rng.integers(1, 10, size=(m, n))
            * 10.0 ** rng.integers(-12, 13, size=(m, n)) for _ in range(2))
    return PersuasionGame(rng.dirichlet(np.ones(m)), V, U)


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t, out


def main(argv=None):
    from experiments.config import positive_int      # --n 0 refused as the line is read
    from persuasion import solve
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=positive_int, nargs="+", default=[5, 10, 20, 30, 50])
    ap.add_argument("--reps", type=positive_int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", nargs="+", default=["highs"], help="float methods to time (highs, linprog, cvxpy)")
    ap.add_argument("--simplex-max", type=int, default=0,
                    help="also time method='rational-simplex' on sizes up to this (0: never)")
    ap.add_argument("--generation-max", type=int, default=0,
                    help="also time method='rational-cg' on sizes up to this (0: never)")
    ap.add_argument("--kind", choices=["uniform", "mixed"], default="uniform", help="how utilities are drawn")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = []
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}, seed {args.seed}, "
          f"{args.kind} games")
    head = "".join(f"{m + ' float s':>16}" for m in args.methods)
    print(f"{'size':>8}{head}{'exact s':>12}{'exact/float':>13}{'|basis|':>9}{'gen.':>6}{'valid':>7}"
          + (f"{'simplex s':>12}{'simplex/exact':>15}" if args.simplex_max else "")
          + (f"{'cg s':>10}{'cg/exact':>10}" if args.generation_max else ""))
    for k in args.sizes:
        ft = {m: [] for m in args.methods}
        et, st, gt, basis, routes, valid = [], [], [], [], [], True
        for _ in range(args.reps):
            game = random_game(k, k, rng, args.kind)
            for m in args.methods:
                t, sol = timed(solve, game, method=m)
                ft[m].append(t)
                valid &= sol.certificate.valid
            game.rational()   # reading the data exactly is not part of the solve
            t, sol = timed(solve, game, exact=True)
            et.append(t)
            basis.append(sol.stats.get("basis_size", -1))
            routes.append(sol.method)
            valid &= sol.certificate.valid
            if k <= args.simplex_max:
                t, simplex = timed(solve, game, exact=True, method="rational-simplex")
                st.append(t)
                valid &= simplex.certificate.valid and simplex.value == sol.value
            if k <= args.generation_max:
                t, cg = timed(solve, game, exact=True, method="rational-cg")
                gt.append(t)
                valid &= cg.certificate.valid and cg.value == sol.value
        med = {m: float(np.median(v)) for m, v in ft.items()}
        e = float(np.median(et))
        s = float(np.median(st)) if st else None
        g = float(np.median(gt)) if gt else None
        print(f"{k:>4}x{k:<3}" + "".join(f"{med[m]:>16.4f}" for m in args.methods)
              + f"{e:>12.4f}{e / med[args.methods[0]]:>13.1f}{int(np.median(basis)):>9}"
              + f"{sum('rational-cg' in r for r in routes):>6}{str(valid):>7}"
              + (f"{s:>12.4f}{s / e:>15.1f}" if st else (" " * 27 if args.simplex_max else ""))
              + (f"{g:>10.4f}{g / e:>10.1f}" if gt else ""))
        rows.append({"size": k, "float_seconds": med, "exact_seconds": e, "basis_size": int(np.median(basis)),
                     "simplex_seconds": s, "generation_seconds": g, "valid": valid,
                     "exact_routes": dict(Counter(routes))})
    write_json(rows, args.json)
    return rows


if __name__ == "__main__":
    main()
