"""Solve many small games at once with a simplex vectorised over the batch.

Regret sweeps and payoff-estimation studies solve thousands of 3x3 to 10x10
games.  A single HiGHS call on such a game costs about 1.5 ms, almost all of it
fixed overhead (building the model, presolve, factorisation set-up).  Here
every game of one shape shares a dense tableau array of shape
``(games, rows, columns)``, and one numpy operation pivots all of them at once.

The LP in standard form: columns ``x[w, a]`` then one surplus ``s_k`` per
obedience row (``G_k x - s_k = 0``), rows ``sum_a x[w, a] = 1`` then the
obedience rows.  Full revelation of the Receiver's best action is a feasible
starting basis (its obedience surpluses are non-negative), so no phase one is
needed.  Dantzig's rule (largest reduced cost) pivots until optimal, switching
to Bland's rule after ``BLAND_AFTER`` pivots so degenerate games cannot cycle.

The duals: the reduced cost of surplus ``s_k`` is the multiplier ``lam_k`` of
obedience row ``k``; given ``lam``, ``y[w] = max_a prior[w] (V[w,a] +
sum_a' lam[a,a'] (U[w,a] - U[w,a']))`` is dual feasible by construction, and
the certificate (primal residuals, ``lam >= 0``, gap) is checked for every
game, vectorised, in the normalised units :func:`~persuasion.solve` checks
in.  ``BatchSolution[i]`` builds the full :class:`Solution` of game ``i`` on
demand, exactly if asked.

A game goes through :func:`~persuasion.solve` on its own instead (its
conditioning check, and the exact path where needed) where the batch cannot
be trusted with it: the vectorised simplex found no pivot or no optimum for
it (numerics), its certificate failed, or its obedience coefficients
``prior[w] (U[w,a] - U[w,b])`` or Advisor differences span more than
``WIDE_RANGE`` (measured: every game a fuzz found with a valid batch
certificate and a wrong value spanned more; none below did).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from .arithmetic import FLOAT
from .errors import InvalidArgumentError, checked_flag
from .game import PersuasionGame
from .lp import obedience_pairs
from .progress import progress as progress_bar
from .scaling import affine_stack, multiplier_factor, scale_multipliers
from .solution import FLOAT_CERTIFICATE_TOLERANCE, Solution, assemble, fields_equal

#: Reduced costs below this do not improve.
PIVOT_TOLERANCE = 1e-11
#: Smallest tableau entry accepted as a pivot (ratio test).
PIVOT_ELEMENT_TOLERANCE = 1e-9
#: Pivots with Dantzig's rule before switching to Bland's rule.
BLAND_AFTER = 200
#: Hard cap on pivots per batch.
MAX_PIVOTS = 20_000
#: Games whose non-zero obedience coefficients (or Advisor differences) span more than this ratio are
#: solved one by one by ``solve()`` (a residual within tolerance does not bound such a game's value error).
WIDE_RANGE = 1e8
#: Tableau bytes per chunk of games: small enough to stay in cache (measured
#: best near 4 MB on the 2-core machine; see docs/performance.md).
CHUNK_BYTES = 4_000_000


def _tableau(prior: np.ndarray, V: np.ndarray, U: np.ndarray):
    """Initial tableau at the full-revelation basis, reduced costs and basis, for a batch."""
    B, m, n = V.shape
    pairs = obedience_pairs(n)
    K = pairs.shape[0]
    R, C = m + K, m * n + K
    A = np.zeros((B, R, C))
    rows = np.arange(m)
    for a in range(n):
        A[:, rows, rows * n + a] = 1.0
    if K:
        # D[b, k, w] = prior[b, w] (U[b, w, a_k] - U[b, w, a'_k]) on columns w*n + a_k
        D = prior[:, None, :] * (U[:, :, pairs[:, 0]] - U[:, :, pairs[:, 1]]).transpose(0, 2, 1)
        for k, (a, _) in enumerate(pairs):
            A[:, m + k, rows * n + a] = D[:, k, :]
            A[:, m + k, m * n + k] = -1.0
    b = np.concatenate([np.ones(m), np.zeros(K)])
    T = np.concatenate([A, np.broadcast_to(b[None, :, None], (B, R, 1))], axis=2).copy()
    cost = np.concatenate([(prior[:, :, None] * V).reshape(B, m * n), np.zeros((B, K))], axis=1)
    basis = np.zeros((B, R), dtype=np.int64)
    br = np.argmax(U, axis=2)                                   # Receiver's best action per state
    idx = np.arange(B)
    for w in range(m):                                          # pivot the revealing columns in
        _pivot(T, idx, np.full(B, w), w * n + br[:, w])
        basis[:, w] = w * n + br[:, w]
    for k in range(K):                                          # surpluses: pivot on -1
        T[:, m + k, :] *= -1.0
        basis[:, m + k] = m * n + k
    cb = np.take_along_axis(cost, basis, axis=1)
    d = cost - np.einsum("br,brc->bc", cb, T[:, :, :C])
    return T, d, basis, cost, pairs


def _pivot(T: np.ndarray, games: np.ndarray, r: np.ndarray, j: np.ndarray, d: np.ndarray | None = None) -> None:
    """Pivot game ``games[i]`` on row ``r[i]``, column ``j[i]`` (in place)."""
    piv_row = T[games, r, :] / T[games, r, j][:, None]
    col = T[games, :, j].copy()
    col[np.arange(len(games)), r] = 0.0
    T[games] -= col[:, :, None] * piv_row[:, None, :]
    T[games, r, :] = piv_row
    if d is not None:
        d[games] -= d[games, j][:, None] * piv_row[:, :d.shape[1]]


def _checked_arrays(prior, sender, receiver) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three arrays as floats, of matching shapes and finite: a NaN made every reduced cost NaN, so
    the simplex stopped at once at its start and reported the game solved, with NaN duals."""
    where = "solve_arrays()"
    try:
        prior, V, U = (np.asarray(a, dtype=float) for a in (prior, sender, receiver))
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(where, "prior/sender/receiver", "must hold real numbers", str(err)) from None
    if V.ndim != 3 or U.shape != V.shape or prior.shape != V.shape[:2]:
        raise InvalidArgumentError(where, "prior/sender/receiver", "must have shapes (B, m), (B, m, n), (B, m, n)",
                                   f"shapes {prior.shape}, {V.shape}, {U.shape}")
    for name, a, ok in (("prior", prior, np.isfinite(prior) & (prior >= 0)), ("sender", V, np.isfinite(V)),
                        ("receiver", U, np.isfinite(U))):
        if not ok.all():
            bad = np.argwhere(~ok)[0]
            raise InvalidArgumentError(where, name, "must hold finite numbers" + (" >= 0" if name == "prior" else ""),
                                       f"{a[tuple(bad)]} in game {int(bad[0])}")
    return prior, V, U


