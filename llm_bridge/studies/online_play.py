"""Online persuasion against the real Receiver: the core's learners play the review game with a language model.

Each round a problem arrives from a pool of fresh GSM-Symbolic problems;
nature draws the state (the junior's proposal is correct with the base rate,
which the learner does not know); the learner commits to a scheme; a
recommendation is drawn from it; the Receiver model reads the problem, the
proposal and the recommendation (*signal-only*), or also the committed scheme
in words with the base rate (*informed*), and its own choice, drawn from its
Yes/No probabilities, is the action; the Advisor observes the state, the
action and its payoff (:mod:`llm_bridge.games.review_game` has the prompts).

**One forward pass per prompt serves every round.**  The response table holds
``P(submit)`` for every pool problem, state and recommendation (and, for the
informed Receiver, every scheme of a stated grid, to which the learners'
schemes are rounded before they are stated).  Rounds then cost nothing, and
the regret is exact, not sampled: the expected payoff of any scheme is a sum
over the table, so the best fixed scheme (over the pool, and in hindsight
over the problems that arrived) and every round's pseudo-regret are computed.

The model-based learners (robust, action-informed) are given the Receiver's
revealed utility ``U[w, a] = log P(a | told w)`` from problems set aside for
estimation; the behavioural learner is given nothing about the Receiver.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from persuasion.solution import fields_equal
from llm_bridge.games import review_game as rg
from .run_log import RunLog
from llm_bridge.games.receiver_models import threshold_grid, threshold_set, threshold_utility, worst_case_scheme

SIGNAL_ONLY, INFORMED = "signal-only", "informed"
MODES = (SIGNAL_ONLY, INFORMED)


@dataclass
class OnlineConfig:
    """Settings of one online study (a TOML file gives them by name)."""

    out: str                              # output folder (response log, report)
    gsm_seed: int = 11                    # reasoning-gym seed: a pool disjoint from the review runs (seed 7)
    n_estimation: int = 50                # problems set aside for U (told the verdict)
    n_pool: int = 300                     # problems the rounds draw from
    n_informed: int = 0                   # pool problems with informed passes (0: signal-only study only)
    informed_grid: tuple = (0.0, 0.25, 0.5, 0.75, 1.0)   # stated P(recommend submit | wrong); 1 when correct
    belief_levels: tuple = tuple(i / 10 for i in range(11))   # stated posteriors of the graded-belief probes
    base_rate: float = 0.3                # P(the proposal is correct): nature's prior, unknown to the learners
    target: str = "submission"            # the Advisor's V (review_game.TARGETS)
    rounds: int = 2000                    # rounds per signal-only run
    informed_rounds: int = 500            # rounds per informed run
    seeds: int = 20                       # runs per learner (the table is shared; only the draws differ)
    delta: float = 0.05                   # the robust learners' failure probability
    smoothing: float = 0.5                # additive smoothing of the told counts in U
    seed: int = 0                         # keyed draws of the pool split and the proposals
    bootstrap: int = 2000                 # bootstrap replicates over seeds for the bands
    learners: tuple = ("robust", "action-informed", "behavioural", "full-revelation")

    def __post_init__(self):
        from llm_bridge.games.review_game import TARGETS
        if self.target not in TARGETS:
            raise ValueError(f"OnlineConfig: target must be one of {list(TARGETS)}; got {self.target!r}")
        from llm_bridge.models.field_rules import distinct_choices, integers_at_least, numbers_in, probabilities
        numbers_in(self, "(0, 1)", "base_rate")
        integers_at_least(self, 1, "n_estimation", "n_pool", "rounds", "informed_rounds", "seeds", "bootstrap")
        integers_at_least(self, 0, "n_informed", "gsm_seed", "seed")
        numbers_in(self, "(0, 1)", "delta")         # checked here, not by the learners after the Receiver has run
        numbers_in(self, "> 0", "smoothing")        # 0 leaves log 0 for a choice the told Receiver never made
        self.belief_levels = probabilities(self, "belief_levels", at_least=2, increasing=True)
        if not 0 <= self.n_informed <= self.n_pool:
            raise ValueError(f"OnlineConfig: n_informed must be in [0, n_pool={self.n_pool}]; got {self.n_informed!r}")
        self.learners = distinct_choices(self, "learners", LEARNERS)
        self.informed_grid = probabilities(self, "informed_grid", increasing=True)   # a repeat: the same scheme twice

    @property
    def prior(self) -> np.ndarray:
        return np.array([self.base_rate, 1 - self.base_rate])

    def grid_schemes(self) -> list[np.ndarray]:
        """The stated schemes of the informed study: always recommend submitting a correct proposal."""
        return [np.array([[1.0, 0.0], [q, 1 - q]]) for q in self.informed_grid]


# ---------------------------------------------------------------- the pool and the response table
def load_pool(cfg: OnlineConfig):
    """(estimation pairs, pool pairs): (correct item, wrong item) per problem, fresh GSM-Symbolic problems."""
    from llm_bridge.tasks.problems import gsm_symbolic
    need = cfg.n_estimation + cfg.n_pool
    problems = gsm_symbolic(int(need * 1.3) + 10, seed=cfg.gsm_seed)
    pairs = rg.proposal_pairs(problems, need, cfg.seed, "online-split", "load_pool()")
    return pairs[:cfg.n_estimation], pairs[cfg.n_estimation:]


def _tails(item: rg.ReviewItem, cfg: OnlineConfig, role: str, informed: bool) -> dict:
    p, s = item.problem, cfg.seed
    if role == "estimation":
        tails = {"told": rg.message_tail(p, s, None, fact=rg.fact_text(item))}
        for q in cfg.belief_levels:
            tails[f"belief:{q:g}"] = rg.message_tail(p, s, None, fact=rg.belief_text(q))
        return tails
    tails = {"alone": rg.message_tail(p, s, None)}
    for sig in rg.ACTIONS:
        tails[f"rec:{sig}"] = rg.message_tail(p, s, rg.RECOMMEND[sig])
    if informed:
        for k, scheme in enumerate(cfg.grid_schemes()):
            statement = rg.scheme_statement(scheme, cfg.prior, p.task)
            for sig in rg.ACTIONS:
                tails[f"informed:{k}:{sig}"] = rg.message_tail(p, s, rg.RECOMMEND[sig], statement)
    return tails


@dataclass(frozen=True, eq=False)
class ResponseTable:
    """The Receiver's P(submit) on the pool.

    ``signal[i, w, s]``: after recommendation ``s`` (0 submit, 1 decline) on pool problem ``i`` in
    state ``w`` (0 correct, 1 wrong); ``alone[i, w]``: no message; ``told[j, w]``: told the verdict, on
    estimation problem ``j``; ``belief[j, w, l]``: told that the proposal is correct with probability
    ``belief_levels[l]`` (the graded-belief probe); ``informed[i, k, w, s]``: after ``s`` with grid
    scheme ``k`` stated (the first ``n_informed`` pool problems).  ``off_format`` counts decisions whose top token was neither
    option.
    """

    pool_ids: tuple
    estimation_ids: tuple
    signal: np.ndarray
    alone: np.ndarray
    told: np.ndarray
    informed: np.ndarray
    belief: np.ndarray
    belief_levels: tuple
    off_format: int
    decisions: int

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)


def build_table(receiver, cfg: OnlineConfig, log: RunLog, est_pairs, pool_pairs, progress=None) -> ResponseTable:
    """Run the Receiver on every prompt not yet in ``log`` and assemble the table (resumable)."""
    jobs = [("estimation", j, pair) for j, pair in enumerate(est_pairs)] + \
           [("pool", i, pair) for i, pair in enumerate(pool_pairs)]
    for role, i, pair in (progress(jobs) if progress else jobs):
        for item in pair:
            tails = _tails(item, cfg, role, role == "pool" and i < cfg.n_informed)
            todo = {c: t for c, t in tails.items() if f"{item.key}|{c}" not in log.done}
            if not todo:
                continue
            lt = rg.letters(item.problem, cfg.seed)
            choices = receiver.choose(rg.head(item), list(todo.values()), options=sorted(lt.values()))
            log.add_many([{"key": f"{item.key}|{c}", "role": role, "problem_id": item.problem.id,
                           "state": rg.STATES[item.state], "condition": c, "p_submit": ch.probs[lt["submit"]],
                           "on_format": ch.on_format} for c, ch in zip(todo, choices)])
    return table_from_log(log, cfg, est_pairs, pool_pairs)


def table_from_log(log: RunLog, cfg: OnlineConfig, est_pairs, pool_pairs) -> ResponseTable:
    def p(item, cond):
        return log.done[f"{item.key}|{cond}"]["p_submit"]
    n, K = len(pool_pairs), len(cfg.informed_grid)
    signal, alone = np.zeros((n, 2, 2)), np.zeros((n, 2))
    informed = np.zeros((cfg.n_informed, K, 2, 2))
    for i, pair in enumerate(pool_pairs):
        for item in pair:
            w = item.state
            alone[i, w] = p(item, "alone")
            for s, sig in enumerate(rg.ACTIONS):
                signal[i, w, s] = p(item, f"rec:{sig}")
                for k in range(K if i < cfg.n_informed else 0):
                    informed[i, k, w, s] = p(item, f"informed:{k}:{sig}")
    told = np.array([[p(item, "told") for item in pair] for pair in est_pairs])
    belief = np.array([[[p(item, f"belief:{q:g}") for q in cfg.belief_levels] for item in pair] for pair in est_pairs])
    recs = list(log.done.values())
    return ResponseTable(tuple(pr[0].problem.id for pr in pool_pairs), tuple(pr[0].problem.id for pr in est_pairs),
                         signal, alone, told, informed, belief.reshape(len(est_pairs), 2, len(cfg.belief_levels)),
                         tuple(cfg.belief_levels), sum(not r["on_format"] for r in recs), len(recs))


def model_utility(table: ResponseTable, cfg: OnlineConfig) -> tuple[np.ndarray, dict]:
    """The Receiver utility the model-based learners are given, and how it was identified.

    From the graded-belief probe when its threshold is identified (the mean response crosses 1/2 inside
    the probed range, and in at least 95% of the bootstrap replicates): a threshold Receiver, at the
    threshold of the 95% interval whose optimal scheme has the best worst case over the interval (for the
    submission target, the highest).  Otherwise the told-the-verdict revealed utility, whose threshold the
    data do not pin down (it is set by the smoothing), and the report says so.
    """
    told = revealed_U(table, cfg.smoothing)
    info = {"told_U": told.tolist()}
    if table.belief.size == 0:
        return told, {**info, "source": "told (no graded-belief probe)"}
    y = table.belief.reshape(-1, len(table.belief_levels))
    info["belief_models"] = fit_belief_models(table.belief_levels, y)
    info["threshold"] = interval = threshold_interval(table.belief_levels, y, reps=cfg.bootstrap, seed=cfg.seed)
    if interval["lo"] is None or interval["never_crosses"] > 0.05:
        # not identified by a crossing: the step thresholds the told verdicts (levels 1 and 0) and the probe
        # leave open, and the worst case over them rather than any smoothing's point
        n_est = table.told.shape[0]
        levels = np.concatenate([np.tile([1.0, 0.0], n_est), np.tile(table.belief_levels, 2 * n_est)])
        groups = np.concatenate([np.repeat(np.arange(n_est), 2), np.repeat(np.arange(n_est), 2 * y.shape[1])])
        got = np.concatenate([table.told.reshape(-1), table.belief.reshape(-1)])
        tset = threshold_set(groups, levels, got, reps=cfg.bootstrap, seed=cfg.seed)
        scheme, worst, t_star = worst_case_scheme(cfg.prior, rg.TARGETS[cfg.target],
                                                  threshold_grid(tset["lo"], tset["hi"], 21))
        return threshold_utility(t_star), {
            **info, "threshold_set": tset, "worst_case_scheme": scheme.tolist(), "worst_case_value": worst,
            "source": f"not identified by a crossing of 1/2 inside the probed range: the step thresholds the data "
                      f"leave open, [{tset['lo']:.3f}, {tset['hi']:.3f}], at their worst case {t_star:.3f}"}
    ts = sorted({interval["lo"], interval["point"], interval["hi"]})
    scheme, worst, t_star = worst_case_scheme(cfg.prior, rg.TARGETS[cfg.target], ts)
    return threshold_utility(t_star), {**info, "source": f"graded belief: threshold {t_star:.3f}, the worst case "
                                                         f"over the 95% interval [{interval['lo']:.3f}, "
                                                         f"{interval['hi']:.3f}]",
                                       "worst_case_scheme": scheme.tolist(), "worst_case_value": worst}


def revealed_U(table: ResponseTable, smoothing: float) -> np.ndarray:
    """``U[w, a] = log P(a | told w)`` from the expected told counts (additive smoothing)."""
    from llm_bridge.games.receiver_models import revealed_utility
    submits = table.told.sum(axis=0)                      # expected submissions per state
    counts = np.stack([submits, table.told.shape[0] - submits], axis=1)
    return revealed_utility(counts, smoothing)


# ---------------------------------------------------------------- exact payoffs and regret
def expected_payoff(P: np.ndarray, V: np.ndarray, prior: np.ndarray, scheme: np.ndarray) -> float:
    """The Advisor's expected payoff of ``scheme`` when the Receiver submits with probability ``P[w, s]``."""
    return float(_payoffs(np.asarray(P)[None], V, prior, scheme)[0])


