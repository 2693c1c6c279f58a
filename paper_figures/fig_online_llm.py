"""Figure: regret of the online learners against a real Receiver model, with bands and the theorem's bound.

One panel per mode (signal-only, informed) and report (Receiver): the mean
cumulative pseudo-regret over seeds (exact, from the Receiver's recorded
choice probabilities) with its 95% bootstrap band for each learner, and the
theorem's bound for the *modelled* Bayesian Receiver as a dashed line (it is
not a bound for the real one: the report says which assumptions fail).

    python -m paper_figures.fig_online_llm docs/results/online/gsm_qwen05/report.json [...] --out docs/figures
"""
from __future__ import annotations

import numpy as np

from ._save import read_report, reports_main, save_figure


def draw(report_paths, out_dir, stem: str = "online_llm"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    reports = [read_report(p, ("modes", "config", "table"), "an online study") for p in report_paths]
    panels = [(rep, mode) for rep in reports for mode in rep["modes"]]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.4), squeeze=False)
    for ax, (rep, mode) in zip(axes[0], panels):
        res = rep["modes"][mode]
        t = np.array(res["t"])
        for k, (name, r) in enumerate(res["learners"].items()):
            ax.plot(t, r["mean"], color=f"C{k}", label=name)
            ax.fill_between(t, r["lo"], r["hi"], color=f"C{k}", alpha=0.2, lw=0)
        bound = np.array(res["bound"]["value"])
        top = max(max(r["hi"]) for r in res["learners"].values())
        ax.plot(t, np.minimum(bound, 3 * max(top, 1e-9)), "k--", lw=1,
                label="bound, modelled Receiver" + ("" if res["bound"]["within_theorem"] else " (outside theorem)"))
        ax.set_ylim(bottom=0, top=1.15 * max(top, 1e-9))
        ax.set_xlabel("round")
        ax.set_ylabel("cumulative pseudo-regret (exact)")
        ax.set_title(f"{rep.get('receiver', '?')}, {mode}\n{rep['config']['seeds']} seeds, pool "
                     f"{rep['table']['pool']} problems; bands: 95% bootstrap", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return save_figure(fig, out_dir, stem)


def main(argv=None) -> int:
    return reports_main(draw, __doc__, "online_llm", argv)


if __name__ == "__main__":
    raise SystemExit(main())
