"""Closed-form optima for two special classes (measured against the LP in docs/performance.md, Closed forms).

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

import bisect
from fractions import Fraction

import numpy as np

from .analysis import best_response
from .analysis.closure import _upper_hull
from .arithmetic import Arithmetic, arithmetic
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


def _upper_envelope(U) -> list[tuple]:
    """The Receiver's upper envelope over all beliefs, as ``(slope, intercept, action)`` left to right.

    Line of action a: ``u_a(p) = U[0,a] + (U[1,a] - U[0,a]) p``.  Sorted by
    slope, a monotone stack keeps the lines that appear on the envelope over
    the whole real line (one action per distinct line).
    """
    lines: dict = {}
    for a in range(U.shape[1]):
        lines.setdefault((U[1, a] - U[0, a], U[0, a]), a)
    env: list = []
    for s, c in sorted(lines):
        if env and env[-1][0] == s:        # same slope: keep the higher intercept
            env.pop()
        while len(env) >= 2:
            (s1, c1, _), (s2, c2, _) = env[-2], env[-1]
            # line 2 is useless if line 3 overtakes line 1 no later than line 2 does
            if (c - c1) * (s2 - s1) >= (c2 - c1) * (s - s1):
                env.pop()
            else:
                break
        env.append((s, c, lines[(s, c)]))
    return env


def _envelope_breakpoints(U) -> list:
    """Beliefs in (0, 1) where the upper envelope of the Receiver's lines bends."""
    env = _upper_envelope(U)
    crossings = ((c1 - c2) / (s2 - s1) for (s1, c1, _), (s2, c2, _) in zip(env, env[1:]))
    return [p for p in crossings if 0 < p < 1]


def two_state_optimum(game: PersuasionGame, exact: bool | Arithmetic = False):
    """Value and optimal scheme of a two-state game in ``O(n log n)``.

    Returns ``(value, scheme)``; the scheme has direct signals (n columns).
    """
    ar = arithmetic(exact)
    if game.num_states != 2:
        raise InvalidArgumentError("two_state_optimum()", "game", "must have exactly 2 states",
                                   f"{game.num_states} states")
    prior, V, U = ar.data(game)
    zero, one = ar.zero, ar.one
    dt = ar.dtype
    bps = [zero] + sorted(_envelope_breakpoints(U)) + [one]

    def act(p):
        return best_response(game, np.array([one - p, p], dtype=dt), exact=ar)

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


def binary_state_independent_optimum(game: PersuasionGame, exact: bool | Arithmetic = False):
    """Value and optimal scheme when ``n == 2`` and ``V`` does not depend on the state.

    Returns ``(value, scheme)``.  Vectorised: a million states take well under
    a second on the float path.
    """
    ar = arithmetic(exact)
    if not is_binary_state_independent(game):
        raise InvalidArgumentError("binary_state_independent_optimum()", "game",
                                   "must have 2 actions and a state-independent Advisor utility",
                                   f"shape {game.shape}")
    prior, V, U = ar.data(game)
    v0, v1 = V[0, 0], V[0, 1]
    # relabel so that the Advisor prefers action "good" (index g) to "bad" (index b)
    g, b = (1, 0) if v1 >= v0 else (0, 1)
    d = U[:, g] - U[:, b]                                      # Receiver's gain from the good action
    m = game.num_states
    if ar.exact:
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
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):   # a subnormal prior's cost
            share = (budget - before) / cost
        x[order] = np.where(cost > 0, np.clip(share, 0.0, 1.0), 1.0)       # rounded to 0 costs nothing
        zero, one = 0.0, 1.0
    scheme = np.empty((m, 2), dtype=ar.dtype)
    scheme[:, g] = x
    scheme[:, b] = one - x
    pg = (prior * x).sum()
    value = v0 + (v1 - v0) * pg if g == 1 else v1 + (v0 - v1) * pg
    return value, scheme


