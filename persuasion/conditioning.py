"""Is a float optimum's value well conditioned?  A value interval from a certified primal and a repaired dual.

The float path solves the LP within HiGHS' feasibility tolerance, so its optimum may sit on the relaxed
side of obedience.  Where the optimal value jumps under tiny perturbations of the data (an action that is a
best response at a single belief), a float optimum can claim a value that no exactly obedient scheme
reaches while its float certificate, checked within tolerance, is valid.  This module brackets the exact
optimal value of the normalised game (:mod:`persuasion.scaling`) from both sides:

* **Below**, by the value of a scheme whose obedience is *certified*: every obedience slack, computed in
  floating point, exceeds a bound on the error of that computation plus the rounding of the normalised data
  (:func:`certified_margins`), so the scheme is exactly obedient in the game as given.  Candidates, cheapest
  first: the float optimum itself; its mix with full revelation (enough where full revelation has slack on
  the rows the optimum binds); and the optimum of the LP whose obedience rows are tightened by ``width``,
  restricted to the optimum's support and each state's best action, with rows generated from the
  recommended actions' ``k x n`` slacks (never ``n x n``).  That LP is solved with presolve off: HiGHS 1.16's
  presolve calls some such LPs infeasible at a 1e-9 tightening where they are feasible.
* **Above**, by weak duality, with no solve: the float duals with negative multipliers dropped violate the
  dual constraints by at most their residuals, and ``sum_w (y[w] + max_a residual[w, a]^+)`` plus the data
  rounding bounds every obedient scheme's value (:func:`dual_upper_bound`); so does the first-best value
  ``sum_w prior[w] max_a V[w, a]``, which caps it where huge multipliers make the dual bound loose.

Neither bound depends on the answer a solver version gives at a tolerance's edge: a wrong "infeasible"
costs a candidate, never a wrong interval.  The check costs one restricted LP at most, at any size.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .constraint_generation import solve_generation
from .errors import SolverError
from .game import PersuasionGame
from .lp import dual_slacks
from .scaling import Scaling
from .solution import game_scaling

EPS = float(np.finfo(float).eps)

#: Tightening of the obedience rows in the restricted LP (normalised units), and how often it may grow
#: tenfold when HiGHS' own feasibility tolerance (1e-9) eats the margin.
TIGHTENING = 1e-9
TIGHTENING_STEPS = 3

#: What the value interval's ``how`` adds where a candidate was certified only after
#: :func:`merged_into_best_responses`.
MERGED = ", its uncertified recommendations merged into best responses"


@dataclass(frozen=True)
class ValueInterval:
    """``low <= exact optimal value <= high`` in normalised units; ``low`` is ``None`` where no candidate
    scheme could be certified obedient.  ``how`` names the candidate that gave ``low``."""

    low: float | None
    high: float
    how: str

    @property
    def width(self) -> float:
        return np.inf if self.low is None else self.high - self.low


def data_rounding(sc: Scaling) -> tuple[float, float]:
    """Bounds on how far a normalised utility difference (``U``) and entry (``V``) lie from the exact value
    of the same affine map applied to the game's data: ``fl(fl(fl(M / a) - c) / b)`` has error at most
    ``eps (|M/a| + |M/a - c|) / b + eps |M_n| <= 4 eps (1 + 1/b)``."""
    return 8 * EPS * (1 + 1 / sc.bU), 4 * EPS * (1 + 1 / sc.bV)


def _normalised_scheme(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=float), 0.0, None)
    return x / x.sum(axis=1, keepdims=True)


def certified_margins(prior, Un, U, x, rho_u: float) -> tuple[np.ndarray, np.ndarray]:
    """``(actions, margin)``: for each action the scheme ``x`` recommends, its obedience slack against
    every alternative minus a bound on the slack's error; ``x`` is exactly obedient where all are >= 0.

    The error bound has two parts: the evaluation of ``sum_w prior[w] x[w,a] (Un[w,a] - Un[w,b])`` in
    floating point, with the prior read from text and the rows of ``x`` rescaled to sum to 1 exactly
    (``(m + n + 8) eps`` times the sum of the terms' magnitudes), and the rounding of the normalised data
    (``rho_u`` per unit of mass, only in states where the game's own ``U[w,a]`` and ``U[w,b]`` differ: equal
    data stay exactly equal).  Rows are multiplied out for recommended actions only (``k x n``).
    """
    W = prior[:, None] * x
    actions = np.flatnonzero((W > 0).any(axis=0))
    margin = np.empty((actions.size, Un.shape[1]))
    for i, a in enumerate(actions):
        margin[i] = _column_margins(W[:, a], Un, U, a, rho_u)
    return actions, margin


def _column_margins(weights, Un, U, b: int, rho_u: float) -> np.ndarray:
    """The certified slacks (:func:`certified_margins`) of recommending ``b`` on a signal that carries
    ``weights[w] = prior[w] x[w, signal]``, against each alternative."""
    m, n = Un.shape
    gamma = (m + n + 8) * EPS
    ws = np.flatnonzero(weights > 0)
    w = weights[ws]
    D = Un[ws, b][:, None] - Un[ws]
    live = U[ws, b][:, None] != U[ws]
    return w @ D - gamma * (w @ np.abs(D)) - rho_u * (w @ live)


def _advisor_value(prior, Vn, x) -> float:
    """The Advisor's expected utility under scheme ``x`` (normalised units)."""
    return float(prior @ (x * Vn).sum(axis=1))


def _certified(prior, Un, U, x, rho_u) -> bool:
    return bool((certified_margins(prior, Un, U, x, rho_u)[1] >= 0).all())


def full_revelation(Un: np.ndarray, Vn: np.ndarray) -> np.ndarray:
    """Each state recommends the Receiver's best action there (ties: the Advisor's favourite)."""
    m, n = Un.shape
    best = Un >= Un.max(axis=1, keepdims=True)
    choice = np.argmax(np.where(best, Vn, -np.inf), axis=1)
    x = np.zeros((m, n))
    x[np.arange(m), choice] = 1.0
    return x


def merged_into_best_responses(prior, Un, Vn, U, x, rho_u) -> np.ndarray | None:
    """``x`` with every recommendation whose obedience is not certified merged into the Receiver's
    certified best response at that recommendation's posterior (the least sent first), or ``None`` where a
    posterior has no certified best response (a tie, or a near tie within the error bound).

    The merged scheme is obedient wherever its parts are: the target's column becomes the sum of two
    columns at each of which the target is best, and a column's slacks (and the bounds on their errors) are
    sums over its states, so they add.  Each pass merges every failing action, then checks again; a pass
    removes at least one recommendation, so at most ``n`` passes run.  The Advisor gives up at most the
    merged mass times its utility range: little where only rarely sent recommendations fail, which is what
    HiGHS' absolute row tolerance (1e-9) leaves behind when some states' prior masses are 1e-7 or less
    (a recommendation sent with mass 1e-8 can then miss obedience by its whole size).
    """
    m, n = Un.shape
    gamma = (m + n + 8) * EPS
    z = _normalised_scheme(x)
    for _ in range(n):
        acts, margin = certified_margins(prior, Un, U, z, rho_u)
        failing = acts[(margin < 0).any(axis=1)]
        if not failing.size:
            return z
        for a in failing[np.argsort((prior[:, None] * z[:, failing]).sum(axis=0), kind="stable")]:
            w = prior * z[:, a]
            ws = np.flatnonzero(w > 0)
            if not ws.size:
                continue
            u = w[ws] @ Un[ws]
            ahead = np.flatnonzero(u >= u.max() - gamma * (w[ws] @ np.abs(Un[ws])).max())
            b = int(ahead[np.argmax(w[ws] @ Vn[ws][:, ahead])])       # ties: the Advisor's favourite
            if (_column_margins(w, Un, U, b, rho_u) < 0).any():
                return None
            if b == a:                   # certified now: earlier merges in this pass moved its posterior
                continue
            z[:, b] += z[:, a]
            z[:, a] = 0.0
        z = _normalised_scheme(z)
    return None


def _mix_with(prior, Un, U, x, z, rho_u) -> np.ndarray | None:
    """The least ``t`` with ``(1 - t) x + t z`` certified (margins are linear in the scheme), or ``None``."""
    acts = np.union1d(certified_margins(prior, Un, U, x, rho_u)[0], certified_margins(prior, Un, U, z, rho_u)[0])
    def full(s):
        a, mg = certified_margins(prior, Un, U, s, rho_u)
        out = np.zeros((acts.size, Un.shape[1]))
        out[np.searchsorted(acts, a)] = mg
        return out
    p, q = full(x), full(z)
    need = p < 0                                   # rows the mix must lift: t >= -p / (q - p)
    if not need.any():
        return x
    if (q[need] <= p[need]).any():
        return None
    t = float(np.max(-p[need] / (q[need] - p[need])))
    cap = (p >= 0) & (q < 0)                       # rows the mix must not sink: t <= p / (p - q)
    if cap.any() and t > float(np.min(p[cap] / (p[cap] - q[cap]))):
        return None
    t = min(1.0, t * (1 + 1e-6) + 1e-15)
    xt = (1 - t) * x + t * z
    return xt if _certified(prior, Un, U, xt, rho_u) else None


def _tightened(gn: PersuasionGame, U, x, lam_pairs, rho_u, options, width: float, warm=None,
               good_enough: float = np.inf) -> tuple[np.ndarray | None, str]:
    """Optimum of the LP with obedience tightened, over the support of ``x`` and each state's best action,
    or over the final model of a row/column generation run (``warm``), started from its basis; where no
    attempt's optimum is certified as it stands, the best of them certified after
    :func:`merged_into_best_responses` (at once where one reaches ``good_enough``); with what was done to
    it beyond the solve (:data:`MERGED` or "")."""
    m, n = gn.shape
    cols = np.argwhere(x > 0)
    opts = {"presolve": "off", **(options or {})}
    # HiGHS meets rows to an absolute 1e-9; the tightening of a row is 1e-9 times its recommendation's mass,
    # so each action's rows are scaled by the inverse of the mass the optimum gives it (at most 1e6)
    mass = gn.prior @ x
    scale = np.where(mass > 0, 1.0 / np.maximum(mass, 1e-6), 1.0)
    # warm first (a few pivots); then cold, tighter each time: highspy 1.7 keeps the old primal values when
    # the warm basis is still optimal within its tolerance, which leaves the tightened rows unmet by 1e-13
    attempts = ([(width, warm)] if warm is not None else []) + [(width * 10 ** k, None) for k in range(TIGHTENING_STEPS)]
    # a candidate that is certified only once its rarely sent recommendations are merged away is kept in
    # reserve: a tighter attempt may certify one whole
    fallback, value = None, lambda s: _advisor_value(gn.prior, gn.sender, s)
    for w, start in attempts:
        try:
            res, pairs, _ = solve_generation(gn, opts, extra_cols=cols, extra_pairs=lam_pairs, tighten=w,
                                             price_columns=False, warm=start, row_scale=scale)
        except SolverError:
            continue
        for z in (_basic_solution(gn, res, pairs, w), res.x.reshape(m, n)):
            if z is None:
                continue
            z = _normalised_scheme(z)
            if not np.isfinite(z).all():
                continue
            if _certified(gn.prior, gn.receiver, U, z, rho_u):
                return z, ""
            merged = merged_into_best_responses(gn.prior, gn.receiver, gn.sender, U, z, rho_u)
            if merged is not None and (fallback is None or value(merged) > value(fallback)):
                fallback = merged
                if value(merged) >= good_enough:     # no tighter attempt could make the interval narrower
                    return fallback, MERGED
    return fallback, MERGED


def _basic_solution(gn: PersuasionGame, res, pairs, tighten: float) -> np.ndarray | None:
    """The vertex of HiGHS' final basis, re-solved in floats (sparse LU) on the tightened rows.

    HiGHS meets each row only within its absolute feasibility tolerance (1e-9); a tightened row of a
    rarely sent recommendation (mass 1e-4) asks for far less than that, so HiGHS' own primal values can
    miss it entirely.  Solving the basis' square system directly meets its tight rows to rounding.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve
    m, n = gn.shape
    cols, tight_s, tight_o = res.basis
    if len(cols) != len(tight_s) + len(tight_o) or not len(cols):
        return None
    cols = np.asarray(cols, dtype=int)
    cw, ca = cols // n, cols % n                              # each basic column's state and action
    row_of_state = np.full(m, -1)
    row_of_state[np.asarray(tight_s, dtype=int)] = np.arange(len(tight_s))
    keep = row_of_state[cw] >= 0
    r, c, v = [row_of_state[cw[keep]]], [np.flatnonzero(keep)], [np.ones(int(keep.sum()))]
    U, prior = gn.receiver, gn.prior
    by_action = {int(act): np.flatnonzero(ca == act) for act in np.unique(ca)}
    for k, row in enumerate(tight_o, start=len(tight_s)):
        a, b = (int(i) for i in pairs[row])
        js = by_action.get(a)
        if js is None:
            continue
        d = U[cw[js], a] - U[cw[js], b]
        coef = prior[cw[js]] * (d - tighten * (d != 0))
        nz = coef != 0
        r.append(np.full(int(nz.sum()), k)), c.append(js[nz]), v.append(coef[nz])
    r, c, v = np.concatenate(r), np.concatenate(c), np.concatenate(v)
    size = len(cols)
    B = sp.csc_matrix((v, (r, c)), shape=(size, size))
    rhs = np.concatenate([np.ones(len(tight_s)), np.zeros(len(tight_o))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xb = spsolve(B, rhs)
    if not np.isfinite(xb).all() or (xb < -1e-9).any():
        return None
    x = np.zeros(m * n)
    x[cols] = xb
    return x.reshape(m, n)


def lower_bound(game: PersuasionGame, gn: PersuasionGame, scheme, lam_pairs=(), options=None,
                good_enough: float = -np.inf, width: float = TIGHTENING, warm=None) -> tuple[float | None, str]:
    """Best certified value (normalised units) among the candidates, stopping at the first that reaches
    ``good_enough``; ``(None, "none")`` where none is certified."""
    sc = game_scaling(game)
    rho_u, _ = data_rounding(sc)
    prior, Un, Vn, U = gn.prior, gn.receiver, gn.sender, np.asarray(game.receiver, dtype=float)
    value = lambda s: _advisor_value(prior, Vn, s)
    x = _normalised_scheme(scheme)
    fr = full_revelation(Un, Vn)
    best, how = None, "none"
    certified = lambda z: (z if _certified(prior, Un, U, z, rho_u) else None, "")
    if np.isfinite(x).all():
        candidates = (("optimum", lambda: certified(x)),
                      ("optimum mixed with full revelation", lambda: (_mix_with(prior, Un, U, x, fr, rho_u), "")),
                      ("tightened LP on the optimum's support",
                       lambda: _tightened(gn, U, x, lam_pairs, rho_u, options, width, warm, good_enough)))
    else:
        candidates = ()
    for name, make in candidates + (("full revelation", lambda: certified(fr)),):
        z, note = make()
        if z is not None and (best is None or value(z) > best):
            best, how = value(z), name + note
        if best is not None and best >= good_enough:
            break
    return best, how


def dual_upper_bound(game: PersuasionGame, gn: PersuasionGame, y, lam) -> float:
    """Weak-duality bound (normalised units) on every obedient scheme's value from duals ``(y, lam)`` given
    in normalised units: negative multipliers dropped, each state's worst dual residual added, and the
    evaluation error and data rounding on top."""
    import scipy.sparse as sp
    sc = game_scaling(game)
    rho_u, rho_v = data_rounding(sc)
    m, n = gn.shape
    prior = gn.prior
    y = np.asarray(y, dtype=float)
    if sp.issparse(lam):
        lam = sp.csr_matrix(lam, dtype=float)
        lam.data = np.clip(lam.data, 0.0, None)
        rows = np.asarray(lam.sum(axis=1)).reshape(-1) - lam.diagonal()
    else:
        lam = np.clip(np.asarray(lam, dtype=float), 0.0, None)
        rows = lam.sum(axis=1) - np.diagonal(lam)
    residual = -dual_slacks(prior, gn.sender, gn.receiver, y, lam)          # > 0 where violated
    worst = np.clip(residual, 0.0, None).max(axis=1)
    weight = float(rows.max()) if rows.size else 0.0
    per_state = y + worst + prior * (rho_v + 2 * rho_u * weight)
    error = (m + n + 8) * EPS * (np.abs(y).sum() + 2 + 4 * weight)
    first_best = float(prior @ gn.sender.max(axis=1)) * (1 + (m + 4) * EPS) + rho_v
    return min(float(per_state.sum() + error), first_best)


def value_interval_of(game: PersuasionGame, gn: PersuasionGame, scheme, y_n, lam_n, options=None,
                      tolerance: float = 0.0, width: float = TIGHTENING, warm=None) -> ValueInterval:
    """The interval around a float optimum ``(scheme, y_n, lam_n)`` (duals in normalised units); ``warm``
    is the final model of the row/column generation run that found it, if one did."""
    import scipy.sparse as sp
    high = dual_upper_bound(game, gn, y_n, lam_n)
    coo = sp.coo_matrix(lam_n) if sp.issparse(lam_n) else None
    if coo is not None:
        keep = (coo.data > 0) & (coo.row != coo.col)
        pairs = np.stack([coo.row[keep], coo.col[keep]], axis=1)
    else:
        lam_n = np.asarray(lam_n, dtype=float)
        pairs = np.argwhere((lam_n > 0) & ~np.eye(lam_n.shape[0], dtype=bool))
    recommended = np.flatnonzero((np.asarray(scheme, dtype=float) > 0).any(axis=0))
    pairs = pairs[np.isin(pairs[:, 0], recommended)] if len(pairs) else pairs.reshape(0, 2)
    low, how = lower_bound(game, gn, scheme, pairs, options, good_enough=high - tolerance, width=width,
                           warm=warm)
    return ValueInterval(low, high, how)