def solve_arrays(prior: np.ndarray, sender: np.ndarray, receiver: np.ndarray):
    """Vectorised simplex on same-shape games given as arrays.

    Parameters
    ----------
    prior : (B, m), sender, receiver : (B, m, n) float arrays

    Returns
    -------
    schemes (B, m, n), y (B, m), lam (B, n, n), pivots (int), failed (B,) bool: games for which the
    float simplex found no pivot in a ratio test (impossible exactly: the LP is bounded) or no optimum
    within ``MAX_PIVOTS``; their other outputs are meaningless.  No certificate is checked here
    (:func:`solve_many` checks one for every game).
    """
    prior, V, U = _checked_arrays(prior, sender, receiver)
    B, m, n = V.shape
    T, d, basis, cost, pairs = _tableau(prior, V, U)
    C = d.shape[1]
    # work on the unfinished games only, compacted so every pivot is a contiguous update
    order = np.arange(B)                         # game of each working slot
    failed = np.zeros(B, dtype=bool)
    Tw, dw, bw = T, d, basis
    for it in range(MAX_PIVOTS):
        if it < BLAND_AFTER:
            j = np.argmax(dw, axis=1)
        else:                                                   # Bland: first improving column
            j = np.argmax(dw > PIVOT_TOLERANCE, axis=1)
        slots = np.arange(len(order))
        improving = dw[slots, j] > PIVOT_TOLERANCE
        if not improving.all():                  # finished games leave the working set
            done = order[~improving]
            T[done], d[done], basis[done] = Tw[~improving], dw[~improving], bw[~improving]
            order, Tw, dw, bw, j = order[improving], Tw[improving], dw[improving], bw[improving], j[improving]
            slots = np.arange(len(order))
            if not len(order):
                break
        colj = Tw[slots, :, j]                                  # (b, R)
        rhs = Tw[:, :, -1]
        ok = colj > PIVOT_ELEMENT_TOLERANCE
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(ok, rhs / colj, np.inf)
        best = ratio.min(axis=1)
        stuck = np.isinf(best)
        if stuck.any():                          # a numerical failure: the game leaves, marked failed
            failed[order[stuck]] = True
            keep = ~stuck
            order, Tw, dw, bw, j, colj = order[keep], Tw[keep], dw[keep], bw[keep], j[keep], colj[keep]
            ratio, best = ratio[keep], best[keep]
            slots = np.arange(len(order))
            if not len(order):
                break
        tied = ratio <= best[:, None] + PIVOT_TOLERANCE * np.maximum(1.0, np.abs(best[:, None]))
        if it < BLAND_AFTER:                     # among tied rows, the largest pivot (stability)
            r = np.argmax(np.where(tied, colj, -np.inf), axis=1)
        else:                                    # Bland's leaving rule: smallest basic index
            r = np.argmin(np.where(tied, bw, np.iinfo(np.int64).max), axis=1)
        piv_row = Tw[slots, r, :] / colj[slots, r][:, None]
        col = colj.copy()
        col[slots, r] = 0.0
        Tw -= col[:, :, None] * piv_row[:, None, :]
        Tw[slots, r, :] = piv_row
        dw -= dw[slots, j][:, None] * piv_row[:, :C]
        bw[slots, r] = j
    else:
        failed[order] = True                     # no optimum within MAX_PIVOTS
    z = np.zeros((B, C))
    np.put_along_axis(z, basis, T[:, :, -1], axis=1)
    schemes = np.clip(z[:, :m * n].reshape(B, m, n), 0.0, None)
    lam = np.zeros((B, n, n))
    K = pairs.shape[0]
    if K:
        # reduced cost of surplus k is 0 - (c_B B^-1)(-e_k) = multiplier of row k; lam = -(that) >= 0
        lam[:, pairs[:, 0], pairs[:, 1]] = np.clip(-d[:, m * n:], 0.0, None)
    S = U * lam.sum(axis=2)[:, None, :] - np.einsum("bwc,bac->bwa", U, lam)
    y = (prior[:, :, None] * (V + S)).max(axis=2)
    return schemes, y, lam, it, failed


