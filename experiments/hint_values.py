"""The value of each hint to a Receiver that writes its own solution (issue 20, item 1: measured before
any persuasion run).

    python -m experiments.hint_values --receiver qwen05 --engine llama.cpp --n 100 --out results/hint_values_gsm_qwen05

For ``--n`` GSM-Symbolic problems with a hint menu (:mod:`llm_bridge.games.hints`: with ``--item first_step``
the reference solution's first step, the same step made wrong, another problem's step; with ``--item
steps_but_last`` every step but the last, the same with its last given step made wrong, another problem's
steps) the Receiver solves every problem under
every condition -- alone, and with each hint in its prompt -- greedily, and math-verify scores the
answer after ``####``.  Every generation is appended to ``OUT/generations.jsonl`` as it is made, so an
interrupted run continues where it stopped.  ``OUT/report.json`` holds, per condition, the accuracy with
a Wilson interval, the truncation rate (generations that hit ``--max-new-tokens`` without an answer),
exact McNemar tests against "alone" and between the true and wrong steps (Holm-adjusted), and, stated
before the run, the smallest difference the test can detect at this ``n``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from persuasion.atomic import write_atomic

CONDITIONS = ("alone", "true_step", "wrong_step", "placebo")


def power_statement(n: int) -> dict:
    """Smallest detectable difference (exact McNemar, two-sided 0.05, power 0.8) at three discordance levels."""
    from llm_bridge.studies.stats import mcnemar_detectable
    return {"n": n, "alpha": 0.05, "power": 0.8,
            "detectable_difference_by_discordance": {str(d): mcnemar_detectable(n, d) for d in (0.2, 0.3, 0.4)}}


def jobs(menus) -> list[dict]:
    from llm_bridge.games.hints import hinted_code_prompt, hinted_prompt
    out = []
    for p, menu in menus:
        prompt = hinted_code_prompt if p.task == "humaneval" else hinted_prompt
        for c in CONDITIONS:
            out.append({"id": p.id, "condition": c, "prompt": prompt(p, None if c == "alone" else menu[c])})
    return out


def _checker(menus):
    """``check(problem id, output) -> Verdict``: math-verify on the answer after ``####`` (strict), or the
    hidden tests in the sandbox for code."""
    from llm_bridge.tasks.checkers import check
    by_id = {p.id: p for p, _ in menus}
    return lambda pid, output: check(by_id[pid], output, "strict")


def _logged(out: Path) -> dict:
    """The logged generations by (problem, condition); a line torn by a kill is cut off the log (it was read
    whole before and failed the resume), a damaged one is named."""
    from llm_bridge.studies.run_log import read_records
    done = {}
    log = out / "generations.jsonl"
    if log.exists():
        for number, rec in enumerate(read_records(log, "hint_values"), start=1):
            if "id" not in rec or "condition" not in rec:
                raise ValueError(f"hint_values: {log} record {number} has no 'id' or 'condition'")
            done[(rec["id"], rec["condition"])] = rec
    return done


def report_so_far(menus, out: Path, max_new_tokens: int) -> dict:
    """The report over the problems that have every condition logged (a run stopped early); it says so."""
    done = _logged(out)
    complete = [(p, m) for p, m in menus if all((p.id, c) in done for c in CONDITIONS)]
    if not complete:
        raise SystemExit(f"hint_values: no problem has all conditions logged in {out}/generations.jsonl yet")
    rep = report(complete, done, max_new_tokens, _checker(complete))
    rep.update(stopped_early=len(complete) < len(menus), planned_n=len(menus))
    return rep


def run(lm, menus, out: Path, max_new_tokens: int, batch: int = 8, progress: bool = True) -> dict:
    """Generate what is missing from ``OUT/generations.jsonl``, then score and report."""
    from llm_bridge.models.language_model import SamplingConfig, written_answers
    out.mkdir(parents=True, exist_ok=True)
    log = out / "generations.jsonl"
    done = _logged(out)
    todo = [j for j in jobs(menus) if (j["id"], j["condition"]) not in done]
    chunks = [todo[i:i + batch] for i in range(0, len(todo), batch)]
    from persuasion.progress import progress as progress_bar
    chunks = progress_bar(chunks, "hint values", unit="batch", enabled=progress)
    sampling = SamplingConfig(max_new_tokens=max_new_tokens)
    from llm_bridge.studies.run_log import append_lines
    for chunk in chunks:
        gens = written_answers(lm, [j["prompt"] for j in chunk], sampling)
        recs = [{**j, "output": g.text, "n_tokens": g.n_tokens} for j, g in zip(chunk, gens)]
        append_lines(log, recs)                                   # one durable write per batch
        done.update(((r["id"], r["condition"]), r) for r in recs)
    return report(menus, done, max_new_tokens, _checker(menus))


def report(menus, done: dict, max_new_tokens: int, check) -> dict:
    from llm_bridge.games.estimation import wilson
    from llm_bridge.studies.stats import holm, mcnemar_exact
    ids = [p.id for p, _ in menus]
    correct, truncated = {}, {}
    for c in CONDITIONS:
        verdicts = [check(i, done[(i, c)]["output"]) for i in ids]
        correct[c] = [v.correct for v in verdicts]
        truncated[c] = [done[(i, c)]["n_tokens"] >= max_new_tokens and not v.extracted
                        for i, v in zip(ids, verdicts)]
    n = len(ids)
    conditions = {c: {"accuracy": sum(correct[c]) / n, "wilson": wilson(sum(correct[c]), n).tolist(),
                      "truncated": sum(truncated[c]) / n} for c in CONDITIONS}
    pairs = [("true_step", "alone"), ("wrong_step", "alone"), ("placebo", "alone"), ("true_step", "wrong_step")]
    tests = {f"{a} vs {b}": mcnemar_exact(correct[a], correct[b]) for a, b in pairs}
    for key, adj in zip(tests, holm([t["p"] for t in tests.values()])):
        tests[key]["p_holm"] = adj
    return {"n": n, "max_new_tokens": max_new_tokens, "conditions": conditions, "tests": tests,
            "detectable": power_statement(n)}


def main(argv=None) -> int:
    from .config import add_receiver_arguments, check_receiver_arguments, output_folder, positive_int
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_receiver_arguments(ap, default="qwen05")
    ap.add_argument("--engine", default="llama.cpp", choices=["transformers", "llama.cpp"])
    ap.add_argument("--n", type=int, default=100, help="problems (each under every condition)")
    ap.add_argument("--pool", type=int, default=400, help="GSM-Symbolic problems generated to find n menus")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--task", default="gsm_symbolic", choices=["gsm_symbolic", "humaneval"])
    ap.add_argument("--item", default="first_step", choices=["first_step", "steps_but_last"],
                    help="what GSM hints are made of (llm_bridge.games.hints.gsm_menu); HumanEval hints are one "
                         "example from the hidden tests (llm_bridge.games.hints.humaneval_menu)")
    ap.add_argument("--max-new-tokens", type=positive_int, default=320)
    ap.add_argument("--out", default="results/hint_values")
    ap.add_argument("--report-only", action="store_true",
                    help="no generation: report on the problems already logged with every condition")
    args = ap.parse_args(argv)
    check_receiver_arguments(ap, args)
    if args.n < 1 or args.pool < args.n:
        ap.error(f"--n must be at least 1 and at most --pool; got n={args.n}, pool={args.pool}")
    from llm_bridge.games.hints import gsm_menus, humaneval_menus
    from llm_bridge.models.language_model import load_by_spec
    from llm_bridge.tasks.problems import gsm_symbolic, humaneval
    if args.task == "humaneval":
        menus = humaneval_menus(humaneval(), args.n)
    else:
        menus = gsm_menus(gsm_symbolic(args.pool, seed=args.seed), args.n, args.item)
    if len(menus) < args.n:
        print(f"hint_values: error: only {len(menus)} problems have a menu (pool {args.pool} for GSM)",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    output_folder(ap, out)
    if args.report_only:
        rep = report_so_far(menus, out, args.max_new_tokens)
    else:
        settings = {**vars(args), "detectable": power_statement(args.n)}
        write_atomic(out / "settings.json", json.dumps(settings, indent=1).encode())
        lm = load_by_spec(args.receiver, engine=args.engine, extra_body=args.extra_body)
        rep = run(lm, menus, out, args.max_new_tokens)
    rep["task"], rep["item"] = args.task, args.item if args.task == "gsm_symbolic" else "test_example"
    write_atomic(out / "report.json", json.dumps(rep, indent=1).encode())
    if rep.get("stopped_early"):
        print(f"stopped early: {rep['n']} of {rep['planned_n']} problems have every condition")
    for c, r in rep["conditions"].items():
        print(f"{c:11s} accuracy {r['accuracy']:.3f} [{r['wilson'][0]:.3f}, {r['wilson'][1]:.3f}]  "
              f"truncated {r['truncated']:.3f}  n {rep['n']}")
    for k, t in rep["tests"].items():
        print(f"{k:22s} diff {t['diff']:+.3f}  b {t['b']} c {t['c']}  p {t['p']:.4f}  Holm {t['p_holm']:.4f}")
    print(f"report in {out}/report.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
