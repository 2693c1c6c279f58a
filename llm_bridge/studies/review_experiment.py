"""The proposal-review persuasion experiment, end to end, resumable (docs/llm_bridge.md).

Phases (every Receiver decision goes to ``OUT/generations.jsonl`` as it is
made; a restarted run skips what is logged, and every random draw is keyed
by ``(seed, problem, condition, purpose)``, so a resumed run equals a single
run):

1. **estimation** (estimation problems only, both proposals of each): the
   verdict stated as a fact (revealed ``U``), and probes: recommendations
   under stated schemes at several posteriors, and bare recommendations (the
   response models' data);
2. **the game**: ``U`` (logit revealed preference), ``V`` (the target), the
   prior from the junior solver's draws on the estimation problems; a
   bootstrap over estimation problems gives each case's probability and the
   predicted value's interval; the Receiver model is chosen by 2-fold
   cross-validated Brier score on the probes, and its optimal scheme solved;
3. **the Advisor**: a pretrained LM fine-tuned on (problem + verdict ->
   message) pairs whose messages are drawn from that scheme; on held-out
   problems it samples with temperature, and its empirical scheme is
   measured;
4. **evaluation**, every held-out problem under every condition (see
   :data:`CONDITIONS`); the Receiver's own letter decides.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from persuasion import PersuasionCase

from llm_bridge.games import review_game as rg
from llm_bridge.games.estimation import wilson
from llm_bridge.games.proposals import keyed_rng
from .run_log import KeyedLog, read_records
from llm_bridge.games.receiver_models import (BayesianReceiver, CredulousReceiver, FittedReceiver, case_of, model_case,
                              posteriors, predicted_value, revealed_utility, threshold_grid, threshold_set,
                              threshold_utility, worst_case_scheme)
from .stats import holm, mcnemar_exact
from persuasion.atomic import write_atomic
from persuasion.solution import fields_equal

#: "lp-scheme" is the optimum under the chosen Receiver model (the one the Advisor is taught); "bayesian-lp"
#: is the core's LP against a Bayesian Receiver (at the worst case over the thresholds the data leave open),
#: executed as well so its prediction is tested.  "pooled" always recommends the action the Advisor prefers
#: at the prior, "pooled-opposite" the other one; the better of the two on the held-out problems is the
#: pooling benchmark of the persuasion claim.
SIGNAL_CONDITIONS = ("placebo", "pooled", "pooled-opposite", "full-revelation", "lp-scheme", "bayesian-lp",
                     "advisor")


@dataclass
class ReviewConfig:
    out: str                              # output folder (log, report, Advisor)
    task: str = "gsm_symbolic"            # "gsm_symbolic" or "humaneval"
    n_estimation: int = 60                # estimation problems (both proposals of each: >= 50 per state)
    n_evaluation: int = 100               # held-out problems, every one under every condition
    base_rate: float = 0.3                # P(the junior solver's proposal is correct)
    target: str = "submission"            # the Advisor's V: "submission" or "decision" (review_game.TARGETS)
    seed: int = 0                         # problem split and every keyed draw
    gsm_seed: int = 7                     # reasoning-gym seed for GSM-Symbolic problems
    probe_posteriors: tuple = (0.1, 0.3, 0.5, 0.7, 0.9)   # stated P(correct | "submit") in the probes
    bootstrap: int = 1000                 # bootstrap replicates over estimation problems
    signals_per_problem: int = 4          # Advisor SFT pairs per estimation item
    advisor_epochs: int = 2               # Advisor SFT epochs
    advisor_lr: float = 5e-5              # Advisor SFT learning rate
    advisor_temperature: float = 1.0      # Advisor sampling temperature (mixed schemes survive sampling)
    advisor_problem_chars: int = 300      # characters of the problem the Advisor reads
    reuse_decisions_from: str | None = None  # another run's folder, same Receiver and engine: its decisions on
                                          # byte-identical inputs are copied instead of recomputed
    game: str = "review"                  # "review" (the Receiver decides Yes/No on a proposal), "draft" (it
                                          # finishes a partial solution: llm_bridge.games.draft_game) or "pair"
                                          # (it finishes one of two: llm_bridge.games.pair_game); GSM only for both
    variants: tuple = ("signal-only", "informed")   # which Receivers each signal condition is shown to
    probes: str = "full"                  # "full": every response probe; "lean": each recommendation at the
                                          # stated posteriors, and bare (a written answer costs ~100 decisions)
    pool: int | None = None               # GSM problems the split is drawn from (None: just enough); fix it to
                                          # let a later run extend n_evaluation with the same first problems
    max_new_tokens: int = 160             # the written answers of the draft and pair games

    @property
    def writes_answer(self) -> bool:
        """Whether the Receiver writes its answer (the draft and pair games) rather than choosing Yes/No."""
        return self.game in ("draft", "pair")

    def __post_init__(self):
        if self.game not in GAMES:
            raise ValueError(f"ReviewConfig: game must be one of {sorted(GAMES)}; got {self.game!r}")
        tasks = ("gsm_symbolic",) if self.writes_answer and self.game != "pair" else ("gsm_symbolic", "humaneval")
        if self.task not in tasks:                # the review game ran GSM for any task but "humaneval"
            raise ValueError(f"ReviewConfig: the {self.game} game is played on {' or '.join(tasks)}; "
                             f"got task={self.task!r}")
        from llm_bridge.models.field_rules import distinct_choices, integers_at_least, numbers_in, probabilities
        self.variants = distinct_choices(self, "variants", ("signal-only", "informed"))
        if self.probes not in ("full", "lean"):
            raise ValueError(f"ReviewConfig: probes must be 'full' or 'lean'; got {self.probes!r}")
        integers_at_least(self, 1, "n_estimation", "bootstrap", "signals_per_problem", "advisor_epochs",
                          "advisor_problem_chars", "max_new_tokens")
        integers_at_least(self, 0, "n_evaluation", "seed", "gsm_seed")   # 0: the items alone (load_items), no run
        numbers_in(self, "(0, 1)", "base_rate")
        numbers_in(self, "> 0", "advisor_lr")
        numbers_in(self, ">= 0", "advisor_temperature")
        self.probe_posteriors = probabilities(self, "probe_posteriors", increasing=True)
        if self.pool is not None and self.pool < self.n_estimation + self.n_evaluation:
            raise ValueError(f"ReviewConfig: pool must hold at least n_estimation + n_evaluation problems; got "
                             f"pool={self.pool} for {self.n_estimation} + {self.n_evaluation}")


#: The games this runner plays: each module gives the prompts, the items and the payoffs.
GAMES = {"review": "review_game", "draft": "draft_game", "pair": "pair_game"}


def game_texts(cfg: ReviewConfig):
    """The module that writes ``cfg.game``'s prompts (:mod:`llm_bridge.games.review_game`,
    :mod:`llm_bridge.games.draft_game` or :mod:`llm_bridge.games.pair_game`)."""
    import importlib
    return importlib.import_module(f"llm_bridge.games.{GAMES[cfg.game]}")


def conditions(cfg: ReviewConfig) -> tuple:
    """Every evaluation condition of ``cfg`` (a game the Receiver writes in adds ``no-item``: the problem
    alone, no draft)."""
    extra = ("no-item",) if cfg.writes_answer else ()
    return (("alone", "oracle-item") + extra + tuple(f"{c}/{v}" for c in SIGNAL_CONDITIONS for v in cfg.variants)
            + ("modelled-br",))


#: The review game's conditions with both variants (the default config's).
CONDITIONS = conditions(ReviewConfig(out=""))


# ------------------------------------------------------------------ problems
def load_items(cfg: ReviewConfig):
    """(estimation pairs, evaluation pairs): each a list of (correct item, wrong item) per problem."""
    from llm_bridge.tasks.problems import gsm_symbolic, humaneval
    need = cfg.n_estimation + cfg.n_evaluation
    g = game_texts(cfg)
    size = cfg.pool or int(need * (1.6 if cfg.writes_answer else 1.3)) + 10
    problems = humaneval() if cfg.task == "humaneval" else gsm_symbolic(size, seed=cfg.gsm_seed)
    make = g.draft_pair if cfg.writes_answer else None
    pairs = rg.proposal_pairs(problems, need, cfg.seed, "split", f"load_items(): {cfg.task} gives", make)
    return pairs[:cfg.n_estimation], pairs[cfg.n_estimation:]


class Log(KeyedLog):
    """Append-only JSONL of Receiver decisions keyed by (phase, problem, condition).

    Every decision also carries ``input``, a digest of the exact text the Receiver read: a later decision
    on byte-identical input (another condition whose prompt happens to be the same, or a run named in
    ``reuse_decisions_from``) is copied from it instead of recomputed, with ``reused_from`` naming the
    decision it came from.  A line cut by a kill is cut off and redone (:class:`~llm_bridge.studies.run_log.KeyedLog`).
    """

    def __init__(self, path: Path, reuse: list[Path] = ()):
        super().__init__(path)
        self.by_input = {}
        for source in reuse:                    # another run's log: read, never cut (it may still be running)
            for rec in read_records(source, "reuse_decisions_from", cut=False):
                self._index(rec)
        for rec in self.done.values():
            self._index(rec)

    def _index(self, rec: dict) -> None:
        if rec.get("input") and "reused_from" not in rec:
            self.by_input.setdefault(rec["input"], rec)

    def add_many(self, recs: list[dict]) -> None:
        super().add_many(recs)
        for r in recs:
            self._index(r)


def _logged_on(log, key: str, digest: str) -> bool:
    """Whether ``key`` is logged on the input with ``digest``.  A record from before inputs were digested
    (older saved logs) cannot be checked and counts as logged, as it always did."""
    rec = log.done.get(key)
    return rec is not None and rec.get("input", digest) == digest


def condition_digests(item, tails: dict, heads: dict | None, cfg) -> tuple[dict, dict]:
    """(heads, digests) per condition: the head each tail is read after (the game's, unless ``heads``
    gives another) and the digest of the whole text."""
    default = game_texts(cfg).head(item)
    full = {c: (heads or {}).get(c, default) for c in tails}
    return full, {c: input_digest(full[c], t) for c, t in tails.items()}


def input_digest(head: str, tail: str) -> str:
    """What identifies a Receiver decision: the digest of the exact text it reads."""
    import hashlib
    return hashlib.sha256((head + tail).encode()).hexdigest()[:24]


def _decide(receiver, log: Log, item: rg.ReviewItem, tails: dict, phase: str, cfg: ReviewConfig,
            extra: dict, heads: dict | None = None) -> None:
    """Run the Receiver on every tail not yet logged for this item (after the game's head, or after
    ``heads[condition]`` where given).  In the review game it answers Yes/No; in the draft game it writes
    its solution, and the action is read off the answer (:func:`llm_bridge.games.draft_game.read_action`)."""
    g = game_texts(cfg)
    heads, digests = condition_digests(item, tails, heads, cfg)
    # done means logged *on this input*: when a condition's text changes (a refitted scheme, a retrained
    # Advisor) it is decided again, and the new record supersedes the old one, which stays in the file
    todo = {c: t for c, t in tails.items() if not _logged_on(log, f"{phase}|{item.key}|{c}", digests[c])}
    if not todo:
        return
    fresh = {}                                    # digest -> the first condition with it: one call per input
    for c in todo:
        if digests[c] not in log.by_input:
            fresh.setdefault(digests[c], c)
    if cfg.writes_answer:
        decided = _written(receiver, {d: heads[c] + todo[c] for d, c in fresh.items()}, cfg)
    else:
        decided = _chosen(receiver, item, {d: todo[c] for d, c in fresh.items()}, cfg)
    for d, c in fresh.items():
        decided[d]["key"] = f"{phase}|{item.key}|{c}"
    recs = []
    for cond in todo:
        d = digests[cond]
        src = log.by_input.get(d) or decided[d]
        got = {k: src[k] for k in ("prompt", "output", "p_submit", "on_format", "n_tokens") if k in src}
        if src["key"] != f"{phase}|{item.key}|{cond}":
            got["reused_from"] = src["key"]
        if cfg.writes_answer:                     # read per item: a shared input (no-item) has two drafts' answers
            read = g.read_action(item, got["output"])
            action, correct = read["action"], read["correct"]
            got.update(p_submit=float(action == "submit"), extracted=read["extracted"],
                       truncated=bool(got["n_tokens"] >= cfg.max_new_tokens))   # cut by the token limit
        else:
            action = {v: k for k, v in rg.letters(item.problem, cfg.seed).items()}[got["output"]]
            correct = action == "submit" and item.state == 0
        recs.append({"key": f"{phase}|{item.key}|{cond}", "phase": phase, "problem_id": item.problem.id,
                     "condition": cond, "seed": cfg.seed, "state": rg.STATES[item.state],
                     "signal": extra.get(cond, {}).get("signal"), "input": d, **got, "action": action,
                     "correct": bool(correct),
                     "right_decision": bool((action == "submit") == (item.state == 0)),
                     **{k: v for k, v in extra.get(cond, {}).items() if k != "signal"}})
    log.add_many(recs)


def _chosen(receiver, item, tails_by_digest: dict, cfg) -> dict:
    """digest -> the Receiver's Yes/No decision on the game's head + that tail (one cached call)."""
    if not tails_by_digest:
        return {}
    lt = rg.letters(item.problem, cfg.seed)
    choices = receiver.choose(rg.head(item), list(tails_by_digest.values()), options=sorted(lt.values()))
    return {d: {"prompt": ch.prompt, "output": ch.letter, "p_submit": ch.probs[lt["submit"]],
                "on_format": ch.on_format} for d, ch in zip(tails_by_digest, choices)}


def _written(receiver, prompts_by_digest: dict, cfg) -> dict:
    """digest -> the Receiver's greedy solution of that prompt (``receiver`` a model with ``generate_scored``,
    or a :class:`~llm_bridge.models.choice_receiver.ChoiceReceiver` around one)."""
    if not prompts_by_digest:
        return {}
    from llm_bridge.models.language_model import SamplingConfig, written_answers
    lm = getattr(receiver, "lm", receiver)
    gens = written_answers(lm, list(prompts_by_digest.values()), SamplingConfig(max_new_tokens=cfg.max_new_tokens))
    return {d: {"prompt": p, "output": gen.text, "n_tokens": gen.n_tokens, "on_format": "####" in gen.text}
            for (d, p), gen in zip(prompts_by_digest.items(), gens)}


def _scheme_for_posterior(prior0: float, p: float) -> np.ndarray:
    """A scheme whose 'submit' recommendation has posterior ``p`` of a correct proposal."""
    if p >= prior0:
        b = prior0 * (1 - p) / (p * (1 - prior0))
        return np.array([[1.0, 0.0], [b, 1 - b]])
    a = p * (1 - prior0) / (prior0 * (1 - p))
    return np.array([[a, 1 - a], [1.0, 0.0]])


def _probes(prior: np.ndarray, cfg: ReviewConfig) -> dict:
    """name -> (scheme or None, recommendation): the response-model probes.

    Both recommendations are probed at every stated posterior (a scheme's columns swapped carries the same
    posterior on the other message), so the fitted response model has data on each of its two arms.
    """
    probes = {}
    for p in cfg.probe_posteriors:
        sch = _scheme_for_posterior(prior[0], p)
        probes[f"probe/submit@{p:g}"] = (sch, "submit")
        if cfg.probes == "lean":
            probes[f"probe/decline@{p:g}"] = (sch[:, ::-1].copy(), "decline")
    if cfg.probes == "full":
        probes["probe/decline@full"] = (np.eye(2), "decline")
        probes["probe/decline@placebo"] = (np.full((2, 2), 0.5), "decline")
        probes["probe/submit@placebo"] = (np.full((2, 2), 0.5), "submit")
    probes["probe/bare-submit"] = (None, "submit")
    probes["probe/bare-decline"] = (None, "decline")
    return probes


def estimation_phase(receiver, log, est_pairs, prior, cfg):
    probes, g = _probes(prior, cfg), game_texts(cfg)
    for pair in _progress(est_pairs, "estimation"):
        for item in pair:
            p = item.problem
            tails = {"told-state": g.message_tail(p, cfg.seed, None, fact=g.fact_text(item))}
            extra = {}
            for name, (sch, rec) in probes.items():
                stmt = g.scheme_statement(sch, prior, p.task) if sch is not None else None
                tails[name] = g.message_tail(p, cfg.seed, g.RECOMMEND[rec], stmt)
                post = float(posteriors(prior, sch)[1][0 if rec == "submit" else 1]) if sch is not None else None
                extra[name] = {"signal": g.RECOMMEND[rec], "rec": rec, "stated_posterior": post}
            _decide(receiver, log, item, tails, "estimation", cfg, extra)


def _progress(it, desc):
    from persuasion.progress import progress
    return progress(it, desc, unit="problem")


# ------------------------------------------------------------------ the game
def estimation_prior(est_pairs, cfg) -> np.ndarray:
    draws = np.array([rg.junior_draw(pair[0].problem, cfg.base_rate, cfg.seed) for pair in est_pairs])
    k = int((draws == 0).sum())
    return np.array([k, len(draws) - k], float) / len(draws)


def _records(log, phase):
    return [r for r in log.done.values() if r["phase"] == phase]


@dataclass(frozen=True, eq=False)
class FittedGame:
    """The review game as the estimation split gives it: what the Advisor and the report work from."""

    V: np.ndarray                  # the Advisor's payoffs (rows correct/wrong, columns submit/decline)
    U: np.ndarray                  # the Receiver's revealed utility from the told verdicts (smoothing 0.5)
    counts: np.ndarray             # submissions when told correct / wrong
    prior: np.ndarray              # P(correct proposal), from the estimation problems' junior draws
    case: str                      # the Bayesian case at U (persuasion_case)
    case_prob: dict                # bootstrap probability of each case at U
    value_ci: list                 # bootstrap interval of the Bayesian optimal value at U
    chosen: str                    # the Receiver model with the best cross-validated Brier score
    chosen_case: str               # the case under that model
    chosen_case_prob: dict         # its bootstrap probabilities
    chosen_value_ci: list          # its optimal value's bootstrap interval
    brier: dict                    # model -> cross-validated Brier score on the probes
    models: dict                   # model name -> fitted model (the Bayesian one at its worst-case threshold)
    signal_only_model: object      # the fitted response to bare recommendations
    threshold_set: dict            # the Bayesian thresholds the data leave open, and the worst case chosen
    scheme: np.ndarray             # the chosen model's optimal scheme (executed and taught)
    lp_scheme: np.ndarray          # the Bayesian LP's scheme at the worst-case threshold

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)


def fit_game(log, est_pairs, prior, cfg) -> FittedGame:
    """Revealed U, bootstrap cases, response models and their cross-validated Brier scores."""
    V = rg.TARGETS[cfg.target]
    est = _records(log, "estimation")
    ids = [pair[0].problem.id for pair in est_pairs]
    told = {(r["problem_id"], r["state"]): r["action"] == "submit" for r in est if r["condition"] == "told-state"}

    def counts_for(pids):
        c = np.zeros((2, 2))
        for pid in pids:
            for w, s in enumerate(rg.STATES):
                c[w, 0 if told[(pid, s)] else 1] += 1
        return c

    counts = counts_for(ids)
    U = revealed_utility(counts)
    probes = [r for r in est if r["condition"].startswith("probe/") and r.get("stated_posterior") is not None]
    bare = [r for r in est if r["condition"].startswith("probe/bare")]

    def xy(rows):
        return ([0 if r["rec"] == "submit" else 1 for r in rows], [r["stated_posterior"] for r in rows],
                [r["action"] == "submit" for r in rows])

    # (posterior P(correct) the Receiver held, submitted) per problem: the told verdicts (1 or 0) and the probes
    held = {}
    for r in est:
        level = ((1.0 if r["state"] == "correct" else 0.0) if r["condition"] == "told-state"
                 else r.get("stated_posterior") if r["condition"].startswith("probe/") else None)
        if level is not None:
            held.setdefault(r["problem_id"], []).append((level, r["action"] == "submit"))

    def identified(pids, reps):
        """The Bayesian threshold set from the told verdicts and the probes of ``pids`` (repeats count)."""
        rows = [(k, lv, y) for k, pid in enumerate(pids) for lv, y in held[pid]]
        g, lv, y = zip(*rows)
        return threshold_set(g, lv, y, reps=reps, seed=cfg.seed)

    def bayesian_at_worst(pids, reps=0, points=5):
        """A threshold Receiver at the worst case (for the Advisor) over the identified set, and its scheme."""
        ts = identified(pids, reps)
        scheme, worst, t = worst_case_scheme(prior, V, threshold_grid(ts["lo"], ts["hi"], points))
        return BayesianReceiver(threshold_utility(t), V), scheme, ts, t

    def fit_model(name, pids, Um):
        if name == "bayesian":
            return bayesian_at_worst(pids)[0]
        if name == "credulous":
            return CredulousReceiver(V)
        by = {}
        for r in probes:
            by.setdefault(r["problem_id"], []).append(r)
        return FittedReceiver.fit(V, *xy([r for pid in pids for r in by.get(pid, [])]))

    # which model of the Receiver: 2-fold cross-validated Brier score on the probes.  A fitted model with a
    # recommendation it has no data on is not identified (its optimum would exploit a made-up response), so
    # it is not scored or chosen: its Brier score is None.
    folds = {pid: keyed_rng(cfg.seed, pid, "fold").random() < 0.5 for pid in ids}
    brier = {"bayesian": [], "credulous": [], "fitted": []}
    for fold in (True, False):
        train = [pid for pid in ids if folds[pid] != fold]
        test = [r for r in probes if folds[r["problem_id"]] == fold]
        for name in [n for n, v in brier.items() if v is not None]:
            model = fit_model(name, train, U)
            if not getattr(model, "identified", True):
                brier[name] = None
                continue
            for r in test:
                q = model.p_submit(0 if r["rec"] == "submit" else 1, r["stated_posterior"])
                brier[name].append((q - (r["action"] == "submit")) ** 2)
    models = {name: fit_model(name, ids, U) for name in brier}
    brier = {k: None if v is None or not getattr(models[k], "identified", True) else float(np.mean(v))
             for k, v in brier.items()}
    chosen = min((k for k, v in brier.items() if v is not None), key=brier.get)
    models["bayesian"], lp_scheme, tset, t_star = bayesian_at_worst(ids, reps=cfg.bootstrap, points=21)

    # bootstrap over estimation problems: the case under the Bayesian model (the LP's) and under the chosen one
    rng = np.random.default_rng(cfg.seed)
    draws = np.array([rg.junior_draw(pair[0].problem, cfg.base_rate, cfg.seed) for pair in est_pairs])
    cases, values, chosen_cases, chosen_values = [], [], [], []
    for _ in range(cfg.bootstrap):
        idx = rng.integers(0, len(ids), len(ids))
        k = float((draws[idx] == 0).mean())
        pr = np.array([k, 1 - k]) if 0 < k < 1 else prior
        pids = [ids[i] for i in idx]
        Ub = revealed_utility(counts_for(pids))
        cases.append(case_of(pr, V, Ub))
        model = BayesianReceiver(Ub, V)
        values.append(predicted_value(model, pr, model.optimal_scheme(pr), V))
        if chosen == "bayesian":                 # the identified model: worst case over this replicate's set
            bm, sch, _, _ = bayesian_at_worst(pids)
            c, v = model_case(bm, pr, V)
            chosen_cases.append(c)
            chosen_values.append(predicted_value(bm, pr, sch, V))
            continue
        c, v = model_case(fit_model(chosen, pids, Ub), pr, V, **({"grid": 21} if chosen == "fitted" else {}))
        chosen_cases.append(c)
        chosen_values.append(v)
    labels = tuple(c.value for c in PersuasionCase)
    case_prob = {c: cases.count(c) / len(cases) for c in labels}
    chosen_case_prob = {c: chosen_cases.count(c) / len(chosen_cases) for c in labels}
    signal_only = FittedReceiver.fit(V, [0 if r["rec"] == "submit" else 1 for r in bare], [prior[0]] * len(bare),
                                     [r["action"] == "submit" for r in bare])
    return FittedGame(V=V, U=U, counts=counts, prior=prior, case_prob=case_prob, case=case_of(prior, V, U),
                      value_ci=np.percentile(values, [2.5, 97.5]).tolist(),
                      chosen_case=model_case(models[chosen], prior, V)[0], chosen_case_prob=chosen_case_prob,
                      chosen_value_ci=np.percentile(chosen_values, [2.5, 97.5]).tolist(),
                      brier=brier, models=models, signal_only_model=signal_only, chosen=chosen,
                      threshold_set={**tset, "worst_case_threshold": t_star},
                      scheme=lp_scheme if chosen == "bayesian" else models[chosen].optimal_scheme(prior),
                      lp_scheme=lp_scheme)


# ------------------------------------------------------------------ the Advisor
def advisor_prompt(item: rg.ReviewItem, cfg: ReviewConfig) -> str:
    text = item.problem.prompt.strip()[:cfg.advisor_problem_chars]
    reader, about, what, addressee = game_texts(cfg).ROLE
    return (f"You advise {reader} {about} this problem:\n{text}\n"
            f"The reference check says {what} is {rg.STATES[item.state]}.\n"
            f"Write your one-sentence message to the {addressee}.")


def _taught(scheme) -> list:
    return np.round(np.asarray(scheme, float), 9).tolist()


def _taught_scheme(run_dir: Path) -> list | None:
    """The scheme ``run_dir``'s Advisor was taught (``advisor_scheme.json``), or None if not recorded."""
    stamp = run_dir / "advisor_scheme.json"
    return json.loads(stamp.read_text()) if stamp.exists() else None


