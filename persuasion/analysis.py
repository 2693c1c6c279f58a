"""Analysis of a persuasion game: best responses, the value function and its
concave closure, benchmark values, and the scheme <-> posteriors correspondence.

Tie-breaking.  The Receiver's best response is not unique at beliefs where
two actions give it the same expected utility.  ``tie="sender"`` (the
default and the standard convention, under which the optimum is attained)
picks, among best responses, the one the Advisor likes most; ``tie="adversarial"``
the one it likes least; ``tie="lowest"`` the lowest index.  On the float
path two expected utilities are tied when they differ by at most
``TIE_TOLERANCE`` times the largest spread of ``U`` in a state, plus a few ulps
of ``max|U|`` (:func:`persuasion.scaling.tie_tolerance`: the same rule at any
units); on the exact path (``exact=True``) ties are exact equalities between
``Fraction`` values.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from .errors import InvalidArgumentError
from .game import PersuasionGame
from .rational import dot

from .scaling import TIE_TOLERANCE, tie_tolerance  # noqa: F401  (TIE_TOLERANCE re-exported for callers)

TIE_RULES = ("sender", "adversarial", "lowest")


def _data(game: PersuasionGame, exact: bool):
    return game.rational() if exact else (game.prior, game.sender, game.receiver)


def _belief(game: PersuasionGame, belief, exact: bool, where: str) -> np.ndarray:
    m = game.num_states
    if exact:
        b = np.array([x if isinstance(x, Fraction) else Fraction(x) for x in belief], dtype=object)
    else:
        b = np.asarray(belief, dtype=float)
    if b.shape != (m,):
        raise InvalidArgumentError(where, "belief", f"must have one entry per state ({m})", f"shape {b.shape}")
    if (b < 0).any():
        raise InvalidArgumentError(where, "belief", "must be non-negative", list(b))
    s = b.sum()
    if (exact and s != 1) or (not exact and abs(float(s) - 1) > 1e-9):
        raise InvalidArgumentError(where, "belief", "must sum to 1", s if exact else float(s))
    return b


def _tolerances(game: PersuasionGame) -> tuple[float, float]:
    """Float tie tolerances for the Receiver's and the Advisor's expected utilities (relative to their
    spreads, so they mean the same at any units: :func:`persuasion.scaling.tie_tolerance`)."""
    return tie_tolerance(game.receiver), tie_tolerance(game.sender)


def _tied(values, target, exact: bool, tol: float) -> list[int]:
    return [i for i, v in enumerate(values) if (v == target if exact else abs(v - target) <= tol)]


def _select(game, receiver_payoff, sender_payoff, tie: str, exact: bool, prefer=None, tolerances=None) -> int:
    """The chosen action given one belief's expected payoffs for both players."""
    tol_u, tol_v = tolerances or _tolerances(game)
    top = max(receiver_payoff)
    cands = [a for a in range(len(receiver_payoff))
             if (receiver_payoff[a] == top if exact else receiver_payoff[a] >= top - tol_u)]
    if tie == "lowest":
        return cands[0]
    sv = [sender_payoff[a] for a in cands]
    chosen = [cands[i] for i in _tied(sv, max(sv) if tie == "sender" else min(sv), exact, tol_v)]
    return int(prefer) if prefer is not None and prefer in chosen else int(chosen[0])


def best_responses(game: PersuasionGame, belief, exact: bool = False) -> np.ndarray:
    """Indices of all Receiver best responses to ``belief`` (ties within tolerance)."""
    b = _belief(game, belief, exact, "best_responses()")
    payoff = dot(b, _data(game, exact)[2])
    top = max(payoff)
    if exact:
        return np.array([a for a, u in enumerate(payoff) if u == top], dtype=int)
    return np.flatnonzero(payoff >= top - _tolerances(game)[0])