def deterministic_schemes(m: int = 2, n: int = 2) -> list[np.ndarray]:
    """Every scheme that sends one signal per state (the vertices: a linear objective's optimum is one)."""
    out = []
    for choice in itertools.product(range(n), repeat=m):
        s = np.zeros((m, n))
        s[np.arange(m), choice] = 1.0
        out.append(s)
    return out


def nearest(schemes: list[np.ndarray], scheme: np.ndarray) -> int:
    """Index of the scheme closest to ``scheme`` in l1 (ties: the first)."""
    return int(np.argmin([np.abs(s - scheme).sum() for s in schemes]))


LEARNERS = ("robust", "action-informed", "behavioural", "full-revelation")


def make_learner(name: str, cfg: OnlineConfig, mode: str, seed: int):
    from persuasion.online import ActionInformedPersuader, BehaviouralPersuader, FullRevelation, RobustPersuader
    if name == "robust":
        return RobustPersuader(delta=cfg.delta)
    if name == "action-informed":
        return ActionInformedPersuader(delta=cfg.delta)
    if name == "behavioural":
        return BehaviouralPersuader(seed=seed, arms=cfg.grid_schemes() if mode == INFORMED else None)
    if name == "full-revelation":
        return FullRevelation()
    raise ValueError(f"make_learner(): name must be one of {list(LEARNERS)}; got {name!r}")