def supersede_stale_advisor(run_dir: Path, scheme) -> None:
    """Keep ``run_dir``'s saved Advisor and messages if they were made for ``scheme``.  If not (the game was
    refitted to another scheme, or the save predates the record of its scheme), they are moved, not deleted,
    to ``superseded/<n>/`` so that the Advisor is trained and sampled again."""
    stamp = run_dir / "advisor_scheme.json"
    saved = [q for q in (run_dir / "advisor", run_dir / "advisor_messages.json") if q.exists()]
    if not saved or _taught_scheme(run_dir) == _taught(scheme):
        return
    sup = run_dir / "superseded"
    dest = sup / str(len(list(sup.glob("*"))) if sup.exists() else 0)
    dest.mkdir(parents=True)
    for q in saved + ([stamp] if stamp.exists() else []):
        q.rename(dest / q.name)


def train_advisor(advisor, est_pairs, scheme, cfg, out: Path):
    """SFT on messages drawn from ``scheme``; saved to ``out`` (reused when it was made for ``scheme``: see
    :func:`supersede_stale_advisor`, which ``run`` calls first)."""
    from llm_bridge.models.training import SFTConfig, sft
    if (out / "config.json").exists():
        from llm_bridge.models.language_model import LanguageModel, ModelConfig
        return LanguageModel.load(ModelConfig(str(out), device=advisor.config.device)), None
    pairs = []
    for pair in est_pairs:
        for item in pair:
            for j in range(cfg.signals_per_problem):
                rec = rg.draw_recommendation(scheme, item.state, cfg.seed, item.key, "advisor-sft", j)
                pairs.append((advisor_prompt(item, cfg), game_texts(cfg).RECOMMEND[rec]))
    losses = sft(advisor, pairs, SFTConfig(epochs=cfg.advisor_epochs, batch_size=8, learning_rate=cfg.advisor_lr,
                                           seed=cfg.seed, max_length=192), progress=True)
    advisor.save(out)
    return advisor, losses