def best_response(game: PersuasionGame, belief, tie: str = "sender", exact: bool = False,
                  prefer: int | None = None) -> int:
    """The Receiver's action at ``belief`` under a tie-breaking rule.

    Parameters
    ----------
    tie : {"sender", "adversarial", "lowest"}
        Among best responses: best for the Advisor, worst for it, or lowest index.
    prefer : int, optional
        Among actions still tied after ``tie``, choose this one if present
        (used to report that an obeyed recommendation is followed).
    """
    if tie not in TIE_RULES:
        raise InvalidArgumentError("best_response()", "tie", f"must be one of {TIE_RULES}", tie)
    b = _belief(game, belief, exact, "best_response()")
    _, V, U = _data(game, exact)
    return _select(game, dot(b, U), dot(b, V), tie, exact, prefer)


def best_response_many(game: PersuasionGame, beliefs, tie: str = "sender", exact: bool = False,
                       prefer=None) -> np.ndarray:
    """:func:`best_response` for each row of ``beliefs`` (k x m), with two matrix products.

    ``prefer`` may be a sequence with one preferred action (or ``None``) per row.
    Rows are not validated (callers pass posteriors they built).  Beliefs need
    not be normalised: best responses are invariant to scaling a belief, and
    the float tie tolerance is applied to the normalised payoffs.
    """
    if tie not in TIE_RULES:
        raise InvalidArgumentError("best_response_many()", "tie", f"must be one of {TIE_RULES}", tie)
    B = np.asarray(beliefs, dtype=object if exact else float).reshape(-1, game.num_states)
    if not exact:
        B = B / B.sum(axis=1, keepdims=True)
    _, V, U = _data(game, exact)
    R, S = dot(B, U), dot(B, V)
    prefer = [None] * B.shape[0] if prefer is None else list(prefer)
    return np.array([_select(game, R[k], S[k], tie, exact, prefer[k]) for k in range(B.shape[0])], dtype=int)


def value_function(game: PersuasionGame, belief, tie: str = "sender", exact: bool = False):
    """The Advisor's value ``v(mu) = sum_w mu[w] V[w, a*(mu)]`` at a posterior ``mu``."""
    a = best_response(game, belief, tie=tie, exact=exact)
    b = _belief(game, belief, exact, "value_function()")
    return dot(b, _data(game, exact)[1][:, a])


def no_information_value(game: PersuasionGame, tie: str = "sender", exact: bool = False):
    """Value of sending no information: ``v(prior)``."""
    return value_function(game, _data(game, exact)[0], tie=tie, exact=exact)


def full_revelation_value(game: PersuasionGame, tie: str = "sender", exact: bool = False):
    """Value of revealing the state: ``sum_w prior[w] V[w, a*(delta_w)]``."""
    prior, V, _ = _data(game, exact)
    m = game.num_states
    one, zero = (Fraction(1), Fraction(0)) if exact else (1.0, 0.0)
    total = zero
    for w in range(m):
        delta = np.full(m, zero, dtype=object if exact else float)
        delta[w] = one
        total += prior[w] * V[w, best_response(game, delta, tie=tie, exact=exact)]
    return total


def first_best_value(game: PersuasionGame, exact: bool = False):
    """Upper bound ``sum_w prior[w] max_a V[w, a]`` (the Advisor choosing the action itself)."""
    prior, V, _ = _data(game, exact)
    return sum((prior[w] * max(V[w]) for w in range(game.num_states)), Fraction(0) if exact else 0.0)


# ------------------------------------------------------------ posteriors <-> scheme
def posteriors_from_scheme(game: PersuasionGame, scheme, exact: bool = False):
    """Decompose a scheme into a Bayes-plausible distribution of posteriors.

    Returns ``(weights, posteriors)``: ``weights[s] = P(signal s)`` and
    ``posteriors[s]`` the belief after ``s``, for the signals sent with
    positive probability only (so ``sum_s weights[s] posteriors[s] = prior``).
    """
    prior = _data(game, exact)[0]
    pi = np.asarray(scheme, dtype=object if exact else float)
    if pi.ndim != 2 or pi.shape[0] != game.num_states:
        raise InvalidArgumentError("posteriors_from_scheme()", "scheme",
                                   f"must be a table with one row per state ({game.num_states})", f"shape {pi.shape}")
    joint = prior[:, None] * pi
    w = joint.sum(axis=0)
    keep = [s for s in range(pi.shape[1]) if w[s] > 0]
    return w[keep], np.array([joint[:, s] / w[s] for s in keep], dtype=pi.dtype).reshape(len(keep), -1)