@dataclass(eq=False)
class Trace:
    """One run: per round the problem, state, signal, action, payoff, and the exact pseudo-regrets."""

    learner: str
    mode: str
    seed: int
    problems: np.ndarray
    states: np.ndarray
    signals: np.ndarray
    actions: np.ndarray
    payoffs: np.ndarray
    arms: np.ndarray                      # the scheme committed (index into the candidates)
    regret: np.ndarray                    # per round: best fixed scheme over the pool minus this round's scheme
    hindsight_regret: np.ndarray          # cumulative: best fixed scheme on the problems that arrived, minus ours
    best_value: float
    candidates: list = field(default_factory=list)
    candidate_values: list = field(default_factory=list)   # each candidate's expected payoff over the pool

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)


def play(table: ResponseTable, learner, V: np.ndarray, U: np.ndarray, cfg: OnlineConfig, mode: str, T: int,
         seed: int) -> Trace:
    """Run ``learner`` for ``T`` rounds against the Receiver's recorded responses (exact regret).

    Signal-only: the response to recommendation ``s`` on problem ``i`` in state ``w`` is
    ``table.signal[i, w, s]`` whatever the scheme.  Informed: the learner's scheme is rounded to the
    nearest grid scheme, which is what the Receiver is told; its responses are ``table.informed``.
    """
    from persuasion.online import GameView
    if mode not in MODES:
        raise ValueError(f"play(): mode must be one of {list(MODES)}; got {mode!r}")
    prior = cfg.prior
    if mode == SIGNAL_ONLY:
        responses, candidates = table.signal, deterministic_schemes()
    else:
        if table.informed.shape[0] == 0:
            raise ValueError("play(): the table has no informed passes (n_informed = 0)")
        responses, candidates = table.informed, cfg.grid_schemes()
    n = responses.shape[0]

    mean_P = responses.mean(axis=0)
    values = np.array([expected_payoff(mean_P if mode == SIGNAL_ONLY else mean_P[k], V, prior, c)
                       for k, c in enumerate(candidates)])
    value_of_played = (lambda arm, played: expected_payoff(mean_P, V, prior, played)) if mode == SIGNAL_ONLY \
        else (lambda arm, played: values[arm])
    view = GameView(V, U, rg.STATES, rg.ACTIONS)
    learner.reset(view, T)
    rng = np.random.default_rng([seed, 104729])
    cols = {k: np.zeros(T, dtype=np.int64) for k in ("problems", "states", "signals", "actions", "arms")}
    payoffs, regret, ours = np.zeros(T), np.zeros(T), np.zeros(T)
    per_candidate = np.zeros((T, len(candidates)))       # each candidate's expected payoff on round t's problem
    t = 1
    while t <= T:
        scheme = np.asarray(learner.commit(t), dtype=float)
        arm = -1 if mode == SIGNAL_ONLY else nearest(candidates, scheme)
        played = scheme if mode == SIGNAL_ONLY else candidates[arm]
        end = int(min(T, learner.next_update(t) - 1))
        idx, k = slice(t - 1, end), end - t + 1
        problems = rng.integers(0, n, size=k)
        states = (rng.random(k) >= prior[0]).astype(np.int64)            # 0 correct with the base rate
        signals = (rng.random(k) >= played[states, 0]).astype(np.int64)   # 0 = recommend submit
        P = responses[problems] if mode == SIGNAL_ONLY else responses[problems, arm]
        actions = (rng.random(k) >= P[np.arange(k), states, signals]).astype(np.int64)   # 0 = submit
        utilities = V[states, actions]
        for name, v in (("problems", problems), ("states", states), ("signals", signals), ("actions", actions)):
            cols[name][idx] = v
        cols["arms"][idx] = arm
        payoffs[idx] = utilities
        regret[idx] = values.max() - value_of_played(arm, played)
        for c, cand in enumerate(candidates):
            per_candidate[idx, c] = _payoffs(responses[problems] if mode == SIGNAL_ONLY else responses[problems, c],
                                             V, prior, cand)
        ours[idx] = _payoffs(P, V, prior, played)
        learner.observe(t, states, signals, actions, utilities)
        t = end + 1
    hindsight = np.max(np.cumsum(per_candidate, axis=0), axis=1) - np.cumsum(ours)
    return Trace(learner.name, mode, seed, cols["problems"], cols["states"], cols["signals"], cols["actions"],
                 payoffs, cols["arms"], regret, hindsight, float(values.max()), [c.tolist() for c in candidates],
                 values.tolist())


