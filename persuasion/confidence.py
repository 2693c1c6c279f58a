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

import numpy as np


def radius(s, m: int, delta: float):
    """Box half-width after ``s`` samples (``inf`` for ``s = 0``); vectorised in ``s``.

    Examples
    --------
    >>> from persuasion.confidence import radius
    >>> [round(float(radius(s, 2, 0.05)), 4) for s in (100, 10_000)]   # about 1/sqrt(s), up to a log factor
    [0.2608, 0.0338]
    """
    s = np.asarray(s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(np.log(2.0 * m * s * (s + 1.0) / delta) / (2.0 * s))
    return np.where(s > 0, r, np.inf)


def l1_radius(s, m: int, delta: float):
    """l1 deviation radius after ``s`` samples (``inf`` for ``s = 0``); vectorised in ``s``."""
    s = np.asarray(s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
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
    choices = [sorted({float(lo), float(hi)}) for lo, hi in zip(lower, upper)]
    return np.array(list(itertools.product(*choices)), dtype=float)