def advisor_messages(advisor, items, cfg) -> dict:
    """item.key -> the Advisor's sampled message (one sampling call per item, keyed seed)."""
    from llm_bridge.models.language_model import SamplingConfig
    out = {}
    for item in _progress(items, "advisor"):
        seed = keyed_rng(cfg.seed, item.key, "advisor", "sample").randrange(2 ** 31)
        txt = advisor.generate([advisor_prompt(item, cfg)], SamplingConfig(max_new_tokens=16,
                                                                           temperature=cfg.advisor_temperature,
                                                                           seed=seed))[0]
        out[item.key] = txt.strip().splitlines()[0][:200] if txt.strip() else ""
    return out


# ------------------------------------------------------------------ evaluation
def condition_schemes(game) -> dict:
    """The scheme each signal condition commits to (the Advisor's is the one it was trained on).

    Placebo: a fair coin, independent of the verdict (its text differs from a pooling scheme's on about
    half the problems, so a placebo comparison is never between byte-identical prompts throughout);
    pooled: always the action the Advisor prefers at the prior; pooled-opposite: always the other one.
    """
    prior = game.prior
    fav = int(np.argmax(prior @ game.V))
    return {"placebo": np.full((2, 2), 0.5), "pooled": np.eye(2)[[fav, fav]],
            "pooled-opposite": np.eye(2)[[1 - fav, 1 - fav]], "full-revelation": np.eye(2),
            "lp-scheme": game.scheme, "bayesian-lp": game.lp_scheme, "advisor": game.scheme}


