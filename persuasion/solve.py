"""``solve(game, exact=False, method=None)``: optimal signaling schemes.

Methods
-------
``"auto"`` (default)
    A closed form where one applies (two states; two actions with a
    state-independent Advisor), else row and column generation for games with
    at least ``AUTO_GENERATION_MIN_SIZE`` actions, else the full LP on HiGHS.
``"closed-form"``
    The closed forms of :mod:`persuasion.closed_forms`, with analytic duals.
``"highs-cg"``
    Row and column generation on a live HiGHS model
    (:mod:`persuasion.constraint_generation`): the same optimum and certificate
    as the full LP, much faster on large games.
``"highs"``
    The full LP on HiGHS' dual simplex through highspy.  Returns the optimal
    basis, which the exact path re-solves in rationals.
``"linprog"``
    The textbook route through ``scipy.optimize.linprog`` (HiGHS inside);
    float only.  Kept as the baseline of the benchmarks.
``"cvxpy"`` or ``"cvxpy:SOLVER"``
    The LP through cvxpy (default solver CLARABEL, an interior-point method);
    float only.  Needs the optional dependency cvxpy.
``"rational-simplex"``
    A primal simplex entirely in ``Fraction`` arithmetic (no float at any
    step); exact only, for small games.

Units.  The float path solves the game with its utilities normalised to
spread 1 (:mod:`persuasion.scaling`: optimal schemes are unchanged by
positive scaling and per-state shifts) and maps value and duals back, so
its tolerances mean the same at any units; the float certificate is checked
in those normalised units, and is never valid on a NaN.  The exact path
takes its float basis from the normalised game too.

Exactness.  With ``exact=True`` the value and scheme are ``Fraction`` objects
with a certificate (primal feasibility, dual feasibility, zero duality gap)
checked in exact arithmetic.  They come from re-solving the float solver's
optimal basis in rationals, not from rounding.  If that basis is not exactly
optimal (a float tolerance hid a tiny violation), the exact simplex finishes
the job from the full-revelation basis.
"""
from __future__ import annotations

import os
import time
from dataclasses import replace
from fractions import Fraction

import numpy as np

from . import backends
from .analysis import best_response
from .arithmetic import EXACT, FLOAT, arithmetic
from .closed_forms import solve_closed_form
from .constraint_generation import solve_generation
from .errors import CertificateError, InvalidArgumentError, SolverError
from .rational import rational_simplex, resolve_basis
from .game import PersuasionGame
from .lp import FloatLP, build_float_lp, obedience_coefficients, obedience_matrix, obedience_pairs
from .solution import Solution, assemble, game_scaling

FLOAT_METHODS = ("auto", "closed-form", "highs-cg", "highs", "linprog", "cvxpy")
EXACT_METHODS = ("auto", "closed-form", "highs-cg", "highs", "rational-simplex")

#: ``method="auto"`` uses row/column generation from this many actions on
#: (below it the full LP is as fast; see docs/performance.md).
AUTO_GENERATION_MIN_SIZE = 12

#: Largest LP (rows x columns) the rational simplex fallback takes on.
RATIONAL_SIMPLEX_LIMIT = 400_000

#: The float value is trusted when the LP with every obedience row tightened by this much (normalised
#: units: each recommended action must beat each alternative by it) has a value within
#: ``CONDITIONING_TOLERANCE`` of it; the float LP itself is the relaxed side (HiGHS' feasibility tolerance
#: is 1e-9), so the exact value lies between the two.
CONDITIONING_WIDTH = 1e-9
CONDITIONING_TOLERANCE = 1e-6

#: Largest obedience block (rows x states) for which the float path runs the conditioning check.
CONDITIONING_LIMIT = 200_000


def _lam_matrix(n: int, pairs: np.ndarray, values, dtype) -> np.ndarray:
    lam = np.zeros((n, n), dtype=dtype) if dtype is float else np.full((n, n), Fraction(0), dtype=object)
    for (a, b), v in zip(pairs, values):
        lam[a, b] = v
    return lam