# ------------------------------------------------------------------ duals
def knapsack_duals(game: PersuasionGame, scheme, exact: bool | Arithmetic = False):
    """Dual ``(y, lam)`` certifying the knapsack optimum.

    With ``g`` the Advisor's preferred action, ``b`` the other and
    ``d = U[:, g] - U[:, b]``, the only multiplier needed is ``lam[g, b] =
    (v_g - v_b) / |d_c|`` at the cut-off state ``c`` (the first state not fully
    recommended ``g``), and ``y[w] = prior[w] max(v_g + lam d[w], v_b)``.
    """
    ar = arithmetic(exact)
    prior, V, U = ar.data(game)
    zero = ar.zero
    v0, v1 = V[0, 0], V[0, 1]
    g, b = (1, 0) if v1 >= v0 else (0, 1)
    vg, vb = V[0, g], V[0, b]
    d = U[:, g] - U[:, b]
    x = scheme[:, g]
    lam = np.full((2, 2), zero, dtype=ar.dtype)
    partial = [i for i in range(game.num_states) if prior[i] > 0 and x[i] < 1] if ar.exact else \
        np.flatnonzero((np.asarray(prior, float) > 0) & (np.asarray(x, float) < 1 - 1e-12))
    if len(partial) and vg != vb:
        # the cut-off is the least disliked state not fully recommended g
        c = max(partial, key=lambda i: d[i]) if ar.exact else partial[np.argmax(np.asarray(d, float)[partial])]
        lam[g, b] = (vg - vb) / (-d[c])
    y = prior * np.maximum(vg + lam[g, b] * d, vb) if not ar.exact else \
        np.array([prior[i] * max(vg + lam[g, b] * d[i], vb) for i in range(game.num_states)], dtype=object)
    return y, lam


def _lam_from_entries(entries: dict, n: int, ar: Arithmetic):
    """The ``(n, n)`` obedience multipliers from their non-zero entries: a dense object array of
    ``Fraction`` on the exact path, a sparse CSR matrix on the float path."""
    if ar.exact:
        lam = ar.full((n, n), ar.zero)
        for (a, b), v in entries.items():
            lam[a, b] = v
        return lam
    import scipy.sparse as sp
    rows, cols = zip(*entries) if entries else ((), ())
    return sp.csr_matrix((np.array([float(v) for v in entries.values()]), (rows, cols)), shape=(n, n))


