"""Paired tests for held-out comparisons: exact McNemar, a paired sign-flip test and Holm's step-down correction."""
from __future__ import annotations

import numpy as np

from persuasion.errors import is_integer


def binary_outcomes(where: str, name: str, values, meaning: str = "0/1 outcomes (or booleans)") -> np.ndarray:
    """``values`` as a vector of 0.0/1.0, or a ``ValueError`` naming them: a cast to ``bool`` or ``int`` read
    0.5 or NaN as a success (or 0.7 as a 0), silently.

    >>> binary_outcomes("f()", "x", [True, 0, 1.0]).tolist()
    [1.0, 0.0, 1.0]
    """
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name} must be a vector of {meaning}") from None
    if v.ndim != 1:
        raise ValueError(f"{where}: {name} must be a vector of {meaning}; got shape {v.shape}")
    wrong = ~np.isin(v, (0.0, 1.0))
    if wrong.any():
        raise ValueError(f"{where}: {name} must hold {meaning}; entry {int(np.argmax(wrong))} is {v[wrong][0]}")
    return v


def _paired(where: str, x, y, binary: bool) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as paired vectors of finite numbers (of 0/1 or booleans where ``binary``), or a
    ``ValueError`` naming the rule: a NaN made the sign-flip test answer p = 0, and McNemar read 0.5 or
    NaN as a success."""
    try:
        x, y = np.asarray(x, float), np.asarray(y, float)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: x and y must be vectors of numbers") from None
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"{where}: x and y must be paired vectors (same length); got shapes {x.shape} and {y.shape}")
    for name, v in (("x", x), ("y", y)):
        if binary:
            binary_outcomes(where, name, v)
        elif not np.isfinite(v).all():
            raise ValueError(f"{where}: {name} must hold finite numbers; entry {int(np.argmax(~np.isfinite(v)))} "
                             f"is {v[~np.isfinite(v)][0]}")
    return x, y


def mcnemar_exact(x, y) -> dict:
    """Exact (binomial) McNemar test of paired binary outcomes ``x`` and ``y`` (same problems, same order).

    Returns the discordant counts ``b`` (x=1, y=0) and ``c`` (x=0, y=1), the
    difference of means ``x - y`` and the two-sided p-value.
    """
    from scipy.stats import binomtest
    x, y = (v.astype(bool) for v in _paired("mcnemar_exact()", x, y, binary=True))
    b, c = int((x & ~y).sum()), int((~x & y).sum())
    p = 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)
    return {"n": int(x.size), "b": b, "c": c, "diff": float(x.mean() - y.mean()) if x.size else float("nan"),
            "p": min(1.0, p)}


def paired_sign_flip(x, y, n_resamples: int = 20000, seed: int = 0) -> dict:
    """Two-sided paired randomisation test of ``mean(x - y) = 0`` for real-valued paired outcomes (the
    per-problem exact Best-of-N accuracies, which have no draw noise), by flipping the signs of the
    differences (scipy's ``permutation_test`` with ``permutation_type="samples"``; exact when ``2**n`` is at
    most ``n_resamples``, else ``n_resamples`` random flips from ``seed``, so the result is reproducible).

    >>> paired_sign_flip([1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0])["p"]   # every flip as extreme: 2 of 64
    0.03125
    """
    from scipy.stats import permutation_test
    x, y = _paired("paired_sign_flip()", x, y, binary=False)
    d = x - y
    if x.size < 2 or not np.any(d):       # one pair: both of its sign patterns are as extreme
        return {"n": int(x.size), "diff": float(d.mean()) if x.size else 0.0, "p": 1.0,
                "n_nonzero": int(np.count_nonzero(d))}
    res = permutation_test((x, y), lambda a, b, axis: np.mean(a - b, axis=axis), permutation_type="samples",
                           vectorized=True, n_resamples=n_resamples, alternative="two-sided",
                           random_state=np.random.default_rng(seed))
    return {"n": int(x.size), "diff": float(d.mean()), "p": float(min(1.0, res.pvalue)),
            "n_nonzero": int(np.count_nonzero(d))}


def holm(pvalues) -> list[float]:
    """Holm-adjusted p-values (family-wise error control), in the input order: the ``k``-th smallest ``p``
    times the ``m - k + 1`` hypotheses not yet rejected, made non-decreasing and capped at 1, so that
    ``adjusted <= alpha`` marks what Holm's step-down procedure rejects at level ``alpha``.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    try:
        p = np.asarray(pvalues, float)
    except (TypeError, ValueError):                        # a dict or text: numpy's message named neither
        p = np.full(1, np.nan)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):      # NaN fails too: max() would skip it silently
        raise ValueError(f"holm(): pvalues must be a list of numbers in [0, 1]; got {pvalues!r:.200}")
    order = np.argsort(p)
    adj = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (p.size - rank) * p[i]))
        adj[i] = running
    return adj.tolist()


def mcnemar_power(n: int, p10: float, p01: float, alpha: float = 0.05) -> float:
    """Power of the exact two-sided McNemar test (:func:`mcnemar_exact`) at level ``alpha`` for ``n`` pairs
    whose discordant outcomes occur with probabilities ``p10`` (x=1, y=0) and ``p01`` (x=0, y=1).

    Exact: the number of discordant pairs is Binomial(n, p10 + p01), and given it the test rejects on the
    counts whose exact binomial p-value is below ``alpha``.
    """
    from scipy.stats import binom
    d = p10 + p01
    if not (0 <= p10 and 0 <= p01 and d <= 1):
        raise ValueError(f"mcnemar_power(): need p10, p01 >= 0 and p10 + p01 <= 1; got {p10}, {p01}")
    _check_design("mcnemar_power()", n, alpha)
    if d == 0:
        return 0.0
    share = p10 / d
    power = 0.0
    for m in range(1, n + 1):
        pm = binom.pmf(m, n, d)
        if pm < 1e-12:
            continue
        k = np.arange(m + 1)
        # the exact two-sided p-value at p = 1/2 is twice the smaller tail (binomtest's value there)
        reject = np.minimum(1.0, 2 * binom.cdf(np.minimum(k, m - k), m, 0.5)) < alpha
        power += pm * float(binom.pmf(k[reject], m, share).sum())
    return power


def _check_design(where: str, n, alpha) -> None:
    if not is_integer(n, minimum=1):
        raise ValueError(f"{where}: n must be an integer >= 1 (the pairs); got {n!r}")
    if not 0 < alpha < 1:                                            # NaN too: it rejected nothing, silently
        raise ValueError(f"{where}: alpha must be in (0, 1); got {alpha}")


def mcnemar_detectable(n: int, discordance: float, alpha: float = 0.05, power: float = 0.8,
                       step: float = 0.005) -> float:
    """The smallest difference of paired means the exact McNemar test detects with ``power`` at level
    ``alpha`` among ``n`` pairs, when a fraction ``discordance`` of them disagree (nan if none does)."""
    _check_design("mcnemar_detectable()", n, alpha)
    for name, value, low_open in (("discordance", discordance, False), ("power", power, True), ("step", step, True)):
        if not (0 < value <= 1 if low_open else 0 <= value <= 1):      # a step of 0 looped for ever
            raise ValueError(f"mcnemar_detectable(): {name} must be in {'(0' if low_open else '[0'}, 1]; got {value}")
    diff = step
    while diff <= discordance + 1e-12:
        diff = min(diff, discordance)
        if mcnemar_power(n, (discordance + diff) / 2, max(0.0, (discordance - diff) / 2), alpha) >= power:
            return round(diff, 6)
        diff += step
    return float("nan")
