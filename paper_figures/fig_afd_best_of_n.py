"""Figure and tables: Best-of-N with the Init-SFT rewards against the checker (llm_bridge.studies.afd_experiment).

Top row, one panel per policy: golden accuracy of the kept sample against N for each selector (exact
subset averages, with the Wilson interval of the one nested draw per problem as a band).  Bottom row:
over-optimisation, the mean proxy reward of the kept sample (classifier log-odds, log-ratio) and its
golden accuracy against the KL estimate ``log N - (N-1)/N``.  A third row where the report holds trained
baselines (DPO, the reverse-KL route): pass@k against k and the distinct final answers per policy.  A fourth
where it holds more than one training on the format-blind reward (replicates, variants): over-optimisation in
training, each such policy's pass@1 against the mean learned reward on its pool and against its per-token KL
to the initial policy at the end of training.

    python -m paper_figures.fig_afd_best_of_n results/afd_gsm_smollm2/report.json --out docs/figures
    python -m paper_figures.fig_afd_best_of_n REPORT --markdown     # the tables of docs/afd_results.md
"""
from __future__ import annotations

import argparse

from ._save import ReportError, read_report, save_figure

COLOURS = {"random": "0.45", "classifier": "C0", "classifier_no_format": "C9", "demo_classifier": "C4",
           "log_ratio": "C2", "format": "C1", "oracle": "C3"}
LABELS = {"random": "random pick", "classifier": "Init-SFT classifier",
          "classifier_no_format": "Init-SFT classifier, no format lines", "demo_classifier": "demos vs initial",
          "log_ratio": "log-ratio", "format": "format only", "oracle": "oracle (checker)"}
TEST_FAMILIES = (("tests", "against the random pick"), ("tests_vs_format", "against the format-only reward"),
                 ("power_check", "power check: the oracle against the random pick"))


def selectors(report) -> list[str]:
    """The selectors a report holds, in the figure's order (older reports hold four)."""
    present = {r["selector"] for r in report["best_of_n"]}
    return [s for s in COLOURS if s in present]


def _rows(report, policy, selector):
    return sorted((r for r in report["best_of_n"] if r["policy"] == policy and r["selector"] == selector),
                  key=lambda r: r["n"])


