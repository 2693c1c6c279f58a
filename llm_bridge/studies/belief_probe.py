"""Does a Receiver act on the posterior when it works the posterior out?  The step-by-step belief probe.

The graded-belief probe of :mod:`llm_bridge.studies.online_play` tells the Receiver a posterior outright
("the probability that the proposal is correct is 40%") and records P(submit); both Qwen Receivers gave a
nearly flat curve.  This probe asks whether that changes when the posterior is not stated but implied,
and when the Receiver is asked to compute it.  For every probed posterior ``t`` the study picks the
scheme whose "submit" recommendation leaves exactly that posterior at the stated base rate
(:func:`scheme_for_posterior`), and the Receiver sees one review-game problem and proposal under three
variants:

* ``bare``: the posterior stated outright (the online study's prompt);
* ``stated``: the base rate, the scheme in words and the recommendation "submit" (the informed Receiver
  of the review game), then the Yes/No question;
* ``stepwise``: the same, with an instruction to work out the posterior step by step with Bayes' rule,
  write it as ``Probability: N%``, then end with ``Decision: Yes`` or ``Decision: No``.  The Receiver
  writes (greedy); its P(submit) is read at the point where it writes its decision (after
  ``Decision:``, appended if it never wrote it), and the probability it wrote is parsed.

For a Bayesian Receiver with a decision threshold, P(submit) is a step in ``t`` whatever the variant;
what the study measures is how far each variant's curve is from a step, and how far the posterior the
Receiver writes is from the true one.  The paired comparison is per prompt row (problem x state): the
*sensitivity* ``mean P(submit | t >= 0.6) - mean P(submit | t <= 0.4)``, stepwise against bare and
stated, with a bootstrap interval and the Wilcoxon signed-rank test.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from llm_bridge.games import review_game as rg
from persuasion.atomic import write_atomic

VARIANTS = ("bare", "stated", "stepwise")
STEPWISE_ASK = ("Before you decide, work out step by step, with Bayes' rule, the probability that the proposed "
                "answer is correct given the advisor's message. Write it on a line 'Probability: N%'. Then end "
                "with one line 'Decision: Yes' (submit the proposed answer) or 'Decision: No'.")
DECISION = "Decision:"
OPTIONS = (" Yes", " No")          # the words after "Decision:" (the space belongs to the word's token)


@dataclass
class BeliefProbeConfig:
    """Settings of one probe (the command line gives them)."""

    out: str                                            # output folder (log, report)
    n_problems: int = 15                                # GSM-Symbolic problems, both proposals each
    posteriors: tuple = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # the posteriors probed
    base_rate: float = 0.3                              # the stated P(the proposal is correct)
    gsm_seed: int = 11                                  # the online study's problems (its estimation split)
    seed: int = 0                                       # keyed draws of the proposals
    max_new_tokens: int = 256                           # the stepwise Receiver's reasoning, at most
    bootstrap: int = 2000

    def __post_init__(self):
        from llm_bridge.models.field_rules import integers_at_least, numbers_in, probabilities
        integers_at_least(self, 2, "n_problems")
        numbers_in(self, "(0, 1)", "base_rate")
        self.posteriors = probabilities(self, "posteriors", at_least=2, increasing=True)
        if not (self.posteriors[0] <= 0.4 + 1e-9 and self.posteriors[-1] >= 0.6 - 1e-9):   # what sensitivity() reads
            raise ValueError(f"BeliefProbeConfig: posteriors must include one <= 0.4 and one >= 0.6 (the report's "
                             f"sensitivity compares them); got {self.posteriors!r}")
        integers_at_least(self, 0, "gsm_seed", "seed")
        integers_at_least(self, 1, "bootstrap")
        integers_at_least(self, 16, "max_new_tokens")


def scheme_for_posterior(t: float, base_rate: float) -> np.ndarray:
    """The scheme (rows: correct, wrong; columns: recommend submit, decline) whose "submit" leaves posterior
    ``t`` that the proposal is correct, at prior ``base_rate``.  At or above the prior, "submit" is always
    sent for a correct proposal and sometimes for a wrong one; below it, always for a wrong one."""
    if not 0 <= t <= 1:
        raise ValueError(f"scheme_for_posterior: t must be in [0, 1]; got {t!r}")
    if not 0 < base_rate < 1:
        raise ValueError(f"scheme_for_posterior: base_rate must be in (0, 1); got {base_rate!r}")
    p = base_rate
    if t >= p:
        a, b = 1.0, (p * (1 - t) / ((1 - p) * t))
    else:
        a, b = (1 - p) * t / (p * (1 - t)), 1.0
    return np.array([[a, 1 - a], [b, 1 - b]])


def posterior_after_submit(scheme: np.ndarray, base_rate: float) -> float:
    """P(correct | "submit") under ``scheme`` (Bayes' rule; the independent check of the construction)."""
    num = base_rate * scheme[0, 0]
    return float(num / (num + (1 - base_rate) * scheme[1, 0]))


def _level(t: float) -> str:
    return f"{t:g}"


def prompts(item: rg.ReviewItem, cfg: BeliefProbeConfig) -> dict:
    """Variant -> level -> tail (after :func:`llm_bridge.games.review_game.head`)."""
    p, prior = item.problem, np.array([cfg.base_rate, 1 - cfg.base_rate])
    out = {v: {} for v in VARIANTS}
    for t in cfg.posteriors:
        statement = rg.scheme_statement(scheme_for_posterior(t, cfg.base_rate), prior, p.task)
        message = rg.RECOMMEND["submit"]
        out["bare"][_level(t)] = rg.message_tail(p, cfg.seed, None, fact=rg.belief_text(t))
        out["stated"][_level(t)] = rg.message_tail(p, cfg.seed, message, statement)
        out["stepwise"][_level(t)] = rg.message_tail(p, cfg.seed, message, statement, ask=STEPWISE_ASK)
    return out


_PROB = re.compile(r"probability\s*(?:is|:|=)?\s*\**\s*(\d+(?:\.\d+)?)\s*%", re.IGNORECASE)


def written_probability(text: str) -> float | None:
    """The last probability the Receiver wrote as 'Probability: N%' (or 'probability is N%'), in [0, 1]."""
    found = _PROB.findall(text)
    if not found:
        return None
    v = float(found[-1]) / 100
    return v if 0 <= v <= 1 else None


def reasoning_until_decision(text: str) -> tuple[str, bool]:
    """The Receiver's text up to and including its first 'Decision:', and whether it wrote one (if not,
    the whole text followed by a new line and 'Decision:')."""
    i = text.find(DECISION)
    if i >= 0:
        return text[:i + len(DECISION)], True
    return text.rstrip() + "\n" + DECISION, False


def load_items(cfg: BeliefProbeConfig) -> list:
    """(correct item, wrong item) per problem: the first problems of the online study's estimation split."""
    from llm_bridge.studies.online_play import OnlineConfig, load_pool
    online = OnlineConfig(out="", gsm_seed=cfg.gsm_seed, n_estimation=cfg.n_problems, n_pool=1, seed=cfg.seed)
    return load_pool(online)[0]


def run_probe(receiver, cfg: BeliefProbeConfig, receiver_name: str, progress=None) -> dict:
    """Every prompt not yet in ``OUT/log.jsonl`` (resumable), then the report (``OUT/report.json``).
    ``receiver=None`` reports from the log alone, and refuses if the log lacks an answer."""
    from llm_bridge.models.language_model import SamplingConfig
    from .run_log import RunLog
    out = Path(cfg.out)
    log = RunLog(out / "log.jsonl", {**asdict(cfg), "out": None, "receiver": receiver_name,
                                      "stepwise_ask": STEPWISE_ASK})
    pairs = load_items(cfg)
    items = [it for pair in pairs for it in pair]
    if receiver is None:
        missing = [f"{it.key}|{v}|{lv}" for it in items for v, tails in prompts(it, cfg).items() for lv in tails
                   if f"{it.key}|{v}|{lv}" not in log.done]
        if missing:
            raise ValueError(f"run_probe: receiver is None but {len(missing)} answers are not in {out / 'log.jsonl'} "
                             f"(the first: {missing[0]!r})")
        items = []
    for item in (progress(items) if progress and items else items):
        tails = prompts(item, cfg)
        lt = rg.letters(item.problem, cfg.seed)
        for variant in ("bare", "stated"):
            todo = {lv: t for lv, t in tails[variant].items() if f"{item.key}|{variant}|{lv}" not in log.done}
            if todo:
                choices = receiver.choose(rg.head(item), list(todo.values()), options=sorted(lt.values()))
                log.add_many([{"key": f"{item.key}|{variant}|{lv}", "problem_id": item.problem.id,
                               "state": rg.STATES[item.state], "variant": variant, "level": float(lv),
                               "p_submit": ch.probs[lt["submit"]], "on_format": ch.on_format}
                              for lv, ch in zip(todo, choices)])
        for lv, tail in tails["stepwise"].items():
            key = f"{item.key}|stepwise|{lv}"
            if key in log.done:
                continue
            prompt = rg.head(item) + tail
            g = receiver.lm.generate_scored([prompt], SamplingConfig(max_new_tokens=cfg.max_new_tokens))[0]
            upto, wrote = reasoning_until_decision(g.text)
            ch = receiver.choose_after(prompt, upto, OPTIONS)
            log.add({"key": key, "problem_id": item.problem.id, "state": rg.STATES[item.state],
                     "variant": "stepwise", "level": float(lv), "p_submit": ch.probs[OPTIONS[0]],
                     "on_format": ch.on_format, "output": g.text, "n_tokens": g.n_tokens,
                     "wrote_decision": wrote, "written_probability": written_probability(upto)})
    rep = report(log.done, pairs, cfg, receiver_name)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "report.json", json.dumps(rep, indent=1).encode())
    write_atomic(out / "report.md", markdown(rep).encode())
    return rep