def solve(game: PersuasionGame, exact: bool = False, method: str | None = None, *,
          solver_options: dict | None = None) -> Solution:
    """Optimal signaling scheme of ``game``, with duals and a checked certificate.

    Parameters
    ----------
    game : PersuasionGame
    exact : bool
        Return rational value and scheme with an exactly checked certificate.
    method : str, optional
        ``"auto"`` (default), ``"closed-form"``, ``"highs-cg"``, ``"highs"``,
        ``"linprog"``, ``"cvxpy"``, ``"cvxpy:SOLVER"`` or ``"rational-simplex"``
        (see module docstring).
    solver_options : dict, optional
        Passed to the backend (HiGHS options, linprog options, cvxpy solve kwargs).

    Returns
    -------
    Solution
        Frozen; ``solution.verify()`` re-checks its certificate.

    Raises
    ------
    SolverError
        The backend did not reach optimality (status and a hint in the message).
    CertificateError
        ``exact=True`` and no exactly certified optimum could be produced.

    Examples
    --------
    >>> from persuasion import examples
    >>> sol = solve(examples.prosecutor_judge(), exact=True)
    >>> sol.value, sol.scheme[0, 1]
    (Fraction(3, 5), Fraction(3, 7))
    >>> sol.certificate.valid
    True
    """
    if not isinstance(game, PersuasionGame):
        raise InvalidArgumentError("solve()", "game", "must be a PersuasionGame", type(game).__name__)
    ar = arithmetic(exact)                   # the one place solve() looks at the flag
    if ar.exact:
        _check_memory(game)
    method = "auto" if method is None else str(method)
    family, _, sub = method.partition(":")
    allowed = EXACT_METHODS if ar.exact else FLOAT_METHODS
    if family not in allowed or (sub and family != "cvxpy"):
        raise InvalidArgumentError("solve()", "method", f"must be one of {allowed} with exact={ar.exact}", method)
    t0 = time.perf_counter()
    closed = None
    if family in ("auto", "closed-form"):
        closed = solve_closed_form(game if ar.exact else normalised_game(game), ar)
        if closed is None and family == "closed-form":
            raise InvalidArgumentError("solve()", "method", "'closed-form' needs 2 states, or 2 actions with a "
                                       "state-independent Advisor utility", f"a {game.shape[0]}x{game.shape[1]} game")
        if closed is None:
            family = "highs-cg" if game.num_actions >= AUTO_GENERATION_MIN_SIZE else "highs"
    sol = None
    if closed is not None:
        scheme, y, lam, name = closed
        if not ar.exact:
            y, lam = _back(game, y, lam)
        sol = assemble(game, scheme, y, lam, exact=ar, method=name)
        if not sol.certificate.valid and family == "auto":    # never seen; the LP is the safe fallback
            sol, family = None, ("highs-cg" if game.num_actions >= AUTO_GENERATION_MIN_SIZE else "highs")
    if sol is None:
        _check_memory(game)                  # the LP paths hold n x n multipliers
        if family == "rational-simplex":
            sol = _solve_rational_simplex(game)
        elif ar.exact:
            sol = _solve_exact_highs(game, solver_options, generation=family == "highs-cg")
        else:
            sol = _solve_float(game, family, sub or None, solver_options)
    if not ar.exact:
        sol = _checked_conditioning(game, sol, solver_options)
    return _with_stats(sol, seconds=time.perf_counter() - t0)


def _with_stats(sol: Solution, **items) -> Solution:
    """A copy of the frozen ``sol`` with ``items`` added to its stats (the result is never mutated)."""
    return replace(sol, stats={**sol.stats, **items})


def value_interval(game: PersuasionGame, width: float = CONDITIONING_WIDTH, options=None):
    """``(low, high)`` in ``game``'s units: optimal values with every obedience row tightened and relaxed
    by ``width`` (normalised units), or ``None`` where the tightened LP is infeasible.

    Rows whose two actions give the Receiver the same utility in every state are left as they are (no
    scheme can make it strictly prefer one).  As long as float rounding of the data is below ``width``, the
    exact optimal value lies in the interval; a wide interval means the value jumps under tiny
    perturbations of the data (e.g. the optimum uses an action that is a best response at one belief only).
    """
    low = _shifted_value(game, -width, options)
    return None if low is None else (low, _shifted_value(game, width, options))


def _shifted_value(game: PersuasionGame, shift: float, options=None) -> float | None:
    """Optimal value with every live obedience row's right-hand side moved by ``shift`` (normalised units;
    negative: the Receiver must prefer the recommendation by ``-shift``), or ``None`` if infeasible."""
    gn = normalised_game(game)
    lp = build_float_lp(gn)
    live = np.abs(gn.receiver[:, lp.pairs[:, 0]] - gn.receiver[:, lp.pairs[:, 1]]).max(axis=0) > 0
    D = lp.D + shift * live[:, None] * gn.prior[None, :]
    try:
        res = backends.solve_highs(FloatLP(lp.c, lp.A_eq, obedience_matrix(D, lp.pairs, lp.m, lp.n), D,
                                           lp.pairs, lp.m, lp.n), options)
    except SolverError:
        return None
    return game_scaling(game).value_out(float(lp.c @ res.x), game.prior)


