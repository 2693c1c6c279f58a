"""How does a Receiver model respond to a stated scheme?  The calibration study.

Multiple-choice GSM-Symbolic items (the gold answer and three wrong ones,
in keyed random order).  A simulated Advisor recommends the correct option
with probability ``q`` and a uniformly random wrong option otherwise
(``q = 1/4`` is uninformative, ``q = 0`` is "always wrong").  Each problem
is shown alone, and for every ``q`` with a bare recommendation and with the
scheme stated in plain words (paired: the same recommendation in both).

For each cell the study reports how often the Receiver follows the
recommendation when it is right and when it is wrong, its accuracy, and
what a Bayesian reader with the model's own prior would do: the prior is
the model's choice distribution over the options when alone, and the
reader follows iff ``q p0(r) >= (1 - q)/3 max_{j != r} p0(j)``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from llm_bridge.games.estimation import wilson
from llm_bridge.games.proposals import keyed_rng, wrong_math_answers
from llm_bridge.games.review_game import percent
from .run_log import KeyedLog
from persuasion.atomic import write_atomic

LETTERS = ("A", "B", "C", "D")


@dataclass
class CalibrationConfig:
    out: str                                   # output folder
    n_problems: int = 60                       # GSM-Symbolic problems
    qs: tuple = (0.0, 0.25, 0.5, 0.75, 1.0)    # P(the recommendation is the correct option)
    seed: int = 0                              # keyed draws
    gsm_seed: int = 11                         # reasoning-gym seed (problems unlike the main game's)

    def __post_init__(self):
        from llm_bridge.models.field_rules import integers_at_least, probabilities
        integers_at_least(self, 1, "n_problems")
        integers_at_least(self, 0, "seed", "gsm_seed")
        self.qs = probabilities(self, "qs", increasing=True)


def mc_item(problem, seed):
    """(options in display order, index of the correct one)."""
    opts = [problem.answer.strip()] + wrong_math_answers(problem, 3, seed)
    keyed_rng(seed, problem.id, "mc-order").shuffle(opts)
    return opts, opts.index(problem.answer.strip())


def _head(problem, opts) -> str:
    lines = "\n".join(f"{L}) {o}" for L, o in zip(LETTERS, opts))
    return f"Problem: {problem.prompt.strip()}\nOptions:\n{lines}\n"


def _tail(rec: str | None, q: float | None) -> str:
    parts = []
    if q is not None:
        parts.append(f"About the advisor: it knows the answer, and it recommends the correct option {percent(q)} "
                     "of the time; otherwise it recommends one of the wrong options at random.")
    if rec is not None:
        parts.append(f"Advisor's recommendation: {rec}")
    parts.append("Which option is correct? Reply with the letter A, B, C or D only.")
    return "\n".join(parts)


def run_calibration(receiver, cfg: CalibrationConfig, receiver_name: str = "receiver") -> dict:
    from llm_bridge.tasks.problems import gsm_symbolic
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "generations.jsonl"
    log = KeyedLog(log_path)
    done = log.done
    problems = []
    for p in gsm_symbolic(cfg.n_problems + 20, seed=cfg.gsm_seed):
        try:
            problems.append((p, *mc_item(p, cfg.seed)))
        except ValueError:
            continue
        if len(problems) == cfg.n_problems:
            break
    from persuasion.progress import progress
    it = progress(problems, "calibration", unit="problem")
    for p, opts, gold in it:
        tails, meta = {"alone": _tail(None, None)}, {"alone": (None, None)}
        for q in cfg.qs:
            rng = keyed_rng(cfg.seed, p.id, q, "recommendation")
            right = rng.random() < q
            rec = gold if right else rng.choice([i for i in range(4) if i != gold])
            for stated in (False, True):
                c = f"q={q:g}/{'stated' if stated else 'bare'}"
                tails[c] = _tail(LETTERS[rec], q if stated else None)
                meta[c] = (rec, q)
        todo = {c: t for c, t in tails.items() if f"{p.id}|{c}" not in done}
        if not todo:
            continue
        chs = receiver.choose(_head(p, opts), list(todo.values()), options=LETTERS)
        recs = []
        for (c, _), ch in zip(todo.items(), chs):
            rec, q = meta[c]
            r = {"key": f"{p.id}|{c}", "problem_id": p.id, "condition": c, "seed": cfg.seed,
                 "signal": None if rec is None else LETTERS[rec], "prompt": ch.prompt, "output": ch.letter,
                 "action": ch.letter, "probs": ch.probs, "correct": ch.letter == LETTERS[gold],
                 "gold": LETTERS[gold], "recommended": None if rec is None else LETTERS[rec]}
            recs.append(r)
        log.add_many(recs)
    report = summarise(done, problems, cfg, receiver_name)
    write_atomic(out / "report.json", json.dumps(report, indent=2).encode())
    return report


def summarise(done: dict, problems, cfg, receiver_name) -> dict:
    rows = []
    alone = {p.id: done[f"{p.id}|alone"] for p, _, _ in problems}
    acc_alone = float(np.mean([r["correct"] for r in alone.values()]))
    for q in cfg.qs:
        for v in ("bare", "stated"):
            recs = [done[f"{p.id}|q={q:g}/{v}"] for p, _, _ in problems]
            right = [r for r in recs if r["recommended"] == r["gold"]]
            wrong = [r for r in recs if r["recommended"] != r["gold"]]
            bayes_follow, bayes_correct = [], []
            for r in recs:
                p0 = np.array([alone[r["problem_id"]]["probs"][L] for L in LETTERS])
                i = LETTERS.index(r["recommended"])
                others = max(p0[j] for j in range(4) if j != i)
                follow = q * p0[i] >= (1 - q) / 3 * others
                bayes_follow.append(follow)
                pick = i if follow else max((j for j in range(4) if j != i), key=lambda j: p0[j])
                bayes_correct.append(LETTERS[pick] == r["gold"])

            def rate(rs):
                k = sum(r["action"] == r["recommended"] for r in rs)
                return {"k": k, "n": len(rs), "rate": k / len(rs) if rs else None,
                        "ci": wilson(k, len(rs)).tolist() if rs else None}
            rows.append({"q": q, "variant": v, "follow_when_right": rate(right), "follow_when_wrong": rate(wrong),
                         "accuracy": float(np.mean([r["correct"] for r in recs])),
                         "bayesian_follow": float(np.mean(bayes_follow)),
                         "bayesian_accuracy": float(np.mean(bayes_correct))})
    follow = np.array([[np.nan if r[k]["rate"] is None else r[k]["rate"] for k in ("follow_when_right", "follow_when_wrong")]
                       for r in rows])
    stated = [r for r in rows if r["variant"] == "stated"]
    wrong_rates = [r["follow_when_wrong"]["rate"] for r in stated if r["follow_when_wrong"]["n"]]
    spread = max(wrong_rates) - min(wrong_rates)           # q = 1 has no wrong branch: left out, not counted as 0
    overall = float(np.mean([(r["follow_when_right"]["k"] + r["follow_when_wrong"]["k"])
                             / max(1, r["follow_when_right"]["n"] + r["follow_when_wrong"]["n"]) for r in rows]))
    stated_follow = [(r["follow_when_right"]["k"] + r["follow_when_wrong"]["k"])
                     / max(1, r["follow_when_right"]["n"] + r["follow_when_wrong"]["n"]) for r in stated]
    monotone = all(a <= b + 0.05 for a, b in zip(stated_follow, stated_follow[1:]))
    verdict = ("credulous follower" if overall >= 0.9 and spread < 0.2 else
               "ignores the recommendation (follows about as often as a random option, 1/4)"
               if overall <= 0.35 and spread < 0.2 else
               "responds to the stated q, monotonically" if spread >= 0.2 and monotone else
               "moved by the scheme sentence, not monotonically in q (not a Bayesian reader)" if spread >= 0.2 else
               "neither credulous nor responsive to q")
    return {"receiver": receiver_name, "config": asdict(cfg), "n": len(problems), "accuracy_alone": acc_alone,
            "rows": rows, "overall_follow_rate": overall, "stated_follow_when_wrong_spread_over_q": spread,
            "reading": verdict, "mean_follow": np.nanmean(follow, axis=0).tolist(), "stated_follow_by_q": stated_follow}


def calibration_markdown(rep: dict) -> str:
    """The study's table: follow rates by branch with counts, accuracy, and the Bayesian reader beside them."""
    out = [f"Receiver {rep['receiver']}, n = {rep['n']} problems, accuracy alone {rep['accuracy_alone']:.2f}; "
           f"automatic reading: {rep['reading']}.", "",
           "| q | scheme | follows when right | follows when wrong | accuracy | Bayesian reader follows | "
           "Bayesian reader accuracy |", "|---|---|---|---|---|---|---|"]
    for r in rep["rows"]:
        cells = []
        for key in ("follow_when_right", "follow_when_wrong"):
            f = r[key]
            cells.append(f"{f['k']}/{f['n']} [{f['ci'][0]:.2f}, {f['ci'][1]:.2f}]" if f["n"] else "-")
        out.append(f"| {r['q']:g} | {r['variant']} | {cells[0]} | {cells[1]} | {r['accuracy']:.2f} | "
                   f"{r['bayesian_follow']:.2f} | {r['bayesian_accuracy']:.2f} |")
    return "\n".join(out) + "\n"
