"""What the float path's conditioning check costs, side by side in one run, and what it certifies on tiny prior masses.

    python -m benchmarks.bench_conditioning                       # 50x50, 100x100, 200x200, 3 games each
    python -m benchmarks.bench_conditioning --sizes 50 --reps 5 --json out.json
    python -m benchmarks.bench_conditioning --small               # the small games of the first version
    python -m benchmarks.bench_conditioning --tiny-masses 3 5 7 9 12 15 --reps 20 --old 6a6709b

Random games (Dirichlet(1) prior, U and V uniform on [0, 1], seed 0).  For each game, in one process:

* ``textbook``: the LP with every obedience row through ``scipy.optimize.linprog`` (HiGHS inside), up to
  ``--textbook-max`` actions (it grows like n^4.5: about 3 minutes at 100 x 100);
* ``unchecked``: the float path (``method="auto"``) without the conditioning check;
* ``solve``: ``solve(game)`` as a user calls it, check included, and whether the check was applied
  (``stats["conditioning"]`` names the interval) or the game fell back.

Medians over the games of a size; ratios of medians.  Nothing is asserted.

``--tiny-masses E ...`` measures something else: how often the check certifies games whose priors put
masses near ``10^-E`` on about 30% of the states (uniform utilities, 20 to 40 states and actions, past the
exact fallback's ``m n <= 400``).  Their values are well conditioned, so a float answer should come back
valid; per exponent it counts the valid answers (and any solve that raised) and checks each valid one
against the exact path.  With ``--old COMMIT`` the same games also go through
``persuasion/conditioning.py`` as it was at that commit (read with ``git show``), one after the other in
this process: the baseline.
"""
from __future__ import annotations

import argparse
import importlib
import time

import numpy as np

from . import load_old_module, write_json


def _time(fn, *args, **kw) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t, out


def run_size(m: int, n: int, reps: int, textbook: bool, rng) -> dict:
    from persuasion import PersuasionGame, solve
    from persuasion.arithmetic import FLOAT
    S = importlib.import_module("persuasion.solve")
    rows = []
    for _ in range(reps):
        g = PersuasionGame(rng.dirichlet(np.ones(m)), rng.random((m, n)), rng.random((m, n)))
        t_un, (un, _) = _time(S._solve_unchecked, g, FLOAT, "auto", None, None)
        t_solve, sol = _time(solve, g)
        row = {"unchecked_s": t_un, "solve_s": t_solve, "check_applied": sol.stats["conditioning"].startswith(
            "value interval"), "valid": bool(sol.certificate.valid), "method": sol.method}
        if textbook:
            t_tb, tb = _time(solve, g, method="linprog")
            row.update(textbook_s=t_tb, value_gap=abs(float(tb.value) - float(sol.value)))
        rows.append(row)
    med = lambda key: float(np.median([r[key] for r in rows]))
    out = {"m": m, "n": n, "reps": reps, "unchecked_s": med("unchecked_s"), "solve_s": med("solve_s"),
           "check_applied": all(r["check_applied"] for r in rows), "valid": all(r["valid"] for r in rows),
           "methods": sorted({r["method"] for r in rows}), "games": rows}
    if textbook:
        out.update(textbook_s=med("textbook_s"), max_value_gap=max(r["value_gap"] for r in rows))
    return out


def tiny_mass_game(rng, exponent: int, sizes=(20, 40)):
    """A game with about 30% of its states at prior masses near ``10^-exponent``, uniform utilities, and
    numbers of states and actions drawn from ``sizes`` (an inclusive range; see the module doc).  Shared
    with tests/test_conditioning.py."""
    from persuasion import PersuasionGame
    m, n = (int(k) for k in rng.integers(sizes[0], sizes[1] + 1, size=2))
    w = rng.random(m)
    tiny = rng.random(m) < 0.3
    w[tiny] = 10.0 ** -exponent * rng.random(int(tiny.sum()))
    return PersuasionGame(w / w.sum(), rng.random((m, n)), rng.random((m, n)))