def evaluation_inputs(item, game, messages, cfg) -> tuple[dict, dict, dict]:
    """(tails, extra, heads) of one held-out item: the text each condition shows the Receiver after the
    game's head (or after ``heads[condition]``), and what the log records beside its decision."""
    prior, schemes, g = game.prior, condition_schemes(game), game_texts(cfg)
    p, w = item.problem, item.state
    tails = {"alone": g.message_tail(p, cfg.seed, None),
             "oracle-item": g.message_tail(p, cfg.seed, None, fact=g.fact_text(item))}
    extra = {"oracle-item": {"signal": g.fact_text(item)}}
    heads = {}
    if cfg.writes_answer:                             # the paper's "alone": the problem, no draft, no advice
        from llm_bridge.games.hints import hinted_code_prompt, hinted_prompt
        tails["no-item"] = (hinted_code_prompt if p.task == "humaneval" else hinted_prompt)(p, None)
        heads["no-item"] = ""
    for c in SIGNAL_CONDITIONS:
        if c == "advisor":
            msg = messages[item.key]
        else:
            row = 0 if c == "placebo" else w          # the placebo ignores the state
            msg = g.RECOMMEND[rg.draw_recommendation(schemes[c], row, cfg.seed, p.id, c, "signal")]
        for v in cfg.variants:
            stmt = g.scheme_statement(schemes[c], prior, p.task) if v == "informed" else None
            tails[f"{c}/{v}"] = g.message_tail(p, cfg.seed, msg, stmt)
            extra[f"{c}/{v}"] = {"signal": msg, "rec": g.classify_message(msg)}
    return tails, extra, heads