def response_matrix(done: dict, pairs, cfg: BeliefProbeConfig, variant: str) -> np.ndarray:
    """P(submit)[row, level] for one variant; rows are (problem, state) in the order of ``pairs``."""
    return np.array([[done[f"{it.key}|{variant}|{_level(t)}"]["p_submit"] for t in cfg.posteriors]
                     for pair in pairs for it in pair])


def sensitivity(y: np.ndarray, levels) -> np.ndarray:
    """Per row: mean P(submit) at posteriors >= 0.6 minus at posteriors <= 0.4."""
    mu = np.asarray(levels, float)
    hi, lo = mu >= 0.6 - 1e-9, mu <= 0.4 + 1e-9
    if not hi.any() or not lo.any():
        raise ValueError(f"sensitivity: levels need one posterior >= 0.6 and one <= 0.4; got {list(mu)}")
    return y[:, hi].mean(axis=1) - y[:, lo].mean(axis=1)


def paired_difference(a: np.ndarray, b: np.ndarray, reps: int, seed: int) -> dict:
    """Mean of ``a - b`` over rows, a percentile bootstrap interval, and the Wilcoxon signed-rank p."""
    from scipy.stats import wilcoxon
    d = np.asarray(a, float) - np.asarray(b, float)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, d.size, (reps, d.size))].mean(axis=1)
    p = float(wilcoxon(d).pvalue) if np.any(np.abs(d) > 1e-12) else 1.0
    return {"mean": float(d.mean()), "lo": float(np.percentile(boots, 2.5)), "hi": float(np.percentile(boots, 97.5)),
            "sd": float(d.std(ddof=1)), "n": int(d.size), "wilcoxon_p": p}


