"""The concave closure of the value function: exact for two states, brute force for small games."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

import numpy as np

from ..arithmetic import EXACT, arithmetic
from ..errors import InvalidArgumentError, checked_flag
from ..rational import rational_simplex, solve_rational
from ..game import PersuasionGame, checked_game
from .responses import _belief
from .values import value_function


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

    Examples
    --------
    >>> from persuasion import concave_closure_two_states, examples
    >>> c = concave_closure_two_states(examples.prosecutor_judge())
    >>> [float(b) for b in c.breakpoints], [float(v) for v in c.values]
    ([0.0, 0.5, 1.0], [0.0, 1.0, 1.0])
    """
    checked_game("concave_closure_two_states()", game)
    ar = arithmetic(exact)
    if game.num_states != 2:
        raise InvalidArgumentError("concave_closure_two_states()", "game", "must have exactly 2 states",
                                   f"{game.num_states} states")
    U = ar.data(game)[2]
    one, zero = ar.one, ar.zero
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
    if not ar.exact:  # merge float breakpoints closer than the tie tolerance
        merged = [bps[0]]
        for p in bps[1:]:
            if p - merged[-1] > 1e-12:
                merged.append(p)
        bps = merged
    vals = [value_function(game, np.array([one - p, p], dtype=ar.dtype), exact=ar) for p in bps]
    hull = _upper_hull(list(zip(bps, vals)))
    return TwoStateClosure(tuple(bps), tuple(vals), tuple(hull))


# ---------------------------------------------------- concave closure (brute force)
def region_vertices(game: PersuasionGame, exact: bool = True) -> list[np.ndarray]:
    """All vertices of the Receiver's best-response regions in the simplex.

    Region ``a`` is ``{mu in simplex : a is a best response to mu}``.  A vertex
    is a belief where ``m - 1`` of the region's inequalities are tight and
    independent.  Enumerated exactly by brute force, so meant for small games
    (``C(m + n - 1, m - 1)`` systems per action).  ``exact=False`` gives the same vertices as float
    arrays (the parameter did nothing before: the vertices always came back as fractions).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.analysis import region_vertices
    >>> sorted(tuple(map(float, v)) for v in region_vertices(examples.prosecutor_judge(), exact=False))
    [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    """
    checked_game("region_vertices()", game)
    exact = checked_flag("region_vertices()", "exact", exact, default=True)
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
    return list(found.values()) if exact else [v.astype(float) for v in found.values()]


def concave_closure_bruteforce(game: PersuasionGame, belief=None) -> Fraction:
    """The concave closure at ``belief`` (default: the prior), exactly, without the LP.

    Enumerates the vertices of the best-response regions (the concave closure
    of a piecewise-linear, upper semicontinuous ``v`` is attained by mixing
    them), evaluates ``v`` there with sender-favoured ties, and finds the best
    Bayes-plausible mixture with an exact simplex over posteriors.  An
    independent check of the LP for small games.

    Examples
    --------
    >>> from persuasion import concave_closure_bruteforce, examples, solve
    >>> g = examples.prosecutor_judge()
    >>> concave_closure_bruteforce(g) == solve(g, exact=True).value    # an independent check of the LP
    True
    """
    checked_game("concave_closure_bruteforce()", game)
    prior = game.rational()[0] if belief is None else _belief(game, belief, EXACT, "concave_closure_bruteforce()")
    verts = region_vertices(game)
    vals = [value_function(game, mu, exact=True) for mu in verts]
    m = game.num_states
    A = [[mu[i] for mu in verts] for i in range(m)]
    # start from the pure posteriors delta_w, which are always vertices
    basis = [next(k for k, mu in enumerate(verts) if mu[i] == 1) for i in range(m)]
    z, _, _ = rational_simplex(vals, A, list(prior), basis)
    return sum((v * w for v, w in zip(vals, z)), Fraction(0))
