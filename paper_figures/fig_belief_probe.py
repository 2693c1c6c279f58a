"""Figure: the belief-response curves of the step-by-step belief probe, one panel per Receiver.

For each variant (the posterior told outright, implied by a stated scheme, worked out step by step) the
mean P(submit) at each probed posterior with a 95% bootstrap band over prompt rows; the dashed diagonal
is a Receiver that submits with probability equal to the posterior, and the dotted step a Bayesian with
threshold 1/2.  Crosses: the median posterior the stepwise Receiver wrote at each level.

    python -m paper_figures.fig_belief_probe docs/results/belief_probe_qwen05/report.json [...] --out docs/figures
"""
from __future__ import annotations

import numpy as np

from ._save import read_report, reports_main, save_figure

LABELS = {"bare": "told the posterior", "stated": "scheme stated", "stepwise": "asked to work it out"}


def band(rows, reps: int = 2000, seed: int = 0):
    """Mean over rows and a 95% percentile bootstrap band, per column."""
    y = np.asarray(rows, float)
    rng = np.random.default_rng(seed)
    boots = y[rng.integers(0, y.shape[0], (reps, y.shape[0]))].mean(axis=1)
    return y.mean(axis=0), np.percentile(boots, 2.5, axis=0), np.percentile(boots, 97.5, axis=0)


def draw(report_paths, out_dir, stem: str = "belief_probe"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    reports = [read_report(p, ("levels", "curves"), "a belief probe") for p in report_paths]
    fig, axes = plt.subplots(1, len(reports), figsize=(5.2 * len(reports), 4.2), squeeze=False)
    for ax, rep in zip(axes[0], reports):
        t = np.array(rep["levels"])
        for k, (v, c) in enumerate(rep["curves"].items()):
            mean, lo, hi = band(c["rows"])
            ax.plot(t, mean, "o-", color=f"C{k}", label=LABELS.get(v, v))
            ax.fill_between(t, lo, hi, color=f"C{k}", alpha=0.2, lw=0)
        written = rep["stepwise"]["written_by_level"]
        med = [(float(lv), float(np.median(w))) for lv, w in written.items() if w]
        if med:
            ax.plot(*zip(*med), "x", color="C2", ms=8, label="posterior it wrote (median)")
        ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="P(submit) = posterior")
        ax.step([0, 0.5, 1], [0, 1, 1], "k:", lw=0.8, where="post", label="Bayesian, threshold 1/2")
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("posterior that the proposal is correct")
        ax.set_ylabel("P(submit)")
        ax.set_title(f"{rep['receiver']}: {rep['rows']} prompts per point; stepwise cut at "
                     f"{rep['max_new_tokens']} tokens in {rep['stepwise']['truncated']:.0%}", fontsize=9)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return save_figure(fig, out_dir, stem)


def main(argv=None) -> int:
    return reports_main(draw, __doc__, "belief_probe", argv)


if __name__ == "__main__":
    raise SystemExit(main())