def scheme_from_posteriors(game: PersuasionGame, weights: Sequence, posteriors, exact: bool = False,
                           tolerance: float = 1e-9) -> np.ndarray:
    """The scheme that induces the given distribution of posteriors.

    ``pi[w, s] = weights[s] posteriors[s][w] / prior[w]``; states with zero
    prior get the conditional distribution ``weights`` (any row would do).

    Raises ``InvalidArgumentError`` unless the posteriors are Bayes-plausible:
    ``sum_s weights[s] posteriors[s] = prior`` (exactly, or within ``tolerance``).
    """
    prior = _data(game, exact)[0]
    dt = object if exact else float
    w = np.asarray(weights, dtype=dt)
    P = np.asarray(posteriors, dtype=dt)
    if P.ndim != 2 or P.shape != (w.shape[0], game.num_states):
        raise InvalidArgumentError("scheme_from_posteriors()", "posteriors",
                                   f"must be a (signals x states) table matching weights ({w.shape[0]} x {game.num_states})",
                                   f"shape {P.shape}")
    if (w < 0).any() or (P < 0).any():
        raise InvalidArgumentError("scheme_from_posteriors()", "weights/posteriors", "must be non-negative", "a negative entry")
    mean = w.dot(P)
    err = max(abs(mean - prior))
    if (exact and err != 0) or (not exact and err > tolerance):
        raise InvalidArgumentError("scheme_from_posteriors()", "posteriors",
                                   "must average back to the prior (Bayes plausibility)", f"max error {err}")
    pi = np.empty((game.num_states, w.shape[0]), dtype=dt)
    for s in range(w.shape[0]):
        for i in range(game.num_states):
            pi[i, s] = w[s] * P[s, i] / prior[i] if prior[i] > 0 else w[s] / w.sum()
    return pi


# --------------------------------------------------------- concave closure (m = 2)
@dataclass(frozen=True)
class TwoStateClosure:
    """The value function of a two-state game and its concave closure.

    Beliefs are ``p = P(state 1)``.  ``breakpoints`` are the beliefs where the
    Receiver's best response can change (plus 0 and 1), ``values`` the value
    function there (sender-favoured ties, so ``v`` is upper semicontinuous
    and linear between breakpoints), and ``hull`` the vertices ``(p, v)`` of the
    upper concave hull of those points, which is the concave closure.
    """

    breakpoints: tuple
    values: tuple
    hull: tuple

    def __call__(self, p):
        """The concave closure at belief ``p`` (exact if built exactly and ``p`` is a Fraction)."""
        for (p0, v0), (p1, v1) in zip(self.hull, self.hull[1:]):
            if p0 <= p <= p1:
                return v0 if p1 == p0 else v0 + (v1 - v0) * (p - p0) / (p1 - p0)
        return self.hull[0][1]

    def split(self, p):
        """The hull vertices ``(p_left, p_right)`` whose mixture attains the closure at ``p``."""
        for (p0, _), (p1, _) in zip(self.hull, self.hull[1:]):
            if p0 <= p <= p1:
                return p0, p1
        return self.hull[0][0], self.hull[0][0]


def _upper_hull(points):
    """Upper concave hull of points sorted by x (monotone chain), as a list."""
    hull: list = []
    for p in points:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            # drop hull[-1] if it is on or below the segment hull[-2] -> p
            if (y2 - y1) * (p[0] - x1) <= (p[1] - y1) * (x2 - x1):
                hull.pop()
            else:
                break
        if hull and hull[-1][0] == p[0]:
            if p[1] > hull[-1][1]:
                hull[-1] = p
            continue
        hull.append(p)
    return hull


