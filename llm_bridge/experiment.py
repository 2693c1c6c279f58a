"""The persuasion experiment with language models, end to end, resumable.

The game (documented in docs/llm_bridge.md): every problem has a *type*, the
state, which the Advisor sees and the Receiver does not.  The Receiver's
actions are the guidance sheets it can condition on, one per type (for
CHAMP: the annotated concepts of that category).  ``V[type, sheet]`` is the
Receiver's accuracy with that sheet (the Advisor's reward); ``U[type,
sheet]`` is the Receiver's own utility, revealed by its behaviour: the mean
log-probability it gives its own answer (its confidence).  The two differ
when the Receiver is most confident with guidance that does not make it
right, which is when persuasion can help.

Phases, each writing every generation (prompt, output, verdict, seed) to
``OUT/generations.jsonl`` as it goes; a restarted run skips what is there:

1. estimation: every estimation problem with every sheet;
2. the estimated game (with intervals and its case) is solved by the core;
3. the Advisor is trained by SFT on signals sampled from the optimal scheme
   and saved like any HF model;
4. evaluation on held-out problems, five conditions: Receiver alone; a sheet
   drawn from the prior; a sheet drawn from the posterior that the trained
   Advisor's signal induces (the paper's three conditions); the sheet that
   signal leads a best-responding Receiver to (its best response under its
   estimated utility to that posterior); the sheet it would pick if told the
   type (full revelation, the upper reference).
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .checkers import check
from .estimation import Sample, estimate_game, wilson
from .run_log import KeyedLog
from .tasks import Problem

CONDITIONS = ("alone", "prior-item", "posterior-item", "advisor", "full-revelation")


@dataclass
class CategorySpec:
    """States are problem types; action ``a`` gives the Receiver guidance sheet ``guidance[a]``."""

    states: list[str]
    guidance: list[str]

    def state_of(self, problem: Problem) -> int:
        return self.states.index(problem.meta["category"])

    def guidance_for(self, problem: Problem, a: int) -> str:
        return self.guidance[a]


@dataclass
class DocumentSpec:
    """The relevant one of ``k`` documents.

    Each problem comes with ``k`` documents in slots ``0..k-1``: one is its own
    reference material (item ``item``: e.g. a worked solution), the others are
    the same item of other problems.  The state is the slot of the relevant
    document (a seeded draw per problem), which the Advisor sees; action ``a``
    puts the document in slot ``a`` in the Receiver's context.
    """

    problems: list
    item: str
    k: int = 3
    seed: int = 0

    def __post_init__(self):
        import random as _r
        rng = _r.Random(self.seed)
        ids = [p.id for p in self.problems]
        self._by_id = {p.id: p for p in self.problems}
        self._slots = {}
        for p in self.problems:
            others = rng.sample([i for i in ids if i != p.id], self.k - 1)
            slot = rng.randrange(self.k)
            docs = others[:slot] + [p.id] + others[slot:]
            self._slots[p.id] = (slot, docs)
        self.states = [f"document {i + 1}" for i in range(self.k)]

    def state_of(self, problem: Problem) -> int:
        return self._slots[problem.id][0]

    def guidance_for(self, problem: Problem, a: int) -> str:
        doc = self._by_id[self._slots[problem.id][1][a]]
        return f"Reference material:\n{doc.items[self.item]}"


def champ_spec(problems: list[Problem], concepts_per_sheet: int = 3) -> CategorySpec:
    """CHAMP categories as states; each sheet lists concepts annotated on problems of that category."""
    cats = sorted({p.meta["category"] for p in problems})
    sheets = []
    for c in cats:
        seen = []
        for p in problems:
            if p.meta["category"] == c and p.items.get("concept") and p.items["concept"] not in seen:
                seen.append(p.items["concept"])
            if len(seen) >= concepts_per_sheet:
                break
        sheets.append(f"Useful facts for {c} problems:\n" + "\n".join(f"- {s}" for s in seen))
    return CategorySpec(cats, sheets)


def receiver_prompt(problem: Problem, sheet: str | None) -> str:
    head = f"{sheet}\n\n" if sheet else ""
    if problem.task == "humaneval":
        return head + problem.prompt
    return f"{head}Problem: {problem.prompt}\nSolve it and give the final answer after '####'."


def advisor_prompt(problem: Problem, state_label: str) -> str:
    """What the Advisor reads: the state it sees (the scheme depends on nothing else)."""
    return f"Type: {state_label}\nSheet:"


@dataclass
class ExperimentConfig:
    out: str                              # output folder
    n_estimation: int = 4                 # problems per state used to estimate the game
    n_evaluation: int = 20                # held-out problems for the five conditions
    seed: int = 0                         # problem split, sampled signals and generation seeds
    max_new_tokens: int = 128             # Receiver tokens per answer
    signals_per_problem: int = 8          # SFT examples per estimation problem, signals drawn from the scheme
    sft_epochs: int = 20                  # Advisor fine-tuning epochs
    answer_extraction: str = "strict"     # maths answers: "strict" (#### or boxed) or "flexible" (last number)
    conditions: tuple = CONDITIONS


class GenerationLog(KeyedLog):
    """Append-only JSONL of generations, keyed so a restarted run skips finished work (a line torn by a
    kill is cut off and redone, :class:`~llm_bridge.run_log.KeyedLog`)."""


def _generate_missing(receiver, log: GenerationLog, jobs: list[dict], cfg: ExperimentConfig, progress: bool):
    """Run the Receiver on every job not yet in the log (batched), scoring and checking each."""
    from .models import SamplingConfig
    todo = [j for j in jobs if j["key"] not in log.done]
    batch = getattr(getattr(receiver, "config", None), "batch_size", 8)
    from persuasion.progress import progress as progress_bar
    it = progress_bar(range(0, len(todo), batch), "generations", unit="batch", enabled=progress)
    for s in it:
        chunk = todo[s:s + batch]
        sampling = SamplingConfig(cfg.max_new_tokens, seed=cfg.seed)
        gens = receiver.generate_scored([j["prompt"] for j in chunk], sampling)
        for j, g in zip(chunk, gens):
            verdict = check(j.pop("problem"), g.text, cfg.answer_extraction)
            log.add({**j, "output": g.text, "correct": verdict.correct, "reason": verdict.reason,
                     "receiver_loglik": g.mean_logprob, "seed": cfg.seed})


def run_experiment(problems: list[Problem], spec: CategorySpec, receiver, advisor, cfg: ExperimentConfig,
                   progress: bool = True) -> dict:
    """Run (or resume) the experiment; returns the report written to ``OUT/report.json``.

    The steps, in order (one random stream, seeded by ``cfg.seed``, runs through them in this order):
    split the problems, estimate the game from the Receiver's generations, solve it, train the Advisor
    on signals from the optimal scheme, play every held-out problem under every condition, report.
    """
    from persuasion import solve
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    log = GenerationLog(out / "generations.jsonl")
    rng = random.Random(cfg.seed)
    est_set, eval_set = _split(problems, spec, cfg, rng)
    est = _estimate(problems, est_set, spec, receiver, log, cfg, progress)
    sol = solve(est.game)
    scheme = np.asarray(sol.scheme, dtype=float)
    advisor = _train_advisor(advisor, est_set, spec, scheme, rng, cfg, out, progress)
    eval_jobs, parsed = _evaluation_jobs(advisor, eval_set, spec, est.game, scheme, rng, cfg)
    _generate_missing(receiver, log, eval_jobs, cfg, progress)
    report = _report(log, est, sol, scheme, parsed, len(eval_set), cfg)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report


def _split(problems, spec, cfg, rng) -> tuple[list, list]:
    """``n_estimation`` problems per state for estimation; the next ``n_evaluation`` for evaluation."""
    order = sorted(problems, key=lambda p: p.id)
    rng.shuffle(order)
    m = len(spec.states)
    est_set = [p for w in range(m) for p in [q for q in order if spec.state_of(q) == w][:cfg.n_estimation]]
    chosen = {p.id for p in est_set}
    return est_set, [p for p in order if p.id not in chosen][:cfg.n_evaluation]


def _estimate(problems, est_set, spec, receiver, log, cfg, progress):
    """The estimated game: every estimation problem with every sheet, the Receiver's accuracy and confidence."""
    m = n = len(spec.states)
    jobs = [{"key": f"est|{p.id}|{a}", "phase": "estimation", "problem_id": p.id, "state": spec.state_of(p),
             "action": a, "prompt": receiver_prompt(p, spec.guidance_for(p, a)), "problem": p}
            for p in est_set for a in range(n)]
    _generate_missing(receiver, log, jobs, cfg, progress)
    samples = [Sample(r["state"], r["action"], r["correct"], r["receiver_loglik"])
               for r in log.done.values() if r["phase"] == "estimation"]
    counts = np.bincount([spec.state_of(p) for p in problems], minlength=m)
    return estimate_game(samples, m, n, state_counts=np.maximum(counts, 0), states=spec.states,
                         actions=[f"use:{s}" for s in spec.states], name=f"llm-{type(spec).__name__}")


