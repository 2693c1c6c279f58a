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

from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from itertools import combinations
from numbers import Real

import numpy as np
from scipy.optimize import linprog

from .analysis import full_revelation_value
from .analysis.responses import _full_revelation
from .analysis.posteriors import checked_scheme
from .confidence import l1_radius, radius
from .errors import InvalidArgumentError, checked_flag, checked_nonnegative, is_integer
from .game import PersuasionGame, checked_game
from .lp import obedience_pairs
from .solution import fields_equal, game_scaling
from .solve import solve

__all__ = ["Margin", "needed_rows", "persuasion_margin", "RegretBound", "regret_bound", "epoch_samples",
           "per_round_bound", "burn_in"]

#: Margins at or below this are treated as zero (the game is outside the theorem).
MARGIN_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class Margin:
    """The persuasion margin of a game and what it rests on.

    ``gamma`` is ``inf`` when some optimum needs no obedience row (every action it recommends is weakly
    best wherever it recommends it), 0 when no optimum has a witness with a positive margin on the rows
    it needs.  ``needed_rows`` are the rows of the optimum that attains ``gamma``; ``witness`` is a scheme
    attaining the margin (the best-valued one) and ``value_gap`` is ``V* - V(witness)`` under the prior.
    ``exhaustive`` says whether every optimal scheme was considered (see :func:`persuasion_margin`).
    ``certified``: ``gamma`` and ``value_gap`` are exact for an exactly safe witness (a fraction scheme),
    and an exact optimum safe outside ``needed_rows`` is known to exist (see :func:`certify_margin`).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.bounds import persuasion_margin
    >>> m = persuasion_margin(examples.prosecutor_judge())
    >>> round(m.gamma, 4), m.needed_rows, m.exhaustive          # the optimum needs 'convict over acquit'
    (0.15, ((1, 0),), True)
    """

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)

    gamma: float
    needed_rows: tuple
    witness: np.ndarray | None
    value_gap: float
    exhaustive: bool = True
    certified: bool = False


#: Largest number of candidate rows for which :func:`persuasion_margin` tries every set of needed rows.
EXHAUSTIVE_ROWS = 8


def _unsafe(U: np.ndarray, prior: np.ndarray, a: int, b: int) -> np.ndarray:
    """States of positive prior where the Receiver strictly prefers ``b`` to ``a``."""
    return (prior > 0) & (U[:, a] < U[:, b])


def _exact_optimum(game: PersuasionGame):
    """The exact optimum ``solve(game, exact=True)``, solved once per game (the constants, the margin and
    its certification all use it)."""
    return game._derive("exact_optimum", lambda: solve(game, exact=True))


def _rows_needed(prior, U, scheme) -> list[tuple[int, int]]:
    """Rows ``(a, a')`` with ``scheme[w, a] > 0`` at a state ``w`` of :func:`_unsafe` (floats or fractions)."""
    return [(int(a), int(b)) for a, b in obedience_pairs(U.shape[1])
            if any(scheme[w, a] > 0 for w in np.flatnonzero(_unsafe(U, prior, a, b)))]


def needed_rows(game: PersuasionGame, scheme=None) -> list[tuple[int, int]]:
    """Obedience rows a scheme needs: ``(a, a')`` such that it recommends ``a`` in some state of positive
    prior where ``a'`` is strictly better for the Receiver (default: the exact optimum ``solve`` returns).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.bounds import needed_rows
    >>> needed_rows(examples.prosecutor_judge())                 # (recommended, alternative)
    [(1, 0)]
    """
    checked_game("needed_rows()", game)
    if scheme is None:
        scheme = _exact_optimum(game).scheme
    else:                                      # a list or a number failed inside on indexing, unnamed
        exact = isinstance(scheme, np.ndarray) and scheme.dtype == object
        scheme = checked_scheme("needed_rows()", scheme, game.num_states, object if exact else float)
        if scheme.shape[1] != game.num_actions:
            raise InvalidArgumentError("needed_rows()", "scheme", f"must have one column per action "
                                       f"({game.num_actions}): a recommendation scheme", f"shape {scheme.shape}")
    return _rows_needed(game.prior, game.receiver, scheme)


