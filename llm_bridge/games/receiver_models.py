"""Models of how a Receiver responds to a committed scheme, and the scheme each one calls for.

The core's LP assumes a Bayesian Receiver that best responds to its
posterior.  Small LLM Receivers are not that (docs/llm_bridge.md, The games), so the
model is chosen from data.  Every model maps a recommendation ``s`` (submit
or decline) and the posterior it induces to the probability that the
Receiver submits; for a two-state, two-action game:

* :class:`BayesianReceiver`: best response to the posterior under the
  estimated ``U`` (ties to the Advisor); its optimal scheme is the LP's.
* :class:`CredulousReceiver`: does what it is told, whatever the scheme.
  Its optimal scheme recommends the Advisor's favourite action per state.
* :class:`FittedReceiver`: logistic in the stated posterior, one curve per
  recommendation, fitted to the Receiver's choices; its optimal scheme is
  found by a grid search over the two free probabilities (the objective is
  not concave in general), refined once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Real

import numpy as np

from persuasion import PersuasionCase, PersuasionGame, case_from_values, persuasion_case, signal_posteriors, solve
from persuasion.errors import is_integer
from persuasion.solution import fields_equal


def posteriors(prior: np.ndarray, scheme: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signal probabilities and P(state 0 | signal) for a 2x2 scheme (the core's convention: a signal
    never sent has the prior as its posterior, :func:`persuasion.signal_posteriors`)."""
    ps, post = signal_posteriors(prior, scheme)
    return ps, post[:, 0]


def predicted_value(model, prior, scheme, V) -> float:
    """The Advisor's expected payoff when ``model`` answers signals of ``scheme``."""
    ps, post = posteriors(prior, scheme)
    total = 0.0
    for s in (0, 1):
        if ps[s] <= 0:
            continue
        q = model.p_submit(s, post[s])
        for w in (0, 1):
            total += prior[w] * scheme[w, s] * (q * V[w, 0] + (1 - q) * V[w, 1])
    return float(total)


@dataclass(eq=False)
class BayesianReceiver:
    U: np.ndarray                       # (2, 2) revealed utility; row state, column action (submit, decline)
    V: np.ndarray                       # Advisor payoffs, for tie-breaking
    name: str = "bayesian"

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)

    def p_submit(self, s: int, post0: float) -> float:
        mu = np.array([post0, 1 - post0])
        u, v = mu @ self.U, mu @ self.V
        if abs(u[0] - u[1]) <= 1e-12:
            return float(v[0] >= v[1])
        return float(u[0] > u[1])

    def optimal_scheme(self, prior) -> np.ndarray:
        sol = solve(PersuasionGame(prior, self.V, self.U, ["correct", "wrong"], ["submit", "decline"]))
        return np.asarray(sol.scheme, float)


@dataclass(eq=False)
class CredulousReceiver:
    V: np.ndarray
    name: str = "credulous"

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)

    def p_submit(self, s: int, post0: float) -> float:
        return 1.0 if s == 0 else 0.0

    def optimal_scheme(self, prior) -> np.ndarray:
        best = np.argmax(self.V, axis=1)
        return np.eye(2)[best]


@dataclass(eq=False)
class FittedReceiver:
    """P(submit | recommendation s, posterior p) = sigmoid(a_s + b_s p).

    A recommendation with no data has no coefficients (``coef[s] is None``): the model is then not
    identified (:attr:`identified` is False) and asking it about that recommendation raises, instead of
    answering a coin flip that an optimiser would exploit.
    """

    V: np.ndarray
    coef: dict = field(default_factory=dict)   # s -> (a, b), or None when no probe had recommendation s
    name: str = "fitted"

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)

    @property
    def identified(self) -> bool:
        """Whether every recommendation had data to fit."""
        return all(self.coef.get(s) is not None for s in (0, 1))

    @classmethod
    def fit(cls, V, recs, post, submitted, l2: float = 1e-2) -> "FittedReceiver":
        from scipy.optimize import minimize
        recs, post, y = np.asarray(recs), np.asarray(post, float), np.asarray(submitted, float)
        coef = {}
        for s in (0, 1):
            m = recs == s
            if not m.any():
                coef[s] = None
                continue

            def loss(th, x=post[m], t=y[m]):
                z = th[0] + th[1] * x
                return float(np.sum(np.logaddexp(0, z) - t * z) + l2 * (th @ th))
            coef[s] = tuple(minimize(loss, np.zeros(2), method="BFGS").x.tolist())
        return cls(np.asarray(V, float), coef)

    def p_submit(self, s: int, post0: float) -> float:
        if self.coef.get(s) is None:
            raise ValueError(f"FittedReceiver.p_submit: recommendation s={s} had no data when fitted, so the "
                             "response to it is not identified; probe it (ReviewConfig probes) before using it")
        a, b = self.coef[s]
        return float(1 / (1 + np.exp(-(a + b * post0))))

    def optimal_scheme(self, prior, grid: int = 51) -> np.ndarray:
        best, arg = -np.inf, None
        for lo, hi, g in ((0.0, 1.0, grid), (None, None, 21)):
            if lo is None:                         # refine around the coarse optimum
                step = 1.0 / (grid - 1)
                ra = np.clip(np.linspace(arg[0] - step, arg[0] + step, g), 0, 1)
                rb = np.clip(np.linspace(arg[1] - step, arg[1] + step, g), 0, 1)
            else:
                ra = rb = np.linspace(lo, hi, g)
            for a in ra:
                for b in rb:
                    sch = np.array([[a, 1 - a], [b, 1 - b]])
                    v = predicted_value(self, prior, sch, self.V)
                    if v > best + 1e-12:
                        best, arg = v, (a, b)
        return np.array([[arg[0], 1 - arg[0]], [arg[1], 1 - arg[1]]])


