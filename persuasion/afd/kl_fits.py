"""Forward and reverse KL fits of a restricted family to a discrete target, solved exactly.

Alignment from demonstrations (Sun and van der Schaar, arXiv 2405.15624) frames SFT on demonstrations
as minimising the forward KL ``KL(p || q)`` from the demonstrator ``p`` (mass-covering) and adversarial
imitation as minimising the reverse KL ``KL(q || p)`` (mode-seeking).  The contrast is checked here on
small discrete distributions, exactly.

The restricted family is the **unimodal** distributions on ``0 .. K-1``: non-decreasing up to a mode
``c`` and non-increasing after it.  For a fixed mode the forward fit has a closed form (the least-squares
unimodal regression of the target, by pool adjacent violators: :func:`forward_fit`); the reverse fit is
a convex problem (negative entropy plus a linear term, linear order constraints), solved with cvxpy on
the Clarabel interior-point solver, whose "optimal" status certifies a primal-dual gap below 1e-8 (its
default tolerances).  Trying every mode gives the global optimum.  :func:`best_by_enumeration` gives an
independent check on small supports: no unimodal distribution on a grid does better.

Properties (tested with hypothesis on generated multimodal targets):

* the forward fit puts mass on every outcome the target does (otherwise ``KL(p || q)`` is infinite):
  a unimodal ``q`` covering two separated modes fills the gap between them;
* the reverse fit puts no mass where the target has none (otherwise ``KL(q || p)`` is infinite): when
  the modes are separated by outcomes of zero probability, it lives on one mode;
* each fit is optimal in its own divergence and no better than the other fit in the other divergence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError, SolverError, checked_nonnegative, is_integer
from ..solution import fields_equal

#: Probabilities of a reverse fit below this are set to 0 (the interior-point solver returns tiny positive
#: values instead).
ZERO = 1e-7


@dataclass(frozen=True, eq=False)
class KLFit:
    """A fitted distribution and its certificate.

    Examples
    --------
    >>> from persuasion.afd import forward_fit
    >>> fit = forward_fit([0.4, 0.0, 0.6])
    >>> fit.direction, fit.modes_solved, round(fit.objective, 4)
    ('forward', 3, 0.2773)
    """

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)

    q: np.ndarray             # the fitted distribution over 0..K-1
    mode: int                 # its mode (the order constraints' peak)
    objective: float          # the divergence it minimises, at q
    direction: str            # "forward" (KL(p || q)) or "reverse" (KL(q || p))
    modes_solved: int         # modes solved: all K in closed form (forward); those Clarabel certified (reverse)


def kl(a: np.ndarray, b: np.ndarray) -> float:
    """``KL(a || b)`` in nats (``inf`` where ``a > 0`` and ``b = 0``).

    Examples
    --------
    >>> from persuasion.afd import kl
    >>> round(kl([0.5, 0.5], [0.9, 0.1]), 4), kl([0.5, 0.5], [1.0, 0.0])
    (0.5108, inf)
    """
    a, b = _vector("kl()", "a", a), _vector("kl()", "b", b)
    if a.shape != b.shape:                   # one shorter than the other was an IndexError from the mask
        raise InvalidArgumentError("kl()", "b", f"must have one entry per entry of a ({a.size})", f"shape {b.shape}")
    mask = a > 0
    if np.any(b[mask] <= 0):
        return float("inf")
    return float(np.sum(a[mask] * (np.log(a[mask]) - np.log(b[mask]))))


def _vector(where: str, name: str, values) -> np.ndarray:
    """``values`` as a 1-D array of finite numbers >= 0 (probabilities, normalised or not), or an error
    naming them."""
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgumentError(where, name, "must be a vector of numbers", values) from None
    if v.ndim != 1 or not np.all(np.isfinite(v) & (v >= 0)):
        raise InvalidArgumentError(where, name, "must be a vector of finite numbers >= 0", v.tolist())
    return v


def _target(where: str, p) -> np.ndarray:
    """The target distribution ``p`` checked, named by the public function ``where`` that was given it (the
    messages said ``fit(): target``, a function and an argument no caller sees)."""
    try:
        p = np.asarray(p, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgumentError(where, "p", "must be a distribution (a vector of numbers)", p) from None
    if p.ndim != 1 or p.size < 2:
        raise InvalidArgumentError(where, "p", "must be a 1-D distribution over at least 2 outcomes",
                                   f"shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1) > 1e-9:
        raise InvalidArgumentError(where, "p", "must be non-negative and sum to 1", p.tolist())
    return p / p.sum()


def _unimodal_constraints(q, c: int, K: int) -> list:
    cons = [q >= 0, np.ones(K) @ q == 1]
    if c > 0:
        cons.append(q[1:c + 1] >= q[:c])            # non-decreasing up to the mode
    if c < K - 1:
        cons.append(q[c + 1:] <= q[c:-1])           # non-increasing after it
    return cons


def _solve(problem) -> bool:
    """Solve with Clarabel; True when it certifies optimality.  An "inaccurate" finish is a mode not
    solved (counted out of ``modes_solved``), not a warning printed by a library call."""
    import warnings
    import cvxpy as cp
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        # cvxpy evaluates the objective at the solver's point, whose round-off can be a tiny negative
        # probability: numpy would warn about the log of it (the value is recomputed by kl() from q)
        warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
        problem.solve(solver=cp.CLARABEL)
    return problem.status == cp.OPTIMAL


def _increasing_regression(y: np.ndarray) -> np.ndarray:
    """The least-squares non-decreasing fit to ``y`` (pool adjacent violators: a block whose mean exceeds
    the next block's is merged with it, and the merged block's mean is each member's value)."""
    sums, counts = [], []
    for v in y:
        sums.append(float(v))
        counts.append(1)
        while len(sums) > 1 and sums[-2] * counts[-1] > sums[-1] * counts[-2]:     # mean[-2] > mean[-1]
            total, count = sums.pop(), counts.pop()
            sums[-1] += total
            counts[-1] += count
    return np.repeat(np.array(sums) / np.array(counts), counts)


def _unimodal_regression(p: np.ndarray, c: int) -> np.ndarray:
    """The least-squares fit to ``p`` that is non-decreasing up to ``c`` and non-increasing after it.

    With the peak's value fixed at ``v``, each side's best fit is its own monotone regression capped at
    ``v``, so the peak's value solves ``v = mean of p over {c} and the outcomes whose side fit exceeds
    v`` (the derivative of the total squared error in ``v``); the sides' fits are scanned from the top
    until the mean of the included ones is consistent with where the scan stopped."""
    side = np.concatenate([_increasing_regression(p[:c]), _increasing_regression(p[c + 1:][::-1])[::-1]])
    others = np.concatenate([p[:c], p[c + 1:]])
    order = np.argsort(-side, kind="stable")
    total, count, k = float(p[c]), 1, 0
    while k < order.size and side[order[k]] > total / count:
        top = side[order[k]]
        while k < order.size and side[order[k]] == top:          # a pooled block enters whole
            total += float(others[order[k]])
            count += 1
            k += 1
    v = total / count
    q = np.minimum(side, v)
    return np.concatenate([q[:c], [v], q[c:]])


def forward_fit(p) -> KLFit:
    """The unimodal ``q`` minimising ``KL(p || q)`` (SFT on demonstrations drawn from ``p``), exactly.

    For a fixed mode the minimiser is the least-squares unimodal regression of ``p`` itself (Robertson,
    Wright and Dykstra 1988, Thm 1.5.1: an isotonic regression also minimises every Bregman divergence to
    the data, here the one of ``x log x``, which is ``KL(p || q)`` when both sum to 1, as the regression's
    block means keep ``p``'s total); pool adjacent violators computes it in closed form, with no solver
    and so no tolerance.  The tests check it against Clarabel's convex solution and a grid.

    Examples
    --------
    Two modes separated by a zero: the forward fit covers both, filling the gap.

    >>> from persuasion.afd import forward_fit
    >>> forward_fit([0.4, 0.0, 0.6]).q.round(3).tolist()
    [0.2, 0.2, 0.6]
    """
    p = _target("forward_fit()", p)
    fits = [q / q.sum() for q in (_unimodal_regression(p, c) for c in range(p.size))]
    values = [max(0.0, kl(p, q)) for q in fits]                  # KL >= 0; round-off can give -1e-16
    c = int(np.argmin(values))
    return KLFit(fits[c], c, values[c], "forward", p.size)


def reverse_fit(p) -> KLFit:
    """The unimodal ``q`` minimising ``KL(q || p)`` (mode-seeking imitation of ``p``).

    Examples
    --------
    The reverse fit settles on one mode.

    >>> from persuasion.afd import reverse_fit
    >>> reverse_fit([0.4, 0.0, 0.6]).q.round(3).tolist()
    [0.0, 0.0, 1.0]
    """
    import cvxpy as cp
    p = _target("reverse_fit()", p)
    zero = np.flatnonzero(p <= 0)
    logp = np.log(np.where(p > 0, p, 1.0))
    best, solved = None, 0
    for c in map(int, np.flatnonzero(p > 0)):        # the mode must carry mass, and q = 0 wherever p = 0
        q = cp.Variable(p.size)
        cons = _unimodal_constraints(q, c, p.size) + ([q[zero] == 0] if zero.size else [])
        if not _solve(cp.Problem(cp.Minimize(-cp.sum(cp.entr(q)) - logp @ q), cons)):
            continue
        solved += 1
        qv = _clean(q.value)
        if best is None or kl(qv, p) < best[0] - 1e-12:
            best = (kl(qv, p), qv, c)
    if best is None:
        raise SolverError("reverse_fit()", "no mode solved",
                          f"Clarabel certified none of the {p.size} modes' problems optimal for target {p.tolist()}")
    return KLFit(best[1], best[2], best[0], "reverse", solved)


def _clean(q) -> np.ndarray:
    """The solver's reverse fit as a distribution: values below :data:`ZERO` (round-off included) go to 0, a
    monotone map, so ``q`` stays unimodal.  (The forward fit needs no cleaning: it is computed in closed
    form, and it must stay positive wherever the target is, which a clip at 1e-7 once broke.)"""
    q = np.clip(np.asarray(q, float), 0.0, None)
    q[q < ZERO] = 0.0
    return q / q.sum()


def is_unimodal(q, tol: float = 1e-7) -> bool:
    """Non-decreasing then non-increasing (within ``tol``, the solvers' accuracy).

    Examples
    --------
    >>> from persuasion.afd import is_unimodal
    >>> is_unimodal([0.1, 0.5, 0.4]), is_unimodal([0.4, 0.1, 0.5])
    (True, False)
    """
    d = np.diff(_vector("is_unimodal()", "q", q))       # a NaN compared False both ways: "unimodal"
    checked_nonnegative("is_unimodal()", "tol", tol)
    down = np.flatnonzero(d < -tol)
    return not down.size or not np.any(d[down[0]:] > tol)


def best_by_enumeration(p, direction: str, steps: int = 12) -> float:
    """The smallest divergence over every unimodal distribution on a grid of multiples of ``1/steps``
    (an independent check of the convex fits on small supports; exponential in ``K``).

    Examples
    --------
    The grid search never beats the exact fit (it is the check the tests use):

    >>> from persuasion.afd import best_by_enumeration, forward_fit
    >>> p = [0.4, 0.0, 0.6]
    >>> best_by_enumeration(p, "forward") >= forward_fit(p).objective - 1e-9
    True
    """
    from itertools import combinations
    p = _target("best_by_enumeration()", p)
    if direction not in ("forward", "reverse"):      # anything else was read as "reverse"
        raise InvalidArgumentError("best_by_enumeration()", "direction", "must be 'forward' or 'reverse'", direction)
    if not is_integer(steps, minimum=1):
        raise InvalidArgumentError("best_by_enumeration()", "steps", "must be an integer >= 1", steps)
    K = p.size
    best = float("inf")
    # compositions of `steps` into K non-negative parts
    for cuts in combinations(range(steps + K - 1), K - 1):
        parts = np.diff(np.concatenate([[-1], cuts, [steps + K - 1]])) - 1
        q = parts / steps
        if not is_unimodal(q):
            continue
        val = kl(p, q) if direction == "forward" else kl(q, p)
        best = min(best, val)
    return best
