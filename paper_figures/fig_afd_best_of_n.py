"""Figure and tables: Best-of-N with the Init-SFT rewards against the checker (llm_bridge.studies.afd_experiment).

Top row, one panel per policy: golden accuracy of the kept sample against N for each selector (exact
subset averages, with the Wilson interval of the one nested draw per problem as a band).  Bottom row:
over-optimisation, the mean proxy reward of the kept sample (classifier log-odds, log-ratio) and its
golden accuracy against the KL estimate ``log N - (N-1)/N``.

    python -m paper_figures.fig_afd_best_of_n results/afd_gsm_smollm2/report.json --out docs/figures
    python -m paper_figures.fig_afd_best_of_n REPORT --markdown     # the tables of docs/afd_results.md
"""
from __future__ import annotations

import argparse
import json

from ._save import save_figure

COLOURS = {"random": "0.45", "classifier": "C0", "log_ratio": "C2", "oracle": "C3"}
LABELS = {"random": "random pick", "classifier": "Init-SFT classifier", "log_ratio": "log-ratio",
          "oracle": "oracle (checker)"}


def _rows(report, policy, selector):
    return sorted((r for r in report["best_of_n"] if r["policy"] == policy and r["selector"] == selector),
                  key=lambda r: r["n"])


def draw(report, out_dir, stem: str = "afd_best_of_n"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    policies = ("init", "sft")
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for col, pol in enumerate(policies):
        ax = axes[0, col]
        for sel, colour in COLOURS.items():
            rows = _rows(report, pol, sel)
            ns = [r["n"] for r in rows]
            ax.plot(ns, [r["exact"] for r in rows], "o-", color=colour, label=LABELS[sel])
            ax.fill_between(ns, [r["wilson"][0] for r in rows], [r["wilson"][1] for r in rows],
                            color=colour, alpha=0.12)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("N (samples drawn)")
        ax.set_ylabel("golden accuracy of the kept sample")
        ax.set_title(f"Best-of-N from the {'initial' if pol == 'init' else 'SFT'} policy "
                     f"({rows[0]['n_problems']} held-out problems)", fontsize=9)
        ax.legend(fontsize=7)
        ax = axes[1, col]
        twin = ax.twinx()
        for sel in ("classifier", "log_ratio"):
            rows = _rows(report, pol, sel)
            kl = [r["kl_estimate"] for r in rows]
            ax.plot(kl, [r[f"proxy_{sel}"] for r in rows], "s--", color=COLOURS[sel],
                    label=f"proxy: {LABELS[sel]}")
            twin.plot(kl, [r["exact"] for r in rows], "o-", color=COLOURS[sel], alpha=0.6,
                      label=f"golden, selected by {LABELS[sel]}")
        ax.set_xlabel("KL estimate log N - (N-1)/N (nats)")
        ax.set_ylabel("mean proxy reward of the kept sample")
        twin.set_ylabel("golden accuracy")
        ax.set_title("over-optimisation: proxy (dashed) and golden (solid) against KL", fontsize=9)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = twin.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="best")
    fig.tight_layout()
    return save_figure(fig, out_dir, stem)


def markdown(report) -> str:
    """The accuracy table (exact, drawn with Wilson interval) and the paired tests, as Markdown."""
    lines = ["| policy | selector | " + " | ".join(f"N={n}" for n in report["config"]["ns"]) + " |",
             "|---|---|" + "---|" * len(report["config"]["ns"])]
    for pol in ("init", "sft"):
        for sel in COLOURS:
            cells = [f"{r['exact']:.3f} ({r['drawn']:.2f} [{r['wilson'][0]:.2f}, {r['wilson'][1]:.2f}])"
                     for r in _rows(report, pol, sel)]
            lines.append(f"| {pol} | {LABELS[sel]} | " + " | ".join(cells) + " |")
    lines += ["", "| policy | selector | N | b (selector right, random wrong) | c (reverse) | difference | "
              "p (exact McNemar) | p (Holm) |", "|---|---|---|---|---|---|---|---|"]
    for t in report["tests"]:
        lines.append(f"| {t['policy']} | {LABELS[t['selector']]} | {t['n']} | {t['b']} | {t['c']} | "
                     f"{t['diff']:+.3f} | {t['p']:.3g} | {t['p_holm']:.3g} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", help="report.json of an AfD run")
    ap.add_argument("--out", default="figures")
    ap.add_argument("--markdown", action="store_true", help="print the tables instead of drawing")
    args = ap.parse_args(argv)
    with open(args.report) as fh:
        report = json.load(fh)
    if args.markdown:
        print(markdown(report))
        return 0
    for p in draw(report, args.out):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