def logged_on_current_input(log, item, game, messages, cfg) -> bool:
    """Whether every evaluation condition of ``item`` is logged on the text it shows now."""
    tails, _, heads = evaluation_inputs(item, game, messages, cfg)
    _, digests = condition_digests(item, tails, heads, cfg)
    return all(_logged_on(log, f"evaluation|{item.key}|{c}", d) for c, d in digests.items())


def evaluation_phase(receiver, log, eval_items, game, messages, cfg):
    for item in _progress(eval_items, "evaluation"):
        tails, extra, heads = evaluation_inputs(item, game, messages, cfg)
        _decide(receiver, log, item, tails, "evaluation", cfg, extra, heads)


def modelled_br(game, item, cfg) -> str:
    """The comparison condition: the package's Bayesian model answers the Bayesian LP's signal (the same draw
    the ``bayesian-lp`` conditions show the Receiver model), with no model call."""
    scheme = game.lp_scheme
    rec = rg.draw_recommendation(scheme, item.state, cfg.seed, item.problem.id, "bayesian-lp", "signal")
    s = 0 if rec == "submit" else 1
    post = posteriors(game.prior, scheme)[1][s]
    return "submit" if game.models["bayesian"].p_submit(s, post) >= 0.5 else "decline"


# ------------------------------------------------------------------ report
def build_report(cfg, game, log, eval_items, messages, timings, receiver_name) -> dict:
    V = game.V
    ev = {(r["problem_id"], r["condition"]): r for r in _records(log, "evaluation")}
    pids = [it.problem.id for it in eval_items]
    outcome, right, every = {}, {}, conditions(cfg)
    for c in every:
        if c == "modelled-br":
            acts = [modelled_br(game, it, cfg) for it in eval_items]
        else:
            acts = [ev[(pid, c)]["action"] for pid in pids]
        outcome[c] = np.array([V[it.state, rg.ACTIONS.index(a)] for it, a in zip(eval_items, acts)])
        right[c] = np.array([(a == "submit") == (it.state == 0) for it, a in zip(eval_items, acts)])
    n = len(pids)
    conds = {}
    for c in every:
        k = int(outcome[c].sum())
        kr = int(right[c].sum())
        conds[c] = {"n": n, "value": k / n, "value_ci": wilson(k, n).tolist(), "right_decision": kr / n,
                    "right_decision_ci": wilson(kr, n).tolist(),
                    "on_format": (float(np.mean([ev[(pid, c)]["on_format"] for pid in pids]))
                                  if c != "modelled-br" else None)}
    prompt = {(pid, c): ev[(pid, c)]["prompt"] for pid in pids for c in every if c != "modelled-br"}

    def compare(a, b, x=outcome):
        """Exact McNemar of ``a`` against ``b``, with how many problems saw byte-identical prompts in both."""
        same = sum(prompt.get((pid, a), 0) == prompt.get((pid, b), 1) for pid in pids)
        return {**mcnemar_exact(x[a], x[b]), "identical_prompts": int(same)}

    tests, held_out = {}, {}
    for v in cfg.variants:
        pool = max(("pooled", "pooled-opposite"), key=lambda c: outcome[f"{c}/{v}"].sum())
        claim = {who: [f"{who}/{v} vs {b}/{v}" for b in ("full-revelation", pool, "placebo")]
                 for who in ("lp-scheme", "advisor")}
        family = {name: compare(*name.split(" vs ")) for names in claim.values() for name in names}
        family[f"advisor/{v} vs alone"] = compare(f"advisor/{v}", "alone")
        family[f"advisor/{v} vs lp-scheme/{v}"] = compare(f"advisor/{v}", f"lp-scheme/{v}")
        # a test between prompts that are byte-identical on every problem can show nothing: reported, not counted
        _holm_where_prompts_differ(family, n)
        tests.update(family)
        held_out[v] = {who: all(family[k].get("p_holm", 1.0) < 0.05 and family[k]["diff"] > 0 for k in names)
                       for who, names in claim.items()}
        held_out[v]["best_pooling"] = pool
        tests[f"bayesian-lp/{v} vs full-revelation/{v} (value of persuasion, LP)"] = compare(
            f"bayesian-lp/{v}", f"full-revelation/{v}")
        tests[f"full-revelation/{v} vs alone (value of information, target)"] = compare(f"full-revelation/{v}",
                                                                                        "alone")
        tests[f"full-revelation/{v} vs alone (right decisions)"] = compare(f"full-revelation/{v}", "alone", right)
        tests[f"advisor/{v} vs alone (right decisions)"] = compare(f"advisor/{v}", "alone", right)
    tests["oracle-item vs alone (right decisions)"] = compare("oracle-item", "alone", right)
    accuracy = accuracy_section(cfg, ev, pids, compare, conds)
    # what the Advisor sent
    sent = np.zeros((2, 3))
    classify = game_texts(cfg).classify_message
    for it in eval_items:
        sent[it.state, ("submit", "decline", "other").index(classify(messages[it.key]))] += 1
    emp = sent / np.maximum(sent.sum(axis=1, keepdims=True), 1)
    tv = [0.5 * float(np.abs(np.append(game.scheme[w], 0.0) - emp[w]).sum()) for w in (0, 1)]
    emp_scheme = emp[:, :2] + emp[:, 2:] * np.array([0.0, 1.0])    # 'other' counted as not recommending submit
    # a state with no evaluated item yet (a run stopped early) has no observed row: the committed one stands in
    emp_scheme = np.where(sent.sum(axis=1, keepdims=True) > 0, emp_scheme, np.asarray(game.scheme, float))
    preds = {}
    prior = game.prior
    schemes = {**condition_schemes(game), "advisor": emp_scheme}   # predictions from what it actually sent
    for c, sch in schemes.items():
        preds[c] = {name: predicted_value(m, prior, sch, V) for name, m in game.models.items()}
        preds[c]["signal-only fitted"] = predicted_value(game.signal_only_model, prior, sch, V)
    return {
        "config": asdict(cfg), "receiver": receiver_name, "task": cfg.task, "timings_s": timings,
        "game": {"states": list(rg.STATES), "actions": list(rg.ACTIONS), "prior": prior.tolist(),
                 "V": V.tolist(), "U": game.U.tolist(), "told_state_counts": game.counts.tolist(),
                 "told_state_submit_ci": [wilson(game.counts[w, 0], game.counts[w].sum()).tolist()
                                          for w in (0, 1)],
                 "case": game.case, "case_probability": game.case_prob,
                 "predicted_lp_value_ci": game.value_ci,
                 "chosen_model_case": game.chosen_case, "chosen_model_case_probability": game.chosen_case_prob,
                 "chosen_model_value_ci": game.chosen_value_ci,
                 "threshold_set": game.threshold_set,
                 # ex ante: the model the core optimised against says persuasion binds (not the Bayesian one
                 # by default); held out: the executed scheme or the Advisor beats full revelation, the better
                 # pooling scheme and the placebo, each Holm-corrected at 0.05
                 "persuasion_claim": {"ex_ante": bool(game.chosen_case_prob["binds"] >= 0.9),
                                      "held_out": held_out},
                 "persuasion_claim_allowed": bool(game.chosen_case_prob["binds"] >= 0.9 and any(
                     h["lp-scheme"] or h["advisor"] for h in held_out.values()))},
        "receiver_models": {"brier_cv": game.brier, "chosen": game.chosen,
                            "fitted_coef": {str(k): v for k, v in game.models["fitted"].coef.items()},
                            "signal_only_coef": {str(k): v for k, v in game.signal_only_model.coef.items()}},
        "schemes": {"chosen": game.scheme.tolist(), "bayesian_lp": game.lp_scheme.tolist(),
                    "advisor_empirical": emp.tolist(), "advisor_tv_per_state": tv,
                    "advisor_counts": sent.tolist()},
        "conditions": conds, "tests": tests, "predicted": preds, "accuracy": accuracy,
    }


