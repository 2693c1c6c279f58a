"""Benchmark of the fast paths against the textbook LP, side by side in one run.

Random games as in the issue: Dirichlet(1) prior, U and V uniform on [0, 1].
Sections:

1. square games: textbook ``linprog`` (all n(n-1) obedience rows) against
   ``solve(method="highs-cg")`` (with its float certificate) on the same
   instances; ratio; value agreement; and the cost of one solve of the final
   LP restricted to its binding rows (an oracle that knows them in advance);
2. the exact certificate through the fast path;
3. growth with m and with n separately (fitted log-log exponents);
4. closed forms at scale; 5. batched small games against one solve each; 6. two states with many
actions, time and peak memory, against constraint generation.

    python -m benchmarks.bench_fast                      # everything, ~5 minutes on 2 cores
    python -m benchmarks.bench_fast --sections square --sizes 20 50 100 --baseline-max 100

Nothing is asserted: this prints measurements.  The baseline is run only up to
``--baseline-max``; beyond it the baseline time is extrapolated from a
log-log fit of the measured sizes and marked ``~`` in the output.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from . import write_json


def random_game(m: int, n: int, rng):
    from persuasion import PersuasionGame
    return PersuasionGame(rng.dirichlet(np.ones(m)), rng.uniform(size=(m, n)), rng.uniform(size=(m, n)))


def timed(fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    return time.perf_counter() - t, out


def fit_exponent(xs, ts) -> float:
    return float(np.polyfit(np.log(xs), np.log(ts), 1)[0])


def section_square(args, rng, out):
    from persuasion import solve
    from persuasion.backends import solve_highs
    from persuasion.lp import build_float_lp
    print("\n## 1. square games: textbook LP vs row/column generation (median of reps)")
    print(f"{'size':>9}{'textbook s':>13}{'fast s':>10}{'ratio':>9}{'|dv|':>10}{'oracle s':>10}{'fast/oracle':>12}"
          f"{'rows':>7}{'cols':>7}")
    base_sizes, base_times, rows = [], [], []
    for k in args.sizes:
        tb, tf, to, dv, nr, nc = [], [], [], [], [], []
        for _ in range(args.reps):
            g = random_game(k, k, rng)
            t, fast = timed(solve, g, method="highs-cg")
            assert fast.certificate.valid
            tf.append(t)
            nr.append(fast.stats["rows_added"])
            nc.append(fast.stats["cols_added"])
            binding = np.argwhere(fast.duals.obedience > 0)
            t_or, _ = timed(solve_highs, build_float_lp(g, binding))
            to.append(t_or)
            if k <= args.baseline_max:
                t, base = timed(solve, g, method="linprog")
                tb.append(t)
                dv.append(abs(base.value - fast.value))
        f, o = float(np.median(tf)), float(np.median(to))
        if tb:
            b, mark = float(np.median(tb)), " "
            base_sizes.append(k)
            base_times.append(b)
        elif len(base_sizes) >= 2:
            slope, icpt = np.polyfit(np.log(base_sizes), np.log(base_times), 1)
            b, mark = float(np.exp(icpt) * k ** slope), "~"
        else:
            b, mark = float("nan"), "~"
        d = max(dv) if dv else float("nan")
        print(f"{k:>4}x{k:<4}{mark}{b:>12.3f}{f:>10.3f}{b / f:>9.1f}{d:>10.1e}{o:>10.3f}{f / o:>12.2f}"
              f"{int(np.median(nr)):>7}{int(np.median(nc)):>7}")
        rows.append({"size": k, "textbook_s": b, "textbook_extrapolated": mark == "~", "fast_s": f,
                     "ratio": b / f, "max_abs_value_diff": d, "oracle_s": o})
    if len(base_sizes) >= 2:
        print(f"(textbook baseline measured up to {max(base_sizes)}x{max(base_sizes)}; '~' rows extrapolated with "
              f"fitted exponent {fit_exponent(base_sizes, base_times):.2f})")
    out["square"] = rows


def section_exact(args, rng, out):
    from persuasion import solve
    print("\n## 2. exact rational certificate through the fast path")
    rows = []
    for k in args.exact_sizes:
        g = random_game(k, k, rng)
        g.rational()
        t, sol = timed(solve, g, exact=True, method="highs-cg")
        print(f"{k:>4}x{k:<4} exact {t:8.2f} s  certificate {sol.certificate.summary()[:40]}  "
              f"basis {sol.stats.get('basis_size')}")
        rows.append({"size": k, "exact_s": t, "valid": sol.certificate.valid})
    out["exact"] = rows


def section_growth(args, rng, out):
    from persuasion import solve
    print("\n## 3. growth: vary m with n fixed, and n with m fixed (median of reps, fast path)")
    res = {}
    for label, shapes in (("m", [(m, args.fixed) for m in args.growth]), ("n", [(args.fixed, n) for n in args.growth])):
        ts = []
        for m, n in shapes:
            ts.append(float(np.median([timed(solve, random_game(m, n, rng), method="highs-cg")[0]
                                       for _ in range(args.reps)])))
            print(f"  m={m:<4} n={n:<4} {ts[-1]:8.3f} s")
        xs = [s[0] if label == "m" else s[1] for s in shapes]
        res[label] = {"sizes": xs, "seconds": ts, "exponent": fit_exponent(xs, ts)}
        print(f"  fitted exponent in {label}: {res[label]['exponent']:.2f}")
    sq = out.get("square")
    if sq and len(sq) >= 2:
        e = fit_exponent([r["size"] for r in sq], [r["fast_s"] for r in sq])
        res["square"] = e
        print(f"  fitted exponent in m = n (section 1): {e:.2f}")
    out["growth"] = res


def section_closed(args, rng, out):
    from persuasion import PersuasionGame, solve
    print("\n## 4. closed forms at scale (solve() picks them automatically)")
    m = args.million
    prior = rng.dirichlet(np.ones(m))
    g = PersuasionGame(prior, np.tile([0.0, 1.0], (m, 1)), rng.uniform(size=(m, 2)))
    t, sol = timed(solve, g)
    from persuasion.closed_forms import binary_state_independent_optimum
    t_core, _ = timed(binary_state_independent_optimum, g)
    print(f"  binary action, state-independent Advisor, {m} states: closed form {t_core:.3f} s; "
          f"solve() with certificate {t:.3f} s ({sol.method}, valid={sol.certificate.valid})")
    n = args.two_state_actions
    g2 = PersuasionGame([0.4, 0.6], rng.uniform(size=(2, n)), rng.uniform(size=(2, n)))
    t2, sol2 = timed(solve, g2)
    print(f"  two states, {n} actions: solve() {t2:.3f} s ({sol2.method}, valid={sol2.certificate.valid})")
    out["closed_forms"] = {"knapsack_states": m, "knapsack_core_s": t_core, "knapsack_solve_s": t,
                           "two_state_actions": n, "two_state_solve_s": t2}


def _time_and_peak(fn, *a, **kw):
    """Seconds of one call, and the peak memory it allocates (bytes, Python and numpy, traced by tracemalloc
    in a second call: tracing slows allocation, so the time comes from the untraced one)."""
    import tracemalloc
    t, res = timed(fn, *a, **kw)
    tracemalloc.start()
    try:
        fn(*a, **kw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return t, peak, res


def section_two_state(args, rng, out):
    from persuasion import PersuasionGame, solve
    print("\n## 6. two states, many actions: closed form with sparse duals vs constraint generation")
    rows = []
    for n in args.two_state_sizes:
        g = PersuasionGame([0.4, 0.6], rng.uniform(size=(2, n)), rng.uniform(size=(2, n)))
        t, peak, sol = _time_and_peak(solve, g)
        row = {"actions": n, "closed_s": t, "closed_peak_mb": peak / 2**20, "valid": sol.certificate.valid}
        line = f"  2 x {n}: closed form {t:.2f} s, peak {peak / 2**20:.1f} MB (valid={sol.certificate.valid})"
        if n <= args.two_state_lp_max:
            tb, pb, base = _time_and_peak(solve, g, method="highs-cg")
            row.update(lp_s=tb, lp_peak_mb=pb / 2**20, value_gap=abs(float(base.value) - float(sol.value)))
            line += (f"; constraint generation {tb:.2f} s, peak {pb / 2**20:.1f} MB, ratio {tb / t:.1f}x, "
                     f"|dv| {row['value_gap']:.1e}")
        print(line)
        rows.append(row)
    out["two_state"] = rows


def section_batch(args, rng, out):
    from persuasion import solve, solve_many
    print("\n## 5. batched small games: solve_many vs one solve(method='highs') each")
    rows = []
    for k in (3, 5, 10):
        games = [random_game(k, k, rng) for _ in range(args.batch)]
        t1, singles = timed(lambda: [solve(g, method="highs") for g in games])
        t2, batch = timed(solve_many, games)
        d = float(np.max(np.abs(batch.values - np.array([s.value for s in singles]))))
        print(f"  {args.batch} games {k}x{k}: one each {t1 * 1e3 / len(games):.3f} ms/game, "
              f"batch {t2 * 1e3 / len(games):.3f} ms/game, ratio {t1 / t2:.1f}, |dv| {d:.1e}, "
              f"all valid {bool(batch.valid.all())}")
        rows.append({"size": k, "single_ms": t1 * 1e3 / len(games), "batch_ms": t2 * 1e3 / len(games)})
    out["batch"] = rows


SECTIONS = {"square": section_square, "exact": section_exact, "growth": section_growth,
            "closed": section_closed, "batch": section_batch, "two-state": section_two_state}


def main(argv=None):
    from experiments.config import positive_int      # --n 0 refused as the line is read
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    ap.add_argument("--sizes", type=positive_int, nargs="+", default=[20, 50, 100, 200, 500])
    ap.add_argument("--reps", type=positive_int, default=3)
    ap.add_argument("--baseline-max", type=int, default=50,
                    help="largest size the textbook baseline is run at (100x100 takes minutes)")
    ap.add_argument("--exact-sizes", type=positive_int, nargs="+", default=[20, 50])
    ap.add_argument("--growth", type=positive_int, nargs="+", default=[50, 100, 200, 400])
    ap.add_argument("--fixed", type=positive_int, default=50)
    ap.add_argument("--million", type=positive_int, default=1_000_000)
    ap.add_argument("--two-state-actions", type=positive_int, default=10_000)
    ap.add_argument("--batch", type=positive_int, default=1000)
    ap.add_argument("--two-state-sizes", type=positive_int, nargs="+", default=[500, 2_000, 10_000, 20_000])
    ap.add_argument("--two-state-lp-max", type=int, default=500,
                    help="largest number of actions the constraint-generation baseline is run at")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write all measurements to this file")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    out = {"args": vars(args)}
    for name in args.sections:
        SECTIONS[name](args, rng, out)
    write_json(out, args.json)
    return out


if __name__ == "__main__":
    main()