@dataclass(frozen=True, eq=False)
class BatchSolution:
    """Optimal schemes of many games, with per-game float certificates.

    ``values[i]``, ``schemes[i]`` (m_i x n_i), ``y[i]`` and ``lam[i]`` (duals in the game's units),
    ``residuals[i]`` (worst of the primal residuals and the duality gap, normalised units) and
    ``valid[i]`` (residual within the float certificate tolerance, or, for a game solved on its own,
    that solution's certificate).  ``self[i]`` gives game ``i``'s full :class:`Solution` (with
    ``exact=True`` in :func:`solve_many`, an exact one); ``individual`` holds the solutions of the
    games solved on their own by :func:`~persuasion.solve`, by index.

    Examples
    --------
    >>> from persuasion import examples, solve_many
    >>> batch = solve_many([examples.prosecutor_judge()] * 3)
    >>> len(batch.values), bool(batch.valid.all())
    (3, True)
    """

    games: tuple
    values: np.ndarray
    schemes: tuple
    y: tuple
    lam: tuple
    residuals: np.ndarray
    valid: np.ndarray
    exact: bool = False
    stats: dict = field(default_factory=dict, compare=False)
    individual: dict = field(default_factory=dict, compare=False)

    __eq__ = fields_equal

    def __len__(self) -> int:
        return len(self.games)

    def __getitem__(self, i: int) -> Solution:
        if isinstance(i, slice):
            return [self[k] for k in range(len(self))[i]]
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise InvalidArgumentError("BatchSolution[]", "index", "must be an integer or a slice", i)
        i = range(len(self))[i]        # -1 is the last game: it missed `individual` and got the batch's arrays
        g = self.games[i]
        if self.exact:
            from .solve import solve
            return solve(g, exact=True)
        if i in self.individual:
            return self.individual[i]
        return assemble(g, self.schemes[i].copy(), self.y[i].copy(), self.lam[i].copy(), ar=FLOAT,
                        method="batch-simplex")