def _holm_where_prompts_differ(family: dict, n: int) -> dict:
    """Holm-adjust (``p_holm``) the tests of ``family`` whose prompts differ on at least one of the ``n``
    problems; a test between prompts byte-identical on every problem can show nothing and is left out."""
    live = [k for k, t in family.items() if t["identical_prompts"] < n]
    for k, adj in zip(live, holm([family[k]["p"] for k in live])):
        family[k]["p_holm"] = adj
    return family


def accuracy_section(cfg, ev: dict, pids: list, compare, conds: dict) -> dict:
    """The paper's metric: each condition's accuracy (its final answer right) against the baseline -- the
    problem alone (``no-item``) in the draft game, the proposal without advice (``alone``) in the review
    game -- as a relative gain with a paired bootstrap interval over problems, split into the value of
    information (full revelation against the baseline) and the value of strategy (the scheme, and the
    Advisor, against full revelation); exact McNemar tests, Holm within each variant.  Adds ``accuracy``
    (and, for written answers, ``truncated``) to each entry of ``conds``."""
    every = [c for c in conditions(cfg) if c != "modelled-br"]
    acc = {c: np.array([bool(ev[(pid, c)]["correct"]) for pid in pids]) for c in every}
    n = len(pids)
    for c in every:
        k = int(acc[c].sum())
        conds[c].update(accuracy=k / n, accuracy_ci=wilson(k, n).tolist())
        if cfg.writes_answer:
            conds[c]["truncated"] = float(np.mean([ev[(pid, c)].get("truncated", False) for pid in pids]))
    base = "no-item" if cfg.writes_answer else "alone"
    rng = np.random.default_rng(cfg.seed)
    boot = rng.integers(0, n, (cfg.bootstrap, n))

    def gain(c):
        """(accuracy of c - baseline) / baseline, with its paired bootstrap interval (None at a zero base)."""
        def rel(idx):
            b = acc[base][idx].mean()
            return (acc[c][idx].mean() - b) / b if b > 0 else np.nan
        point = rel(np.arange(n))
        reps = np.array([rel(i) for i in boot])
        reps = reps[np.isfinite(reps)]
        return {"relative_gain": None if not np.isfinite(point) else float(point),
                "ci": np.percentile(reps, [2.5, 97.5]).tolist() if len(reps) else None}

    out = {"baseline": base, "gains": {}, "tests": {}}
    for c in every:
        if c != base:
            out["gains"][c] = gain(c)
    for v in cfg.variants:
        family = {f"full-revelation/{v} vs {base} (value of information)": (f"full-revelation/{v}", base),
                  f"lp-scheme/{v} vs full-revelation/{v} (value of strategy)": (f"lp-scheme/{v}",
                                                                                f"full-revelation/{v}"),
                  f"advisor/{v} vs full-revelation/{v} (value of strategy, Advisor)": (f"advisor/{v}",
                                                                                       f"full-revelation/{v}"),
                  f"advisor/{v} vs {base}": (f"advisor/{v}", base)}
        res = {k: compare(a, b, acc) for k, (a, b) in family.items()}
        out["tests"].update(_holm_where_prompts_differ(res, n))
    return out