def two_state_duals(game: PersuasionGame, exact: bool | Arithmetic = False):
    """Dual ``(y, lam)`` certifying the two-state optimum.

    ``y[w] = prior[w] l(w)`` for the supporting line ``l`` of the concave
    closure at the prior.  For each action ``a`` the multipliers follow from the
    Receiver's upper envelope: if ``a`` is on it, one neighbouring envelope
    action fixes the endpoint where ``l - V_a`` is negative; if not, the two
    envelope actions around the point where ``a`` comes closest to the envelope
    are mixed so that ``a``'s disadvantage is constant in the belief, and scaled
    until it covers ``l - V_a``.

    Each action has at most two non-zero multipliers, so on the float path
    ``lam`` is a sparse ``(n, n)`` matrix (memory linear in ``n``).
    """
    ar = arithmetic(exact)
    prior, V, U = ar.data(game)
    zero, one = ar.zero, ar.one
    n = game.num_actions
    # the supporting line of the closure at the prior
    bps = [zero] + sorted(_envelope_breakpoints(U)) + [one]
    dt = ar.dtype

    def act(p):
        return best_response(game, np.array([one - p, p], dtype=dt), exact=ar)

    hull = _upper_hull([(p, (one - p) * V[0, a] + p * V[1, a]) for p in bps for a in [act(p)]])
    p0 = prior[1]
    seg = next(((h0, h1) for h0, h1 in zip(hull, hull[1:]) if h0[0] <= p0 <= h1[0]), None)
    (x0, v0), (x1, v1) = seg          # the hull always spans [0, 1], so seg exists
    slope = (v1 - v0) / (x1 - x0)
    l0, l1 = v0 - slope * x0, v0 + slope * (one - x0)          # line at p = 0 and p = 1
    y = np.array([prior[0] * l0, prior[1] * l1], dtype=dt)
    # the Receiver's envelope: one line per distinct (slope, intercept), sorted by slope
    env = _upper_envelope(U)
    # keep only envelope lines that are on top somewhere in [0, 1]
    def cross(i):  # belief where env[i] and env[i+1] cross
        return (env[i][1] - env[i + 1][1]) / (env[i + 1][0] - env[i][0])
    while len(env) >= 2 and cross(0) <= 0:
        env.pop(0)
    while len(env) >= 2 and cross(len(env) - 2) >= 1:
        env.pop()
    slopes = [e[0] for e in env]
    lam = {}                          # (a, a') -> multiplier; at most two per action

    def lift(a, b, *ends):
        """Put on ``lam[a, b]`` the least multiplier that lifts each end's ``g = l - V_a`` to 0 through the
        gap ``h = u_a - u_b`` there.  An end where ``g < 0`` but ``h`` is not negative is left alone:
        exactly, that cannot happen where a lift is asked for (a ties the envelope only where it is a best
        response, so ``l >= V_a`` there); on floats, rounding can make it so, and the certificate check
        judges the result rather than a division by zero."""
        need = [-g / -hb for g, hb in ends if g < 0 and hb < 0]
        if need:
            lam[a, b] = max(need)

    for a in range(n):
        sa, ca = U[1, a] - U[0, a], U[0, a]
        g0, g1 = l0 - V[0, a], l1 - V[1, a]                 # l - V_a at p = 0 and 1
        h = lambda b, p: (U[0, a] + (U[1, a] - U[0, a]) * p) - (U[0, b] + (U[1, b] - U[0, b]) * p)
        if g0 >= 0 and g1 >= 0:
            continue
        i = bisect.bisect_left(slopes, sa)
        same = i < len(env) and env[i][0] == sa
        if same and env[i][1] == ca:                          # a lies on the envelope
            L = env[i - 1][2] if i > 0 else None
            R = env[i + 1][2] if i + 1 < len(env) else None
            if g0 < 0 and L is not None:                       # h(L, .) < 0 left of a's interval
                lift(a, L, (g0, h(L, zero)))
            elif g1 < 0 and R is not None:
                lift(a, R, (g1, h(R, one)))
            continue
        L = env[i - 1][2] if i > 0 else None
        R = env[i][2] if i < len(env) else None
        if same or L is None or R is None:
            # parallel to an envelope line and below it (a constant gap), or closest to the envelope at an
            # end of [0, 1]: one envelope line, lifting both ends, suffices
            b = env[i][2] if same else (R if L is None else L)
            lift(a, b, (g0, h(b, zero)), (g1, h(b, one)))
            continue
        sL, sR = U[1, L] - U[0, L], U[1, R] - U[0, R]
        theta = (sR - sa) / (sR - sL)                         # theta h_L + (1-theta) h_R is constant
        gap = theta * h(L, zero) + (one - theta) * h(R, zero)
        if gap < 0:
            t = max(-g0, -g1) / (-gap)
            lam[a, L], lam[a, R] = t * theta, t * (one - theta)
        elif g0 < 0:                                          # a touches the envelope at the L/R kink
            lift(a, L, (g0, h(L, zero)))
        else:
            lift(a, R, (g1, h(R, one)))
    return y, _lam_from_entries(lam, n, ar)


def solve_closed_form(game: PersuasionGame, exact: bool | Arithmetic = False):
    """``(scheme, y, lam, name)`` from the applicable closed form, or ``None``."""
    ar = arithmetic(exact)
    if is_binary_state_independent(game):
        _, scheme = binary_state_independent_optimum(game, ar)
        return (scheme, *knapsack_duals(game, scheme, ar), "closed-form:knapsack")
    if game.num_states == 2:
        _, scheme = two_state_optimum(game, ar)
        return (scheme, *two_state_duals(game, ar), "closed-form:two-state")
    return None
