"""Best-of-N selection from a pool of samples, exactly and by one concrete draw.

A pool holds ``M`` samples of one prompt, each with a proxy reward and a
golden verdict (the task checker).  Best-of-N draws ``N <= M`` of them
uniformly without replacement and keeps the one with the highest proxy
reward, ties broken uniformly.  Two ways to evaluate it from the pool:

* :func:`pick_probabilities`: the exact probability that each pooled sample
  is the one kept, averaged over every ``N``-subset (no sampling noise).  A
  tie group ``G`` of ``g`` samples with ``L`` samples below it is kept with
  probability ``[C(L+g, N) - C(L, N)] / C(M, N)``, shared equally.
* :func:`draw_picks`: one seeded draw per problem, nested in ``N`` (the first
  ``N`` of one random order, as a run that samples ``N`` completions would
  see), giving a binary outcome per problem for Wilson intervals and paired
  tests.

>>> import numpy as np
>>> p = pick_probabilities(np.array([0.1, 0.5, 0.3]), 2)
>>> p.round(4).tolist()           # the top sample is kept whenever it is drawn (2 of 3 subsets)
[0.0, 0.6667, 0.3333]
>>> round(kl_best_of_n(4), 4)          # KL(BoN || base) <= log N - (N-1)/N
0.6363
"""
from __future__ import annotations

from math import comb, log

import numpy as np

from persuasion.errors import is_integer


def _check(rewards, n) -> np.ndarray:
    r = np.asarray(rewards, dtype=float)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"rewards must be a non-empty 1-D array; got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("rewards must be finite")
    if not is_integer(n, minimum=1) or n > r.size:
        raise ValueError(f"n must be an integer with 1 <= n <= pool size {r.size}; got {n!r}")
    return r


def pick_probabilities(rewards, n: int) -> np.ndarray:
    """Probability that each pooled sample is the one Best-of-``n`` keeps (sums to 1)."""
    r = _check(rewards, n)
    m, total = r.size, comb(r.size, n)
    out = np.zeros(m)
    values, inverse, counts = np.unique(r, return_inverse=True, return_counts=True)
    below = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for v in range(values.size):
        g, low = int(counts[v]), int(below[v])
        out[inverse == v] = (comb(low + g, n) - comb(low, n)) / (g * total)
    return out


def expected_best_of_n(rewards, gold, n: int) -> float:
    """Expected golden score of the sample Best-of-``n`` keeps, over every ``n``-subset of the pool."""
    g = np.asarray(gold, dtype=float)
    p = pick_probabilities(rewards, n)
    if g.shape != p.shape:
        raise ValueError(f"gold must have one value per reward; got {g.shape} for {p.shape}")
    if not np.all(np.isfinite(g)):                       # a NaN score made the expectation NaN
        raise ValueError("gold must be finite")
    return float(p @ g)


def oracle_best_of_n(gold, n: int) -> float:
    """Probability that at least one of ``n`` drawn samples is correct (pass@n, binary gold)."""
    from .stats import binary_outcomes
    g = binary_outcomes("oracle_best_of_n()", "gold", gold, "0/1 verdicts (or booleans)")   # 0.5 counted as correct
    m, k = g.size, int(g.sum())
    _check(np.zeros(m), n)
    return 1.0 - comb(m - k, n) / comb(m, n)


def draw_order(m: int, rng: np.random.Generator) -> np.ndarray:
    """One random order of a pool of ``m``; Best-of-N sees its first N entries."""
    return rng.permutation(m)


def draw_pick(rewards, order, n: int) -> int:
    """Index of the sample kept among the first ``n`` of ``order`` (ties go to the earlier one in ``order``,
    which is a uniform tie-break since the order is random)."""
    r = _check(rewards, n)
    seen = np.asarray(order[:n])
    return int(seen[np.argmax(r[seen])])


def kl_best_of_n(n: int) -> float:
    """The usual KL estimate of Best-of-N from its base policy, ``log n - (n - 1) / n`` (an upper bound,
    Beirami et al. 2024)."""
    if not is_integer(n, minimum=1):
        raise ValueError(f"n must be a positive integer; got {n!r}")
    return log(n) - (n - 1) / n