def held_out_items(eval_pairs, cfg) -> list:
    """The item each held-out problem is played with: the proposal (or draft) the junior solver's keyed
    draw sends."""
    return [pair[rg.junior_draw(pair[0].problem, cfg.base_rate, cfg.seed)] for pair in eval_pairs]


def run(receiver, advisor, cfg: ReviewConfig, receiver_name: str = "receiver") -> dict:
    """Run (or resume) the experiment; returns the report (also written to ``OUT/report.json``)."""
    if cfg.n_evaluation < 1:
        raise ValueError(f"run(): cfg.n_evaluation must be at least 1 (the held-out problems the report is "
                         f"about); got {cfg.n_evaluation}")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    same_receiver(out, receiver_name, cfg)
    write_atomic(out / "config.json", json.dumps(asdict(cfg), indent=2).encode())
    reuse = []
    if cfg.reuse_decisions_from:
        src = Path(cfg.reuse_decisions_from)
        who = src / "receiver.json"
        theirs = json.loads(who.read_text())["receiver"] if who.exists() else None
        if theirs != receiver_name or not (src / "generations.jsonl").exists():
            raise ValueError(f"reuse_decisions_from: {src} must hold a run's generations.jsonl and receiver.json "
                             f"with the same Receiver ({receiver_name!r}); found {theirs!r}")
        reuse.append(src / "generations.jsonl")
    log = Log(out / "generations.jsonl", reuse)
    timing_path = out / "timings.json"
    total = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    t = time.perf_counter()
    est_pairs, eval_pairs = load_items(cfg)
    prior = estimation_prior(est_pairs, cfg)
    timings = {}
    timings["items"] = time.perf_counter() - t
    t = time.perf_counter()
    estimation_phase(receiver, log, est_pairs, prior, cfg)
    timings["estimation"] = time.perf_counter() - t
    game = fit_game(log, est_pairs, prior, cfg)
    eval_items = held_out_items(eval_pairs, cfg)
    t = time.perf_counter()
    supersede_stale_advisor(out, game.scheme)
    adv, losses = train_advisor(advisor, est_pairs, game.scheme, cfg, out / "advisor")
    write_atomic(out / "advisor_scheme.json", json.dumps(_taught(game.scheme)).encode())
    timings["advisor_training"] = time.perf_counter() - t
    t = time.perf_counter()
    msg_path = out / "advisor_messages.json"
    messages = json.loads(msg_path.read_text()) if msg_path.exists() else {}
    missing = [it for it in eval_items if it.key not in messages]
    if missing:
        messages.update(advisor_messages(adv, missing, cfg))
        write_atomic(msg_path, json.dumps(messages, indent=1).encode())
    timings["advisor_sampling"] = time.perf_counter() - t
    t = time.perf_counter()
    evaluation_phase(receiver, log, eval_items, game, messages, cfg)
    timings["evaluation"] = time.perf_counter() - t
    timings = {k: total.get(k, 0.0) + timings.get(k, 0.0) for k in set(total) | set(timings)}
    write_atomic(timing_path, json.dumps(timings, indent=1).encode())       # summed over every start of this run
    report = build_report(cfg, game, log, eval_items, messages, timings, receiver_name)
    if losses:
        report["advisor_sft_loss"] = {"first": losses[0], "last": losses[-1], "steps": len(losses)}
    write_atomic(out / "report.json", json.dumps(report, indent=2).encode())
    return report


