"""Benchmark: the exact simplex of this checkout against the one of an earlier commit, on the same games.

The earlier ``persuasion/rational.py`` is read with ``git show COMMIT:...`` and loaded beside the current
one; each game's LP goes through both, one after the other in this process, and the ratio of times is
printed with whether the two optimal values agree (they must: both are exact).  Square games, integer
utilities in -9..9 ("int") or floats uniform on [0, 1] ("uniform", read as 17-digit decimals).  Not a test:
nothing is asserted.  Needs a git checkout.

    python -m benchmarks.bench_simplex_versions --old ca2f0a8 --sizes 4 6 8 10 12
"""
from __future__ import annotations

import argparse
import importlib
import time

import numpy as np

from . import load_old_module, write_json


def load_old_rational(commit: str):
    """``persuasion/rational.py`` as it was at ``commit`` (:func:`benchmarks.load_old_module`)."""
    return load_old_module(commit, "rational")


def game_of(kind: str, k: int):
    from persuasion import PersuasionGame
    rng = np.random.default_rng(k)
    if kind == "int":
        return PersuasionGame(rng.dirichlet(np.ones(k)), rng.integers(-9, 10, (k, k)), rng.integers(-9, 10, (k, k)))
    return PersuasionGame(rng.dirichlet(np.ones(k)), rng.uniform(size=(k, k)), rng.uniform(size=(k, k)))


def main(argv=None):
    from experiments.config import positive_int      # --n 0 refused as the line is read
    solve_module = importlib.import_module("persuasion.solve")   # the module, not the function of that name
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="the commit whose exact simplex is the baseline")
    ap.add_argument("--sizes", type=positive_int, nargs="+", default=[4, 6, 8, 10, 12])
    ap.add_argument("--kinds", nargs="+", default=["int", "uniform"], choices=["int", "uniform"])
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    new = solve_module.rational_simplex
    versions = {"old": load_old_rational(args.old).rational_simplex, "new": new}
    rows = []
    print(f"# old = {args.old}; new = this checkout")
    print(f"{'game':>16}{'old s':>10}{'new s':>10}{'old/new':>9}  same value")
    try:
        for kind in args.kinds:
            for k in args.sizes:
                game = game_of(kind, k)
                game.rational()                      # reading the data exactly is not part of the solve
                seconds, values = {}, {}
                for name, simplex in versions.items():
                    solve_module.rational_simplex = simplex
                    t = time.perf_counter()
                    values[name] = solve_module._solve_rational_simplex(game).value
                    seconds[name] = time.perf_counter() - t
                same = values["old"] == values["new"]
                print(f"{f'{kind} {k}x{k}':>16}{seconds['old']:>10.2f}{seconds['new']:>10.2f}"
                      f"{seconds['old'] / seconds['new']:>9.1f}  {same}", flush=True)
                rows.append({"kind": kind, "size": k, **{f"{n}_seconds": s for n, s in seconds.items()},
                             "same_value": same})
    finally:
        solve_module.rational_simplex = new
    write_json(rows, args.json)
    return rows


if __name__ == "__main__":
    main()