def draw(report, out_dir, stem: str = "afd_best_of_n"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    policies = ("init", "sft")
    trained = [section for section, _, _ in baseline_sections(report)]
    points = format_blind_trainings(report)
    rows = 2 + bool(trained) + bool(points)     # the format-blind sections are among the trained ones
    fig, axes = plt.subplots(rows, 2, figsize=(11 + 2 * (rows > 3), 3.75 * rows))
    for col, pol in enumerate(policies):
        ax = axes[0, col]
        for sel in selectors(report):
            colour, rows = COLOURS[sel], _rows(report, pol, sel)
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
    if trained:
        _draw_baselines(axes[2], trained, report)
    legend_room = 0.0
    if points:
        _draw_goodhart(axes[3], points, list(trained_policies(trained)), report)
        # the fourth row's names go below it, in three columns: inside either panel they hide points
        handles, labels = axes[3, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
        legend_room = (0.16 * -(-len(labels) // 3) + 0.15) / fig.get_figheight()    # inches per line, margin
    fig.tight_layout(rect=(0, legend_room, 1, 1))
    return save_figure(fig, out_dir, stem)


POLICY_NAMES = {"init": "initial", "sft": "SFT (forward KL)", "dpo": "DPO", "rkl": "reverse KL (RLOO)",
                "rkl_nf": "reverse KL, format-blind reward"}


def format_blind_trainings(report) -> dict[str, dict]:
    """Each training on the format-blind reward (``rkl_nf``, its replicates and variants): its pass@1 with
    interval, the mean format-blind reward on its pool with interval, and its per-token KL over its last
    steps; plus the initial and SFT policies' pass@1 and reward (no KL: not trained on this reward).  All are
    read on the same reward (the format-blind classifier) and the same problems and cut pools."""
    found = {}
    for section, _, pool_key in baseline_sections(report):
        if not section.get("training", {}).get("reward_without_format") or "reward_on_pools" not in section:
            continue                            # not trained on the format-blind reward, or an older report
        for pol in ("init", "sft", pool_key.removesuffix("_pool")):
            v, r = section["policies"][pol], section["reward_on_pools"][pol]
            kl = None if pol in ("init", "sft") else section["training"].get("kl_per_token_last_steps")
            found.setdefault(pol, {"pass@1": v["pass_at"]["1"],
                                   "pass@1_interval": v.get("pass_at_interval", {}).get("1"),
                                   "reward": r["mean"], "reward_interval": r["interval"], "kl": kl})
    return found if len(found) > 3 else {}      # init, SFT and one training: nothing to compare


def _draw_goodhart(axes, points: dict, order: list[str], report=None) -> None:
    """Fourth row: pass@1 against the learned reward on the pool (left) and against the per-token KL at the
    end of training (right), one point per format-blind policy, with 95% t intervals; each policy looks as
    in the third row (its place in ``order``).  The left panel's points carry the names, for the legend that
    :func:`draw` puts below the row."""
    left, right = axes
    for pol, v in points.items():
        colour, marker, _ = policy_style(order.index(pol))
        ci = v["pass@1_interval"]
        yerr = None if ci is None else [[v["pass@1"] - ci[0]], [ci[1] - v["pass@1"]]]
        lo, hi = v["reward_interval"]
        left.errorbar([v["reward"]], [v["pass@1"]], yerr=yerr, xerr=[[v["reward"] - lo], [hi - v["reward"]]],
                      fmt=marker, capsize=3, color=colour, label=policy_name(pol, report))
        if v["kl"] is not None:
            right.errorbar([v["kl"]], [v["pass@1"]], yerr=yerr, fmt=marker, capsize=3, color=colour)
    left.set_xlabel("mean learned reward on the pool (format-blind classifier's logit)")
    left.set_ylabel("pass@1 (the checker)")
    left.set_title("over-optimisation in training: the checker against the reward maximised", fontsize=9)
    right.set_xscale("log")
    right.set_xlabel("per-token KL to the initial policy, last five steps (nats)")
    right.set_ylabel("pass@1 (the checker)")
    right.set_title("the checker against how far each training moved", fontsize=9)


MARKERS, HATCHES = "os^D", ("", "//", "..", "xx")


def policy_style(i: int) -> tuple[str, str, str]:
    """The ``i``-th policy's colour, marker and bar hatch: the ten cycle colours, then again with another
    marker and hatch, so that no two of up to 40 policies look alike."""
    return f"C{i % 10}", MARKERS[i // 10 % 4], HATCHES[i // 10 % 4]


def trained_policies(sections) -> dict[str, dict]:
    """Every policy of the trained baselines' sections, first appearance first (the initial and SFT pools
    appear in each, cut alike): the third row's order, which sets each policy's look in the fourth too."""
    policies = {}
    for section in sections:
        for pol, v in section["policies"].items():
            policies.setdefault(pol, v)
    return policies


def _draw_baselines(axes, sections, report=None) -> None:
    """Bottom row when the report holds trained baselines: pass@k against k per policy, and the distinct
    final answers among a problem's samples, each mean over problems with its 95% t interval (older reports
    have the means only)."""
    policies = trained_policies(sections)
    left, right = axes
    for i, (pol, v) in enumerate(policies.items()):
        ks = [int(k) for k in v["pass_at"]]
        means = [v["pass_at"][str(k)] for k in ks]
        ci = v.get("pass_at_interval")
        err = None if ci is None else [[m - ci[str(k)][0] for k, m in zip(ks, means)],
                                       [ci[str(k)][1] - m for k, m in zip(ks, means)]]
        colour, marker, hatch = policy_style(i)
        left.errorbar(ks, means, yerr=err, fmt=f"{marker}-", capsize=3, color=colour, label=policy_name(pol, report))
        d = v["distinct_answers"]
        dci = v.get("distinct_answers_interval")
        right.barh(i, d, color=colour, alpha=0.7, hatch=hatch,
                   xerr=None if dci is None else [[d - dci[0]], [dci[1] - d]], capsize=3)
    size = next(iter(policies.values()))
    left.set_xscale("log", base=2)
    left.set_xlabel("k (samples per problem)")
    left.set_ylabel("pass@k (exact over k-subsets)")
    left.set_title(f"the trained policies: pass@k on {size['n_problems']} held-out problems\n"
                   f"(colours as in the answer-diversity panel)", fontsize=9)
    right.set_yticks(range(len(policies)), [policy_name(p, report) for p in policies], fontsize=8)
    right.set_xlabel(f"distinct final answers among {size['pool_size']} samples (mean over problems)")
    right.set_title("answer diversity (95% t intervals)", fontsize=9)


def _test_table(tests, against: str) -> list[str]:
    """One family of paired tests; a report from before the sign-flip test has the McNemar columns only."""
    if not tests or "p_sign_flip" not in tests[0]:
        lines = [f"| policy | selector | N | b (selector right, {against} wrong) | c (reverse) | difference | "
                 "p (exact McNemar) | p (Holm) |", "|---|---|---|---|---|---|---|---|"]
        return lines + [f"| {t['policy']} | {LABELS[t['selector']]} | {t['n']} | {t['b']} | {t['c']} | "
                        f"{t['diff']:+.3f} | {t['p']:.3g} | {t['p_holm']:.3g} |" for t in tests]
    lines = ["| policy | selector | N | difference (exact) | problems differing | p (sign-flip) | p (Holm) | "
             f"b (selector right, {against} wrong) | c | difference (drawn) | p (McNemar) | p (Holm) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    return lines + [f"| {t['policy']} | {LABELS[t['selector']]} | {t['n']} | {t['diff_exact']:+.3f} | "
                    f"{t['n_problems_differing']} | {t['p_sign_flip']:.3g} | {t['p_sign_flip_holm']:.3g} | "
                    f"{t['b']} | {t['c']} | {t['diff']:+.3f} | {t['p']:.3g} | {t['p_holm']:.3g} |" for t in tests]


BASELINES = (("dpo", "DPO (demonstrations chosen, initial samples rejected)", "dpo_pool"),
             ("reverse_kl", "the reverse-KL route (RLOO on the demonstrations-vs-initial classifier, KL weight 1)",
              "rkl_pool"),
             ("reverse_kl_no_format", "the reverse-KL route on a reward blind to the format lines (the same "
              "classifier fitted and applied without them)", "rkl_nf_pool"))


def baseline_sections(report) -> list[tuple]:
    """``(section, title, pool key)`` of each trained baseline the report holds, the format-blind route's
    replicates (other training seeds) and variants (other RLOO settings) after it."""
    found = [(report[key], title, pool_key) for key, title, pool_key in BASELINES if report.get(key)]
    for seed, section in (report.get("reverse_kl_no_format_replicates") or {}).items():
        found.append((section, f"the format-blind reverse-KL route trained again, training seed {seed}",
                      f"rkl_nf_s{seed}_pool"))
    for name, section in (report.get("reverse_kl_no_format_variants") or {}).items():
        seed = "" if "training_seed" in section["training"] else ", the first training's seed"  # or in changes
        found.append((section, f"the format-blind reverse-KL route trained further ({name}: "
                      f"{section['changes']}{seed})", f"{name}_pool"))
    return found


def policy_name(pol: str, report: dict | None = None) -> str:
    """How the figure and tables name a policy; a variant's name comes from its section of ``report``."""
    if pol.startswith("rkl_nf_s"):
        return f"reverse KL, format-blind, training seed {pol[len('rkl_nf_s'):]}"
    variant = ((report or {}).get("reverse_kl_no_format_variants") or {}).get(pol)
    return f"reverse KL, format-blind, {variant['changes']}" if variant else POLICY_NAMES.get(pol, pol)


def _baseline_table(section: dict, title: str, pool_key: str) -> list[str]:
    """A trained baseline's comparison of pools: pass@k and answer diversity per policy, its pool's make-up and
    training record, and the paired tests (Holm over the section's family)."""
    pols = section["policies"]
    ks = list(next(iter(pols.values()))["pass_at"])
    size = next(iter(pols.values()))["pool_size"]
    shapes = all("single_line" in v for v in pols.values())     # older reports lack the text shapes
    lines = ["", f"Against {title}: pools cut to {size} samples per problem, "
             f"{next(iter(pols.values()))['n_problems']} problems", "",
             "| policy | " + " | ".join(f"pass@{k}" for k in ks) + " | distinct answers | answer entropy (nats) |"
             + (" single line | same text as another sample |" if shapes else ""),
             "|---|" + "---|" * (len(ks) + 2 + 2 * shapes)]
    lines += [f"| {pol} | " + " | ".join(f"{v['pass_at'][k]:.3f}" for k in ks)
              + f" | {v['distinct_answers']:.2f} | {v['answer_entropy']:.3f} |"
              + (f" {v['single_line']:.1%} | {v['repeated_text']:.1%} |" if shapes else "")
              for pol, v in pols.items()]
    pool = section.get(pool_key, {})
    lines += ["", "Its pool: " + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in pool.items())
              + "; training: " + ", ".join(f"{k.replace('_', ' ')} {v:.4g}" if isinstance(v, float) else
                                           f"{k.replace('_', ' ')} {v}" for k, v in section["training"].items()),
              *([] if "reward_on_pools" not in section else
                ["", "The reward it maximised (the classifier's logit), mean over problems with 95% t interval: "
                 + ", ".join(f"{pol} {v['mean']:+.2f} [{v['interval'][0]:+.2f}, {v['interval'][1]:+.2f}]"
                             for pol, v in section["reward_on_pools"].items())]),
              *([] if "classifier_held_out" not in section else
                ["", "Its reward's classifier on held-out prompts: accuracy "
                 f"{section['classifier_held_out']['accuracy']:.3f}, AUC {section['classifier_held_out']['auc']:.3f}"]),
              "", f"Paired sign-flip tests on the per-problem values (Holm over {len(section['tests'])}):", "",
              "| a | b | measure | a - b | problems differing | p | p (Holm) |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {t['a']} | {t['b']} | {t['measure']} | {t['diff']:+.3f} | {t['n_problems_differing']} | "
              f"{t['p']:.3g} | {t['p_holm']:.3g} |" for t in section["tests"]]
    return lines


def markdown(report) -> str:
    """The accuracy table (exact, drawn with Wilson interval), the pools' description where the report has
    it, and each family of paired tests, as Markdown."""
    lines = ["| policy | selector | " + " | ".join(f"N={n}" for n in report["config"]["ns"]) + " |",
             "|---|---|" + "---|" * len(report["config"]["ns"])]
    for pol in ("init", "sft"):
        for sel in selectors(report):
            cells = [f"{r['exact']:.3f} ({r['drawn']:.2f} [{r['wilson'][0]:.2f}, {r['wilson'][1]:.2f}])"
                     for r in _rows(report, pol, sel)]
            lines.append(f"| {pol} | {LABELS[sel]} | " + " | ".join(cells) + " |")
    if "truncated" in report:
        corr = report["length_correlation"]
        lines += ["", "| policy | right per sample | cut at the token limit | answer in the format | mean tokens | "
                  + " | ".join(f"Spearman({LABELS[k]}, length)" for k in corr) + " |",
                  "|---|---|---|---|---|" + "---|" * len(corr)]
        for pol in ("init", "sft"):
            rs = ["n/a" if corr[k][pol] is None else f"{corr[k][pol]:+.2f}" for k in corr]
            lines.append(f"| {pol} | {report['accuracy_per_sample'][pol]:.3f} | {report['truncated'][pol]:.3f} | "
                         f"{report['format_rate'][pol]:.3f} | {report['mean_tokens'][pol]:.1f} | "
                         + " | ".join(rs) + " |")
    for key, title in TEST_FAMILIES:
        if report.get(key):
            against = "random" if key != "tests_vs_format" else "format"
            lines += ["", f"Paired tests {title} (Holm over the {len(report[key])} tests of this family):", ""]
            lines += _test_table(report[key], against)
    if report.get("trend_tests"):
        lines += ["", f"From one N to the next (Holm over the {len(report['trend_tests'])} tests of this family):",
                  "", "| policy | selector | N | golden change (exact) | problems differing | p (sign-flip) | "
                  "p (Holm) | proxy change: classifier | proxy change: log-ratio |", "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {t['policy']} | {LABELS[t['selector']]} | {t['from_n']} -> {t['to_n']} | {t['diff']:+.3f} | "
                  f"{t['n_problems_differing']} | {t['p']:.3g} | {t['p_holm']:.3g} | "
                  f"{t['proxy_classifier_change']:+.2f} | {t['proxy_log_ratio_change']:+.2f} |"
                  for t in report["trend_tests"]]
    for section, title, pool_key in baseline_sections(report):
        lines += _baseline_table(section, title, pool_key)
    spread = report.get("reverse_kl_no_format_seed_spread")
    if spread:
        trainings = list(next(iter(spread.values()))["per_training"])
        lines += ["", f"The format-blind route across its {len(trainings)} trainings (descriptive; the same problems "
                  "and cut pools):", "",
                  "| measure | " + " | ".join(policy_name(p) for p in trainings) + " | mean | SD | range |",
                  "|---|" + "---|" * (len(trainings) + 3)]
        lines += [f"| {name} | " + " | ".join(f"{v['per_training'][p]:.3f}" for p in trainings)
                  + f" | {v['mean']:.3f} | {v['sd']:.3f} | {v['range'][0]:.3f}-{v['range'][1]:.3f} |"
                  for name, v in spread.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", help="report.json of an AfD run")
    ap.add_argument("--out", default="figures")
    ap.add_argument("--markdown", action="store_true", help="print the tables instead of drawing")
    args = ap.parse_args(argv)
    try:
        report = read_report(args.report, ("best_of_n", "config"), "an AfD run")
    except ReportError as e:
        ap.error(str(e))
    if args.markdown:
        print(markdown(report))
        return 0
    for p in draw(report, args.out):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