def _unit(row: np.ndarray) -> np.ndarray:
    """``row`` divided by its largest entry in absolute value (an LP row at its own scale: HiGHS' absolute
    tolerance then means the same for a row of size 1e-9 as for one of size 1)."""
    top = float(np.abs(row).max())
    return row / top if top > 0 else row


def _optimal_face(game, Un, Vn, v_star_n, reveal):
    """The LP data of the optimal schemes that reveal zero-prior states: obedience at the prior, value at
    least ``V*`` (normalised), rows summing to 1, and bounds pinning the zero-prior rows to ``reveal``.
    Returns ``(A_ub, b_ub, A_eq, lower, upper)`` over ``x[w, a]`` flattened."""
    m, n = game.shape
    prior = game.prior
    pairs = obedience_pairs(n)
    A_ub = np.zeros((len(pairs) + 1, m * n))
    for k, (a, b) in enumerate(pairs):
        A_ub[k, np.arange(m) * n + a] = -_unit(prior * (Un[:, a] - Un[:, b]))
    A_ub[-1] = -(prior[:, None] * Vn).reshape(-1)
    b_ub = np.zeros(len(pairs) + 1)
    b_ub[-1] = -(v_star_n - 1e-9)
    zero = prior == 0
    lower, upper = np.zeros((m, n)), np.ones((m, n))
    lower[zero], upper[zero] = reveal[zero], reveal[zero]
    return A_ub, b_ub, np.kron(np.eye(m), np.ones((1, n))), lower, upper


def _optimum_safe_outside(game, Un, Vn, v_star_n, rows_kept, reveal) -> bool:
    """Is there an optimal scheme, revealing zero-prior states, that is safe on every row not in
    ``rows_kept`` (so the rows it needs are among them)?"""
    m, n = game.shape
    A_ub, b_ub, A_eq, lower, upper = _optimal_face(game, Un, Vn, v_star_n, reveal)
    for a, b in obedience_pairs(n):
        if (a, b) not in rows_kept:
            upper[_unsafe(game.receiver, game.prior, a, b), a] = 0.0
    res = linprog(np.zeros(m * n), A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=np.ones(m),
                  bounds=list(zip(lower.reshape(-1), upper.reshape(-1))), method="highs")
    return res.status == 0


def _margin_for(game, Un, need: list, v_star: float) -> Margin:
    """The margin LPs for a given set of needed rows (Un: the Receiver's normalised utilities)."""
    m, n = game.shape
    prior, V, U = game.prior, game.sender, game.receiver
    if not need:
        return Margin(float("inf"), (), None, 0.0)
    need_set = set(need)
    upper = np.ones((m, n))
    for a, b in obedience_pairs(n):
        if (a, b) not in need_set:
            upper[U[:, a] < U[:, b], a] = 0.0          # sigma must be safe on rows not needed
    A_ub = np.zeros((len(need), m * n + 1))
    for k, (a, b) in enumerate(need):
        D = U[:, a] - U[:, b]                      # divided by its l1 norm: every row at its own scale
        A_ub[k, np.arange(m) * n + a] = -prior * D / np.abs(D).sum()
        A_ub[k, -1] = 1.0
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
    gap = max(0.0, v_star - float((prior[:, None] * V * witness).sum()))
    return Margin(gamma, tuple(need), witness, gap)


