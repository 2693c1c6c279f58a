"""Can the Receiver use the verdict on a draft?  The value of the draft game's information item to the
Receiver that writes the answer (issue 20: measured before choosing a game to persuade in).

    python -m experiments.verdict_value --receiver qwen15 --n 12 --question fix --out results/verdict_value_qwen15

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
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

QUESTIONS = {
    "complete": None,                 # the draft game's own (llm_bridge.games.draft_game.QUESTION)
    "fix": ("Finish solving the problem: keep the steps of the partial solution that are right and fix any "
            "that are wrong, then give the final answer after '####'."),
}
CONDITIONS = ("wrong/told", "wrong/alone", "correct/told", "correct/alone")


def prompts(pairs, question: str | None) -> list[dict]:
    """One job per (problem, condition): the draft, the verdict as a fact or nothing, the question."""
    from llm_bridge.games import draft_game as dg
    from llm_bridge.games import review_game as rg
    ask = question or dg.QUESTION
    out = []
    for good, bad in pairs:
        for cond in CONDITIONS:
            item = bad if cond.startswith("wrong") else good
            fact = dg.fact_text(item) if cond.endswith("told") else None
            out.append({"key": f"{good.problem.id}|{cond}", "id": good.problem.id, "condition": cond,
                        "prompt": dg.head(item) + rg.message_tail(item.problem, 0, None, None, fact, ask=ask)})
    return out


def run(lm, pairs, out: Path, question: str, max_new_tokens: int, settings: dict) -> dict:
    """Write what ``OUT/generations.jsonl`` lacks, then report."""
    from llm_bridge.models.language_model import SamplingConfig
    from llm_bridge.studies.run_log import RunLog
    from persuasion.progress import progress
    log = RunLog(out / "generations.jsonl", settings)
    todo = [j for j in prompts(pairs, QUESTIONS[question]) if j["key"] not in log.done]
    for job in progress(todo, "verdict value", unit="answer"):
        g = lm.generate_scored([job["prompt"]], SamplingConfig(max_new_tokens=max_new_tokens))[0]
        log.add({**job, "output": g.text, "n_tokens": g.n_tokens})
    return report(pairs, log.done, max_new_tokens)


def report(pairs, done: dict, max_new_tokens: int) -> dict:
    from llm_bridge.games import draft_game as dg
    from llm_bridge.games.estimation import wilson
    from llm_bridge.studies.stats import holm, mcnemar_detectable, mcnemar_exact
    correct = {c: [] for c in CONDITIONS}
    cut = {c: 0 for c in CONDITIONS}
    for good, bad in pairs:
        for c in CONDITIONS:
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
            "tests": tests,
            # None where no difference is detectable at this n (JSON has no NaN)
            "detectable_difference_by_discordance": {str(d): _finite(mcnemar_detectable(n, d))
                                                     for d in (0.2, 0.3, 0.4)}}


def _finite(x: float):
    import math
    return x if math.isfinite(x) else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--receiver", default="qwen15", help="a name for llm_bridge.models.load_by_name")
    ap.add_argument("--engine", default="llama.cpp", choices=["transformers", "llama.cpp"])
    ap.add_argument("--n", type=int, default=12, help="problems (each with both drafts, told and not told)")
    ap.add_argument("--question", default="fix", choices=sorted(QUESTIONS))
    ap.add_argument("--max-new-tokens", type=int, default=320)
    ap.add_argument("--out", default="results/verdict_value")
    args = ap.parse_args(argv)
    if not 1 <= args.n <= 300:
        ap.error(f"--n must be between 1 and 300 (problems of the draft split); got {args.n}")
    from llm_bridge.models import load_by_name
    from llm_bridge.studies.review_experiment import ReviewConfig, load_items
    cfg = ReviewConfig(out=args.out, game="draft", pool=700, n_estimation=args.n, n_evaluation=0)
    pairs, _ = load_items(cfg)
    out = Path(args.out)
    settings = {"receiver": args.receiver, "engine": args.engine, "question": args.question,
                "max_new_tokens": args.max_new_tokens}
    rep = run(load_by_name(args.receiver, engine=args.engine), pairs, out, args.question, args.max_new_tokens,
              settings)
    from persuasion.atomic import write_atomic
    write_atomic(out / "report.json", json.dumps(rep, indent=2).encode())
    for c, v in rep["conditions"].items():
        print(f"{c:14s} accuracy {v['accuracy']:.2f} [{v['wilson'][0]:.2f}, {v['wilson'][1]:.2f}], "
              f"cut {v['truncated']:.2f}")
    for k, t in rep["tests"].items():
        print(f"{k}: {t['b']} to {t['c']}, p = {t['p']:.3g} (Holm {t['p_holm']:.3g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