def report(done: dict, pairs, cfg: BeliefProbeConfig, receiver_name: str) -> dict:
    from .online_play import fit_belief_models, threshold_interval
    from .stats import holm
    levels = list(cfg.posteriors)
    curves, sens = {}, {}
    for v in VARIANTS:
        y = response_matrix(done, pairs, cfg, v)
        sens[v] = sensitivity(y, levels)
        curves[v] = {"mean_p_submit": y.mean(axis=0).tolist(),
                     "by_state": {s: y[k::2].mean(axis=0).tolist() for k, s in enumerate(rg.STATES)},
                     "models": fit_belief_models(levels, y),
                     "threshold": threshold_interval(levels, y, reps=cfg.bootstrap, seed=cfg.seed),
                     "sensitivity": float(sens[v].mean()), "rows": y.tolist()}
    tests = {f"stepwise vs {v}": paired_difference(sens["stepwise"], sens[v], cfg.bootstrap, cfg.seed)
             for v in ("bare", "stated")}
    for key, adj in zip(tests, holm([t["wilcoxon_p"] for t in tests.values()])):
        tests[key]["p_holm"] = adj
    steps = [done[f"{it.key}|stepwise|{_level(t)}"] for pair in pairs for it in pair for t in cfg.posteriors]
    written = [(r["level"], r["written_probability"]) for r in steps if r["written_probability"] is not None]
    err = np.array([abs(w - t) for t, w in written])
    return {"receiver": receiver_name, "n_problems": len(pairs), "rows": 2 * len(pairs), "levels": levels,
            "base_rate": cfg.base_rate, "max_new_tokens": cfg.max_new_tokens, "curves": curves, "tests": tests,
            "stepwise": {"wrote_decision": float(np.mean([r["wrote_decision"] for r in steps])),
                         "truncated": float(np.mean([r["n_tokens"] >= cfg.max_new_tokens for r in steps])),
                         "wrote_probability": len(written) / len(steps),
                         "written_abs_error": {"median": float(np.median(err)) if err.size else None,
                                               "within_5_points": float(np.mean(err <= 0.05)) if err.size else None},
                         "written_by_level": {_level(t): [w for lv, w in written if lv == t] for t in levels}},
            "off_format": {v: float(np.mean([not done[f"{it.key}|{v}|{_level(t)}"]["on_format"]
                                             for pair in pairs for it in pair for t in levels])) for v in VARIANTS}}