def same_receiver(out: Path, receiver_name: str, cfg: ReviewConfig) -> None:
    """Record (or, resuming, check) what decided the logged records: the Receiver, and for written answers
    the token budget, neither of which is in the text a record's input digest covers.  A folder written by
    another Receiver or budget is refused; one from before the budget was recorded gets it added."""
    path = out / "receiver.json"
    want = {"receiver": receiver_name}
    if cfg.writes_answer:
        want["max_new_tokens"] = cfg.max_new_tokens
    have = json.loads(path.read_text()) if path.exists() else {}
    clash = {k: (have[k], v) for k, v in want.items() if k in have and have[k] != v}
    if clash:
        raise ValueError(f"run(): {out} was written with " + ", ".join(f"{k}={a!r}" for k, (a, _) in clash.items())
                         + "; this run has " + ", ".join(f"{k}={b!r}" for k, (_, b) in clash.items())
                         + ": use another output folder or the same settings")
    if have != {**have, **want}:
        write_atomic(path, json.dumps({**have, **want}).encode())


def report_so_far(cfg: ReviewConfig, receiver_name: str = "receiver") -> dict:
    """The report of a run stopped during evaluation, over the held-out problems that have every condition
    logged (no model is loaded or called); it says so (``stopped_early``, ``planned_n``).  The estimation
    phase and the Advisor's messages must be complete: the game and the scheme are fitted as the run fitted
    them.  Written to ``OUT/report.json``."""
    out = Path(cfg.out)
    log = Log(out / "generations.jsonl")
    est_pairs, eval_pairs = load_items(cfg)
    prior = estimation_prior(est_pairs, cfg)
    n_est = sum(1 for r in log.done.values() if r["phase"] == "estimation")
    need = len(est_pairs) * 2 * (1 + len(_probes(prior, cfg)))
    if n_est < need:
        raise ValueError(f"report_so_far(): {out} holds {n_est} of the {need} estimation decisions; resume the run")
    game = fit_game(log, est_pairs, prior, cfg)
    if _taught_scheme(out) not in (None, _taught(game.scheme)):
        raise ValueError(f"report_so_far(): the Advisor of {out} was taught another scheme than the one the "
                         "log now fits; resume the run to retrain it")
    messages = json.loads((out / "advisor_messages.json").read_text())
    items = held_out_items(eval_pairs, cfg)
    done = [it for it in items if it.key in messages and logged_on_current_input(log, it, game, messages, cfg)]
    if not done:
        raise ValueError(f"report_so_far(): no held-out problem of {out} has every condition logged yet")
    timing_path = out / "timings.json"
    timings = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    report = build_report(cfg, game, log, done, messages, timings, receiver_name)
    report.update(stopped_early=len(done) < len(items), planned_n=len(items))
    write_atomic(out / "report.json", json.dumps(report, indent=2).encode())
    return report