def persuasion_margin(game: PersuasionGame, v_star: float | None = None) -> Margin:
    """The persuasion margin of the game: the best, over the game's optimal schemes, of the margin of
    the rows each needs.

    For an optimal scheme ``sigma*`` that reveals every zero-prior state (a state of prior 0 contributes
    nothing, so any optimum can be changed there) and a set ``N`` of rows containing those it needs
    (``sigma*`` is safe on the rows outside ``N``), the margin of ``N`` is the largest ``gamma`` such that
    some scheme ``sigma``

    * keeps slack ``sum_w prior[w] sigma[w,a] D(w) >= gamma sum_w |D(w)|`` on every row ``(a, a')`` in
      ``N`` (``D = U[:,a] - U[:,a']``), and
    * recommends ``a`` only where ``a'`` is not strictly better, on every other row;

    mixing ``sigma*`` with such a ``sigma`` is what the proof needs (docs/theory.md), so every such
    ``(sigma*, N)`` gives a valid constant, and the margin of the game is the largest.  It depends on
    the game only, not on which optimum a solver returns: equal games get equal constants.  With at most
    ``EXHAUSTIVE_ROWS`` rows that any scheme could need, every set ``N`` is tried (an LP decides whether
    an optimum safe outside ``N`` exists); beyond that only ``N`` of the optimum with the least mass on
    unsafe recommendations, and ``exhaustive`` is False (the constant is then valid but may not be the
    best).  Among sets with the largest margin, the witness of the highest value is kept.  Utilities are
    normalised first, so the margin does not depend on units.

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.bounds import persuasion_margin
    >>> round(persuasion_margin(examples.prosecutor_judge()).value_gap, 4)
    0.3
    """
    checked_game("persuasion_margin()", game)
    if v_star is not None and (isinstance(v_star, bool) or not isinstance(v_star, Real)
                               or not np.isfinite(float(v_star))):
        raise InvalidArgumentError("persuasion_margin()", "v_star", "must be a finite number (the optimal value) "
                                   "or None", v_star)
    m, n = game.shape
    sc = game_scaling(game)
    Un, Vn = sc.receiver, sc.sender
    prior = game.prior
    if v_star is None:
        v_star = float(_exact_optimum(game).value)
    v_star_n = (v_star / sc.aV - float(prior @ sc.cV)) / sc.bV
    reveal = _full_revelation(game.sender, game.receiver)
    candidates = [(int(a), int(b)) for a, b in obedience_pairs(n) if _unsafe(game.receiver, prior, a, b).any()]
    if len(candidates) <= EXHAUSTIVE_ROWS:
        feasible, infeasible = [], []
        for size in range(len(candidates) + 1):
            for kept in combinations(candidates, size):
                kept_set = set(kept)
                if any(kept_set <= bad for bad in infeasible):
                    continue                       # a subset of an infeasible set is infeasible
                if _optimum_safe_outside(game, Un, Vn, v_star_n, kept_set, reveal):
                    feasible.append(list(kept))
                else:
                    infeasible.append(kept_set)
        exhaustive = True
    else:
        least = _least_unsafe_optimum(game, Un, Vn, v_star_n, reveal)
        feasible, exhaustive = [_rows_needed(game.prior, game.receiver, least)], False
    best = None
    for need in feasible:
        mg = _margin_for(game, Un, need, v_star)
        if best is None or (mg.gamma, -mg.value_gap) > (best.gamma, -best.value_gap):
            best = mg
        if np.isinf(best.gamma):
            break
    if best is None:                       # numerically no optimum passed the test: the solver's own
        best = _margin_for(game, Un, needed_rows(game), v_star)
    return certify_margin(game, Margin(best.gamma, best.needed_rows, best.witness, best.value_gap, exhaustive))


#: Largest game (states x actions) whose candidate set of needed rows is certified by an exact LP.
EXACT_CERTIFY_SIZE = 64


def _forbidden(game: PersuasionGame, kept) -> np.ndarray:
    """Entries ``(w, a)`` a scheme safe outside the rows ``kept`` may not use: ``a'`` strictly better at a
    state of positive prior, for a row ``(a, a')`` not kept (exactly, on the game's fractions)."""
    prior, _, U = game.rational()
    out = np.zeros(game.shape, dtype=bool)
    for a, b in obedience_pairs(game.num_actions):
        if (int(a), int(b)) not in kept:
            out[:, a] |= _unsafe(U, prior, a, b)
    return out


