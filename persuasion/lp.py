"""The persuasion LP, built from small named pieces.

Variables ``x[w, a] = pi(recommend a | state w)``, flattened row-major
(column ``w * n + a``).  The LP is::

    maximise    sum_{w,a} prior[w] V[w,a] x[w,a]                 (objective)
    subject to  sum_a x[w,a] = 1                 for every w     (simplex rows)
                sum_w D_{a,a'}[w] x[w,a] >= 0    for a != a'     (obedience rows)
                x >= 0
    with        D_{a,a'}[w] = prior[w] (U[w,a] - U[w,a'])

Its dual, used for every certificate in the package, is::

    minimise    sum_w y[w]
    subject to  y[w] - sum_{a'} lam[a,a'] D_{a,a'}[w] >= prior[w] V[w,a]   for all (w, a)
                lam >= 0

Rows are labelled (``sum_to_one[state]``, ``obey[a>a']``) so duals can be
read back by name.  Each piece works on float arrays and, where noted, on
object arrays of ``Fraction``.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from .arithmetic import of_array
from .game import PersuasionGame
from .rational import dot


def obedience_pairs(n: int) -> np.ndarray:
    """All ordered pairs ``(a, a')`` with ``a != a'``, shape ``(n(n-1), 2)``, lexicographic."""
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    mask = a != b
    return np.stack([a[mask], b[mask]], axis=1)


def objective_coefficients(prior: np.ndarray, sender: np.ndarray) -> np.ndarray:
    """``c[w*n + a] = prior[w] V[w, a]`` (float or Fraction object arrays)."""
    return (prior[:, None] * sender).reshape(-1)


def obedience_coefficients(prior: np.ndarray, receiver: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``D[k, w] = prior[w] (U[w, a_k] - U[w, a'_k])`` for each pair ``k``; shape ``(K, m)``.

    Row ``k`` of the LP has these values on the columns of action ``a_k``.
    """
    U = receiver
    return (prior[:, None] * (U[:, pairs[:, 0]] - U[:, pairs[:, 1]])).T


def simplex_matrix(m: int, n: int) -> sp.csr_matrix:
    """The ``m x mn`` matrix of the rows ``sum_a x[w, a] = 1``."""
    return sp.kron(sp.identity(m, format="csr"), np.ones((1, n)), format="csr")


def obedience_matrix(D: np.ndarray, pairs: np.ndarray, m: int, n: int) -> sp.csr_matrix:
    """The ``K x mn`` sparse matrix of obedience rows (float ``D`` only)."""
    K = pairs.shape[0]
    rows = np.repeat(np.arange(K), m)
    cols = (np.arange(m)[None, :] * n + pairs[:, :1]).reshape(-1)
    return sp.csr_matrix((D.reshape(-1), (rows, cols)), shape=(K, m * n))


def row_labels(game: PersuasionGame, pairs: np.ndarray) -> list[str]:
    """Labels of the LP rows: simplex rows first, then obedience rows."""
    acts = game.actions
    return [f"sum_to_one[{s}]" for s in game.states] + [f"obey[{acts[a]}>{acts[b]}]" for a, b in pairs]


@dataclass(frozen=True)
class FloatLP:
    """The LP data in float: ``max c x, A_eq x = 1, A_ob x >= 0, x >= 0``."""

    c: np.ndarray
    A_eq: sp.csr_matrix
    A_ob: sp.csr_matrix
    D: np.ndarray
    pairs: np.ndarray
    m: int
    n: int


def build_float_lp(game: PersuasionGame, pairs: np.ndarray | None = None) -> FloatLP:
    """Assemble the float LP, with all obedience rows or only ``pairs``."""
    m, n = game.shape
    pairs = obedience_pairs(n) if pairs is None else np.asarray(pairs, dtype=int).reshape(-1, 2)
    D = obedience_coefficients(game.prior, game.receiver, pairs)
    return FloatLP(objective_coefficients(game.prior, game.sender), simplex_matrix(m, n),
                   obedience_matrix(D, pairs, m, n), D, pairs, m, n)


# ------------------------------------------------------------ certificates
def obedience_slacks(prior, receiver, scheme) -> np.ndarray:
    """``O[a, a'] = sum_w prior[w] x[w,a] (U[w,a] - U[w,a'])`` (n x n; diagonal 0).

    Works on float arrays and on object arrays of ``Fraction`` (exactly).  Rows
    of recommendations never sent are zero and are not multiplied out.
    """
    W = prior[:, None] * scheme           # W[w, a] = prior[w] x[w, a]
    n = W.shape[1]
    used = np.flatnonzero((W != 0).any(axis=0))
    # G[a, a'] = sum_w W[w,a] U[w,a']
    G = np.full((n, n), Fraction(0), dtype=object) if W.dtype == object else np.zeros((n, n))
    if used.size:
        G[used] = dot(W[:, used].T, receiver)
    return np.diagonal(G)[:, None] - G


def recommended_slacks(prior, receiver, scheme) -> tuple[np.ndarray, np.ndarray]:
    """``(used, O)``: the recommendations actually sent and their rows of :func:`obedience_slacks`
    (``k x n`` instead of ``n x n``; the rows of signals never sent are zero).  Exact on object arrays of
    ``Fraction``."""
    W = prior[:, None] * scheme
    used = np.flatnonzero((W != 0).any(axis=0))
    G = dot(W[:, used].T, receiver) if used.size else np.zeros((0, receiver.shape[1]), dtype=W.dtype)
    return used, G[np.arange(used.size), used][:, None] - G    # G[i, a'] = sum_w W[w, used_i] U[w, a']


def worst_obedience_violation(prior, receiver, scheme):
    """``max(0, -min O[a, a'])`` over the rows of recommendations actually sent (the others are 0).

    The same number as the worst negative entry of :func:`obedience_slacks`, computed on the ``k`` used
    rows only (:func:`recommended_slacks`): the two-state closed form sends at most two signals.
    Exact on object arrays of ``Fraction``; on floats a NaN stays NaN.
    """
    used, O = recommended_slacks(prior, receiver, scheme)
    ar = of_array(prior[:, None] * scheme)
    return ar.worst_negative(O) if used.size else ar.zero


def dual_slacks(prior, sender, receiver, y, lam) -> np.ndarray:
    """Dual constraint slacks ``y[w] - sum_a' lam[a,a'] D_{a,a'}[w] - prior[w] V[w,a]``, (m x n).

    ``lam`` is the n x n matrix of obedience multipliers (diagonal ignored).
    Non-negative everywhere iff ``(y, lam)`` is dual feasible (with ``lam >= 0``).
    """
    if sp.issparse(lam):                   # float path, e.g. the two-state closed form: O(nnz + m n)
        lam = sp.csr_matrix(lam, dtype=float)
        lam = lam - sp.diags(lam.diagonal())
        S = receiver * np.asarray(lam.sum(axis=1)).reshape(-1)[None, :] - np.asarray(lam @ receiver.T).T
        return y[:, None] - prior[:, None] * S - prior[:, None] * sender
    lam = lam.copy()
    np.fill_diagonal(lam, 0)
    # sum_a' lam[a,a'] (U[w,a] - U[w,a']) = U[w,a] * rowsum(lam)[a] - (U lam^T)[w,a]
    S = receiver * lam.sum(axis=1)[None, :] - dot(receiver, lam.T)
    return y[:, None] - prior[:, None] * S - prior[:, None] * sender
