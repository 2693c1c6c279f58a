"""Figure: cumulative regret of each learner against the bound, log-log axes.

Reads the result files of a regret study (``experiments/regret_study.py``):
one panel per game; for each learner the median over seeds with a band from
the minimum to the maximum (said on the figure); the bound proved for the guarded
robust learner dashed, the unguarded one's dotted where it was run.  Writes PNG
and PDF.

    python -m paper_figures.fig_regret --results results/regret --out figures/
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from ._save import ReportError, read_report, save_figure

STYLE = {"robust": ("C0", "robust (ours)"), "robust-unguarded": ("C6", "robust, unguarded"),
         "robust-every-round": ("C4", "robust, every round"),
         "action-informed": ("C5", "action-informed (ours)"),
         "explore-then-commit": ("C1", "explore-then-commit"), "full-revelation": ("C2", "full revelation"),
         "oracle": ("C3", "known-prior oracle")}


#: What the figure and the runner's summary read from every result file.
RESULT_KEYS = ("game", "learner", "T", "delta", "rounds", "cumulative_regret", "bound", "final_bound",
               "within_theorem", "obedience_rate")


def load_results(results_dir) -> list[dict]:
    """The regret study's output: one JSON file per (game, learner, seed) under ``RESULTS/results``, in
    name order (the runner reads its results through this too, so the figure never imports it).  A file
    there that is not a run's result is a :class:`ReportError` naming it (it was a bare ``KeyError``)."""
    files = sorted(Path(results_dir, "results").glob("*.json"))
    return [read_report(p, RESULT_KEYS, "a regret study's run") for p in files]


def draw(results_dir, out_dir, stem: str = "regret", note: str | None = None) -> list[Path]:
    """Draw the study under ``results_dir``; ``note`` is printed under the legend's explanation."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    results = load_results(results_dir)
    if not results:
        raise FileNotFoundError(f"fig_regret: no result files under {results_dir}/results")
    games = sorted({r["game"] for r in results})
    cols = min(2, len(games))
    rows = math.ceil(len(games) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    for ax, game in zip(axes.flat, games):
        runs = [r for r in results if r["game"] == game]
        for learner in sorted({r["learner"] for r in runs}):
            mine = [r for r in runs if r["learner"] == learner]
            x = np.array(mine[0]["rounds"])
            Y = np.array([r["cumulative_regret"] for r in mine])
            colour, label = STYLE.get(learner, ("k", learner))
            med = np.median(Y, axis=0)
            positive = med > 0
            if not positive.any():
                ax.plot([], [], color=colour, label=f"{label} (zero regret)")
                continue
            ax.plot(x[positive], med[positive], color=colour, lw=1.8, label=f"{label} ({len(mine)} seeds)")
            lo, hi = Y.min(axis=0), Y.max(axis=0)
            ok = positive & (lo > 0)
            ax.fill_between(x[ok], lo[ok], hi[ok], color=colour, alpha=0.2, lw=0)
        for learner, style in (("robust", "k--"), ("robust-unguarded", "k:")):
            own = [r for r in runs if r["learner"] == learner]
            if own and np.isfinite(own[0]["bound"]).all():
                ax.plot(own[0]["rounds"], own[0]["bound"], style, lw=1.2,
                        label=f"bound proved for {STYLE[learner][1]} (delta={own[0]['delta']})")
        bound = np.array(next((r for r in runs if r["learner"] == "robust"), runs[0])["bound"])
        x = np.array(runs[0]["rounds"])
        if not np.isfinite(bound).all():
            ax.text(0.03, 0.95, "outside the theorem: no bound", transform=ax.transAxes, va="top", fontsize=8)
        ax.plot(x, x * (max(r["cumulative_regret"][-1] for r in runs) / x[-1]), color="grey", lw=0.6, ls=":",
                label="linear reference")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(game, fontsize=10)
        ax.set_xlabel("round T")
        ax.set_ylabel("cumulative expected regret")
        ax.legend(fontsize=7, loc="upper left" if np.isfinite(bound).all() else "lower right")
    for ax in list(axes.flat)[len(games):]:
        ax.axis("off")
    caption = ("lines: median over seeds; bands: minimum to maximum over seeds; dashed: the bound "
               "that holds with probability 1 - delta for the guarded robust learner")
    if note:
        caption += "\n" + note
    fig.text(0.5, 0.0, caption, ha="center", va="bottom", fontsize=7, wrap=True)
    fig.tight_layout(rect=(0, 0.03 * (1 + caption.count("\n")), 1, 1))
    return save_figure(fig, out_dir, stem)


def main(argv=None) -> list[Path]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results/regret", help="folder of a regret study")
    ap.add_argument("--out", default="figures", help="output folder")
    ap.add_argument("--stem", default="regret", help="file name without extension")
    args = ap.parse_args(argv)
    try:
        paths = draw(args.results, args.out, args.stem)
    except (FileNotFoundError, ReportError) as e:
        raise SystemExit(f"fig_regret: {e}" if isinstance(e, ReportError) else str(e)) from None
    for p in paths:
        print(f"wrote {p}")
    return paths


if __name__ == "__main__":
    main()