def _checked_conditioning(game: PersuasionGame, sol: Solution, options) -> Solution:
    """Keep a float solution whose value is well conditioned; otherwise re-solve exactly (small games) or
    mark the certificate invalid, saying why."""
    m, n = game.shape
    if not sol.certificate.valid:
        return sol
    if n * (n - 1) * m > CONDITIONING_LIMIT:
        return _with_stats(sol, conditioning="not checked (game too large)")
    # one LP: the float optimum is (within HiGHS' 1e-9 feasibility tolerance) the relaxed value, so the
    # tightened LP alone brackets the exact value from below
    low = _shifted_value(game, -CONDITIONING_WIDTH, options)
    interval = None if low is None else (low, float(sol.value))
    spread = game_scaling(game)
    scale = spread.aV * spread.bV
    if interval is not None and (interval[1] - interval[0]) <= CONDITIONING_TOLERANCE * scale:
        return _with_stats(sol, conditioning=f"value interval width {(interval[1] - interval[0]) / scale:.1e} "
                                             "(normalised)")
    why = ("the obedience-tightened LP is infeasible" if interval is None else
           f"the optimal value moves from {interval[0]:.6g} to {interval[1]:.6g} when obedience is tightened or "
           f"relaxed by {CONDITIONING_WIDTH:g} (normalised units)")
    K = n * (n - 1)
    if (m + K) * (m * n + K) <= RATIONAL_SIMPLEX_LIMIT or m * n <= 400:
        ex = _solve_exact_highs(game, options)
        fl = lambda a: np.array(a, dtype=float)
        out = assemble(game, fl(ex.scheme), fl(ex.duals.state), fl(ex.duals.obedience), exact=FLOAT,
                       method=f"{sol.method}+exact-fallback", stats={**ex.stats, "conditioning": why})
        # the float check of the exact optimum can fail where the duals are huge: its certificate is the exact one
        return replace(out, value=float(ex.value), certificate=ex.certificate, exact_solution=ex)
    cert = sol.certificate
    bad = replace(cert, valid=False, failures=cert.failures + (f"ill-conditioned value: {why}; use exact=True",))
    return replace(sol, certificate=bad, stats={**sol.stats, "conditioning": why})


#: Dense n x n arrays a solve holds at its peak (the obedience multipliers, the slacks of the certificate,
#: a copy), measured: 2 states x 20,000 actions peaked at 9.4 GB = about 3 x 8 n^2 bytes.
DENSE_COPIES = 3


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _check_memory(game: PersuasionGame) -> None:
    """Refuse, before allocating, a game whose n x n multipliers cannot fit in half the machine's memory."""
    n = game.num_actions
    need = DENSE_COPIES * 8 * n * n
    have = _physical_memory()
    if have is not None and need > have // 2:
        raise InvalidArgumentError("solve()", "game", f"is too large for this machine: {n:,} actions need about "
                                   f"{need / 2**30:,.1f} GiB for the n x n obedience multipliers (half the "
                                   f"memory is {have / 2**31:,.1f} GiB)", f"a {game.num_states} x {n:,} game")


def normalised_game(game: PersuasionGame) -> PersuasionGame:
    """``game`` with utilities normalised to spread 1 (same prior and labels; same optimal schemes)."""
    sc = game_scaling(game)
    return PersuasionGame(game.prior, sc.sender, sc.receiver, game.states, game.actions, name=game.name)


def _back(game: PersuasionGame, y_n, lam_n) -> tuple[np.ndarray, np.ndarray]:
    """Duals of the normalised game in ``game``'s units."""
    sc = game_scaling(game)
    return sc.y_out(y_n, game.prior), sc.lam_out(lam_n)


