"""A review experiment's ``report.json`` as a Markdown section (what docs/llm_results.md shows)."""
from __future__ import annotations

import numpy as np


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _ci(ci) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def review_markdown(rep: dict) -> str:
    g, sch = rep["game"], rep["schemes"]
    out = [f"### {rep['task']}, Receiver {rep['receiver']}, target `{rep['config']['target']}`", ""]
    c = np.array(g["told_state_counts"])
    out += [f"Estimation split: {int(c.sum(axis=1)[0])} correct and {int(c.sum(axis=1)[1])} wrong proposals, "
            f"each shown with the verdict stated. Submitted when told correct {int(c[0, 0])}/{int(c[0].sum())} "
            f"{_ci(g['told_state_submit_ci'][0])}, when told wrong {int(c[1, 0])}/{int(c[1].sum())} "
            f"{_ci(g['told_state_submit_ci'][1])}. Prior (estimation split) P(correct) = {g['prior'][0]:.2f}.", "",
            f"Revealed U (rows correct/wrong, columns submit/decline): "
            f"{np.round(np.array(g['U']), 3).tolist()}. Case: **{g['case']}**; bootstrap "
            + ", ".join(f"{k} {v:.2f}" for k, v in g["case_probability"].items())
            + f"; predicted optimal value (Bayesian) 95% interval {_ci(g['predicted_lp_value_ci'])}.", ""]
    rm = rep["receiver_models"]
    out += ["Receiver models, cross-validated Brier score on the probes: "
            + ", ".join(f"{k} {v:.3f}" if v is not None else f"{k} not identified (a recommendation never probed)"
                        for k, v in rm["brier_cv"].items())
            + f"; chosen: **{rm['chosen']}**. Under the chosen model the case is **{g['chosen_model_case']}** "
            "(bootstrap " + ", ".join(f"{k} {v:.2f}" for k, v in g["chosen_model_case_probability"].items())
            + f"), its optimal value 95% interval {_ci(g['chosen_model_value_ci'])}.", ""]
    ts = g.get("threshold_set")
    if ts:
        out += [f"Bayesian threshold (submit iff P(correct) >= t) left open by the told verdicts and the probes "
                f"at {', '.join(f'{x:g}' for x in ts['levels'])}: majority bracket ({ts['point'][0]:g}, "
                f"{ts['point'][1]:g}], bootstrap set [{ts['lo']:.2f}, {ts['hi']:.2f}]; the Bayesian LP is solved at "
                f"its worst case for the Advisor, t = {ts['worst_case_threshold']:.3f}"
                + (" (the data do not identify the threshold beyond this set)." if ts["hi"] - ts["lo"] > 0.2
                   else "."), ""]
    out += ["| scheme P(recommend submit \\| state) | correct | wrong |", "|---|---|---|"]
    out.append(_row(["chosen model's optimum (executed, taught)", f"{sch['chosen'][0][0]:.2f}",
                     f"{sch['chosen'][1][0]:.2f}"]))
    out.append(_row(["Bayesian LP", f"{sch['bayesian_lp'][0][0]:.2f}", f"{sch['bayesian_lp'][1][0]:.2f}"]))
    emp, cnt = sch["advisor_empirical"], sch["advisor_counts"]
    out.append(_row(["trained Advisor, measured (submit / decline / other)",
                     " / ".join(f"{x:.2f}" for x in emp[0]) + f" (n {int(sum(cnt[0]))})",
                     " / ".join(f"{x:.2f}" for x in emp[1]) + f" (n {int(sum(cnt[1]))})"]))
    out.append(_row(["Advisor's total variation to the taught scheme", f"{sch['advisor_tv_per_state'][0]:.2f}",
                     f"{sch['advisor_tv_per_state'][1]:.2f}"]))
    out += ["", "| condition | n | Advisor's value (target) [95% Wilson] | right decisions [95% Wilson] | "
            "top token was Yes/No | predicted: bayesian / credulous / fitted |", "|---|---|---|---|---|---|"]
    for name, r in rep["conditions"].items():
        base = name.split("/")[0]
        p = rep["predicted"].get(base)
        pred = (" / ".join(f"{p[k]:.2f}" for k in ("bayesian", "credulous", "fitted"))
                if p and name.endswith("/informed") else
                f"signal-only fitted {p['signal-only fitted']:.2f}" if p and name.endswith("/signal-only") else "")
        out.append(_row([name, r["n"], f"{r['value']:.2f} {_ci(r['value_ci'])}",
                         f"{r['right_decision']:.2f} {_ci(r['right_decision_ci'])}",
                         "-" if r["on_format"] is None else f"{r['on_format']:.2f}", pred]))
    out += _tests_table("paired test (exact McNemar)", rep["tests"])
    out += _accuracy_markdown(rep)
    claim = g.get("persuasion_claim")
    if claim:
        held = "; ".join(f"{v}: scheme {h['lp-scheme']}, Advisor {h['advisor']} (pooling benchmark {h['best_pooling']})"
                         for v, h in claim["held_out"].items())
        out += ["", f"Persuasion claim: ex ante (P(binds) >= 0.9 under the chosen model) **{claim['ex_ante']}**; "
                f"held out (beats full revelation, the better pooling scheme and the placebo, each Holm p < 0.05) "
                f"{held}; allowed: **{g['persuasion_claim_allowed']}**."]
    else:
        out += ["", f"Persuasion claim allowed (P(binds) >= 0.9 under the chosen model): "
                f"**{g['persuasion_claim_allowed']}**."]
    tm = rep.get("timings_s", {})
    out += ["", "Time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in tm.items()), ""]
    return "\n".join(out)


def accuracy_meaning(task: str) -> str:
    """What counts as right for the paper's accuracy metric on ``task``."""
    return "the tests pass" if task == "humaneval" else "the final answer right"


def _accuracy_markdown(rep: dict) -> list[str]:
    """The paper's metric: accuracy per condition against the baseline, relative gains, the split tests."""
    acc = rep.get("accuracy")
    if not acc:
        return []
    base = acc["baseline"]
    conds = rep["conditions"]
    out = ["", f"Accuracy ({accuracy_meaning(rep['task'])}), against **{base}** "
           f"({conds[base]['accuracy']:.2f} {_ci(conds[base]['accuracy_ci'])}):", "",
           "| condition | accuracy [95% Wilson] | relative gain over the baseline [95% paired bootstrap] | "
           "truncated |", "|---|---|---|---|"]
    for name, r in conds.items():
        if "accuracy" not in r:
            continue
        gain = acc["gains"].get(name)
        rel = ("-" if gain is None or gain["relative_gain"] is None
               else f"{gain['relative_gain']:+.2f} {_ci(gain['ci'])}" if gain["ci"] else f"{gain['relative_gain']:+.2f}")
        out.append(_row([name, f"{r['accuracy']:.2f} {_ci(r['accuracy_ci'])}", rel,
                         f"{r['truncated']:.2f}" if "truncated" in r else "-"]))
    return out + _tests_table("accuracy test (exact McNemar)", acc["tests"])


def _tests_table(title: str, tests: dict) -> list[str]:
    out = ["", f"| {title} | b | c | difference | p | p (Holm) | byte-identical prompts |",
           "|---|---|---|---|---|---|---|"]
    for name, t in tests.items():
        same = t.get("identical_prompts")
        out.append(_row([name, t["b"], t["c"], f"{t['diff']:+.2f}", f"{t['p']:.3g}",
                         f"{t['p_holm']:.3g}" if "p_holm" in t else "-",
                         "-" if same is None else f"{same}/{t['n']}" + (" (all: not tested)" if same == t["n"] else "")]))
    return out


def main(argv=None) -> int:
    import argparse
    import json
    ap = argparse.ArgumentParser(description="render review report.json files as Markdown")
    ap.add_argument("reports", nargs="+")
    args = ap.parse_args(argv)
    for path in args.reports:
        with open(path) as fh:
            print(review_markdown(json.load(fh)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