def _exact_reveal(game: PersuasionGame) -> list[int]:
    """Full revelation's action in each state, exactly (the Receiver's best, ties for the Advisor)."""
    _, V, U = game.rational()
    return [int(a) for a in np.argmax(_full_revelation(V, U), axis=1)]


def _exact_optimum_safe_outside(game: PersuasionGame, kept, v_star) -> bool:
    """Does an optimal scheme exist (value exactly ``v_star``) that reveals zero-prior states and uses no
    entry forbidden by ``kept``?  The persuasion LP restricted to the allowed entries, solved by the rational
    simplex from full revelation (a feasible basis: its slacks are non-negative)."""
    from .rational import rational_simplex
    prior, V, U = game.rational()
    m, n = game.shape
    reveal = _exact_reveal(game)
    allowed = ~_forbidden(game, kept)
    for w in range(m):
        if prior[w] == 0:
            allowed[w] = False
            allowed[w, reveal[w]] = True
    cols = [(w, a) for w in range(m) for a in range(n) if allowed[w, a]]
    pairs = [(int(a), int(b)) for a, b in obedience_pairs(n)]
    K, zero = len(pairs), Fraction(0)
    A = [[zero] * (len(cols) + K) for _ in range(m + K)]
    for j, (w, a) in enumerate(cols):
        A[w][j] = Fraction(1)
        for k, (ra, rb) in enumerate(pairs):
            if ra == a:
                A[m + k][j] = prior[w] * (U[w, a] - U[w, rb])
    for k in range(K):
        A[m + k][len(cols) + k] = Fraction(-1)
    c = [prior[w] * V[w, a] for w, a in cols] + [zero] * K
    basis = [cols.index((w, reveal[w])) for w in range(m)] + [len(cols) + k for k in range(K)]
    z, _, _ = rational_simplex(c, A, [Fraction(1)] * m + [zero] * K, basis)
    return sum(ci * zi for ci, zi in zip(c, z)) == v_star


def certify_margin(game: PersuasionGame, margin: Margin) -> Margin:
    """The margin made exact: ``gamma`` and ``G`` of the witness rounded to an exactly safe fraction scheme,
    for a set of needed rows that an exact optimum is known to be safe outside.

    The float LPs of :func:`persuasion_margin` give a witness accepted within HiGHS' tolerance.  Here its
    negative entries are dropped, entries that would be unsafe on a row not needed are zeroed, and rows are
    rescaled to sum to 1 exactly; ``gamma`` is then the exact least slack ratio over the needed rows and
    ``G = V* - f(witness)`` exactly (both in fractions, shown as floats).  The needed rows are certified by
    the exact optimum's own needed rows when they are a subset, else by an exact LP (games up to
    ``EXACT_CERTIFY_SIZE`` entries); if neither applies, the exact optimum's needed rows are used instead.
    A witness whose exact margin is not positive gives ``gamma = 0`` (outside the theorem): the bound
    then only uses ``F``, which is exact.  The theorem's proof holds for any such triple, so the result is a
    valid constant for the game as given, at most the float one.
    """
    if margin.gamma == 0 or margin.witness is None and not np.isinf(margin.gamma):
        return replace(margin, certified=True)
    exact = _exact_optimum(game)
    v_star = exact.value
    kept = set(margin.needed_rows)
    prior, V, U = game.rational()
    reveal = _exact_reveal(game)
    own = set(_rows_needed(prior, U, exact.scheme))
    if not own <= kept and not (game.num_states * game.num_actions <= EXACT_CERTIFY_SIZE
                                and _exact_optimum_safe_outside(game, kept, v_star)):
        if not own:
            return Margin(float("inf"), (), None, 0.0, margin.exhaustive, True)
        Un = game_scaling(game).receiver
        fallback = _margin_for(game, Un, sorted(own), float(v_star))
        return certify_margin(game, replace(fallback, exhaustive=margin.exhaustive)) if fallback.gamma > 0 else \
            replace(fallback, exhaustive=margin.exhaustive, certified=True)
    if np.isinf(margin.gamma):
        return replace(margin, certified=True)
    m, n = game.shape
    sigma = np.clip(np.asarray(margin.witness, dtype=float), 0.0, None)
    sigma[_forbidden(game, kept)] = 0.0
    x = np.empty((m, n), dtype=object)
    for w in range(m):
        row = [Fraction(v) for v in sigma[w]]
        total = sum(row)
        if total == 0:
            row = [Fraction(int(a == reveal[w])) for a in range(n)]
            total = Fraction(1)
        x[w] = [v / total for v in row]
    ratios = []
    for a, b in sorted(kept):
        D = [U[w, a] - U[w, b] for w in range(m)]
        norm = sum(abs(d) for d in D)
        ratios.append(sum(prior[w] * x[w, a] * D[w] for w in range(m)) / norm)
    gamma = min(ratios)
    if gamma <= 0:
        return Margin(0.0, margin.needed_rows, None, float("inf"), margin.exhaustive, True)
    value = sum(prior[w] * x[w, a] * V[w, a] for w in range(m) for a in range(n))
    return Margin(float(gamma), margin.needed_rows, x, float(v_star - value), margin.exhaustive, True)