def _train_advisor(advisor, est_set, spec, scheme, rng, cfg, out: Path, progress):
    """The Advisor fine-tuned on signals sampled from ``scheme`` (read back from ``out/advisor`` on a resume).

    The training signals are drawn on a resume too, so the random stream reaches the evaluation step in
    the same state as in an uninterrupted run (a resumed run draws the same prior-item sheets).
    """
    from .models import LanguageModel, ModelConfig
    from .training import SFTConfig, sft
    n = len(spec.states)
    pairs = []
    for p in est_set:
        w = spec.state_of(p)
        for _ in range(cfg.signals_per_problem):
            a = rng.choices(range(n), weights=scheme[w])[0]
            pairs.append((advisor_prompt(p, spec.states[w]), " " + spec.states[a]))
    adv_dir = out / "advisor"
    if (adv_dir / "config.json").exists():
        return LanguageModel.load(ModelConfig(str(adv_dir), batch_size=advisor.config.batch_size))
    sft(advisor, pairs, SFTConfig(epochs=cfg.sft_epochs, seed=cfg.seed), progress=progress)
    advisor.save(adv_dir)
    return advisor


def _evaluation_jobs(advisor, eval_set, spec, game, scheme, rng, cfg) -> tuple[list, int]:
    """The Receiver's prompt for every held-out problem under every condition, and how many of the
    Advisor's signals parsed as a state label."""
    from persuasion import signal_posteriors
    from persuasion.analysis import best_response_many
    from .models import SamplingConfig
    m, n = game.shape
    prior = game.prior
    signals = advisor.generate([advisor_prompt(p, spec.states[spec.state_of(p)]) for p in eval_set],
                               SamplingConfig(max_new_tokens=24, seed=cfg.seed))
    _, post = signal_posteriors(prior, scheme)             # an unsent signal's posterior is the prior
    rx_by_signal = best_response_many(game, post)
    rx_prior = int(best_response_many(game, prior[None, :])[0])
    rx_reveal = best_response_many(game, np.eye(m))
    eval_jobs, parsed = [], 0
    for p, sig in zip(eval_set, signals):
        w = spec.state_of(p)
        label = sig.strip().split("\n")[0].strip()
        sigma = spec.states.index(label) if label in spec.states else None
        parsed += sigma is not None
        posterior = post[sigma] if sigma is not None else prior
        sheets = {"alone": None,
                  "prior-item": rng.choices(range(n), weights=prior)[0],
                  # its own generator per problem, so adding this condition left the other draws unchanged
                  "posterior-item": random.Random(f"{cfg.seed}|posterior|{p.id}").choices(range(n), weights=posterior)[0],
                  "advisor": int(rx_by_signal[sigma]) if sigma is not None else rx_prior,
                  "full-revelation": int(rx_reveal[w])}
        for c in cfg.conditions:
            a = sheets[c]
            eval_jobs.append({"key": f"eval|{c}|{p.id}", "phase": "evaluation", "condition": c, "problem_id": p.id,
                              "state": w, "action": a, "signal": sig,
                              "prompt": receiver_prompt(p, None if a is None else spec.guidance_for(p, a)),
                              "problem": p})
    return eval_jobs, parsed