def revealed_utility(counts: np.ndarray, smoothing: float = 0.5) -> np.ndarray:
    """Logit revealed preference: ``U[w, a] = log P(a | told w)`` from choice counts (additive smoothing).

    A choice never made needs ``smoothing > 0``: its utility would be ``log 0``.

    >>> revealed_utility([[3, 1], [0, 4]], smoothing=1.0).round(3).tolist()
    [[-0.405, -1.099], [-1.792, -0.182]]
    """
    counts = np.asarray(counts, float)
    if not (np.isfinite(smoothing) and smoothing >= 0) or not np.all(np.isfinite(counts) & (counts >= 0)):
        raise ValueError(f"revealed_utility(): counts and smoothing must be finite and >= 0; got smoothing "
                         f"{smoothing!r} and counts {counts.tolist()}")
    c = counts + smoothing
    if (c == 0).any():
        w, a = map(int, np.argwhere(c == 0)[0])
        raise ValueError(f"revealed_utility(): choice {a} was never made in state {w}, so its utility would be "
                         f"log 0; smoothing must be > 0; got {smoothing!r}")
    return np.log(c / c.sum(axis=1, keepdims=True))


def case_of(prior, V, U, tol: float = 1e-9) -> PersuasionCase:
    """The case (:func:`persuasion.persuasion_case`, ``tol`` relative to the Advisor's expected spread of
    ``V``) of the review game for a Bayesian Receiver with ``U``."""
    return persuasion_case(PersuasionGame(prior, V, U, ["correct", "wrong"], ["submit", "decline"]), tol)


def model_case(model, prior, V, tol: float = 0.01, **opt) -> tuple[PersuasionCase, float]:
    """The case of the game for any Receiver model, and the model's optimal value.

    'aligned' if full revelation already reaches the first best; 'binds' if
    the model's optimal scheme beats both full revelation and the better
    pooling scheme by more than ``tol`` (a point of value by default: a
    fitted response is smooth, so some scheme always gains a hair);
    otherwise 'does not help'.
    """
    prior, V = np.asarray(prior, float), np.asarray(V, float)
    first_best = float(prior @ V.max(axis=1))
    fr = predicted_value(model, prior, np.eye(2), V)
    ni = max(predicted_value(model, prior, np.eye(2)[[a, a]], V) for a in (0, 1))
    best = predicted_value(model, prior, model.optimal_scheme(prior, **opt), V)
    return case_from_values(best, fr, ni, first_best, tol, aligned_tol=1e-9), best


def threshold_utility(t: float) -> np.ndarray:
    """A Receiver utility (rows correct/wrong, columns submit/decline) whose Bayesian threshold is ``t``."""
    if isinstance(t, bool) or not isinstance(t, Real) or not 0 <= t <= 1:     # NaN gave a table of NaNs
        raise ValueError(f"threshold_utility(): t must be a belief threshold in [0, 1]; got {t!r}")
    return np.array([[1 - t, 0.0], [0.0, t]])


def worst_case_scheme(prior: np.ndarray, V: np.ndarray, thresholds) -> tuple[np.ndarray, float, float]:
    """The scheme whose worst value over Bayesian Receivers with any of ``thresholds`` is largest, that
    value, and the threshold for which the scheme is optimal.

    For a threshold Receiver a scheme is worth ``V`` under the action it takes at each signal's
    posterior (ties to the Advisor); the candidates are every optimum for one threshold in the set
    (the worst case of a persuasion scheme is the highest threshold it must clear).
    """
    from persuasion.online import evaluate_scheme
    thresholds = list(thresholds)
    if not thresholds:                                  # ended in argmax of an empty sequence
        raise ValueError("worst_case_scheme(): thresholds must hold at least one threshold; got none")
    games = [PersuasionGame(prior, V, threshold_utility(t)) for t in thresholds]
    cands = [np.asarray(solve(g).scheme, float) for g in games]
    worst = [min(evaluate_scheme(g, c).expected_utility for g in games) for c in cands]
    k = int(np.argmax(worst))
    return cands[k], float(worst[k]), float(thresholds[k])