def markdown(rep: dict) -> str:
    """The report as the results page shows it."""
    lv = rep["levels"]
    lines = [f"#### Belief probe, Receiver {rep['receiver']}: {rep['n_problems']} problems x 2 proposals, "
             f"base rate {rep['base_rate']:g}",
             "", "| variant | " + " | ".join(f"t = {t:g}" for t in lv) + " | sensitivity | crossing [95%] | "
             "QRE lambda | biased-Bayes a | off format |",
             "|---|" + "---|" * (len(lv) + 5)]
    for v, c in rep["curves"].items():
        th, m = c["threshold"], c["models"]
        ci = f"{th['point']:.2f} [{th['lo']:.2f}, {th['hi']:.2f}]" if th["lo"] is not None and th["point"] is not None \
            else f"never crosses 1/2 ({th['never_crosses']:.0%} of replicates)"
        lines.append(f"| {v} | " + " | ".join(f"{x:.2f}" for x in c["mean_p_submit"]) +
                     f" | {c['sensitivity']:+.3f} | {ci} | {m['qre']['lambda']:.2f} | {m['biased_bayes']['a']:.2f} | "
                     f"{rep['off_format'][v]:.2f} |")
    lines += ["", "| paired test (per row: sensitivity) | difference [95% bootstrap] | SD | Wilcoxon p | Holm |",
              "|---|---|---|---|---|"]
    for k, t in rep["tests"].items():
        lines.append(f"| {k} | {t['mean']:+.3f} [{t['lo']:+.3f}, {t['hi']:+.3f}] | {t['sd']:.3f} | "
                     f"{t['wilcoxon_p']:.2g} | {t['p_holm']:.2g} |")
    s = rep["stepwise"]
    err = s["written_abs_error"]
    lines += ["", f"Stepwise: wrote 'Decision:' in {s['wrote_decision']:.0%} of answers, cut at "
              f"{rep['max_new_tokens']} tokens in {s['truncated']:.0%}, wrote a probability in "
              f"{s['wrote_probability']:.0%}" +
              (f"; its error against the true posterior: median {err['median']:.2f}, within 5 points "
               f"{err['within_5_points']:.0%}." if err["median"] is not None else ".")]
    return "\n".join(lines) + "\n"