def concave_closure_two_states(game: PersuasionGame, exact: bool = False) -> TwoStateClosure:
    """Value function and concave closure of a game with exactly two states.

    Independent of the LP: it evaluates ``v`` at every belief where two
    Receiver payoff lines cross and takes the upper concave hull.
    """
    if game.num_states != 2:
        raise InvalidArgumentError("concave_closure_two_states()", "game", "must have exactly 2 states",
                                   f"{game.num_states} states")
    U = _data(game, exact)[2]
    one, zero = (Fraction(1), Fraction(0)) if exact else (1.0, 0.0)
    ps = {zero, one}
    n = game.num_actions
    for a in range(n):
        for b in range(a + 1, n):
            # u_a(p) = U[0,a] + (U[1,a]-U[0,a]) p ; crossing where u_a = u_b
            slope = (U[1, a] - U[0, a]) - (U[1, b] - U[0, b])
            if slope != 0:
                p = (U[0, b] - U[0, a]) / slope
                if zero < p < one:
                    ps.add(p)
    bps = sorted(ps)
    if not exact:  # merge float breakpoints closer than the tie tolerance
        merged = [bps[0]]
        for p in bps[1:]:
            if p - merged[-1] > 1e-12:
                merged.append(p)
        bps = merged
    vals = [value_function(game, np.array([one - p, p], dtype=object if exact else float), exact=exact) for p in bps]
    hull = _upper_hull(list(zip(bps, vals)))
    return TwoStateClosure(tuple(bps), tuple(vals), tuple(hull))


# ---------------------------------------------------- concave closure (brute force)
def region_vertices(game: PersuasionGame, exact: bool = True) -> list[np.ndarray]:
    """All vertices of the Receiver's best-response regions in the simplex.

    Region ``a`` is ``{mu in simplex : a is a best response to mu}``.  A vertex
    is a belief where ``m - 1`` of the region's inequalities are tight and
    independent.  Enumerated exactly by brute force, so meant for small games
    (``C(m + n - 1, m - 1)`` systems per action).
    """
    from itertools import combinations
    from .exact import solve_rational
    prior, V, U = game.rational()
    m, n = game.shape
    found: dict[tuple, np.ndarray] = {}
    for a in range(n):
        ineqs = [[Fraction(int(i == w)) for i in range(m)] for w in range(m)]
        ineqs += [[U[i, a] - U[i, b] for i in range(m)] for b in range(n) if b != a]
        for rows in combinations(range(len(ineqs)), m - 1):
            M = [ineqs[r] for r in rows] + [[Fraction(1)] * m]
            try:
                (mu,) = solve_rational(M, [[Fraction(0)] * (m - 1) + [Fraction(1)]])
            except ZeroDivisionError:
                continue
            if all(x >= 0 for x in mu) and all(sum(c * x for c, x in zip(r, mu)) >= 0 for r in ineqs):
                found.setdefault(tuple(mu), np.array(mu, dtype=object))
    return list(found.values())


def concave_closure_bruteforce(game: PersuasionGame, belief=None) -> Fraction:
    """The concave closure at ``belief`` (default: the prior), exactly, without the LP.

    Enumerates the vertices of the best-response regions (the concave closure
    of a piecewise-linear, upper semicontinuous ``v`` is attained by mixing
    them), evaluates ``v`` there with sender-favoured ties, and finds the best
    Bayes-plausible mixture with an exact simplex over posteriors.  An
    independent check of the LP for small games.
    """
    from .exact import rational_simplex
    prior = game.rational()[0] if belief is None else _belief(game, belief, True, "concave_closure_bruteforce()")
    verts = region_vertices(game)
    vals = [value_function(game, mu, exact=True) for mu in verts]
    m = game.num_states
    A = [[mu[i] for mu in verts] for i in range(m)]
    # start from the pure posteriors delta_w, which are always vertices
    basis = [next(k for k, mu in enumerate(verts) if mu[i] == 1) for i in range(m)]
    z, _, _ = rational_simplex(vals, A, list(prior), basis)
    return sum((v * w for v, w in zip(vals, z)), Fraction(0))


def full_revelation_scheme_of(sender: np.ndarray, receiver: np.ndarray) -> np.ndarray:
    """Recommend, in each state, the Receiver's best action (ties: the Advisor's favourite), as a 0/1 scheme;
    the float tie rule of :func:`best_response`."""
    V, U = np.asarray(sender, float), np.asarray(receiver, float)
    m, n = U.shape
    tol = tie_tolerance(U)
    scheme = np.zeros((m, n))
    for w in range(m):
        best = np.flatnonzero(U[w] >= U[w].max() - tol)
        scheme[w, best[np.argmax(V[w, best])]] = 1.0
    return scheme