def _step_bracket(levels: np.ndarray, submitted: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """The thresholds ``t`` whose step response (submit iff posterior >= t) disagrees with the majority at
    the fewest probed levels, as ``(lo, hi)``: the hull of the best intervals between adjacent levels."""
    mu = np.unique(levels)
    maj = np.array([np.average(submitted[levels == m], weights=weight[levels == m]) >= 0.5 for m in mu])
    edges = np.concatenate([[0.0], mu, [1.0]])
    # t in (edges[j], edges[j+1]]: the step submits at every level above index j-1
    errors = [int(np.sum(maj != (mu >= edges[j + 1]))) for j in range(mu.size + 1)]
    best = [j for j, e in enumerate(errors) if e == min(errors)]
    return float(edges[best[0]]), float(edges[best[-1] + 1])


def threshold_set(groups, levels, submitted, reps: int = 1000, seed: int = 0) -> dict:
    """The belief thresholds of a Bayesian (step) Receiver that the probe data leave open.

    ``levels[i]`` is the posterior P(correct) the Receiver held (stated, or the verdict told: 1 or 0),
    ``submitted[i]`` its choice (or P(submit)), ``groups[i]`` the problem it came from.  A step Receiver
    submits iff its posterior is at least ``t``; the data only place ``t`` between two probed levels (the
    bracket where the majority response switches), so the identified set is that bracket, widened by a
    percentile bootstrap over problems (2.5% of replicates' lower ends, 97.5% of their upper ends).  With
    perfect separation at the told verdicts and no probe between, the set is the whole ``[0, 1]``.
    """
    if not (is_integer(reps, minimum=0) and is_integer(seed)):     # 2.5 replicates failed in range()
        raise ValueError(f"threshold_set: reps must be an integer >= 0 and seed an integer; got {reps!r} and {seed!r}")
    groups, levels = np.asarray(groups), np.asarray(levels, float)
    submitted = np.asarray(submitted, float)
    if not (groups.size == levels.size == submitted.size) or levels.size == 0:
        raise ValueError(f"threshold_set: groups, levels and submitted must be non-empty and of one length, "
                         f"got {groups.size}, {levels.size}, {submitted.size}")
    for name, v in (("levels", levels), ("submitted", submitted)):   # NaN fell out of every comparison
        if not np.all((v >= 0) & (v <= 1)):
            bad = v[~((v >= 0) & (v <= 1))][0]
            raise ValueError(f"threshold_set: {name} must be probabilities in [0, 1]; got {bad}")
    ones = np.ones_like(levels)
    lo, hi = _step_bracket(levels, submitted, ones)
    out = {"point": [lo, hi], "levels": np.unique(levels).tolist()}
    if reps <= 0:
        return {**out, "lo": lo, "hi": hi}
    ids = np.unique(groups)
    rows = [np.flatnonzero(groups == g) for g in ids]
    rng = np.random.default_rng(seed)
    los, his = [], []
    for _ in range(reps):
        pick = rng.integers(0, ids.size, ids.size)
        w = np.zeros_like(levels)
        for k in pick:                                   # a problem drawn twice counts twice
            w[rows[k]] += 1
        keep = w > 0
        a, b = _step_bracket(levels[keep], submitted[keep], w[keep])
        los.append(a)
        his.append(b)
    return {**out, "lo": float(min(lo, np.percentile(los, 2.5))), "hi": float(max(hi, np.percentile(his, 97.5)))}


def threshold_grid(lo: float, hi: float, points: int = 11) -> np.ndarray:
    """Thresholds spanning ``[lo, hi]`` kept inside (0, 1), where a threshold Receiver's utility is defined."""
    if not (isinstance(lo, Real) and isinstance(hi, Real) and 0 <= lo <= hi <= 1) or not is_integer(points, minimum=1):
        raise ValueError(f"threshold_grid(): need 0 <= lo <= hi <= 1 and points an integer >= 1; got lo={lo!r}, "
                         f"hi={hi!r}, points={points!r}")                # lo > hi or NaN made a grid silently
    return np.unique(np.clip(np.linspace(lo, hi, points), 1e-3, 1 - 1e-3))