def run_tiny_masses(exponents, reps: int, old: str | None) -> list[dict]:
    """Valid float answers, their largest distance to the exact value, and median seconds, per exponent;
    for this checkout and, with ``old``, for that commit's conditioning check on the same games."""
    from persuasion import PersuasionError, solve
    S = importlib.import_module("persuasion.solve")
    versions = {"new": S.value_interval_of}
    if old:
        versions["old"] = load_old_module(old, "conditioning").value_interval_of
    rng = np.random.default_rng(0)
    results = []
    try:
        for e in exponents:
            games = [tiny_mass_game(rng, e) for _ in range(reps)]
            exact = [float(solve(g, exact=True).value) for g in games]
            row = {"exponent": e, "games": reps}
            for name, check in versions.items():
                S.value_interval_of = check
                seconds, valid, raised, gap = [], 0, 0, 0.0
                for g, v in zip(games, exact):
                    t = time.perf_counter()
                    try:
                        sol = solve(g)
                    except PersuasionError:          # counted: a float solve that raises is a finding
                        raised += 1
                        continue
                    finally:
                        seconds.append(time.perf_counter() - t)
                    if sol.certificate.valid:
                        valid += 1
                        gap = max(gap, abs(float(sol.value) - v))
                row.update({f"{name}_valid": valid, f"{name}_raised": raised, f"{name}_max_error": gap,
                            f"{name}_median_s": float(np.median(seconds))})
            results.append(row)
    finally:
        S.value_interval_of = versions["new"]
    return results


def _print_tiny(results, old: str | None) -> None:
    names = ["new", "old"] if old else ["new"]
    print("# masses near 10^-E on ~30% of the states; new = this checkout" + (f", old = {old}" if old else ""))
    print(f"{'E':>3} {'games':>6}" + "".join(f" {n + ' valid':>10} {n + ' raised':>11} {n + ' max |err|':>14} "
                                           f"{n + ' median s':>13}" for n in names))
    for r in results:
        print(f"{r['exponent']:>3} {r['games']:>6}" + "".join(
            f" {r[n + '_valid']:>10} {r[n + '_raised']:>11} {r[n + '_max_error']:>14.1e} {r[n + '_median_s']:>13.3f}"
            for n in names))


def main(argv=None) -> None:
    from experiments.config import positive_int      # --n 0 refused as the line is read
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=positive_int, nargs="+", default=[50, 100, 200], help="square games m = n")
    p.add_argument("--reps", type=positive_int, default=3, help="games per size")
    p.add_argument("--textbook-max", type=int, default=50, help="largest n for the textbook baseline")
    p.add_argument("--small", action="store_true", help="also 2x4, 4x6 and 10x30 games, 30 each")
    p.add_argument("--tiny-masses", type=positive_int, nargs="+", metavar="E",
                   help="instead: valid answers on games with prior masses near 10^-E (see above)")
    p.add_argument("--old", help="with --tiny-masses: the commit whose conditioning check is the baseline")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    if args.tiny_masses:
        results = run_tiny_masses(args.tiny_masses, args.reps, args.old)
        _print_tiny(results, args.old)
        write_json(results, args.json)
        return results
    rng = np.random.default_rng(0)
    shapes = [(2, 4), (4, 6), (10, 30)] if args.small else []
    results = [run_size(m, n, 30, False, rng) for m, n in shapes]
    results += [run_size(k, k, args.reps, k <= args.textbook_max, rng) for k in args.sizes]
    print(f"{'size':>9} {'textbook s':>11} {'solve s':>9} {'ratio':>7} {'unchecked s':>12} {'check cost':>11} "
          f"{'applied':>8} {'valid':>6}")
    for r in results:
        tb = f"{r['textbook_s']:11.3f}" if "textbook_s" in r else f"{'-':>11}"
        ratio = f"{r['textbook_s'] / r['solve_s']:7.1f}" if "textbook_s" in r else f"{'-':>7}"
        print(f"{r['m']:>4}x{r['n']:<4} {tb} {r['solve_s']:9.3f} {ratio} {r['unchecked_s']:12.3f} "
              f"{r['solve_s'] / r['unchecked_s']:10.2f}x {str(r['check_applied']):>8} {str(r['valid']):>6}")
    write_json(results, args.json)


if __name__ == "__main__":
    main()
