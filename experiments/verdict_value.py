"""Can the Receiver use the verdict on a draft?  The value of the draft game's information item to the
Receiver that writes the answer (issue 20: measured before choosing a game to persuade in).

    python -m experiments.verdict_value --receiver qwen15 --n 12 --question fix --out results/verdict_value_qwen15
    python -m experiments.verdict_value --receiver qwen15 --n 30 --item pair --out results/pair_value_qwen15
    python -m experiments.verdict_value --receiver qwen15 --n 40 --item pair --task humaneval --out results/pair_value_code_qwen15

For the first ``--n`` problems of the draft game's split (:func:`llm_bridge.studies.review_experiment.load_items`,
the same problems and drafts as the draft runs), the Receiver finishes the correct and the slipped draft,
each with the verdict stated as a verified fact and without it: four written answers per problem,
greedy.  If being told that a draft is wrong does not raise its accuracy on wrong drafts, no signal about
the verdict can change what it writes, whatever the scheme.  ``--question`` picks the instruction after
the draft: ``complete`` (the draft game's own) or ``fix`` (keep the right steps, fix a wrong one).
Answers are appended to ``OUT/generations.jsonl`` as they are written (a run resumes; another Receiver,
question or budget in the same folder is refused); ``OUT/report.json`` holds accuracy per condition with
Wilson intervals, truncation, and exact McNemar tests of told against not told on each kind of draft,
beside the smallest difference each test can detect at this ``n``.

``--item pair`` asks the question a choice between drafts raises instead: the Receiver sees *both* drafts
of a problem (labelled A and B in a keyed random order, told that one of them has a mistake) and
finishes one.  The state is which draft is right (prior 1/2), a hint and never the answer key (neither
draft has the last step).  Four answers per problem: no advice; the verdict as a verified fact; an
advisor's recommendation of the correct draft; of the wrong one.  If the recommendation moves what it
writes (recommend-correct against recommend-wrong), a scheme about which draft to build on can act on
its answer, which a verdict on a single draft could not.  ``--task humaneval`` asks it on code: the pair
game's partial function bodies (:mod:`llm_bridge.games.code_drafts`), the tests deciding accuracy, and
the line the drafts differ in deciding which one it built on.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

QUESTIONS = {
    "complete": None,                 # the draft game's own (llm_bridge.games.draft_game.QUESTION)
    "fix": ("Finish solving the problem: keep the steps of the partial solution that are right and fix any "
            "that are wrong, then give the final answer after '####'."),
    "choose": ("Build on the partial solution that is right: write its last step, then the final answer after "
               "'####'."),
    "choose-code": ("Build on the partial solution that is right: write the whole function, its last line "
                    "included, in one Python code block."),
}
#: The conditions each item is asked under, and the questions it may be asked with.
CONDITIONS = {"verdict": ("wrong/told", "wrong/alone", "correct/told", "correct/alone"),
              "pair": ("pair/alone", "pair/told", "pair/recommend-correct", "pair/recommend-wrong")}
ITEM_QUESTIONS = {"verdict": ("complete", "fix"), "pair": ("choose-code", "choose")}


def pair_labels(good) -> dict:
    """Which label the correct and the wrong draft of a problem carry ({'correct': 'A', 'wrong': 'B'} or
    the reverse), by the pair game's coin keyed on the problem (:func:`llm_bridge.games.pair_game.own_first`):
    the same in every condition and every run."""
    from llm_bridge.games.pair_game import own_first
    return {"correct": "A", "wrong": "B"} if own_first(good.problem) else {"correct": "B", "wrong": "A"}


def pair_head(good, bad) -> str:
    """The problem and both drafts, A first (ends with a newline)."""
    lab = pair_labels(good)
    drafts = {lab["correct"]: good.proposal, lab["wrong"]: bad.proposal}
    if good.problem.task == "humaneval":
        from llm_bridge.games.pair_game import code_head
        return code_head(good.problem, [(f"Partial solution {k}", drafts[k]) for k in "AB"])
    return (f"Problem: {good.problem.prompt.strip()}\n"
            "Two junior solvers' partial solutions (every step but the last); one of them has a mistake.\n"
            f"Partial solution A:\n{drafts['A']}\nPartial solution B:\n{drafts['B']}\n")


def pair_tail(good, condition: str) -> tuple[str | None, str | None]:
    """(advisor's message, fact) a pair condition shows."""
    lab = pair_labels(good)
    if condition == "pair/told":
        return None, (f"Verified by the reference check: partial solution {lab['correct']} is correct; "
                      f"{lab['wrong']} has a mistake.")
    if condition.startswith("pair/recommend-"):
        return f"I recommend building on partial solution {lab[condition.rsplit('-', 1)[1]]}.", None
    return None, None


def prompts(pairs, question: str | None, item: str = "verdict") -> list[dict]:
    """One job per (problem, condition): the draft (or both), the verdict as a fact, a recommendation or
    nothing, the question."""
    from llm_bridge.games import draft_game as dg
    from llm_bridge.games import review_game as rg
    ask = question or dg.QUESTION
    out = []
    for good, bad in pairs:
        for cond in CONDITIONS[item]:
            if item == "pair":
                message, fact = pair_tail(good, cond)
                head = pair_head(good, bad)
            else:
                drafted = bad if cond.startswith("wrong") else good
                message, fact = None, dg.fact_text(drafted) if cond.endswith("told") else None
                head = dg.head(drafted)
            out.append({"key": f"{good.problem.id}|{cond}", "id": good.problem.id, "condition": cond,
                        "prompt": head + rg.message_tail(good.problem, 0, message, None, fact, ask=ask)})
    return out


def run(lm, pairs, out: Path, question: str, max_new_tokens: int, settings: dict, item: str = "verdict") -> dict:
    """Write what ``OUT/generations.jsonl`` lacks, then report."""
    from llm_bridge.models.language_model import SamplingConfig, written_answers
    from llm_bridge.studies.run_log import RunLog
    from persuasion.progress import progress
    log = RunLog(out / "generations.jsonl", settings)
    if question not in ITEM_QUESTIONS[item]:
        raise ValueError(f"question must be one of {ITEM_QUESTIONS[item]} for item {item!r}; got {question!r}")
    todo = [j for j in prompts(pairs, QUESTIONS[question], item) if j["key"] not in log.done]
    for job in progress(todo, "verdict value", unit="answer"):
        g = written_answers(lm, [job["prompt"]], SamplingConfig(max_new_tokens=max_new_tokens))[0]
        log.add({**job, "output": g.text, "n_tokens": g.n_tokens})
    return report(pairs, log.done, max_new_tokens) if item == "verdict" else pair_report(pairs, log.done,
                                                                                           max_new_tokens)


def report(pairs, done: dict, max_new_tokens: int) -> dict:
    from llm_bridge.games import draft_game as dg
    from llm_bridge.games.estimation import wilson
    from llm_bridge.studies.stats import holm, mcnemar_exact
    conditions = CONDITIONS["verdict"]
    correct = {c: [] for c in conditions}
    cut = {c: 0 for c in conditions}
    for good, bad in pairs:
        for c in conditions:
            rec = done[f"{good.problem.id}|{c}"]
            correct[c].append(dg.read_action(bad if c.startswith("wrong") else good, rec["output"])["correct"])
            cut[c] += rec["n_tokens"] >= max_new_tokens
    n = len(pairs)
    tests = {f"{k}/told vs {k}/alone": mcnemar_exact(correct[f"{k}/told"], correct[f"{k}/alone"])
             for k in ("wrong", "correct")}
    for key, adj in zip(tests, holm([t["p"] for t in tests.values()])):
        tests[key]["p_holm"] = adj
    return {"n": n, "max_new_tokens": max_new_tokens,
            "conditions": {c: {"accuracy": sum(v) / n, "wilson": wilson(sum(v), n).tolist(),
                               "truncated": cut[c] / n} for c, v in correct.items()},
            "tests": tests, "detectable_difference_by_discordance": _detectable(n)}


def pair_report(pairs, done: dict, max_new_tokens: int) -> dict:
    """Per pair condition: accuracy (the gold answer), the share that wrote the wrong draft's answer, the
    share that followed the recommendation (wrote the recommended draft's answer), truncation; exact
    McNemar on accuracy for the value of the verdict (told vs alone) and of the recommendation
    (recommend-correct vs recommend-wrong, and vs alone), Holm over the three."""
    from llm_bridge.games.estimation import wilson
    from llm_bridge.studies.stats import holm, mcnemar_exact
    conditions = CONDITIONS["pair"]
    right = {c: [] for c in conditions}
    slipped = {c: [] for c in conditions}
    cut = {c: 0 for c in conditions}
    for good, bad in pairs:
        for c in conditions:
            rec = done[f"{good.problem.id}|{c}"]
            r, w = pair_reading(good, bad, rec["output"])
            right[c].append(r)
            slipped[c].append(w)
            cut[c] += rec["n_tokens"] >= max_new_tokens
    n = len(pairs)
    follow = {"pair/recommend-correct": right["pair/recommend-correct"],
              "pair/recommend-wrong": slipped["pair/recommend-wrong"]}
    rows = {c: {"accuracy": sum(right[c]) / n, "wilson": wilson(sum(right[c]), n).tolist(),
                "wrong_drafts_answer": sum(slipped[c]) / n, "truncated": cut[c] / n,
                "followed": sum(follow[c]) / n if c in follow else None} for c in conditions}
    tests = {a + " vs " + b: mcnemar_exact(right[a], right[b])
             for a, b in (("pair/told", "pair/alone"), ("pair/recommend-correct", "pair/recommend-wrong"),
                          ("pair/recommend-correct", "pair/alone"))}
    for key, adj in zip(tests, holm([t["p"] for t in tests.values()])):
        tests[key]["p_holm"] = adj
    return {"item": "pair", "n": n, "max_new_tokens": max_new_tokens, "conditions": rows, "tests": tests,
            "detectable_difference_by_discordance": _detectable(n)}


def pair_reading(good, bad, output: str) -> tuple[bool, bool]:
    """(right, built on the wrong draft) for one answer.  Maths: its final answer is the gold one / the one
    the slipped draft leads to.  Code: the tests pass / its function carries the slipped draft's version of
    the line the drafts differ in (:func:`llm_bridge.games.code_drafts.built_on`)."""
    if good.problem.task == "humaneval":
        from llm_bridge.games.code_drafts import built_on
        from llm_bridge.tasks.checkers import check_code
        return check_code(good.problem, output).correct, built_on(bad.proposal, good.proposal, output) is True
    from llm_bridge.games import draft_game as dg
    return (dg.read_action(good, output)["action"] == "submit", dg.read_action(bad, output)["action"] == "submit")


def _detectable(n: int) -> dict:
    """The smallest paired difference the exact McNemar test detects at this ``n`` (power 0.8, two-sided
    0.05) at 20, 30 and 40% discordance; None where none is (JSON has no NaN)."""
    from llm_bridge.studies.stats import mcnemar_detectable
    return {str(d): _finite(mcnemar_detectable(n, d)) for d in (0.2, 0.3, 0.4)}


def _finite(x: float):
    import math
    return x if math.isfinite(x) else None


def main(argv=None) -> int:
    from .config import add_receiver_arguments, check_receiver_arguments, output_folder, positive_int
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_receiver_arguments(ap, default="qwen15")
    ap.add_argument("--engine", default="llama.cpp", choices=["transformers", "llama.cpp"])
    ap.add_argument("--n", type=int, default=12, help="problems (each with both drafts, told and not told)")
    ap.add_argument("--item", default="verdict", choices=sorted(CONDITIONS),
                    help="verdict: one draft, told right or wrong; pair: both drafts, told which is right")
    ap.add_argument("--question", default=None, choices=sorted(QUESTIONS),
                    help="default: fix for --item verdict, choose for --item pair")
    ap.add_argument("--task", default="gsm_symbolic", choices=["gsm_symbolic", "humaneval"],
                    help="humaneval: the pair game's code drafts (llm_bridge.games.code_drafts), --item pair only")
    ap.add_argument("--max-new-tokens", type=positive_int, default=320)
    ap.add_argument("--out", default="results/verdict_value")
    args = ap.parse_args(argv)
    if args.task == "humaneval" and args.item != "pair":
        ap.error(f"--task humaneval needs --item pair; got --item {args.item}")
    args.question = args.question or ("choose-code" if args.task == "humaneval" else ITEM_QUESTIONS[args.item][-1])
    if (args.question == "choose-code") != (args.task == "humaneval") and args.item == "pair":
        ap.error(f"--question choose-code goes with --task humaneval and choose with gsm_symbolic; got "
                 f"--question {args.question} --task {args.task}")
    if args.question not in ITEM_QUESTIONS[args.item]:
        ap.error(f"--question must be one of {', '.join(ITEM_QUESTIONS[args.item])} with --item {args.item}; "
                 f"got {args.question}")
    check_receiver_arguments(ap, args)
    if not 1 <= args.n <= 300:
        ap.error(f"--n must be between 1 and 300 (problems of the draft split); got {args.n}")
    from llm_bridge.models import load_by_spec
    from llm_bridge.studies.review_experiment import ReviewConfig, load_items
    if args.task == "humaneval":          # the code drafts of the pair game: 53 of HumanEval's problems
        cfg = ReviewConfig(out=args.out, game="pair", task="humaneval", n_estimation=args.n, n_evaluation=0)
    else:
        cfg = ReviewConfig(out=args.out, game="draft", pool=700, n_estimation=args.n, n_evaluation=0)
    pairs, _ = load_items(cfg)
    out = Path(args.out)
    settings = {"receiver": args.receiver, "engine": args.engine, "question": args.question,
                "max_new_tokens": args.max_new_tokens}
    if args.item != "verdict":           # (the verdict runs' saved settings have no item: they stay valid)
        settings["item"] = args.item
    if args.task != "gsm_symbolic":      # (nor the maths runs' a task)
        settings["task"] = args.task
    if args.extra_body is not None:
        settings["extra_body"] = args.extra_body
    output_folder(ap, out)
    lm = load_by_spec(args.receiver, engine=args.engine, extra_body=args.extra_body)
    rep = run(lm, pairs, out, args.question, args.max_new_tokens,
              settings, args.item)
    from persuasion.atomic import write_atomic
    write_atomic(out / "report.json", json.dumps(rep, indent=2).encode())
    for c, v in rep["conditions"].items():
        extra = "" if v.get("followed") is None else f", followed {v['followed']:.2f}"
        print(f"{c:24s} accuracy {v['accuracy']:.2f} [{v['wilson'][0]:.2f}, {v['wilson'][1]:.2f}], "
              f"cut {v['truncated']:.2f}{extra}")
    for k, t in rep["tests"].items():
        print(f"{k}: {t['b']} to {t['c']}, p = {t['p']:.3g} (Holm {t['p_holm']:.3g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