def _least_unsafe_optimum(game, Un, Vn, v_star_n, reveal) -> np.ndarray:
    """An optimal scheme revealing zero-prior states with the least mass on unsafe recommendations."""
    m, n = game.shape
    cost = np.zeros((m, n))
    for a, b in obedience_pairs(n):
        cost[_unsafe(game.receiver, game.prior, a, b), a] = 1.0
    A_ub, b_ub, A_eq, lower, upper = _optimal_face(game, Un, Vn, v_star_n, reveal)
    res = linprog(cost.reshape(-1), A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=np.ones(m),
                  bounds=list(zip(lower.reshape(-1), upper.reshape(-1))), method="highs")
    if res.status != 0:
        return np.asarray(_exact_optimum(game).scheme, dtype=float)
    return np.where(res.x.reshape(m, n) > 1e-9, res.x.reshape(m, n), 0.0)


@dataclass(frozen=True, eq=False)
class RegretBound:
    """The bound, its constants, and whether the theorem applies.

    ``value`` has the shape of the ``T`` given; ``closed_form`` is the corollary's simpler upper bound,
    capped at ``min(dV, F) T`` for the guarded learner (``dV T`` unguarded).  ``learner`` names the learner
    the bound is proved for: ``"robust"`` (``RobustPersuader(delta)``, guarded) or ``"robust-unguarded"``.
    The guarded bound never exceeds ``F T`` (doing nothing: revealing the state); ``beats_revelation_from``
    is the first round from which it is strictly below ``F T`` (``None`` if never: ``F = 0``, or no margin).
    Outside the theorem (persuasion margin 0) ``value`` is still finite and linear in ``T``: ``F T``
    guarded, step 4(a)'s ``sum_t min(dV, dV e1_s + F)`` unguarded; ``within_theorem`` is False and
    ``reason`` says so.  ``burn_in`` is the number of rounds played before the box radius falls below
    ``gamma / 2`` (0 when no margin is needed, ``None`` when gamma is 0: the radius never gets there).
    ``certified`` says whether ``gamma``, ``G`` and ``F`` were checked exactly for the game as given
    (:func:`persuasion_margin`).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.bounds import regret_bound
    >>> rb = regret_bound(examples.prosecutor_judge(), 10_000, 0.05)
    >>> rb.within_theorem, rb.reason, round(float(rb.value)), rb.beats_revelation_from
    (True, 'within the theorem (persuasion margin 0.15)', 3000, 16384)
    """

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)

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
    burn_in: int | None = None
    exhaustive: bool = True
    optimal_value: float | None = None      # V*, exactly solved once for the constants
    learner: str = "robust"                 # the learner the bound is proved for
    beats_revelation_from: int | None = None  # first round whose per-round bound is below F (None: never)
    certified: bool = False                 # gamma, G, F exact for the game as given (see persuasion_margin)

    def __float__(self) -> float:
        """The bound at the (last) horizon given: ``float(regret_bound(g, [100, 10_000], 0.05))`` is the
        bound at 10,000."""
        return float(np.asarray(self.value).reshape(-1)[-1])


