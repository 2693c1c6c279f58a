"""Models of how a Receiver responds to a committed scheme, and the scheme each one calls for.

The core's LP assumes a Bayesian Receiver that best responds to its
posterior.  Small LLM Receivers are not that (DESIGN.md section 4a), so the
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

import numpy as np

from persuasion import PersuasionGame, solve


def posteriors(prior: np.ndarray, scheme: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signal probabilities and P(state 0 | signal) for a 2x2 scheme (nan where a signal has no mass)."""
    joint = prior[:, None] * scheme
    ps = joint.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        post = np.where(ps > 0, joint[0] / ps, np.nan)
    return ps, post


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


@dataclass
class BayesianReceiver:
    U: np.ndarray                       # (2, 2) revealed utility; row state, column action (submit, decline)
    V: np.ndarray                       # Advisor payoffs, for tie-breaking
    name: str = "bayesian"

    def p_submit(self, s: int, post0: float) -> float:
        mu = np.array([post0, 1 - post0])
        u, v = mu @ self.U, mu @ self.V
        if abs(u[0] - u[1]) <= 1e-12:
            return float(v[0] >= v[1])
        return float(u[0] > u[1])

    def optimal_scheme(self, prior) -> np.ndarray:
        sol = solve(PersuasionGame(prior, self.V, self.U, ["correct", "wrong"], ["submit", "decline"]))
        return np.asarray(sol.scheme, float)


@dataclass
class CredulousReceiver:
    V: np.ndarray
    name: str = "credulous"

    def p_submit(self, s: int, post0: float) -> float:
        return 1.0 if s == 0 else 0.0

    def optimal_scheme(self, prior) -> np.ndarray:
        best = np.argmax(self.V, axis=1)
        return np.eye(2)[best]


@dataclass
class FittedReceiver:
    """P(submit | recommendation s, posterior p) = sigmoid(a_s + b_s p)."""

    V: np.ndarray
    coef: dict = field(default_factory=dict)   # s -> (a, b)
    name: str = "fitted"

    @classmethod
    def fit(cls, V, recs, post, submitted, l2: float = 1e-2) -> "FittedReceiver":
        from scipy.optimize import minimize
        recs, post, y = np.asarray(recs), np.asarray(post, float), np.asarray(submitted, float)
        coef = {}
        for s in (0, 1):
            m = recs == s
            if not m.any():
                coef[s] = (0.0, 0.0)
                continue

            def loss(th, x=post[m], t=y[m]):
                z = th[0] + th[1] * x
                return float(np.sum(np.logaddexp(0, z) - t * z) + l2 * (th @ th))
            coef[s] = tuple(minimize(loss, np.zeros(2), method="BFGS").x.tolist())
        return cls(np.asarray(V, float), coef)

    def p_submit(self, s: int, post0: float) -> float:
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
    """Logit revealed preference: ``U[w, a] = log P(a | told w)`` from choice counts (additive smoothing)."""
    c = np.asarray(counts, float) + smoothing
    return np.log(c / c.sum(axis=1, keepdims=True))


def case_of(prior, V, U, tol: float = 1e-9) -> str:
    """'aligned', 'binds' or 'does not help' (DESIGN.md section 4), for a Bayesian Receiver with ``U``."""
    from persuasion import first_best_value, full_revelation_value, no_information_value
    g = PersuasionGame(prior, V, U, ["correct", "wrong"], ["submit", "decline"])
    fr, ni, fb = full_revelation_value(g), no_information_value(g), first_best_value(g)
    if abs(fr - fb) <= tol:
        return "aligned"
    return "binds" if float(solve(g).value) > max(fr, ni) + tol else "does not help"


def model_case(model, prior, V, tol: float = 0.01, **opt) -> tuple[str, float]:
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
    if abs(fr - first_best) <= 1e-9:
        return "aligned", best
    return ("binds" if best > max(fr, ni) + tol else "does not help"), best
