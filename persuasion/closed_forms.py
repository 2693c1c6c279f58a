"""Closed-form optima for two special classes (DESIGN.md section 2).

* **Two states** (any number of actions): the optimum is the concave closure
  of the value function at the prior.  The Receiver's expected utility is a
  line in the belief ``p = P(state 1)``; the upper envelope of the ``n`` lines
  (``O(n log n)``) gives the beliefs where its best response changes, and the
  upper concave hull of the value function at those beliefs is the closure.
  The optimal scheme splits the prior between the two hull vertices around it.
* **Binary action, state-independent Advisor** (``n = 2`` and ``V[w, a] = v[a]``
  for every state): a fractional knapsack.  The Advisor recommends its
  preferred action in every state where the Receiver already likes it, then
  in the other states in increasing order of how much the Receiver dislikes it,
  until the obedience constraint binds (``O(m log m)``, vectorised).

Both work in floats (numpy) or exactly (``exact=True``, ``Fraction``).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from .analysis import _data, _upper_hull, best_response
from .errors import InvalidArgumentError
from .game import PersuasionGame


def is_two_state(game: PersuasionGame) -> bool:
    return game.num_states == 2


def is_binary_state_independent(game: PersuasionGame) -> bool:
    """``n == 2`` and the Advisor's utility does not depend on the state (exactly)."""
    if game.num_actions != 2:
        return False
    V = game.rational()[1] if game.is_rational else game.sender
    return bool((V == V[0:1, :]).all())


def _envelope_breakpoints(U, exact: bool) -> list:
    """Beliefs in (0, 1) where the upper envelope of the Receiver's lines bends.

    Line of action a: ``u_a(p) = U[0,a] + (U[1,a] - U[0,a]) p``.  Sorted by
    slope, a monotone stack keeps the lines that appear on the envelope over
    the whole real line; their consecutive crossings inside (0, 1) are returned.
    """
    n = U.shape[1]
    lines = sorted({(U[1, a] - U[0, a], U[0, a]) for a in range(n)})   # (slope, intercept), deduplicated
    hull: list = []
    for s, c in lines:
        if hull and hull[-1][0] == s:      # same slope: keep the higher intercept
            hull.pop()
        while len(hull) >= 2:
            (s1, c1), (s2, c2) = hull[-2], hull[-1]
            # line 2 is useless if line 3 overtakes line 1 no later than line 2 does
            if (c - c1) * (s2 - s1) >= (c2 - c1) * (s - s1):
                hull.pop()
            else:
                break
        hull.append((s, c))
    out = []
    for (s1, c1), (s2, c2) in zip(hull, hull[1:]):
        p = (c1 - c2) / (s2 - s1)
        if 0 < p < 1:
            out.append(p)
    return out


def two_state_optimum(game: PersuasionGame, exact: bool = False):
    """Value and optimal scheme of a two-state game in ``O(n log n)``.

    Returns ``(value, scheme)``; the scheme has direct signals (n columns).
    """
    if game.num_states != 2:
        raise InvalidArgumentError("two_state_optimum()", "game", "must have exactly 2 states",
                                   f"{game.num_states} states")
    prior, V, U = _data(game, exact)
    zero, one = (Fraction(0), Fraction(1)) if exact else (0.0, 1.0)
    dt = object if exact else float
    bps = [zero] + sorted(_envelope_breakpoints(U, exact)) + [one]

    def act(p):
        return best_response(game, np.array([one - p, p], dtype=dt), exact=exact)

    points = [(p, (one - p) * V[0, a] + p * V[1, a]) for p in bps for a in [act(p)]]
    hull = _upper_hull(points)
    p0 = prior[1]
    lo, hi = hull[0][0], hull[0][0]
    for (x0, _), (x1, _) in zip(hull, hull[1:]):
        if x0 <= p0 <= x1:
            lo, hi = x0, x1
            break
    n = game.num_actions
    scheme = np.full((2, n), zero, dtype=dt)
    if p0 == lo or p0 == hi or lo == hi:
        p = lo if p0 == lo else hi if p0 == hi else p0
        a = act(p)
        scheme[:, a] = one
        value = prior[0] * V[0, a] + prior[1] * V[1, a]
        return value, scheme
    w = (hi - p0) / (hi - lo)              # weight of the left posterior
    a_lo, a_hi = act(lo), act(hi)
    for a, weight, p in ((a_lo, w, lo), (a_hi, one - w, hi)):
        post = (one - p, p)
        for i in range(2):
            if prior[i] > 0:
                scheme[i, a] += weight * post[i] / prior[i]
    for i in range(2):                     # zero-prior states: any row; use the left recommendation
        if prior[i] == 0:
            scheme[i, :] = zero
            scheme[i, a_lo] = one
    value = w * ((one - lo) * V[0, a_lo] + lo * V[1, a_lo]) + (one - w) * ((one - hi) * V[0, a_hi] + hi * V[1, a_hi])
    return value, scheme


def binary_state_independent_optimum(game: PersuasionGame, exact: bool = False):
    """Value and optimal scheme when ``n == 2`` and ``V`` does not depend on the state.

    Returns ``(value, scheme)``.  Vectorised: a million states take well under
    a second on the float path.
    """
    if not is_binary_state_independent(game):
        raise InvalidArgumentError("binary_state_independent_optimum()", "game",
                                   "must have 2 actions and a state-independent Advisor utility",
                                   f"shape {game.shape}")
    prior, V, U = _data(game, exact)
    v0, v1 = V[0, 0], V[0, 1]
    # relabel so that the Advisor prefers action "good" (index g) to "bad" (index b)
    g, b = (1, 0) if v1 >= v0 else (0, 1)
    d = U[:, g] - U[:, b]                                      # Receiver's gain from the good action
    m = game.num_states
    if exact:
        zero, one = Fraction(0), Fraction(1)
        budget = sum((prior[i] * d[i] for i in range(m) if d[i] >= 0), zero)
        x = [one if d[i] >= 0 else zero for i in range(m)]
        for i in sorted((i for i in range(m) if d[i] < 0 and prior[i] > 0), key=lambda i: -d[i]):
            cost = prior[i] * (-d[i])
            take = min(one, budget / cost)
            x[i] = take
            budget -= take * cost
            if budget == 0:
                break
        x = np.array(x, dtype=object)
        for i in range(m):                 # zero-prior states cost nothing: recommend the good action
            if prior[i] == 0:
                x[i] = one
    else:
        prior_f, d = np.asarray(prior, float), np.asarray(d, float)
        x = np.where(d >= 0, 1.0, 0.0)
        x[prior_f == 0] = 1.0
        budget = float((prior_f * d)[d >= 0].sum())
        neg = np.flatnonzero((d < 0) & (prior_f > 0))
        order = neg[np.argsort(-d[neg], kind="stable")]
        cost = prior_f[order] * (-d[order])
        before = np.concatenate([[0.0], np.cumsum(cost)[:-1]])
        x[order] = np.clip((budget - before) / cost, 0.0, 1.0)
        zero, one = 0.0, 1.0
    scheme = np.empty((m, 2), dtype=object if exact else float)
    scheme[:, g] = x
    scheme[:, b] = one - x
    pg = (prior * x).sum()
    value = v0 + (v1 - v0) * pg if g == 1 else v1 + (v0 - v1) * pg
    return value, scheme
