"""Persuasion against delta-best responses: the robust value as delta grows, and the robust learner's
regret when the Receiver only best-responds approximately.  Writes ``OUT/delta_robust.json``.

    python -m experiments.delta_robust --out results/delta_robust
    python -m paper_figures.fig_delta_robust --results results/delta_robust --out docs/figures

For every bundled game: the optimum against the worst delta-best response
(:func:`persuasion.approximate.solve_delta_robust`) at 41 values of delta from 0 to 0.5 of the
Receiver's utility spread, and ``V*``.  For prosecutor-judge: ``RobustPersuader(0.05)`` run against a
Receiver taking the worst delta-best response, T = 10^5, seeds 0-2, regret against ``V*`` and against the
robust value at that delta.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def compute(T: int = 100_000, seeds=(0, 1, 2)) -> dict:
    from persuasion import examples, solve
    from persuasion.approximate import solve_delta_robust
    from persuasion.online import RobustPersuader, run
    out = {"curves": {}, "learner": []}
    fractions = np.linspace(0.0, 0.5, 41)
    for name in examples.names():
        g = examples.load(name)
        spread = float((g.receiver.max(axis=1) - g.receiver.min(axis=1)).max())
        out["curves"][name] = {"v_star": float(solve(g, exact=True).value), "delta_over_spread": fractions.tolist(),
                               "value": [solve_delta_robust(g, f * spread).value for f in fractions]}
    g = examples.prosecutor_judge()
    v_star = float(solve(g, exact=True).value)
    for d in (0.0, 0.02, 0.05, 0.1, 0.2):
        robust = solve_delta_robust(g, d).value
        for seed in seeds:
            tr = run(g, RobustPersuader(0.05), T=T, seed=seed, receiver_delta=d)
            out["learner"].append({"game": "prosecutor_judge", "delta": d, "seed": seed, "T": T,
                                   "regret_vs_v_star": float(tr.cumulative_regret[-1]),
                                   "regret_vs_robust_value": float(tr.cumulative_regret[-1] - (v_star - robust) * T),
                                   "robust_value": robust, "v_star": v_star,
                                   "curve_rounds": [int(x) for x in np.unique(np.geomspace(1, T, 60).astype(int))],
                                   "curve": [float(tr.cumulative_regret[int(x) - 1])
                                             for x in np.unique(np.geomspace(1, T, 60).astype(int))]})
    return out


def main(argv=None) -> int:
    from .config import output_folder, positive_int
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/delta_robust")
    ap.add_argument("--T", type=positive_int, default=100_000)
    args = ap.parse_args(argv)
    output_folder(ap, args.out)                      # before the runs, not after them
    from persuasion.atomic import write_atomic
    res = compute(args.T)
    write_atomic(Path(args.out) / "delta_robust.json", json.dumps(res, indent=1).encode())
    for name, c in res["curves"].items():
        print(f"{name:22s} V* {c['v_star']:.4f}  value at delta = 1/80, 1/10, 1/2 of the spread: "
              f"{c['value'][1]:.4f} {c['value'][8]:.4f} {c['value'][-1]:.4f}")
    for d in sorted({r["delta"] for r in res["learner"]}):
        rows = [r for r in res["learner"] if r["delta"] == d]
        print(f"prosecutor_judge delta {d:.2f}: robust value {rows[0]['robust_value']:.4f}, median regret vs V* "
              f"{np.median([r['regret_vs_v_star'] for r in rows]):.0f}, vs the robust value "
              f"{np.median([r['regret_vs_robust_value'] for r in rows]):.0f} (T = {rows[0]['T']})")
    print(f"wrote {args.out}/delta_robust.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