def _solve_float(game: PersuasionGame, family: str, sub: str | None, options) -> Solution:
    m, n = game.shape
    gn = normalised_game(game)
    if family == "highs-cg":
        res, pairs, info = solve_generation(gn, options)
        y, lam = _back(game, np.asarray(res.y, float), _lam_matrix(n, pairs, res.lam_rows, float))
        return assemble(game, res.x.reshape(m, n), y, lam, exact=FLOAT, method="highs-cg", stats=info)
    lp = build_float_lp(gn)
    if family == "highs":
        res = backends.solve_highs(lp, options)
    elif family == "linprog":
        res = backends.solve_linprog(lp, options)
    else:
        res = backends.solve_cvxpy(lp, sub, options)
    y, lam = _back(game, np.asarray(res.y, float), _lam_matrix(n, lp.pairs, res.lam_rows, float))
    return assemble(game, res.x.reshape(m, n), y, lam, exact=FLOAT,
                    method=family if family != "cvxpy" else f"cvxpy:{res.info['solver']}",
                    stats={"iterations": res.iterations, "rows": lp.m + lp.pairs.shape[0]})


def _solve_exact_highs(game: PersuasionGame, options, generation: bool = False) -> Solution:
    """Re-solve HiGHS' optimal basis in rationals; fall back to the full LP, then the exact simplex.

    With ``generation`` the basis comes from row/column generation, so the
    rational system involves only the rows and columns that were generated.
    """
    gn = normalised_game(game)          # the basis does not depend on units; HiGHS' tolerances do
    if generation:
        res, pairs, info = solve_generation(gn, options)
    else:
        lp = build_float_lp(gn)
        res, pairs, info = backends.solve_highs(lp, options), lp.pairs, {}
    prior, V, U = game.rational()
    cols, tight_s, tight_o = res.basis
    name = "highs-cg" if generation else "highs"
    try:
        scheme, y, lam = resolve_basis(prior, V, U, pairs, cols, tight_s, tight_o)
        sol = assemble(game, scheme, y, lam, exact=EXACT, method=f"{name}+rational-basis",
                       stats={**info, "iterations": res.iterations, "basis_size": len(cols)})
        if sol.certificate.valid:
            return sol
        reason = sol.certificate.summary()
    except (ValueError, ZeroDivisionError) as e:
        reason = str(e)
    if generation:   # the generated basis missed something exactly: certify the full LP instead
        return _with_stats(_solve_exact_highs(game, options), fallback_reason=reason)
    m, n = game.shape
    K = n * (n - 1)
    if (m + K) * (m * n + K) > RATIONAL_SIMPLEX_LIMIT:
        raise CertificateError(f"solve(): the float basis is not exactly optimal ({reason}) and the game is too "
                               f"large ({m}x{n}) for the exact simplex fallback")
    return _with_stats(_solve_rational_simplex(game), fallback_reason=reason)


def _solve_rational_simplex(game: PersuasionGame) -> Solution:
    """Standard form: columns x (m*n) then slacks s (K); rows ``sum_a x = 1`` and ``G x - s = 0``."""
    prior, V, U = game.rational()
    m, n = game.shape
    pairs = obedience_pairs(n)
    K = pairs.shape[0]
    zero, one = Fraction(0), Fraction(1)
    D = obedience_coefficients(prior, U, pairs)
    A = []
    for w in range(m):
        A.append([one if j // n == w else zero for j in range(m * n)] + [zero] * K)
    for k, (a, _) in enumerate(pairs):
        row = [zero] * (m * n + K)
        for w in range(m):
            row[w * n + a] = D[k, w]
        row[m * n + k] = -one
        A.append(row)
    b = [one] * m + [zero] * K
    c = [prior[w] * V[w, a] for w in range(m) for a in range(n)] + [zero] * K
    # full revelation of the Receiver's best action is a feasible basis
    deltas = [np.array([one if i == w else zero for i in range(m)], dtype=object) for w in range(m)]
    basis = [w * n + best_response(game, deltas[w], tie="lowest", exact=EXACT) for w in range(m)]
    basis += [m * n + k for k in range(K)]
    z, yrow, _ = rational_simplex(c, A, b, basis)
    scheme = np.array(z[:m * n], dtype=object).reshape(m, n)
    y = np.array(yrow[:m], dtype=object)
    # row k reads G x - s = 0 and the dual has -G^T lam: lam = -(multiplier of row k)
    lam = _lam_matrix(n, pairs, [-v for v in yrow[m:]], object)
    sol = assemble(game, scheme, y, lam, exact=EXACT, method="rational-simplex")
    if not sol.certificate.valid:
        raise CertificateError(f"solve(): exact simplex produced an invalid certificate: {sol.certificate.summary()}")
    return sol