@lru_cache(maxsize=256)
def _constants(game: PersuasionGame) -> tuple:
    """``(V*, margin, F)`` of a game, each computed once (games are immutable and hashable)."""
    exact = _exact_optimum(game).value
    return float(exact), persuasion_margin(game, float(exact)), _revelation_gap(game, exact)


def epoch_samples(t) -> np.ndarray:
    """Samples seen at the start of the doubling epoch containing round ``t`` (1-based).

    Examples
    --------
    >>> from persuasion.bounds import epoch_samples
    >>> epoch_samples([1, 2, 3, 4, 5, 8, 9]).tolist()           # re-solves at rounds 2, 4, 8, ...
    [0, 1, 1, 3, 3, 7, 7]
    """
    arr = np.asarray(t)
    if not np.issubdtype(arr.dtype, np.integer) or (arr < 1).any():     # 0 or -1: log2 warnings and garbage
        raise InvalidArgumentError("epoch_samples()", "t", "must be rounds (integers >= 1)", t)
    t = arr.astype(np.int64)
    return (np.int64(1) << np.floor(np.log2(t)).astype(np.int64)) - 1


def per_round_bound(m: int, delta_V: float, gamma: float, value_gap: float, revelation_gap: float,
                    delta: float, T: int, guarded: bool = True) -> np.ndarray:
    """``b_t`` for ``t = 1..T`` on the doubling schedule (re-solve at rounds 1, 2, 4, ...).

    Guarded learner (default): ``min(dV, F, 3 dV e + L)`` with ``L = (2G/gamma) eps`` once
    ``eps < gamma / 2`` (0 if no margin is needed, no such term before); unguarded:
    ``min(dV, dV e + min(F, L))`` (docs/theory.md).

    Examples
    --------
    >>> from persuasion.bounds import per_round_bound
    >>> b = per_round_bound(2, 1.0, 0.15, 0.3, 0.3, 0.05, 1000)
    >>> b.shape, bool((b >= 0).all())
    ((1000,), True)
    """
    where = "per_round_bound()"                # NaN passed every comparison below and came back as a bound
    if not is_integer(m, minimum=1):
        raise InvalidArgumentError(where, "m", "must be an integer >= 1 (the number of states)", m)
    for name, value in (("delta_V", delta_V), ("value_gap", value_gap), ("revelation_gap", revelation_gap)):
        checked_nonnegative(where, name, value)
    if isinstance(gamma, bool) or not isinstance(gamma, Real) or not gamma >= 0:
        raise InvalidArgumentError(where, "gamma", "must be a number >= 0 (inf: no margin needed)", gamma)
    if isinstance(delta, bool) or not isinstance(delta, Real) or not 0 < delta < 1:
        raise InvalidArgumentError(where, "delta", "must be in (0, 1)", delta)
    if not is_integer(T, minimum=1):
        raise InvalidArgumentError(where, "T", "must be an integer >= 1 (the horizon)", T)
    guarded = checked_flag(where, "guarded", guarded, default=True)
    if delta_V == 0:                     # the Advisor is indifferent: every scheme is optimal
        return np.zeros(T)
    s = epoch_samples(np.arange(1, T + 1))
    if guarded:
        return _guarded_epoch_bound(s, m, delta_V, gamma, value_gap, revelation_gap, delta)
    eps = radius(s, m, delta / 2)
    e1 = np.minimum(l1_radius(s, m, delta / 2), m * eps)
    if np.isinf(gamma):
        loss = np.zeros_like(eps)
    elif gamma <= 0:                     # outside the theorem: step 4(a) only, F in every round
        loss = np.full_like(eps, revelation_gap)
    else:
        with np.errstate(invalid="ignore"):
            loss = np.where(eps < gamma / 2, np.minimum(revelation_gap, (2.0 * value_gap / gamma) * eps),
                            revelation_gap)
    return np.minimum(delta_V, delta_V * e1 + loss)


