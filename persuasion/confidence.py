"""Confidence sets for the unknown prior.

* The box: after ``s`` i.i.d. states the empirical frequency of each state is
  within ``radius(s, m, delta)`` of its true probability, for every state and
  every ``s >= 1`` at once, with probability at least ``1 - delta``:
  Hoeffding's inequality gives ``2 exp(-2 s eps^2) = delta / (m s (s+1))`` per
  state and sample size, and ``sum_s 1/(s(s+1)) = 1`` makes the union bound
  anytime.  The learner commits to schemes obedient on the whole box.
* The l1 ball, used only in the analysis: ``|mu_hat_s - mu|_1 <= l1_radius(s, m,
  delta)`` for every ``s`` at once with probability ``1 - delta``, from the
  multinomial deviation bound ``P(|mu_hat_s - mu|_1 >= eps) <= (2^m - 2)
  exp(-s eps^2 / 2)`` (Weissman, Ordentlich, Seroussi, Verdu and Weinberger,
  2003), again with ``delta / (s (s+1))`` per sample size.
"""
from __future__ import annotations

import itertools
from fractions import Fraction
from numbers import Real

import numpy as np


def _radius_arguments(where: str, s, m, delta) -> np.ndarray:
    """``s`` as a float array after checking all three (NaN or a delta of 0 gave nan or 0 radii silently)."""
    from .errors import InvalidArgumentError, is_integer
    if not is_integer(m, minimum=1):
        raise InvalidArgumentError(where, "m", "must be an integer >= 1 (the number of states)", m)
    if isinstance(delta, bool) or not isinstance(delta, Real) or not 0 < delta < 1:
        raise InvalidArgumentError(where, "delta", "must be in (0, 1)", delta)
    try:
        s = np.asarray(s, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgumentError(where, "s", "must be sample counts (numbers >= 0)", s) from None
    if not np.all(np.isfinite(s) & (s >= 0)):
        raise InvalidArgumentError(where, "s", "must be sample counts (finite numbers >= 0)", s)
    return s


def radius(s, m: int, delta: float):
    """Box half-width after ``s`` samples (``inf`` for ``s = 0``); vectorised in ``s``.

    Examples
    --------
    >>> from persuasion.confidence import radius
    >>> [round(float(radius(s, 2, 0.05)), 4) for s in (100, 10_000)]   # about 1/sqrt(s), up to a log factor
    [0.2608, 0.0338]
    """
    s = _radius_arguments("radius()", s, m, delta)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = np.sqrt(np.log(2.0 * m * s * (s + 1.0) / delta) / (2.0 * s))
    return np.where(s > 0, r, np.inf)


def l1_radius(s, m: int, delta: float):
    """l1 deviation radius after ``s`` samples (``inf`` for ``s = 0``); vectorised in ``s``."""
    s = _radius_arguments("l1_radius()", s, m, delta)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = np.sqrt(2.0 * (m * np.log(2.0) + np.log(s * (s + 1.0) / delta)) / s)
    return np.where(s > 0, r, np.inf)


def box(mu_hat: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The confidence box ``{mu : |mu - mu_hat| <= eps} cap [0, 1]^m`` as ``(lower, upper)``.

    Examples
    --------
    >>> import numpy as np
    >>> from persuasion.confidence import box
    >>> lower, upper = box(np.array([0.7, 0.3]), 0.4)
    >>> lower.round(6).tolist(), upper.round(6).tolist()               # clipped to [0, 1]
    ([0.3, 0.0], [1.0, 0.7])
    """
    from .errors import InvalidArgumentError
    if isinstance(eps, bool) or not isinstance(eps, Real) or not eps >= 0:       # inf: the whole cube
        raise InvalidArgumentError("box()", "eps", "must be a number >= 0", eps)
    mu_hat = np.asarray(mu_hat, dtype=float)
    if mu_hat.ndim != 1 or not np.all(np.isfinite(mu_hat)):
        raise InvalidArgumentError("box()", "mu_hat", "must be a vector of finite numbers", mu_hat)
    return np.clip(mu_hat - eps, 0.0, 1.0), np.clip(mu_hat + eps, 0.0, 1.0)


def box_vertices(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """All ``2^m`` extreme points of the box (fewer where ``lower == upper``), shape ``(k, m)``.

    Examples
    --------
    >>> import numpy as np
    >>> from persuasion.confidence import box_vertices
    >>> box_vertices(np.array([0.6, 0.2]), np.array([0.8, 0.2])).tolist()   # the second side is flat
    [[0.6, 0.2], [0.8, 0.2]]
    """
    from .errors import InvalidArgumentError
    try:
        lo_, hi_ = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgumentError("box_vertices()", "lower/upper", "must be vectors of numbers",
                                   (lower, upper)) from None
    if lo_.ndim != 1 or lo_.shape != hi_.shape or not (np.isfinite(lo_).all() and np.isfinite(hi_).all()) \
            or (lo_ > hi_).any():              # zip() cut the longer one short; lower > upper went through
        raise InvalidArgumentError("box_vertices()", "lower/upper", "must be finite vectors of one length with "
                                   "lower <= upper", (lo_.tolist(), hi_.tolist()))
    choices = [sorted({float(lo), float(hi)}) for lo, hi in zip(lo_, hi_)]
    return np.array(list(itertools.product(*choices)), dtype=float)


def _fractions(where: str, name: str, values) -> list[Fraction]:
    """``values`` as exact fractions, or an error naming the argument (Fraction(nan) said only "NaN")."""
    from .errors import InvalidArgumentError
    try:
        out = [Fraction(x) for x in values]
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgumentError(where, name, "must be a vector of finite numbers", values) from None
    if not out:
        raise InvalidArgumentError(where, name, "must have at least one entry", values)
    return out


def worst_case_advantage(h, mu_hat, eps, l1):
    """``min mu . h`` over the priors ``mu`` in the box ``|mu - mu_hat| <= eps`` (clipped to [0, 1]), on the
    simplex and within ``l1`` of ``mu_hat`` in l1 norm; exact, in fractions.

    The minimum moves mass from the states where ``h`` is largest to those where it is smallest, as far as
    the box and the l1 budget (``l1 / 2`` of mass moved) allow: the greedy is optimal for a linear
    objective over these constraints.  Floats are taken at their exact binary value, so the answer is exact
    for the numbers given.  ``eps`` or ``l1`` may be ``inf``.

    Examples
    --------
    >>> from fractions import Fraction
    >>> from persuasion.confidence import worst_case_advantage
    >>> worst_case_advantage([1, -1], [Fraction(1, 2), Fraction(1, 2)], 0.25, float("inf"))
    Fraction(-1, 2)
    >>> worst_case_advantage([1, -1], [Fraction(1, 2), Fraction(1, 2)], 0.25, 0.125)  # l1 budget: 1/16 moved
    Fraction(-1, 8)
    """
    from .errors import InvalidArgumentError
    where = "worst_case_advantage()"
    h, mu = _fractions(where, "h", h), _fractions(where, "mu_hat", mu_hat)
    if len(h) != len(mu):
        raise InvalidArgumentError(where, "mu_hat", f"must have one entry per state of h ({len(h)})", mu_hat)
    for name, value in (("eps", eps), ("l1", l1)):           # a negative eps moved mass the wrong way
        if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0:
            raise InvalidArgumentError(where, name, "must be a number >= 0 (inf: no limit)", value)
    inf = float("inf")
    e = None if eps == inf else Fraction(eps)
    budget = None if l1 == inf else Fraction(l1) / 2
    give = [x if e is None else min(x, e) for x in mu]                    # down to max(0, mu - eps)
    take = [1 - x if e is None else min(1 - x, e) for x in mu]           # up to min(1, mu + eps)
    value = sum(a * b for a, b in zip(mu, h))
    src = sorted(range(len(h)), key=lambda w: h[w], reverse=True)
    dst = sorted(range(len(h)), key=lambda w: h[w])
    i = j = 0
    while i < len(src) and j < len(dst) and h[src[i]] > h[dst[j]] and (budget is None or budget > 0):
        a, b = src[i], dst[j]
        amount = min(give[a], take[b]) if budget is None else min(give[a], take[b], budget)
        value -= amount * (h[a] - h[b])
        give[a] -= amount
        take[b] -= amount
        if budget is not None:
            budget -= amount
        if give[a] == 0:
            i += 1
        if take[b] == 0:
            j += 1
    return value
