"""Row and column generation on a live HiGHS model.

Only a few percent of the ``n(n-1)`` obedience rows bind at the optimum, and
the optimal scheme has about ``m`` plus that many positive entries out of
``m n``.  So the LP is grown lazily in both directions:

* **start** with the simplex rows and, for each state, the Receiver's best
  action there (so full revelation is feasible: the restricted LP is never
  infeasible) and the Advisor's favourite actions;
* **rows**: compute every obedience slack of the current scheme at once
  (``O = W^T U`` with ``W = prior * x``, one ``n x m x n`` product) and add the
  most violated rows of each recommendation;
* **columns**: price every absent ``x[w, a]`` with the current duals
  (reduced cost ``prior[w] (V[w,a] + sum_a' lam[a,a'] (U[w,a] - U[w,a'])) - y[w]``)
  and add the most improving ones of each state;
* re-solve warm (HiGHS keeps its basis when rows and columns are added) until
  nothing is violated and nothing prices out.

At that point the restricted optimum, padded with zeros, is feasible for the
full LP and its duals (zero on rows never added) are dual feasible for it: the
same optimum with the same certificate as the textbook LP.

Memory stays at the active set: slacks are computed only for the actions the
current scheme recommends (``k x n``, never ``n x n``), the model's rows are
kept in a dictionary and the multipliers priced as a sparse matrix.  The
conditioning check (:mod:`persuasion.conditioning`) runs the same loop with
every obedience row tightened and the columns fixed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .backends import FloatResult, new_highs, run_highs
from .errors import SolverError
from .game import PersuasionGame
from .lp import recommended_slacks

#: Rows added per recommended action and round (the most violated first).
ROWS_PER_ACTION = 4
#: Columns added per state and round (the largest reduced costs first).
COLS_PER_STATE = 16
#: Favourite Advisor actions per state in the starting columns.
START_COLS_PER_STATE = 4
#: Violations and reduced costs below ``GENERATION_TOLERANCE * max(1, |U|, |V|)`` are ignored.
GENERATION_TOLERANCE = 1e-10


@dataclass
class _Model:
    """Bookkeeping between the game's indices and the live model's."""

    m: int
    n: int
    col_of: np.ndarray        # (m, n): model column of x[w, a], or -1
    cols: np.ndarray          # (k, 2): model column -> (w, a)
    pairs: np.ndarray         # (K, 2): model row m + k -> (a, a')
    row_of: dict = field(default_factory=dict)   # a -> {a': model row of obedience (a, a')}
    tighten: float = 0.0      # rows ask sum_w prior[w] x[w,a] (U[w,a] - U[w,a'] - tighten [U differs]) >= 0
    row_scale: np.ndarray | None = None   # (n,): positive factor on the rows of each recommended action

    def coefficients(self, prior, U, ws, a, bs) -> np.ndarray:
        """Row entries ``prior[w] (U[w,a] - U[w,b] - tighten [U[w,a] != U[w,b]])`` for ``ws x bs``, times the
        row scale of ``a`` (a homogeneous row keeps its feasible set under a positive factor)."""
        diff = U[ws, a][:, None] - U[np.ix_(ws, bs)]
        if self.tighten:
            diff = diff - self.tighten * (diff != 0)
        out = prior[ws, None] * diff
        return out * self.row_scale[a] if self.row_scale is not None else out


def _top_k(score: np.ndarray, k: int, threshold: float) -> np.ndarray:
    """Indices ``(i, j)`` of up to ``k`` entries per row of ``score`` above ``threshold``, largest first."""
    r, c = score.shape
    k = min(k, c)
    if k <= 0:
        return np.zeros((0, 2), dtype=int)
    idx = np.argpartition(-score, k - 1, axis=1)[:, :k] if k < c else np.argsort(-score, axis=1)
    rows = np.repeat(np.arange(r), k)
    cols = idx.reshape(-1)
    keep = score[rows, cols] > threshold
    return np.stack([rows[keep], cols[keep]], axis=1)


def _csr_blocks(groups):
    """Concatenate per-group (count, nnz-per-item, index, value) blocks into start/index/value arrays."""
    counts = np.concatenate([g[0] for g in groups]) if groups else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
    index = np.concatenate([g[1] for g in groups]).astype(np.int32) if groups else np.zeros(0, np.int32)
    value = np.concatenate([g[2] for g in groups]).astype(float) if groups else np.zeros(0)
    return starts, index, value


def _runs(keys: np.ndarray) -> list[slice]:
    """Slices of the maximal runs of equal consecutive ``keys``."""
    cut = np.flatnonzero(np.diff(keys)) + 1
    bounds = np.concatenate([[0], cut, [len(keys)]])
    return [slice(int(b0), int(b1)) for b0, b1 in zip(bounds[:-1], bounds[1:])]


def _add_cols(h, M: _Model, new: np.ndarray, prior, V, U, keep_order: bool = False) -> None:
    """Add columns ``x[w, a]`` for each ``(w, a)`` in ``new``, with their entries in present rows (grouped
    by action unless ``keep_order``: a warm start must rebuild a model column for column)."""
    import highspy
    if not keep_order:
        new = new[np.argsort(new[:, 1], kind="stable")]
    groups = []
    for run in _runs(new[:, 1]):
        a, ws = new[run.start, 1], new[run, 0]
        present = M.row_of.get(int(a), {})
        bs = np.fromiter(present.keys(), dtype=np.int64, count=len(present))
        coef = M.coefficients(prior, U, ws, a, bs)                               # (k_a, |bs|)
        nz = coef != 0
        idx = np.where(nz, np.fromiter(present.values(), dtype=np.int64, count=len(present))[None, :], -1)
        # each column: its simplex row w first, then its non-zero obedience entries
        counts = 1 + nz.sum(axis=1)
        index = np.concatenate([np.concatenate([[w], idx[i][nz[i]]]) for i, w in enumerate(ws)])
        value = np.concatenate([np.concatenate([[1.0], coef[i][nz[i]]]) for i in range(len(ws))])
        groups.append((counts, index, value))
    starts, index, value = _csr_blocks(groups)
    k = len(new)
    M.col_of[new[:, 0], new[:, 1]] = len(M.cols) + np.arange(k)
    M.cols = np.concatenate([M.cols, new])
    h.addCols(k, (prior[new[:, 0]] * V[new[:, 0], new[:, 1]]).astype(float), np.zeros(k),
              np.full(k, highspy.kHighsInf), len(index), starts, index, value)


def _add_rows(h, M: _Model, new: np.ndarray, prior, U, keep_order: bool = False) -> None:
    """Add obedience rows ``(a, a')`` for each pair in ``new``, over the present columns (grouped by
    recommended action unless ``keep_order``)."""
    import highspy
    if not keep_order:
        new = new[np.argsort(new[:, 0], kind="stable")]
    groups = []
    for run in _runs(new[:, 0]):
        a, bs = new[run.start, 0], new[run, 1]
        ws = np.flatnonzero(M.col_of[:, a] >= 0)
        coef = M.coefficients(prior, U, ws, a, bs).T                           # (|bs|, |ws|)
        nz = coef != 0
        cols = np.broadcast_to(M.col_of[ws, a][None, :], coef.shape)
        groups.append((nz.sum(axis=1), cols[nz], coef[nz]))
    starts, index, value = _csr_blocks(groups)
    k = len(new)
    for i, (a, b) in enumerate(new):
        M.row_of.setdefault(int(a), {})[int(b)] = M.m + len(M.pairs) + i
    M.pairs = np.concatenate([M.pairs, new])
    h.addRows(k, np.zeros(k), np.full(k, highspy.kHighsInf), len(index), starts, index, value)


def violated_rows(prior, U, x, M: _Model, per_action: int, threshold: float) -> np.ndarray:
    """Up to ``per_action`` absent obedience rows ``(a, a')`` per recommended action whose (tightened) slack
    under the scheme ``x`` is below ``-threshold``, most violated first.  Only the ``k`` recommended actions
    are multiplied out (``k x n``)."""
    used, O = recommended_slacks(prior, U, x)
    if not used.size:
        return np.zeros((0, 2), dtype=int)
    W = prior[:, None] * x
    if M.tighten:
        for i, a in enumerate(used):
            ws = np.flatnonzero(W[:, a] > 0)
            O[i] -= M.tighten * (W[ws, a] @ (U[ws, a][:, None] != U[ws]))
    O[np.arange(used.size), used] = np.inf
    for i, a in enumerate(used):
        present = M.row_of.get(int(a))
        if present:
            O[i, list(present)] = np.inf
    found = _top_k(-O, per_action, threshold)
    return np.stack([used[found[:, 0]], found[:, 1]], axis=1) if len(found) else found


def solve_generation(game: PersuasionGame, options: dict | None = None, rows_per_action: int = ROWS_PER_ACTION,
                     cols_per_state: int = COLS_PER_STATE, max_rounds: int = 100_000,
                     extra_pairs=(), extra_cols=(), *, tighten: float = 0.0,
                     price_columns: bool = True, warm: dict | None = None,
                     row_scale: np.ndarray | None = None) -> tuple[FloatResult, np.ndarray, dict]:
    """Solve the persuasion LP by row and column generation.

    Returns ``(result, pairs, info)``: a :class:`~persuasion.backends.FloatResult`
    with the full ``x`` (zeros on absent columns), ``y``, ``lam_rows`` for the
    obedience rows ``pairs`` in the final model, and the basis in the game's
    indices (basic columns ``w * n + a``, tight simplex rows, tight rows of
    ``pairs``).  ``extra_pairs`` and ``extra_cols`` seed the model (used by
    the exact path to repair a basis).  ``tighten > 0`` solves the LP whose obedience rows ask each
    recommendation to beat each alternative by ``tighten`` in every state where their utilities differ
    (normalised units); ``price_columns=False`` keeps the starting columns only.  ``warm`` (the
    ``result.info["warm"]`` of an earlier run on the same game) starts from that run's final columns, rows
    and basis instead, so a re-solve with tightened rows takes a few simplex iterations.  ``row_scale``
    multiplies the rows of each recommended action (HiGHS meets rows to an absolute tolerance, so a row of
    a rarely sent recommendation is best scaled up by the inverse of its mass).
    """
    import highspy
    m, n = game.shape
    prior, V, U = game.prior, game.sender, game.receiver
    tol = GENERATION_TOLERANCE * max(1.0, float(np.abs(U).max()), float(np.abs(V).max()))
    h = new_highs(options)
    M = _Model(m, n, np.full((m, n), -1, dtype=np.int64), np.zeros((0, 2), dtype=np.int64),
               np.zeros((0, 2), dtype=np.int64), tighten=float(tighten), row_scale=row_scale)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 0, m
    lp.row_lower_, lp.row_upper_ = np.ones(m), np.ones(m)
    lp.sense_ = highspy.ObjSense.kMaximize
    h.passModel(lp)
    if warm is not None:                         # the earlier model, in its order, then its basis
        _add_cols(h, M, warm["cols"], prior, V, U, keep_order=True)
        if len(warm["pairs"]):
            _add_rows(h, M, warm["pairs"], prior, U, keep_order=True)
        h.setBasis(warm["basis"])
    else:
        start = {(w, int(np.argmax(U[w]))) for w in range(m)}
        start |= {tuple(p) for p in _top_k(V, START_COLS_PER_STATE, -np.inf)}
        start |= {tuple(map(int, c)) for c in extra_cols}
        _add_cols(h, M, np.array(sorted(start), dtype=int).reshape(-1, 2), prior, V, U)
        if len(extra_pairs):
            _add_rows(h, M, np.asarray(extra_pairs, dtype=int).reshape(-1, 2), prior, U)
    iterations = 0
    for rounds in range(1, max_rounds + 1):
        run_highs(h)
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError("solve()", h.modelStatusToString(status),
                              "Row/column generation stopped early; try method='highs'.")
        iterations += int(h.getInfo().simplex_iteration_count)
        sol = h.getSolution()
        x = np.zeros((m, n))
        x[M.cols[:, 0], M.cols[:, 1]] = sol.col_value
        # tightened rows serve a certificate that needs every slack >= 0: no tolerance there
        new_rows = violated_rows(prior, U, x, M, rows_per_action, 0.0 if tighten else tol)
        row_dual = np.asarray(sol.row_dual, dtype=float)
        y = row_dual[:m]
        new_cols = np.zeros((0, 2), dtype=int)
        if price_columns:          # reduced costs of absent columns under the current duals
            lam = sp.csr_matrix((-row_dual[m:], (M.pairs[:, 0], M.pairs[:, 1])), shape=(n, n))
            S = U * np.asarray(lam.sum(axis=1)).reshape(-1)[None, :] - np.asarray(lam @ U.T).T
            rc = prior[:, None] * (V + S) - y[:, None]
            rc[M.col_of >= 0] = -np.inf
            new_cols = _top_k(rc, cols_per_state, tol)
        if not len(new_rows) and not len(new_cols):
            break
        if len(new_cols):
            _add_cols(h, M, new_cols, prior, V, U)
        if len(new_rows):
            _add_rows(h, M, new_rows, prior, U)
    else:
        raise SolverError("solve()", f"row/column generation did not converge in {max_rounds} rounds",
                          "Increase max_rounds or use method='highs'.")
    basis = h.getBasis()
    basic = int(highspy.HighsBasisStatus.kBasic)
    col_status = np.array([int(s) for s in basis.col_status])
    row_status = np.array([int(s) for s in basis.row_status])
    cols, pairs = M.cols, M.pairs
    basic_cols = cols[col_status == basic]
    res = FloatResult(
        x=x.reshape(-1), y=y.copy(), lam_rows=-row_dual[m:].copy(), status="optimal", iterations=iterations,
        basis=(basic_cols[:, 0] * n + basic_cols[:, 1], np.flatnonzero(row_status[:m] != basic),
               np.flatnonzero(row_status[m:] != basic)),
    )
    info = {"rounds": rounds, "rows_added": len(pairs), "cols_added": len(cols), "iterations": iterations}
    res.info["warm"] = {"cols": cols, "pairs": pairs, "basis": basis}
    return res, pairs, info