def _guarded_epoch_bound(s, m: int, delta_V: float, gamma: float, value_gap: float, revelation_gap: float,
                         delta: float) -> np.ndarray:
    """The guarded per-round bound ``min(dV, F, 3 dV e + L)`` of a round whose epoch starts with ``s``
    samples (vectorised in ``s``; docs/theory.md, "The guard")."""
    eps = radius(s, m, delta / 2)
    e1 = np.minimum(l1_radius(s, m, delta / 2), m * eps)
    with np.errstate(invalid="ignore"):
        if np.isinf(gamma):
            robust = np.zeros_like(eps)
        elif gamma <= 0:
            robust = np.full_like(eps, np.inf)
        else:
            robust = np.where(eps < gamma / 2, (2.0 * value_gap / gamma) * eps, np.inf)
        robust = np.where(np.isinf(e1), np.inf, 3.0 * delta_V * e1 + robust)
    return np.minimum(min(delta_V, revelation_gap), robust)


def regret_bound(game: PersuasionGame, T, delta: float, guarded: bool = True) -> RegretBound:
    """The robust learner's regret bound at horizon(s) ``T`` with failure probability ``delta``.

    Parameters
    ----------
    game : PersuasionGame
    T : int or array of int
        Horizon(s); the bound holds for all of them at once.
    delta : float in (0, 1)
    guarded : bool
        The bound of ``RobustPersuader(delta)`` (default: guarded, never above ``F T``) or of
        ``RobustPersuader(delta, guard=False)``.

    Returns
    -------
    RegretBound
        ``within_theorem`` is False, with the ``reason``, for games outside
        the theorem (persuasion margin 0: e.g. the optimum needs an action
        that is a best response at a single belief); ``value`` is then the
        finite linear bound that still holds (see :class:`RegretBound`).

    Examples
    --------
    >>> from persuasion import examples
    >>> b = regret_bound(examples.prosecutor_judge(), [100, 10_000], delta=0.05)
    >>> b.within_theorem, bool(b.value[1] < 0.6 * 10_000)
    (True, True)
    """
    checked_game("regret_bound()", game)
    if isinstance(delta, bool) or not isinstance(delta, Real) or not 0 < delta < 1:
        raise InvalidArgumentError("regret_bound()", "delta", "must be in (0, 1)", delta)
    guarded = checked_flag("regret_bound()", "guarded", guarded, default=True)
    Ts = np.asarray(T)
    if not np.issubdtype(Ts.dtype, np.integer) or (Ts < 1).any():
        raise InvalidArgumentError("regret_bound()", "T", "must be positive integers", T)
    m = game.num_states
    dV = float(game.sender.max() - game.sender.min())
    v_star, margin, F = _constants(game)
    gamma = margin.gamma
    gap = margin.value_gap if gamma > 0 else 0.0
    per_round = per_round_bound(m, dV, gamma, gap, F, float(delta), int(Ts.max()), guarded)
    value = np.cumsum(per_round)[Ts - 1]
    closed = _closed_form(Ts, m, dV, gamma, gap, F, float(delta), guarded)
    burn = burn_in(m, gamma, float(delta))
    if gamma == 0.0:
        reason = ("outside the theorem: no optimal scheme has a witness with a positive persuasion margin on the "
                  f"obedience rows it needs ({len(margin.needed_rows)} rows); typically the optimum needs an action "
                  "that is a best response at a single belief.  The bound given is " +
                  ("F per round (the guard: never worse than full revelation)" if guarded else
                   "step 4(a) of the proof, min(dV, dV e1 + F) per round") + ": finite but linear in T")
    else:
        reason = "within the theorem" + (" (the optimum needs no obedience row: no margin needed)"
                                         if np.isinf(gamma) else f" (persuasion margin {gamma:.4g})")
    if not margin.exhaustive:
        reason += "; margin from one optimum (too many rows to try every optimum), valid but maybe not the best"
    beats = _beats_revelation_from(m, dV, gamma, gap, F, float(delta)) if guarded else None
    return RegretBound(value if Ts.ndim else float(value), closed if Ts.ndim else float(closed), gamma > 0, reason,
                       m, dV, gamma, margin.value_gap, F, float(delta), burn, margin.exhaustive, v_star,
                       "robust" if guarded else "robust-unguarded", beats, margin.certified)


