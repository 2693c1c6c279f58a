"""The regret bound of the robust learner (the theorem of ``docs/theory.md``).

For a game inside the theorem (persuasion margin ``gamma > 0``), with
probability at least ``1 - delta``, for every ``T`` simultaneously, the
expected regret of ``RobustPersuader(delta)`` on the doubling schedule obeys

    R_T <= sum_{t <= T} b_t,
    b_t = min(dV, dV e1_s + F)                                if eps_s >= gamma / 2,
    b_t = min(dV, dV e1_s + min(F, (2 G / gamma) eps_s))     otherwise,

where ``s = s(t)`` is the number of samples at the start of the epoch
containing ``t``, ``eps_s = radius(s, m, delta/2)`` the box radius,
``e1_s = min(l1_radius(s, m, delta/2), m eps_s)`` the l1 radius,
``dV = max V - min V``, ``G = V* - V(sigma)`` the value the margin's witness
scheme ``sigma`` gives up, and ``F = V* - V(full revelation)``.  Summed in
closed form (the corollary):

    R_T <= dV + (2 + sqrt 2) sqrt(T) (2 dV sqrt(m ln 2 + ln(2 T^2/delta))
                                      + (2 G / gamma) sqrt(ln(4 m T^2/delta)))
           + F * (rounds before eps_s < gamma / 2).

``dV`` and ``m`` come from the utilities alone; ``gamma``, ``G`` and ``F``
depend on the prior (see :func:`persuasion_margin`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import InvalidArgumentError
from .game import PersuasionGame
from .lp import obedience_pairs

#: Margins at or below this are treated as zero (the game is outside the theorem).
MARGIN_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Margin:
    """The persuasion margin of a game and what it rests on.

    ``gamma`` is ``inf`` when the optimum needs no obedience row (every action
    it recommends is weakly best wherever it recommends it), 0 when no scheme
    keeps a positive margin on the rows it needs.  ``needed_rows`` are the
    pairs ``(a, a')`` whose obedience the optimum needs; ``witness`` is a
    scheme attaining the margin (the best-valued one) and ``value_gap`` is
    ``V* - V(witness)`` under the prior.
    """

    gamma: float
    needed_rows: tuple
    witness: np.ndarray | None
    value_gap: float


def needed_rows(game: PersuasionGame) -> list[tuple[int, int]]:
    """Obedience rows the exact optimum needs: ``(a, a')`` such that it recommends ``a`` in
    some state where ``a'`` is strictly better for the Receiver."""
    from .solve import solve
    sol = solve(game, exact=True)
    _, _, U = game.rational()
    rows = []
    for a, b in obedience_pairs(game.num_actions):
        if any(sol.scheme[w, a] > 0 and U[w, a] < U[w, b] for w in range(game.num_states)):
            rows.append((int(a), int(b)))
    return rows


def persuasion_margin(game: PersuasionGame) -> Margin:
    """The largest ``gamma`` such that some scheme ``sigma``

    * keeps slack ``sum_w prior[w] sigma[w,a] D(w) >= gamma sum_w |D(w)|`` on every
      row ``(a, a')`` the optimum needs (``D = U[:,a] - U[:,a']``), and
    * recommends ``a`` only where ``a'`` is not strictly better, on every other row
      (so those rows hold for every prior, as they do for the optimum);

    then, among schemes with that margin, the one of highest value.  Two LPs in
    ``(sigma, gamma)``.  Both depend on the prior: on data, the same LPs with
    the prior replaced by the worst point of the confidence box give lower
    confidence bounds (docs/theory.md).
    """
    from scipy.optimize import linprog
    from .solve import solve
    m, n = game.shape
    U, V, prior = game.receiver, game.sender, game.prior
    need = needed_rows(game)
    if not need:
        return Margin(float("inf"), (), None, 0.0)
    need_set = set(need)
    upper = np.ones((m, n))
    for a, b in obedience_pairs(n):
        if (a, b) not in need_set:
            upper[U[:, a] < U[:, b], a] = 0.0          # sigma must be safe on rows not needed
    A_ub = np.zeros((len(need), m * n + 1))
    for k, (a, b) in enumerate(need):
        D = U[:, a] - U[:, b]
        A_ub[k, np.arange(m) * n + a] = -prior * D
        A_ub[k, -1] = np.abs(D).sum()
    A_eq = np.zeros((m, m * n + 1))
    for w in range(m):
        A_eq[w, w * n:(w + 1) * n] = 1.0
    c = np.zeros(m * n + 1)
    c[-1] = -1.0
    bounds = [(0.0, u) for u in upper.reshape(-1)] + [(None, 1.0)]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(len(need)), A_eq=A_eq, b_eq=np.ones(m), bounds=bounds,
                  method="highs")
    gamma = float(res.x[-1]) if res.status == 0 else 0.0
    if gamma <= MARGIN_TOLERANCE:
        return Margin(0.0, tuple(need), None, float("inf"))
    # second LP: the best-valued scheme keeping (a hair less than) that margin
    gamma *= 1 - 1e-7
    c2 = np.concatenate([-(prior[:, None] * V).reshape(-1), [0.0]])
    bounds[-1] = (gamma, gamma)
    res2 = linprog(c2, A_ub=A_ub, b_ub=np.zeros(len(need)), A_eq=A_eq, b_eq=np.ones(m), bounds=bounds,
                   method="highs")
    witness = (res2.x if res2.status == 0 else res.x)[:-1].reshape(m, n)
    v_star = float(solve(game).value)
    gap = max(0.0, v_star - float((prior[:, None] * V * witness).sum()))
    return Margin(gamma, tuple(need), witness, gap)


@dataclass(frozen=True)
class RegretBound:
    """The bound, its constants, and whether the theorem applies.

    ``value`` has the shape of the ``T`` given (``inf`` where the theorem does
    not apply); ``closed_form`` is the corollary's simpler upper bound.
    """

    value: np.ndarray | float
    closed_form: np.ndarray | float
    within_theorem: bool
    reason: str
    m: int
    delta_V: float
    gamma: float
    value_gap: float
    revelation_gap: float
    delta: float

    def __float__(self) -> float:
        return float(np.asarray(self.value).reshape(-1)[-1])


@lru_cache(maxsize=256)
def _margin_cached(key: str) -> Margin:
    return persuasion_margin(PersuasionGame.from_json(key))


def epoch_samples(t) -> np.ndarray:
    """Samples seen at the start of the doubling epoch containing round ``t`` (1-based)."""
    t = np.asarray(t, dtype=np.int64)
    return (np.int64(1) << np.floor(np.log2(t)).astype(np.int64)) - 1


def per_round_bound(m: int, delta_V: float, gamma: float, value_gap: float, revelation_gap: float,
                    delta: float, T: int) -> np.ndarray:
    """``b_t`` for ``t = 1..T`` on the doubling schedule (re-solve at rounds 1, 2, 4, ...)."""
    from .online.confidence import l1_radius, radius
    if delta_V == 0:                     # the Advisor is indifferent: every scheme is optimal
        return np.zeros(T)
    s = epoch_samples(np.arange(1, T + 1))
    eps = radius(s, m, delta / 2)
    e1 = np.minimum(l1_radius(s, m, delta / 2), m * eps)
    if np.isinf(gamma):
        loss = np.zeros_like(eps)
    else:
        with np.errstate(invalid="ignore"):
            loss = np.where(eps < gamma / 2, np.minimum(revelation_gap, (2.0 * value_gap / gamma) * eps),
                            revelation_gap)
    return np.minimum(delta_V, delta_V * e1 + loss)


def regret_bound(game: PersuasionGame, T, delta: float) -> RegretBound:
    """The robust learner's regret bound at horizon(s) ``T`` with failure probability ``delta``.

    Parameters
    ----------
    game : PersuasionGame
    T : int or array of int
        Horizon(s); the bound holds for all of them at once.
    delta : float in (0, 1)

    Returns
    -------
    RegretBound
        ``within_theorem`` is False, with the ``reason``, and ``value`` is
        ``inf``, for games outside the theorem (persuasion margin 0: e.g. the
        optimum needs an action that is a best response at a single belief).

    Examples
    --------
    >>> from persuasion import examples
    >>> b = regret_bound(examples.prosecutor_judge(), [100, 10_000], delta=0.05)
    >>> b.within_theorem, bool(b.value[1] < 0.6 * 10_000)
    (True, True)
    """
    if not 0 < float(delta) < 1:
        raise InvalidArgumentError("regret_bound()", "delta", "must be in (0, 1)", delta)
    Ts = np.asarray(T)
    if not np.issubdtype(Ts.dtype, np.integer) or (Ts < 1).any():
        raise InvalidArgumentError("regret_bound()", "T", "must be positive integers", T)
    m = game.num_states
    dV = float(game.sender.max() - game.sender.min())
    margin = _margin_cached(game.to_json(indent=None))
    if margin.gamma == 0.0:
        inf = np.full(Ts.shape, np.inf) if Ts.ndim else np.inf
        return RegretBound(inf, inf, False,
                           "outside the theorem: no scheme keeps a positive persuasion margin on the obedience rows "
                           f"the optimum needs ({len(margin.needed_rows)} rows); typically the optimum needs an action "
                           "that is a best response at a single belief, and a learner that does not know the prior "
                           "can have linear regret", m, dV, 0.0, float("inf"), float("inf"), float(delta))
    F = _revelation_gap(game)
    per_round = per_round_bound(m, dV, margin.gamma, margin.value_gap, F, float(delta), int(Ts.max()))
    value = np.cumsum(per_round)[Ts - 1]
    closed = _closed_form(Ts, m, dV, margin.gamma, margin.value_gap, F, float(delta))
    reason = "within the theorem" + (" (the optimum needs no obedience row: no margin needed)"
                                     if np.isinf(margin.gamma) else f" (persuasion margin {margin.gamma:.4g})")
    return RegretBound(value if Ts.ndim else float(value), closed if Ts.ndim else float(closed), True, reason, m,
                       dV, margin.gamma, margin.value_gap, F, float(delta))


def _revelation_gap(game: PersuasionGame) -> float:
    """``V* - V(full revelation)``: what the always-feasible revealing scheme gives up."""
    from .analysis import full_revelation_value
    from .solve import solve
    return max(0.0, float(solve(game).value) - float(full_revelation_value(game)))


def _closed_form(T, m: int, dV: float, gamma: float, gap: float, F: float, delta: float):
    """The corollary: an explicit upper bound on ``sum_t b_t`` (see docs/theory.md)."""
    from .online.confidence import radius
    T = np.asarray(T, dtype=float)
    L1 = m * np.log(2.0) + np.log(2.0 * T ** 2 / delta)
    Linf = np.log(4.0 * m * T ** 2 / delta)
    robust = 0.0 if np.isinf(gamma) else (2.0 * gap / gamma) * np.sqrt(Linf)
    main = dV + (2 + np.sqrt(2)) * np.sqrt(T) * (2 * dV * np.sqrt(L1) + robust)
    if np.isinf(gamma):
        return main
    # rounds played before the box radius falls below gamma / 2: all epochs before the first
    # epoch k (rounds 2^k .. 2^(k+1) - 1, starting with s = 2^k - 1 samples) whose radius is small enough
    k = 1
    while radius((1 << k) - 1, m, delta / 2) >= gamma / 2:
        k += 1
    burn = np.minimum(T, float((1 << k) - 1))
    return main + F * burn
