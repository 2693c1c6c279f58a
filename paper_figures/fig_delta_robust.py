"""Figure: persuasion against delta-best responses, from saved results (``experiments/delta_robust.py``).

Left: the Advisor's optimal value against the worst delta-best response, as a fraction of ``V*``, for
each bundled game, against delta in units of the Receiver's utility spread.  Right: the robust learner's
cumulative regret against ``V*`` on prosecutor-judge when the Receiver takes the worst delta-best
response (median over seeds), with the line ``(V* - robust value) t`` for each delta: the least regret
any scheme could have against that Receiver.

    python -m paper_figures.fig_delta_robust --results results/delta_robust --out docs/figures
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ._save import ReportError, read_report, save_figure


def draw(results_dir, out_dir, stem: str = "delta_robust") -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(results_dir) / "delta_robust.json"
    if not path.exists():
        raise FileNotFoundError(f"fig_delta_robust: {path} not found; run python -m experiments.delta_robust first")
    res = read_report(path, ("curves", "learner"), "a delta-robust study")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for name, c in sorted(res["curves"].items()):
        v = np.array(c["value"]) / c["v_star"]
        a1.plot(c["delta_over_spread"][1:], v[1:], marker=".", label=name)
        a1.plot([0], [1.0], "k.", ms=4)
    a1.set_xlabel("delta / Receiver utility spread")
    a1.set_ylabel("robust value / V*")
    a1.set_title("value against the worst delta-best response")
    a1.legend(fontsize=8)
    rows = res["learner"]
    for i, d in enumerate(sorted({r["delta"] for r in rows})):
        runs = [r for r in rows if r["delta"] == d]
        t = np.array(runs[0]["curve_rounds"])
        med = np.median([r["curve"] for r in runs], axis=0)
        a2.loglog(t, np.maximum(med, 1e-1), color=f"C{i}", label=f"delta = {d:g}")
        gap = runs[0]["v_star"] - runs[0]["robust_value"]
        if gap > 0:
            a2.loglog(t, gap * t, color=f"C{i}", ls=":", lw=1)
    a2.set_xlabel("round t")
    a2.set_ylabel("cumulative regret against V*")
    a2.set_title("robust learner vs a delta-best responder (dotted: least possible)")
    a2.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out_dir, stem)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results/delta_robust")
    ap.add_argument("--out", default="figures")
    args = ap.parse_args(argv)
    try:
        paths = draw(args.results, args.out)
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 1
    except ReportError as e:                     # another file, or a damaged one: one line, not a traceback
        print(f"fig_delta_robust: {e}", file=sys.stderr)
        return 2
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
