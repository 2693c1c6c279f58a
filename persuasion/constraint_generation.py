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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backends import FloatResult, new_highs, run_highs
from .errors import SolverError
from .game import PersuasionGame
from .lp import obedience_slacks

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
    row_of: np.ndarray        # (n, n): model row of obedience (a, a'), or -1
    pairs: np.ndarray         # (K, 2): model row m + k -> (a, a')


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


def _add_cols(h, M: _Model, new: np.ndarray, prior, V, U) -> None:
    """Add columns ``x[w, a]`` for each ``(w, a)`` in ``new``, with their entries in present rows."""
    import highspy
    order = np.argsort(new[:, 1], kind="stable")      # group the new columns by action
    new = new[order]
    groups = []
    for a in np.unique(new[:, 1]):
        ws = new[new[:, 1] == a, 0]
        bs = np.flatnonzero(M.row_of[a] >= 0)
        coef = prior[ws, None] * (U[ws, a][:, None] - U[np.ix_(ws, bs)])      # (k_a, |bs|)
        nz = coef != 0
        idx = np.where(nz, M.row_of[a, bs][None, :], -1)
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


def _add_rows(h, M: _Model, new: np.ndarray, prior, U) -> None:
    """Add obedience rows ``(a, a')`` for each pair in ``new``, over the present columns."""
    import highspy
    groups = []
    for a, b in new:
        ws = np.flatnonzero(M.col_of[:, a] >= 0)
        coef = prior[ws] * (U[ws, a] - U[ws, b])
        nz = coef != 0
        groups.append((np.array([nz.sum()]), M.col_of[ws[nz], a], coef[nz]))
    starts, index, value = _csr_blocks(groups)
    k = len(new)
    M.row_of[new[:, 0], new[:, 1]] = M.m + len(M.pairs) + np.arange(k)
    M.pairs = np.concatenate([M.pairs, new])
    h.addRows(k, np.zeros(k), np.full(k, highspy.kHighsInf), len(index), starts, index, value)


def solve_generation(game: PersuasionGame, options: dict | None = None, rows_per_action: int = ROWS_PER_ACTION,
                     cols_per_state: int = COLS_PER_STATE, max_rounds: int = 100_000,
                     extra_pairs=(), extra_cols=()) -> tuple[FloatResult, np.ndarray, dict]:
    """Solve the persuasion LP by row and column generation.

    Returns ``(result, pairs, info)``: a :class:`~persuasion.backends.FloatResult`
    with the full ``x`` (zeros on absent columns), ``y``, ``lam_rows`` for the
    obedience rows ``pairs`` in the final model, and the basis in the game's
    indices (basic columns ``w * n + a``, tight simplex rows, tight rows of
    ``pairs``).  ``extra_pairs`` and ``extra_cols`` seed the model (used by
    the exact path to repair a basis).
    """
    import highspy
    m, n = game.shape
    prior, V, U = game.prior, game.sender, game.receiver
    tol = GENERATION_TOLERANCE * max(1.0, float(np.abs(U).max()), float(np.abs(V).max()))
    h = new_highs(options)
    M = _Model(m, n, np.full((m, n), -1, dtype=np.int64), np.zeros((0, 2), dtype=np.int64),
               np.full((n, n), -1, dtype=np.int64), np.zeros((0, 2), dtype=np.int64))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 0, m
    lp.row_lower_, lp.row_upper_ = np.ones(m), np.ones(m)
    lp.sense_ = highspy.ObjSense.kMaximize
    h.passModel(lp)
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
        # rows: obedience slacks of the current scheme, absent rows only
        O = obedience_slacks(prior, U, x)
        np.fill_diagonal(O, np.inf)
        O[M.row_of >= 0] = np.inf
        new_rows = _top_k(-O, rows_per_action, tol)
        # columns: reduced costs of absent columns under the current duals
        row_dual = np.asarray(sol.row_dual, dtype=float)
        y = row_dual[:m]
        lam = np.zeros((n, n))
        lam[M.pairs[:, 0], M.pairs[:, 1]] = -row_dual[m:]
        S = U * lam.sum(axis=1)[None, :] - U.dot(lam.T)
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
    return res, pairs, info