def _payoffs(P: np.ndarray, V: np.ndarray, prior: np.ndarray, scheme: np.ndarray) -> np.ndarray:
    """:func:`expected_payoff` for a stack of response tables ``P[r, w, s]`` (one per round)."""
    per_signal = P * V[None, :, [0]] + (1 - P) * V[None, :, [1]]     # expected V after signal s in state w
    return np.einsum("w,rws,ws->r", prior, per_signal, scheme)


# ---------------------------------------------------------------- the study: every learner, every seed, exact regret
def checkpoints(T: int, points: int = 100) -> np.ndarray:
    return np.unique(np.linspace(1, T, points).round().astype(int))


def _band(curves: np.ndarray, reps: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile bootstrap band of the mean over runs (rows), at every column."""
    idx = rng.integers(0, curves.shape[0], size=(reps, curves.shape[0]))
    means = curves[idx].mean(axis=1)
    return np.percentile(means, 2.5, axis=0), np.percentile(means, 97.5, axis=0)


def study(table: ResponseTable, cfg: OnlineConfig, progress=None) -> dict:
    """Every learner x seed x mode against the table; curves with bands, the theorem's bound beside them."""
    from persuasion import PersuasionGame, solve
    from persuasion.bounds import regret_bound
    V = rg.TARGETS[cfg.target]
    U, receiver_model = model_utility(table, cfg)
    model = PersuasionGame(cfg.prior, V, U, states=rg.STATES, actions=rg.ACTIONS)
    rng = np.random.default_rng([cfg.seed, 31337])
    out = {"config": asdict(cfg), "U": U.tolist(), "receiver_model": receiver_model,
           "modelled_optimum": np.asarray(solve(model).scheme, float).tolist(),
           "table": {"pool": len(table.pool_ids), "estimation": len(table.estimation_ids),
                     "decisions": table.decisions, "off_format": table.off_format,
                     "mean_p_submit": {"alone": table.alone.mean(axis=0).tolist(),
                                       "recommend": table.signal.mean(axis=0).tolist(),
                                       "told": table.told.mean(axis=0).tolist()},
                     "belief_response": {"levels": list(table.belief_levels),
                                         "p_submit": table.belief.mean(axis=(0, 1)).tolist(),
                                         "by_state": table.belief.mean(axis=0).tolist()}},
           "modes": {}}
    out["table"]["recommendation_effect"] = paired_effects(table)
    modes = [SIGNAL_ONLY] + ([INFORMED] if cfg.n_informed else [])
    for mode in modes:
        T = cfg.rounds if mode == SIGNAL_ONLY else cfg.informed_rounds
        ts = checkpoints(T)
        res = {"T": T, "t": ts.tolist(), "learners": {}}
        jobs = [(name, s) for name in cfg.learners for s in range(cfg.seeds)]
        traces: dict[str, list[Trace]] = {}
        for name, s in (progress(jobs, desc=mode) if progress else jobs):
            traces.setdefault(name, []).append(play(table, make_learner(name, cfg, mode, s), V, U, cfg, mode, T, s))
        first = next(iter(traces.values()))[0]
        cands, vals = first.candidates, first.candidate_values
        res["candidates"] = [{"scheme": c, "value": v} for c, v in zip(cands, vals)]
        res["best_value"], res["best_scheme"] = first.best_value, cands[int(np.argmax(vals))]
        for name, trs in traces.items():
            cum = np.cumsum([tr.regret for tr in trs], axis=1)
            hind = np.array([tr.hindsight_regret for tr in trs])
            lo, hi = _band(cum[:, ts - 1], cfg.bootstrap, rng)
            hlo, hhi = _band(hind[:, [-1]], cfg.bootstrap, rng)
            q = T // 4
            res["learners"][name] = {
                "mean": cum[:, ts - 1].mean(axis=0).tolist(), "lo": lo.tolist(), "hi": hi.tolist(),
                "final": {"mean": float(cum[:, -1].mean()), "lo": float(lo[-1]), "hi": float(hi[-1])},
                "hindsight_final": {"mean": float(hind[:, -1].mean()), "lo": float(hlo[0]), "hi": float(hhi[0])},
                "per_round_first_quarter": float(np.mean([tr.regret[:q].mean() for tr in trs])),
                "per_round_last_quarter": float(np.mean([tr.regret[-q:].mean() for tr in trs])),
                "mean_payoff": float(np.mean([tr.payoffs.mean() for tr in trs])),
                "submit_rate": float(np.mean([(tr.actions == 0).mean() for tr in trs])),
            }
        b = regret_bound(model, ts, cfg.delta)
        res["bound"] = {"value": np.asarray(b.value).tolist(), "within_theorem": bool(b.within_theorem),
                        "reason": b.reason}
        out["modes"][mode] = res
    return out


def paired_effects(table: ResponseTable) -> dict:
    """Per state, P(submit) after 'submit' minus after 'decline', and the told-correct minus told-wrong gap:
    mean over problems, 95% t interval, paired t-test p (the problems are the pairs)."""
    from scipy import stats

    def effect(d):
        d = np.asarray(d, float)
        if d.size < 2 or np.allclose(d, d[0]):
            return {"n": int(d.size), "mean": float(d.mean()) if d.size else None, "ci": None, "p": None,
                    "sd": float(d.std(ddof=1)) if d.size > 1 else None}
        se = d.std(ddof=1) / np.sqrt(d.size)
        h = float(stats.t.ppf(0.975, d.size - 1) * se)
        return {"n": int(d.size), "mean": float(d.mean()), "ci": [float(d.mean() - h), float(d.mean() + h)],
                "p": float(stats.ttest_1samp(d, 0.0).pvalue), "sd": float(d.std(ddof=1))}
    out = {rg.STATES[w]: effect(table.signal[:, w, 0] - table.signal[:, w, 1]) for w in range(2)}
    out["told"] = effect(table.told[:, 0] - table.told[:, 1])
    out["submit_after_submit_correct_minus_wrong"] = effect(table.signal[:, 0, 0] - table.signal[:, 1, 0])
    return out


def report_markdown(summary: dict, receiver: str) -> str:
    """The study's tables, for the results page."""
    cfg = summary["config"]
    tb = summary["table"]
    lines = [f"### Online play against {receiver} ({cfg['target']} target, base rate {cfg['base_rate']})", "",
             f"Response table: {tb['pool']} pool problems, {tb['estimation']} estimation problems, "
             f"{tb['decisions']} decisions ({tb['off_format']} off format). Mean P(submit) [correct, wrong]: "
             f"alone {np.round(tb['mean_p_submit']['alone'], 3).tolist()}, told the verdict "
             f"{np.round(tb['mean_p_submit']['told'], 3).tolist()}, after 'submit'/'decline' "
             f"{np.round(tb['mean_p_submit']['recommend'], 3).tolist()} (rows: state; columns: recommendation).",
             "Paired by problem, P(submit) after 'submit' minus after 'decline': " + "; ".join(
                 f"{w} proposals {e['mean']:+.3f} [{e['ci'][0]:+.3f}, {e['ci'][1]:+.3f}], p = {e['p']:.2g} (SD {e['sd']:.3f})"
                 for w, e in ((w, tb["recommendation_effect"][w]) for w in rg.STATES) if e["ci"]) +
             f"; correct minus wrong after 'submit': "
             f"{tb['recommendation_effect']['submit_after_submit_correct_minus_wrong']['mean']:+.3f}.",
             "Graded-belief probe (told the probability that the proposal is correct), mean P(submit): " +
             ", ".join(f"{q:g}: {v:.3f}" for q, v in zip(tb["belief_response"]["levels"],
                                                       tb["belief_response"]["p_submit"])) + ".",
             f"Receiver model given to the robust learners: {summary['receiver_model']['source']}; "
             f"U = {np.round(summary['U'], 3).tolist()}; its optimal scheme "
             f"{np.round(summary['modelled_optimum'], 3).tolist()}.", ""]
    for mode, res in summary["modes"].items():
        lines += [f"**{mode}**, T = {res['T']}, {cfg['seeds']} seeds: best fixed scheme "
                  f"{np.round(res['best_scheme'], 3).tolist()} worth {res['best_value']:.4f} per round; "
                  f"the theorem's bound for the modelled Receiver at T: {res['bound']['value'][-1]:.1f} "
                  f"({res['bound']['reason']}).", "",
                  "| learner | regret at T (95% band) | hindsight regret at T | per-round regret, first / last quarter | "
                  "mean payoff | submit rate |", "|---|---|---|---|---|---|"]
        for name, r in res["learners"].items():
            f, h = r["final"], r["hindsight_final"]
            lines.append(f"| {name} | {f['mean']:.1f} [{f['lo']:.1f}, {f['hi']:.1f}] | {h['mean']:.1f} "
                         f"[{h['lo']:.1f}, {h['hi']:.1f}] | {r['per_round_first_quarter']:.4f} / "
                         f"{r['per_round_last_quarter']:.4f} | {r['mean_payoff']:.3f} | {r['submit_rate']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def table_settings(cfg: OnlineConfig) -> dict:
    """The settings a response table depends on (the log's fingerprint): not the rounds, seeds or learners."""
    keep = ("gsm_seed", "n_estimation", "n_pool", "n_informed", "informed_grid", "base_rate", "seed")
    return {k: getattr(cfg, k) for k in keep}


def run(receiver, cfg: OnlineConfig, receiver_name: str, progress=None, stem: str = "report") -> dict:
    """Build (or resume) the response table, play every learner, write ``STEM.json`` and ``STEM.md``."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    log = RunLog(out / "responses.jsonl", {"receiver": receiver_name, **table_settings(cfg)})
    est, pool = load_pool(cfg)
    table = build_table(receiver, cfg, log, est, pool, progress=progress)
    summary = study(table, cfg, progress=progress)
    summary["receiver"] = receiver_name
    from persuasion.atomic import write_atomic
    write_atomic(out / f"{stem}.json", (json.dumps(summary, indent=1) + "\n").encode())
    write_atomic(out / f"{stem}.md", (report_markdown(summary, receiver_name) + "\n").encode())
    return summary


# ---------------------------------------------------------------- a Receiver model the data identify
def _logit(p):
    p = np.clip(np.asarray(p, float), 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def _fit(loss, x0):
    from scipy.optimize import minimize
    res = minimize(loss, x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000})
    return res.x, float(res.fun)


def fit_belief_models(levels, p_submit) -> dict:
    """Belief-response models fitted to a graded-belief probe by maximum likelihood (soft labels).

    ``levels[l]`` is a stated posterior, ``p_submit[r, l]`` the Receiver's P(submit) on prompt ``r`` at
    that level.  Models: *quantal-response Bayesian* ``P = sigmoid(lam (mu - t))`` (a Bayesian who
    submits above the threshold ``t``, with logit noise); *biased Bayes* ``P = sigmoid(a logit(mu) + b)``
    (a distorted posterior, Grether's form), threshold ``sigmoid(-b / a)``.  Each reports its
    log-likelihood per decision, its threshold, and ``identified``: False when the responses do not
    cross 1/2 inside the probed range (the threshold is then only bounded by it).
    """
    mu = np.asarray(levels, float)
    y = np.asarray(p_submit, float).reshape(-1, mu.size)
    ybar = y.mean(axis=0)

    def nll(z):
        z = np.clip(z, -30, 30)
        return -float(np.mean(y * -np.logaddexp(0, -z) + (1 - y) * -np.logaddexp(0, z)))

    (lam, t), qre = _fit(lambda th: nll(th[0] * (mu[None] - th[1])), [5.0, 0.5])
    (a, b), bb = _fit(lambda th: nll(th[0] * _logit(mu)[None] + th[1]), [1.0, 0.0])
    above = ybar >= 0.5
    identified = bool(above.any() and (~above).any())
    return {"levels": mu.tolist(), "mean_p_submit": ybar.tolist(), "identified": identified,
            "crossing": _crossing(mu, ybar),
            "qre": {"lambda": float(lam), "threshold": float(t), "loglik_per_decision": -qre},
            "biased_bayes": {"a": float(a), "b": float(b),
                             "threshold": float(1 / (1 + np.exp(np.clip(b / a, -700, 700)))) if abs(a) > 1e-9 else None,
                             "loglik_per_decision": -bb}}


def _crossing(mu: np.ndarray, ybar: np.ndarray) -> float | None:
    """Where the mean response first crosses 1/2 (linear interpolation), or None if it never does."""
    for l in range(mu.size - 1):
        lo, hi = ybar[l] - 0.5, ybar[l + 1] - 0.5
        if lo == 0:
            return float(mu[l])
        if lo * hi < 0:
            return float(mu[l] + (mu[l + 1] - mu[l]) * lo / (lo - hi))
    return float(mu[-1]) if ybar[-1] == 0.5 else None


def threshold_interval(levels, p_submit, reps: int = 2000, seed: int = 0) -> dict:
    """The belief threshold (mean response crossing 1/2) with a percentile bootstrap over prompts.

    Replicates in which the response never crosses 1/2 are counted: their share is reported, and the
    interval is then the probed range's end it lies beyond (the threshold is not identified there).
    """
    mu = np.asarray(levels, float)
    y = np.asarray(p_submit, float).reshape(-1, mu.size)
    rng = np.random.default_rng(seed)
    cross, never = [], 0
    for _ in range(reps):
        c = _crossing(mu, y[rng.integers(0, y.shape[0], y.shape[0])].mean(axis=0))
        if c is None:
            never += 1
        else:
            cross.append(c)
    point = _crossing(mu, y.mean(axis=0))
    if not cross:
        return {"point": point, "lo": None, "hi": None, "never_crosses": never / reps}
    return {"point": point, "lo": float(np.percentile(cross, 2.5)), "hi": float(np.percentile(cross, 97.5)),
            "never_crosses": never / reps}