def solve_many(games: Iterable[PersuasionGame], exact: bool = False, progress: bool = False) -> BatchSolution:
    """Optimal schemes of many games; games of one shape are solved together.

    A game the batch cannot be trusted with (the vectorised simplex failed on it, its certificate
    failed, or its data span more than ``WIDE_RANGE``: see the module doc) is solved on its own by
    :func:`~persuasion.solve`, with that function's checks; ``stats["solved_alone"]`` counts them.

    Parameters
    ----------
    games : iterable of PersuasionGame
    exact : bool
        Items of the result (``result[i]``) are exact, certified solutions
        (each re-solved exactly on access); the arrays stay float.
    progress : bool
        Show a progress bar (tqdm) over shape groups.

    Examples
    --------
    >>> from persuasion import examples, solve_many
    >>> batch = solve_many([examples.prosecutor_judge(), examples.load("investment_advice")])
    >>> [round(float(v), 4) for v in batch.values]
    [0.6, 2.7]
    """
    exact, progress = checked_flag("solve_many()", "exact", exact), checked_flag("solve_many()", "progress", progress)
    try:
        games = tuple(games)
    except TypeError:
        raise InvalidArgumentError("solve_many()", "games", "must be an iterable of PersuasionGame",
                                   type(games).__name__) from None
    for i, g in enumerate(games):
        if not isinstance(g, PersuasionGame):
            raise InvalidArgumentError("solve_many()", f"games[{i}]", "must be a PersuasionGame", type(g).__name__)
    groups: dict[tuple, list[int]] = {}
    for i, g in enumerate(games):
        groups.setdefault(g.shape, []).append(i)
    values = np.zeros(len(games))
    residuals = np.zeros(len(games))
    valid = np.zeros(len(games), dtype=bool)
    schemes: list = [None] * len(games)
    ys: list = [None] * len(games)
    lams: list = [None] * len(games)
    items = progress_bar(list(groups.items()), "solve_many", unit="shape", enabled=progress)
    pivots = 0
    alone: list[int] = []                 # games the batch cannot be trusted with (module doc)
    for shape, idx in items:
        m, n = shape
        rows, cols = m + n * (n - 1), m * n + n * (n - 1) + 1
        per_chunk = max(8, CHUNK_BYTES // (8 * rows * cols))
        for start in range(0, len(idx), per_chunk):
            chunk = idx[start:start + per_chunk]
            P = np.stack([games[i].prior for i in chunk])
            V = np.stack([games[i].sender for i in chunk])
            aV, bV, cV, Vn = affine_stack(V)        # each game normalised as solve() does (scaling.py)
            aU, bU, _, Un = affine_stack(np.stack([games[i].receiver for i in chunk]))
            X, y_n, lam_n, used, failed = solve_arrays(P, Vn, Un)
            y = aV[:, None] * (bV[:, None] * y_n + P * cV)           # duals back in the games' units
            lam = scale_multipliers(lam_n, multiplier_factor(aV, bV, aU, bU)[:, None, None])
            pivots += used
            vals = np.einsum("bw,bwa,bwa->b", P, V, X)
            W = P[:, :, None] * X
            G = np.einsum("bwa,bwc->bac", W, Un)
            O = np.diagonal(G, axis1=1, axis2=2)[:, :, None] - G
            primal = np.maximum.reduce([np.abs(X.sum(axis=2) - 1).max(axis=1), np.maximum(0, -O.min(axis=(1, 2)))])
            res = np.maximum(primal, np.abs(y_n.sum(axis=1) - np.einsum("bw,bwa,bwa->b", P, Vn, X)))
            # multipliers beyond the float range in the game's units (V near 1e300 beside U near 1e-300), or so
            # small that they lose digits (subnormal), cannot be re-checked from them: solve() keeps its
            # normalised duals for that
            lost = (lam_n != 0) & (np.abs(lam) < np.finfo(float).tiny)
            in_range = np.isfinite(lam).all(axis=(1, 2)) & ~lost.any(axis=(1, 2))
            trusted = ~failed & (res <= FLOAT_CERTIFICATE_TOLERANCE) & ~_wide(P, V, Un) & in_range
            for k, i in enumerate(chunk):
                if not trusted[k]:
                    alone.append(i)
                    continue
                values[i], residuals[i], valid[i] = vals[k], res[k], True
                schemes[i], ys[i], lams[i] = X[k], y[k], lam[k]
    individual = {}
    if alone:
        from .solve import solve
        for i in progress_bar(alone, "solve_many: games solved on their own", unit="game", enabled=progress):
            sol = individual[i] = solve(games[i])
            values[i], valid[i] = sol.value, sol.certificate.valid
            residuals[i] = float(sol.residuals.worst())
            obedience = sol.duals.obedience
            schemes[i], ys[i] = np.asarray(sol.scheme, float), np.asarray(sol.duals.state, float)
            lams[i] = obedience.toarray() if hasattr(obedience, "toarray") else np.asarray(obedience, float)
    return BatchSolution(games, values, tuple(schemes), tuple(ys), tuple(lams), residuals, valid, exact,
                         {"pivots": pivots, "shapes": len(groups), "solved_alone": len(alone)}, individual)


def _wide(P: np.ndarray, V: np.ndarray, Un: np.ndarray) -> np.ndarray:
    """Per game of a same-shape batch: do the non-zero obedience coefficients ``P[w] (U[w,a] - U[w,b])``
    or Advisor differences ``P[w] (V[w,a] - V[w,b])`` span more than :data:`WIDE_RANGE`?  (Ratios within
    one matrix: its scale and per-state shifts cancel, so normalised or not is the same.)"""
    out = np.zeros(P.shape[0], dtype=bool)
    for M in (Un, V):
        C = np.abs(P[:, :, None, None] * (M[:, :, :, None] - M[:, :, None, :])).reshape(P.shape[0], -1)
        nonzero = C > 0
        big = np.where(nonzero, C, 0.0).max(axis=1)
        small = np.where(nonzero, C, np.inf).min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out |= nonzero.any(axis=1) & (big > WIDE_RANGE * small)
    return out
