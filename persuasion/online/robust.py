"""The robust persuasion LP and the robust learner.

Given a box ``[lower, upper]`` of priors, a scheme is *robustly obedient* if
every obedience row holds for every prior in the box.  Each row is linear in
the prior and the box is a product of intervals, so the worst prior is found
coordinate by coordinate: the row ``sum_w mu[w] pi[w,a] D[w] >= 0`` (with
``D = U[:,a] - U[:,a']``) holds on the whole box iff it holds with
``mu[w] = lower[w]`` where ``D[w] >= 0`` and ``mu[w] = upper[w]`` where
``D[w] < 0``.  The rows stay linear, and full revelation of the Receiver's
best action satisfies all of them (every term is non-negative), so the robust
LP is never infeasible.  Without the clip at zero, ``lower`` could be
negative and full revelation would stop being feasible.
"""
from __future__ import annotations

import numpy as np

from .. import backends
from ..lp import FloatLP, obedience_matrix, obedience_pairs, simplex_matrix
from ..scaling import Scaling


def robust_coefficients(U: np.ndarray, lower: np.ndarray, upper: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Worst-case obedience coefficients ``C[k, w]`` for each pair ``k = (a, a')``.

    Examples
    --------
    >>> import numpy as np
    >>> from persuasion import examples
    >>> from persuasion.online import robust_coefficients
    >>> U = np.asarray(examples.prosecutor_judge().receiver, float)
    >>> robust_coefficients(U, np.array([0.6, 0.2]), np.array([0.8, 0.4]), np.array([[1, 0]])).round(3).tolist()
    [[-0.8, 0.2]]
    """
    D = (U[:, pairs[:, 0]] - U[:, pairs[:, 1]]).T           # (K, m)
    return np.where(D >= 0, lower[None, :] * D, upper[None, :] * D)


def _box_arguments(m: int, mu_hat, lower, upper) -> tuple:
    """The prior and box :func:`solve_robust` reads, checked for what a custom learner could get wrong
    (lists ended in a ``TypeError`` on ``mu_hat[:, None]``, a box of the wrong length in a broadcasting
    error, a NaN bound in a HiGHS failure); the utilities are checked by :meth:`Scaling.of`."""
    from ..errors import InvalidArgumentError
    where = "solve_robust()"
    out = []
    for name, v in (("mu_hat", mu_hat), ("lower", lower), ("upper", upper)):
        v = np.asarray(v, dtype=float)
        if v.shape != (m,) or not (np.isfinite(v) & (v >= 0) & (v <= 1)).all():
            raise InvalidArgumentError(where, name, f"must be {m} probabilities (one per state)", v.tolist())
        out.append(v)
    if (out[1] > out[2]).any():
        raise InvalidArgumentError(where, "lower", "must be at most upper in every state", out[1].tolist())
    return tuple(out)


def solve_robust(sender: np.ndarray, receiver: np.ndarray, mu_hat: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray, options: dict | None = None) -> np.ndarray:
    """Best scheme for the objective ``mu_hat`` among schemes obedient for every prior in the box.

    Solved on the utilities normalised to spread 1 (:mod:`persuasion.scaling`), with each obedience row
    then divided by its largest coefficient.  Neither changes the feasible set or the optimal schemes; the
    row scaling keeps HiGHS' absolute feasibility tolerance (1e-9) relative to each row, so a row whose
    utilities are a billion times smaller than another state's is not treated as already satisfied.

    Examples
    --------
    A box around the true prior (0.7, 0.3): to stay obedient for every prior in it, the innocent are
    recommended 'convict' with probability 1/3 instead of the optimum's 3/7.

    >>> import numpy as np
    >>> from persuasion import examples
    >>> from persuasion.online import solve_robust
    >>> g = examples.prosecutor_judge()
    >>> S, U = np.asarray(g.sender, float), np.asarray(g.receiver, float)
    >>> solve_robust(S, U, np.array([0.7, 0.3]), np.array([0.65, 0.25]), np.array([0.75, 0.35])).round(4).tolist()
    [[0.6667, 0.3333], [0.0, 1.0]]
    """
    sc = Scaling.of(sender, receiver)
    sender, receiver = sc.sender, sc.receiver
    m, n = sender.shape
    mu_hat, lower, upper = _box_arguments(m, mu_hat, lower, upper)
    pairs = obedience_pairs(n)
    C = robust_coefficients(receiver, lower, upper, pairs)
    C = C / np.maximum(np.abs(C).max(axis=1, keepdims=True), np.finfo(float).tiny)   # each row at its own scale
    lp = FloatLP(c=(mu_hat[:, None] * sender).reshape(-1), A_eq=simplex_matrix(m, n),
                 A_ob=obedience_matrix(C, pairs, m, n), D=C, pairs=pairs, m=m, n=n)
    res = backends.solve_highs(lp, options)
    return np.clip(res.x.reshape(m, n), 0.0, None)
