"""Figure: the proposal-review game per condition, with 95% Wilson intervals.

One panel per report (Receiver x task): for every condition, the Advisor's
value (its target) and the rate of right decisions, and, for the draft game's
written answers, the accuracy; paired problems, n in the title.  Writes PNG
and PDF.

    python -m paper_figures.fig_llm_review results/review_gsm_qwen05/report.json [...] --out docs/figures \
        --stem llm_review_gsm_qwen05
"""
from __future__ import annotations

import numpy as np

from ._save import read_report, reports_main, save_figure


def draw(report_paths, out_dir, stem: str = "llm_review"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    reports = [read_report(p, ("conditions", "config"), "a review study") for p in report_paths]
    fig, axes = plt.subplots(1, len(reports), figsize=(7.5 * len(reports), 6.0), squeeze=False)
    for ax, rep in zip(axes[0], reports):
        conds = list(rep["conditions"])
        y = np.arange(len(conds))
        series = [("value", "value_ci", "C0", f"Advisor's value ({rep['config']['target']})"),
                  ("right_decision", "right_decision_ci", "C1", "right decisions")]
        if any("accuracy" in r for r in rep["conditions"].values()):     # the paper's metric as well
            from llm_bridge.studies.review_markdown import accuracy_meaning
            series.append(("accuracy", "accuracy_ci", "C2", f"accuracy ({accuracy_meaning(rep['task'])})"))
        for k, (key, ci, colour, label) in enumerate(series):
            have = [i for i, c in enumerate(conds) if key in rep["conditions"][c]]
            v = np.array([rep["conditions"][conds[i]][key] for i in have])
            lo = np.array([rep["conditions"][conds[i]][ci][0] for i in have])
            hi = np.array([rep["conditions"][conds[i]][ci][1] for i in have])
            offset = (k - (len(series) - 1) / 2) * 0.25
            ax.errorbar(v, y[have] + offset, xerr=[np.maximum(v - lo, 0), np.maximum(hi - v, 0)], fmt="o",
                        color=colour, label=label, capsize=2)
        ax.set_yticks(y, conds)
        ax.invert_yaxis()
        ax.set_xlim(-0.02, 1.02)
        n = rep["conditions"][conds[0]]["n"]
        ax.set_title(f"{rep['task']}, Receiver {rep['receiver']}\n(n = {n} held-out problems per condition, paired)")
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=len(series), fontsize=8, frameon=False)
    fig.tight_layout()
    return save_figure(fig, out_dir, stem)


def main(argv=None) -> int:
    return reports_main(draw, __doc__, "llm_review", argv)


if __name__ == "__main__":
    raise SystemExit(main())
