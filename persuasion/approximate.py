"""Persuasion against a Receiver who may take any delta-best response (robust persuasion).

After a signal the Receiver forms its posterior ``p`` and may take any action whose expected utility is
strictly within ``delta`` of the best, or a best one:
``B_delta(p) = {b : U_p(b) > max_a U_p(a) - delta} (plus the maximisers)``; the Advisor plans for the
worst of them (Yang et al., NeurIPS 2024, "Computational Aspects of Bayesian Persuasion under
Approximate Best Response", study this model and show that recommending actions is no longer enough).

The robust value is computed here by an LP whose signals are pairs ``(S, t)``: a set ``S`` of actions the
Receiver may take and an action ``t`` in ``S`` that beats every action outside ``S`` by at least
``delta`` under the (unnormalised) posterior, so that ``B_delta(p)`` is inside ``S`` (an action exactly
``delta`` worse is not strictly within ``delta``: for ``delta > 0`` the optimum is attained).  The Advisor's payoff from the signal is
at least ``z(S, t) <= sum_w mu[w] x[w, (S, t)] V[w, b]`` for every ``b`` in ``S``.  Any scheme maps to
this form (label each signal by its ``B_delta`` and its best action; merging signals with equal labels
keeps every constraint and can only raise the minimum), so the LP value is the robust optimum.  It has
``n 2^(n-1)`` signals, so it is for small action sets (``MAX_ACTIONS``).

``delta = 0`` is the classical model, with ties broken for the Advisor (:func:`persuasion.solve`).  The
value is not continuous there: as ``delta`` falls to 0 it tends to ``V*`` when the optimum's recommended
actions are best on an open set of beliefs (prosecutor-judge), but not when the optimum needs an action
that is a best response at a single belief (the bundled ``single_belief_middle``: ``V* = 0.8``, robust
value 0 for every ``delta > 0``) -- the same games that fall outside the online learner's theorem.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from numbers import Real

import numpy as np
from scipy.optimize import linprog

from .analysis.responses import _near_best
from .analysis.posteriors import checked_scheme
from .errors import InvalidArgumentError, SolverError
from .game import PersuasionGame, checked_game
from .scaling import TIE_TOLERANCE, Scaling
from .solution import fields_equal
from .solve import solve

__all__ = ["RobustSolution", "delta_best_responses", "worst_delta_response", "robust_value_of_scheme",
           "solve_delta_robust"]

#: Largest number of actions the (S, t)-signal LP takes (it has n 2^(n-1) signals).
MAX_ACTIONS = 10


@dataclass(frozen=True, eq=False)
class RobustSolution:
    """The robust optimum against delta-best responses (in the game's units).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.approximate import solve_delta_robust
    >>> r = solve_delta_robust(examples.prosecutor_judge(), 0.01)
    >>> round(r.value, 4), r.delta
    (0.5941, 0.01)
    """

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)

    value: float
    delta: float
    signals: tuple           # (S, t) of each signal sent with positive probability
    scheme: np.ndarray       # (m, k): P(signal | state) for those signals
    sender_payoffs: np.ndarray   # the Advisor's guaranteed payoff from each signal (joint, not conditional)


def _check_delta(where: str, delta) -> None:
    """``delta`` is a finite number >= 0 (a NaN compared False everywhere: no action was within it)."""
    if isinstance(delta, bool) or not isinstance(delta, Real) or not 0 <= delta < math.inf:
        raise InvalidArgumentError(where, "delta", "must be a finite number >= 0", delta)


def delta_best_responses(game: PersuasionGame, belief, delta: float) -> np.ndarray:
    """``B_delta(belief)``: the best actions and every action strictly within ``delta`` of them (float
    comparisons with the package's tie rule, :func:`persuasion.analysis.near_best`).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.approximate import delta_best_responses
    >>> delta_best_responses(examples.prosecutor_judge(), [0.52, 0.48], 0.05).tolist()   # both within 0.05
    [0, 1]
    """
    checked_game("delta_best_responses()", game)
    _check_delta("delta_best_responses()", delta)
    U = game.receiver
    try:
        b = np.asarray(belief, float)
    except (TypeError, ValueError):                      # not numbers at all: refused below, as the wrong shape
        b = np.full(0, np.nan)
    if b.shape != (game.num_states,) or not np.all(np.isfinite(b)) or (b < 0).any():
        raise InvalidArgumentError("delta_best_responses()", "belief", f"must be {game.num_states} finite "
                                   f"non-negative numbers", belief)
    best = _near_best(U, b)
    D = U - U[:, [int(np.argmax(best))]]                 # differences to one best action, state by state
    return np.flatnonzero(best | (b @ D > -delta + TIE_TOLERANCE * (b @ np.abs(D))))


def worst_delta_response(game: PersuasionGame, belief, delta: float) -> int:
    """The delta-best response the Advisor likes least (ties: lowest index).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.approximate import worst_delta_response
    >>> examples.prosecutor_judge().actions[worst_delta_response(examples.prosecutor_judge(), [0.52, 0.48], 0.05)]
    'acquit'
    """
    checked_game("worst_delta_response()", game)
    cands = delta_best_responses(game, belief, delta)
    v = np.asarray(belief, float) @ game.sender
    return int(cands[np.argmin(v[cands])])


def robust_value_of_scheme(game: PersuasionGame, scheme, delta: float) -> float:
    """The Advisor's expected utility from ``scheme`` (m x k, any k) when the Receiver takes, after each
    signal, its worst delta-best response.

    Examples
    --------
    The exact optimum leaves the judge indifferent, so a Receiver that breaks ties against the Advisor
    acquits:

    >>> from persuasion import examples, solve
    >>> from persuasion.approximate import robust_value_of_scheme
    >>> g = examples.prosecutor_judge()
    >>> robust_value_of_scheme(g, solve(g).scheme, 0.01)
    0.0
    """
    checked_game("robust_value_of_scheme()", game)
    _check_delta("robust_value_of_scheme()", delta)
    x = checked_scheme("robust_value_of_scheme()", scheme, game.num_states)
    joint = game.prior[:, None] * x
    total = 0.0
    for s in range(x.shape[1]):
        mass = joint[:, s].sum()
        if mass <= 0:
            continue
        b = worst_delta_response(game, joint[:, s] / mass, delta)
        total += float(joint[:, s] @ game.sender[:, b])
    return total


def solve_delta_robust(game: PersuasionGame, delta: float) -> RobustSolution:
    """The Advisor's optimal scheme against the worst delta-best response (LP over (S, t) signals).

    ``delta`` is in the Receiver's utility units.  Utilities are normalised internally (the LP's
    tolerances then do not depend on units); the value is returned in the game's units.  The LP's
    feasibility tolerance is 1e-10 of the Receiver's utility spread: a smaller ``delta`` cannot be told
    from 0 by it (use ``delta = 0`` for the classical model).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.approximate import solve_delta_robust
    >>> [round(solve_delta_robust(examples.prosecutor_judge(), d).value, 4) for d in (0.0, 0.01, 0.1)]
    [0.6, 0.5941, 0.5455]
    """
    checked_game("solve_delta_robust()", game)
    _check_delta("solve_delta_robust()", delta)
    m, n = game.shape
    if float(delta) == 0:
        sol = solve(game)
        used = np.flatnonzero(sol.signal_probabilities > 0)
        x = np.asarray(sol.scheme, float)[:, used]
        return RobustSolution(float(sol.value), 0.0, tuple(((int(a),), int(a)) for a in used), x,
                              (game.prior[:, None] * x * game.sender[:, used]).sum(axis=0))
    if n > MAX_ACTIONS:
        raise InvalidArgumentError("solve_delta_robust()", "game", f"must have at most {MAX_ACTIONS} actions (the LP "
                                   f"has n 2^(n-1) signals)", f"{n} actions")
    sc = Scaling.of(game.sender, game.receiver)
    Vn, Un = sc.sender, sc.receiver
    dn = float(delta) / (sc.aU * sc.bU)                     # delta in the normalised Receiver units
    prior = game.prior
    signals = [(S, t) for size in range(1, n + 1) for S in combinations(range(n), size) for t in S]
    k = len(signals)
    nx = m * k                                               # x[w, j] at w * k + j, then z[j] at nx + j
    c = np.concatenate([np.zeros(nx), -np.ones(k)])
    rows, b_ub = [], []
    for j, (S, t) in enumerate(signals):
        for a in range(n):                                   # t beats every action outside S by delta
            if a in S:
                continue
            r = np.zeros(nx + k)
            r[np.arange(m) * k + j] = -prior * (Un[:, t] - Un[:, a] - dn)
            rows.append(r)
            b_ub.append(0.0)
        for b in S:                                          # z_j <= the Advisor's payoff if the Receiver takes b
            r = np.zeros(nx + k)
            r[np.arange(m) * k + j] = -prior * Vn[:, b]
            r[nx + j] = 1.0
            rows.append(r)
            b_ub.append(0.0)
    A_eq = np.zeros((m, nx + k))
    for w in range(m):
        A_eq[w, w * k:(w + 1) * k] = 1.0
    bounds = [(0, None)] * nx + [(None, None)] * k
    res = linprog(c, A_ub=np.array(rows), b_ub=np.array(b_ub), A_eq=A_eq, b_eq=np.ones(m), bounds=bounds,
                  method="highs", options={"primal_feasibility_tolerance": 1e-10,
                                           "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        raise SolverError("solve_delta_robust()", f"HiGHS status {res.status}: {res.message}",
                          "the LP is always feasible (reveal the state, one signal per state); report this game")
    x = res.x[:nx].reshape(m, k)
    z = res.x[nx:]
    used = np.flatnonzero(x.sum(axis=0) > 1e-12)
    value_n = float(z.sum())
    # back to the game's units: V = aV (bV V_n + cV[w]); every signal's payoff shifts by its mass times cV
    value = sc.aV * (sc.bV * value_n + float(prior @ sc.cV))
    payoffs = sc.aV * (sc.bV * z[used] + (prior[:, None] * x[:, used] * sc.cV[:, None]).sum(axis=0))
    return RobustSolution(value, float(delta), tuple(signals[j] for j in used), x[:, used], payoffs)
