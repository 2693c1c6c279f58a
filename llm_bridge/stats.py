"""Paired tests for held-out comparisons: exact McNemar and Holm's step-down correction."""
from __future__ import annotations

import numpy as np


def mcnemar_exact(x, y) -> dict:
    """Exact (binomial) McNemar test of paired binary outcomes ``x`` and ``y`` (same problems, same order).

    Returns the discordant counts ``b`` (x=1, y=0) and ``c`` (x=0, y=1), the
    difference of means ``x - y`` and the two-sided p-value.
    """
    from scipy.stats import binomtest
    x, y = np.asarray(x, bool), np.asarray(y, bool)
    if x.shape != y.shape:
        raise ValueError(f"mcnemar_exact(): x and y must be paired (same shape); got {x.shape} and {y.shape}")
    b, c = int((x & ~y).sum()), int((~x & y).sum())
    p = 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)
    return {"n": int(x.size), "b": b, "c": c, "diff": float(x.mean() - y.mean()) if x.size else float("nan"),
            "p": min(1.0, p)}


def holm(pvalues) -> list[float]:
    """Holm-adjusted p-values (family-wise error control), in the input order."""
    p = np.asarray(pvalues, float)
    order = np.argsort(p)
    adj = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (p.size - rank) * p[i]))
        adj[i] = running
    return adj.tolist()