def _beats_revelation_from(m: int, dV: float, gamma: float, gap: float, F: float, delta: float,
                           epochs: int = 62) -> int | None:
    """The first round whose guarded per-round bound is below ``F`` (constant within a doubling epoch, so
    the first epoch start ``2^k`` where it is), or ``None``."""
    if F <= 0 or dV == 0:
        return None
    starts = np.int64(1) << np.arange(epochs, dtype=np.int64)
    below = np.flatnonzero(_guarded_epoch_bound(starts - 1, m, dV, gamma, gap, F, delta) < min(dV, F))
    return int(starts[below[0]]) if below.size else None


def burn_in(m: int, gamma: float, delta: float) -> int | None:
    """Rounds played before the box radius of the doubling schedule falls below ``gamma / 2``: all epochs
    before the first epoch ``k`` (rounds ``2^k .. 2^(k+1) - 1``, starting with ``2^k - 1`` samples) whose
    radius is small enough.  0 if no margin is needed, ``None`` if gamma is 0.

    Examples
    --------
    >>> from persuasion.bounds import burn_in
    >>> burn_in(2, 0.15, 0.05)                                  # rounds before the box is narrow enough
    2047
    """
    if isinstance(gamma, bool) or not isinstance(gamma, Real) or not gamma >= 0:   # NaN answered 1
        raise InvalidArgumentError("burn_in()", "gamma", "must be a number >= 0 (inf: no margin needed)", gamma)
    if np.isinf(gamma):
        return 0
    if gamma == 0:
        return None
    k = 1
    while radius((1 << k) - 1, m, delta / 2) >= gamma / 2:
        k += 1
    return (1 << k) - 1


def _revelation_gap(game: PersuasionGame, v_star) -> float:
    """``V* - V(full revelation)``: what the always-feasible revealing scheme gives up, exactly (``v_star``
    exact; full revelation's value in fractions, ties for the Advisor), shown as a float."""
    return float(max(Fraction(0), Fraction(v_star) - full_revelation_value(game, exact=True)))


def _closed_form(T, m: int, dV: float, gamma: float, gap: float, F: float, delta: float, guarded: bool = True):
    """The corollary: an explicit upper bound on ``sum_t b_t`` (see docs/theory.md), capped at ``dV T``
    (``min(dV, F) T`` guarded).

    With gamma = 0 the robust term is absent and ``F`` is paid in every round (the burn-in never ends).
    Guarded, the estimation term is three times the unguarded one and round 1 costs ``F``, not ``dV``."""
    T = np.asarray(T, dtype=float)
    L1 = m * np.log(2.0) + np.log(2.0 * T ** 2 / delta)
    Linf = np.log(4.0 * m * T ** 2 / delta)
    robust = 0.0 if (np.isinf(gamma) or gamma == 0) else (2.0 * gap / gamma) * np.sqrt(Linf)
    k = 3 if guarded else 1
    first = F if guarded else dV
    main = first + (2 + np.sqrt(2)) * np.sqrt(T) * (2 * k * dV * np.sqrt(L1) + robust)
    burn = burn_in(m, gamma, delta)
    burned = T if burn is None else np.minimum(T, float(burn))
    cap = min(dV, F) if guarded else dV
    return np.minimum(cap * T, main + F * burned)