def _report(log, est, sol, scheme, parsed: int, n_eval: int, cfg) -> dict:
    """Accuracy with its Wilson interval per condition, and the estimated game and scheme."""
    rows = {}
    for c in cfg.conditions:
        recs = [r for r in log.done.values() if r["phase"] == "evaluation" and r["condition"] == c]
        k = sum(r["correct"] for r in recs)
        lo, hi = wilson(k, len(recs))
        rows[c] = {"n": len(recs), "accuracy": k / len(recs) if recs else float("nan"),
                   "ci95": [float(lo), float(hi)]}
    alone = rows.get("alone", {}).get("accuracy", float("nan"))
    adv = rows.get("advisor", {}).get("accuracy", float("nan"))
    return {"game": est.game.to_dict(), "case": est.case, "estimation_table": est.table(),
            "predicted_value": float(sol.value), "scheme": scheme.tolist(), "conditions": rows,
            "relative_improvement_advisor_vs_alone": (adv - alone) / alone if alone else None,
            "advisor_signals_parsed": parsed / max(1, n_eval)}


def format_report(report: dict) -> str:
    from persuasion.report import table
    rows = [[c, r["n"], f"{r['accuracy']:.3f}", f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]"]
            for c, r in report["conditions"].items()]
    lines = [report["estimation_table"], "", f"Case: {report['case']}",
             f"Core-predicted accuracy under the optimal scheme: {report['predicted_value']:.3f}", "",
             table(["condition", "n", "accuracy", "95% CI (Wilson)"], rows)]
    rel = report["relative_improvement_advisor_vs_alone"]
    lines.append(f"Advisor vs alone: {'n/a (alone scored 0)' if rel is None else f'{100 * rel:+.1f}%'}; "
                 f"Advisor signals parsed: {100 * report['advisor_signals_parsed']:.0f}%")
    return "\n".join(lines)
