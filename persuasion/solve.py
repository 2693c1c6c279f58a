"""``solve(game, exact=False, method=None)``: optimal signaling schemes.

Methods
-------
(The registry :data:`METHODS` says which arithmetic each serves.)

``"auto"`` (default)
    A closed form where one applies (two states; two actions with a
    state-independent Advisor), else row and column generation for games with
    at least ``AUTO_GENERATION_MIN_SIZE`` actions, else the full LP on HiGHS;
    on a small game where HiGHS stops short of the optimum, the exact path.
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
    step) on the whole LP; exact only, for small games.
``"rational-cg"``
    The same simplex inside row and column generation, in rationals
    (:mod:`persuasion.exact_generation`): no float at any step either, and
    it reaches further, since only the rows and columns that matter enter.

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
optimal (a float tolerance hid a tiny violation), exact row and column
generation finishes the job, starting from the columns and rows of every
basis HiGHS gave (``method`` then reads ``"highs+rational-cg"``).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
import time
from dataclasses import dataclass, replace
from typing import Callable
from fractions import Fraction

import numpy as np

from . import backends
from .analysis import best_response
from .arithmetic import EXACT, FLOAT, arithmetic
from .closed_forms import solve_closed_form
from .conditioning import value_interval_of
from .constraint_generation import solve_generation
from .errors import CertificateError, InvalidArgumentError, SolverError
from .exact_generation import exact_generation
from .rational import rational_simplex, resolve_basis, to_float
from .game import PersuasionGame, checked_game
from .lp import build_float_lp, obedience_coefficients, obedience_pairs
from .solution import Solution, assemble, game_scaling


@dataclass(frozen=True)
class Method:
    """One way ``solve`` can find the optimum: which arithmetic it serves, and the LP route it runs
    (``run(game, arithmetic, sub-solver or None, options) -> (Solution, warm model or None)``; None for
    the closed forms and "auto", which :func:`_solve_unchecked` handles before any LP)."""

    name: str
    floats: bool
    exact: bool
    run: Callable | None = None


#: Every method ``solve`` knows, by the name before any ``:`` (a new LP route is one entry here).
METHODS = {m.name: m for m in (
    Method("auto", floats=True, exact=True),
    Method("closed-form", floats=True, exact=True),
    Method("highs-cg", floats=True, exact=True,
           run=lambda g, ar, sub, o: (_solve_exact_highs(g, o, generation=True), None) if ar.exact
           else _solve_float(g, "highs-cg", sub, o)),
    Method("highs", floats=True, exact=True,
           run=lambda g, ar, sub, o: (_solve_exact_highs(g, o), None) if ar.exact
           else _solve_float(g, "highs", sub, o)),
    Method("linprog", floats=True, exact=False, run=lambda g, ar, sub, o: _solve_float(g, "linprog", sub, o)),
    Method("cvxpy", floats=True, exact=False, run=lambda g, ar, sub, o: _solve_float(g, "cvxpy", sub, o)),
    Method("rational-simplex", floats=False, exact=True, run=lambda g, ar, sub, o: _rational_simplex_route(g)),
    Method("rational-cg", floats=False, exact=True, run=lambda g, ar, sub, o: (_solve_exact_generation(g), None)),
)}
FLOAT_METHODS = tuple(name for name, m in METHODS.items() if m.floats)
EXACT_METHODS = tuple(name for name, m in METHODS.items() if m.exact)

#: ``method="auto"`` uses row/column generation from this many actions on
#: (below it the full LP is as fast; see docs/performance.md).
AUTO_GENERATION_MIN_SIZE = 12

#: Largest restricted LP (rows x columns) exact generation hands the rational simplex (the exact path's
#: fallback and ``method="rational-cg"``); ``method="rational-simplex"`` takes the whole LP at any size.
RATIONAL_SIMPLEX_LIMIT = 400_000

#: The float value is trusted when a scheme certified obedient (found, if need be, on the LP with every
#: obedience row tightened by ``CONDITIONING_WIDTH``, normalised units) comes within
#: ``CONDITIONING_TOLERANCE`` of the weak-duality bound of the float duals: the exact value lies between
#: the two (:mod:`persuasion.conditioning`).  Checked at every size, at the cost of one restricted LP.
CONDITIONING_WIDTH = 1e-9
CONDITIONING_TOLERANCE = 1e-6

#: Where row/column generation stops short, "auto" solves the whole LP instead up to this many obedience
#: entries (``m n (n - 1)``): the whole LP took 2-6 s at 50 x 50 (122,500 entries) and about 3 minutes at
#: 100 x 100 on the 2-core machine (DESIGN.md), so past it the solver's own error is reported at once.
WHOLE_LP_FALLBACK_ENTRIES = 250_000

#: Past the exact fallback's size, a float solve still tries HiGHS' own basis in rationals (one exact
#: linear solve, no pivots) where the basis has at most this many columns: about 1.5 s at 220 on a
#: random 60 x 60 game, 6 s at 409 (100 x 100), 32 s at 583 (150 x 150) on the 2-core machine.
FLOAT_BASIS_LIMIT = 250

EPS = float(np.finfo(float).eps)


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
        ``"linprog"``, ``"cvxpy"``, ``"cvxpy:SOLVER"``, ``"rational-simplex"`` or ``"rational-cg"``
        (see module docstring).
    solver_options : dict, optional
        Passed to the backend (HiGHS options, linprog options, cvxpy solve kwargs); one the backend does
        not take (an unknown name, a value of the wrong type) is an ``InvalidArgumentError``.

    Returns
    -------
    Solution
        Frozen; ``solution.verify()`` re-checks its certificate.

    Raises
    ------
    SolverError
        The backend did not reach optimality (status and a hint in the message).  Under ``"auto"`` (which
        gives the whole LP a game whose row/column generation stops short, up to
        ``WHOLE_LP_FALLBACK_ENTRIES`` obedience entries) and
        with ``exact=True`` only where the exact fallback cannot finish either (floats try it on small
        games, and HiGHS' basis alone in rationals on larger ones up to ``FLOAT_BASIS_LIMIT`` basic
        columns; the exact path until a restricted LP passes ``RATIONAL_SIMPLEX_LIMIT``): otherwise a game
        that HiGHS stops short on is solved exactly instead (``method`` then ends ``"+exact-fallback"``
        on floats, and reads ``"rational-cg"`` exactly).
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
    checked_game("solve()", game)
    ar = arithmetic(exact)                   # the one place solve() looks at the flag
    if ar.exact:
        _check_memory(game)
    method = "auto" if method is None else str(method)
    family, _, sub = method.partition(":")
    allowed = EXACT_METHODS if ar.exact else FLOAT_METHODS
    if family not in allowed or (sub and family != "cvxpy"):
        raise InvalidArgumentError("solve()", "method", f"must be one of {allowed} with exact={ar.exact}", method)
    if solver_options is not None and not (isinstance(solver_options, Mapping)
                                           and all(isinstance(k, str) for k in solver_options)):
        raise InvalidArgumentError("solve()", "solver_options", "must be a dict of option names to values",
                                   solver_options)                   # text or a number failed in the backend
    t0 = time.perf_counter()
    sol, warm = _solve_unchecked(game, ar, family, sub or None, solver_options)
    if not ar.exact:      # the check runs on highspy: options meant for linprog or cvxpy stay with them
        check_options = solver_options if family in ("auto", "closed-form", "highs", "highs-cg") else None
        sol = _checked_conditioning(game, sol, check_options, warm)
    return _with_stats(sol, seconds=time.perf_counter() - t0)


def _solve_unchecked(game: PersuasionGame, ar, family: str, sub: str | None, options) -> tuple[Solution, dict | None]:
    """The optimum by ``family`` (a closed form first under "auto"), before the float conditioning check,
    and the final row/column generation model where one ran."""
    closed = None
    auto = family == "auto"
    if family in ("auto", "closed-form"):
        closed = solve_closed_form(game if ar.exact else normalised_game(game), ar)
        if closed is None and family == "closed-form":
            raise InvalidArgumentError("solve()", "method", "'closed-form' needs 2 states, or 2 actions with a "
                                       "state-independent Advisor utility", f"a {game.shape[0]}x{game.shape[1]} game")
        if closed is None:
            family = _auto_family(game)
    if closed is not None:
        scheme, y, lam, name = closed
        sol = (assemble(game, scheme, y, lam, ar=ar, method=name) if ar.exact
               else _assemble_normalised(game, scheme, y, lam, method=name))
        if sol.certificate.valid or family != "auto":
            return sol, None
        family = _auto_family(game)      # never seen
    _check_memory(game)                      # the LP paths hold n x n multipliers
    if ar.exact and family != "rational-simplex":
        _check_exact_memory(game)
    try:
        return METHODS[family].run(game, ar, sub, options)
    except SolverError as e:
        # "auto" promises an optimum, and the LP always has one: where HiGHS stops short even after its
        # retries (backends.run_highs), generation's game gets the whole LP, and a small game is solved
        # exactly; a named method reports it
        if ar.exact or not auto:
            raise
        m, n = game.shape
        if family == "highs-cg" and m * n * (n - 1) <= WHOLE_LP_FALLBACK_ENTRIES:
            try:
                sol, _ = METHODS["highs"].run(game, ar, None, options)
                return _with_stats(sol, fallback_reason=str(e)), None
            except SolverError:
                pass
        view, _ = _exact_fallback(game, options, family, fallback_reason=str(e))
        if view is None:
            raise e from None            # no exact optimum either: HiGHS' own failure is the one to report
        return view, None


def _auto_family(game: PersuasionGame) -> str:
    """The LP route "auto" takes where no closed form applies: row/column generation from
    :data:`AUTO_GENERATION_MIN_SIZE` actions on, else HiGHS on the whole LP."""
    return "highs-cg" if game.num_actions >= AUTO_GENERATION_MIN_SIZE else "highs"


def _rational_simplex_route(game: PersuasionGame) -> tuple[Solution, None]:
    _check_exact_memory(game, tableau=True)
    return _solve_rational_simplex(game), None


def _with_stats(sol: Solution, **items) -> Solution:
    """A copy of the frozen ``sol`` with ``items`` added to its stats (the result is never mutated)."""
    return replace(sol, stats={**sol.stats, **items})


def value_interval(game: PersuasionGame, width: float = CONDITIONING_WIDTH, options=None):
    """``(low, high)`` in ``game``'s units around the exact optimal value, or ``None`` where no scheme could
    be certified obedient.

    ``low`` is the value of a scheme whose obedience is certified in floating point with an error bound
    (the float optimum, its mix with full revelation, or the optimum of the LP with obedience tightened by
    ``width`` on the optimum's support); ``high`` is the weak-duality bound of the float duals.  Neither
    depends on how a solver version answers at a tolerance's edge (:mod:`persuasion.conditioning`).  A wide
    interval means the value jumps under tiny perturbations of the data (e.g. the optimum uses an action
    that is a best response at one belief only).

    Examples
    --------
    >>> from persuasion import examples
    >>> low, high = value_interval(examples.prosecutor_judge())
    >>> low <= 0.6 <= high and high - low < 1e-9
    True
    """
    checked_game("value_interval()", game)
    if not (isinstance(width, (int, float)) and 0 < width < 1):
        raise InvalidArgumentError("value_interval()", "width", "must be a number in (0, 1)", width)
    sol, warm = _solve_unchecked(game, FLOAT, "auto", None, options)
    iv = _interval(game, sol, options, tolerance=0.0, width=float(width), warm=warm)
    if iv.low is None:
        return None
    sc = game_scaling(game)
    return sc.value_out(iv.low, game.prior), sc.value_out(iv.high, game.prior)


def _interval(game: PersuasionGame, sol: Solution, options, tolerance: float, width: float = CONDITIONING_WIDTH,
              warm: dict | None = None):
    sc = game_scaling(game)
    scheme = np.asarray(sol.scheme, dtype=float)
    y_n, lam_n = sol.normalised_duals or (sc.y_in(sol.duals.state, game.prior), sc.lam_in(sol.duals.obedience))
    return value_interval_of(game, normalised_game(game), scheme, y_n, lam_n, options, tolerance=tolerance,
                             width=width, warm=warm)


def _checked_conditioning(game: PersuasionGame, sol: Solution, options, warm: dict | None = None) -> Solution:
    """Keep a float solution whose value is well conditioned; otherwise re-solve exactly (small games) or
    mark the certificate invalid, saying why.  A float certificate that failed is re-solved exactly too
    (small games), and kept as it is where that finds nothing."""
    if sol.exact_solution is not None:
        return sol
    if not sol.certificate.valid:
        view, _ = _exact_fallback(game, options, sol.method,
                                  fallback_reason=f"float certificate: {(sol.certificate.failures or ('invalid',))[0]}")
        return sol if view is None else view
    iv = _interval(game, sol, options, tolerance=CONDITIONING_TOLERANCE, warm=warm)
    if iv.width <= CONDITIONING_TOLERANCE and _narrow_beside_terms(game, sol, iv):
        return _with_stats(sol, conditioning=f"value interval width {max(iv.width, 0.0):.1e} (normalised; "
                                             f"lower end from the {iv.how})")
    sc = game_scaling(game)
    why = ("no scheme near the optimum could be certified obedient" if iv.low is None else
           f"the optimal value lies between {sc.value_out(iv.low, game.prior):.6g} (a certified obedient scheme) "
           f"and {sc.value_out(iv.high, game.prior):.6g} (weak duality): it moves when obedience is tightened "
           f"by {CONDITIONING_WIDTH:g} (normalised units)")
    view, failed = _exact_fallback(game, options, sol.method, conditioning=why)
    if view is not None:
        return view
    advice = "; use exact=True"
    if failed is not None:               # a float solve reports this in its certificate
        why = f"{why}; the exact re-solve found no certified optimum either ({_first_line(failed)})"
        advice = ""
    cert = sol.certificate
    bad = replace(cert, valid=False, failures=cert.failures + (f"ill-conditioned value: {why}{advice}",))
    return replace(sol, certificate=bad, stats={**sol.stats, "conditioning": why})


def _exact_optimum(game: PersuasionGame, options) -> Solution:
    """The float path's exact fallback: the exact path's own route, a closed form first."""
    return _solve_unchecked(game, EXACT, "auto", None, options)[0]


def _exact_fallback(game: PersuasionGame, options, method: str, **stats) -> tuple[Solution | None, Exception | None]:
    """The float path's fallback to the exact optimum, for its three uses (HiGHS stopped short, a failed float
    certificate, an ill-conditioned value): ``(its float view, None)``, the view's method ``method`` plus
    ``"+exact-fallback"``; ``(None, None)`` where the game is too large to try
    (:func:`_small_enough_for_exact`) and HiGHS' basis is not exactly optimal or too large
    (:func:`_exact_basis_view`); ``(None, the error)`` where the exact path found no certified optimum."""
    if not _small_enough_for_exact(game):
        return _exact_basis_view(game, options, method, **stats), None
    try:
        return _float_view(_exact_optimum(game, options), f"{method}+exact-fallback", **stats), None
    except (CertificateError, SolverError) as e:
        return None, e


def _exact_basis_view(game: PersuasionGame, options, method: str, **stats) -> Solution | None:
    """The float view of HiGHS' optimal basis re-solved in rationals, where its exact certificate holds
    and the basis has at most :data:`FLOAT_BASIS_LIMIT` columns; else ``None``.  The large games' share
    of the exact fallback: its cost is one rational linear solve, bounded by the basis' size, never the
    exact simplex's pivots."""
    if game.num_states > FLOAT_BASIS_LIMIT:    # each state's row sum_a x = 1 keeps a column basic
        return None
    gn = normalised_game(game)
    try:
        if _auto_family(game) == "highs-cg":
            (res, pairs, info), name = solve_generation(gn, options), "highs-cg"
        else:
            lp = build_float_lp(gn)
            res, pairs, info, name = backends.solve_highs(lp, options), lp.pairs, {}, "highs"
    except SolverError:
        return None
    if len(res.basis[0]) > FLOAT_BASIS_LIMIT:
        return None
    sol, _ = _certified_basis(game, res, pairs, name, info)
    return None if sol is None else _float_view(sol, f"{method}+exact-fallback", **stats)


def _first_line(error: Exception, limit: int = 200) -> str:
    """``error``'s message cut at its first parenthesis or ``limit`` characters (an exact certificate's
    residuals can run to thousands of digits)."""
    text = str(error).split(" (", 1)[0]
    return text if len(text) <= limit else text[:limit] + "..."


def _small_enough_for_exact(game: PersuasionGame) -> bool:
    """May the float path fall back to the whole exact path?  Only on small games (the whole LP's tableau
    within :data:`RATIONAL_SIMPLEX_LIMIT`, or ``m n <= 400``), which bounds what a float call spends on it:
    the exact path reaches further (docs/performance.md), but a caller who wants it asks with
    ``exact=True``.  Larger games get HiGHS' basis alone (:func:`_exact_basis_view`)."""
    m, n = game.shape
    return _fits_rational_simplex(game) or m * n <= 400


def _float_view(ex: Solution, method: str, **stats) -> Solution:
    """The float solution of the exact optimum ``ex``, which it carries as ``exact_solution``."""
    out = assemble(ex.game, _floats(ex.scheme), _floats(ex.duals.state), _floats(ex.duals.obedience), ar=FLOAT,
                   method=method, stats={**ex.stats, **stats})
    # the float check of the exact optimum can fail where the duals are huge: its certificate is the exact one
    return replace(out, value=float(ex.value), certificate=ex.certificate, exact_solution=ex)


def _floats(a) -> np.ndarray:
    """Rationals as floats, ``inf`` (with its sign) for one beyond the float range (:func:`rational.to_float`):
    an exact obedience multiplier of V near 1e300 beside U near 1e-300 is near 1e600."""
    a = np.asarray(a, dtype=object)
    return np.array([to_float(x) for x in a.reshape(-1)], dtype=float).reshape(a.shape)


def _narrow_beside_terms(game: PersuasionGame, sol: Solution, iv) -> bool:
    """Is the reported value as precise as the interval says, beside the value's own size and not only
    beside the largest utility?

    A game whose utilities span many orders of magnitude can have an optimum made of terms far below
    ``max |V|``: a width of ``1e-6`` in normalised units is then larger than the value itself, and a float
    optimum within HiGHS' tolerance can miss most of it.  In game units, the distance from the reported
    value to the far end of the interval must be within ``CONDITIONING_TOLERANCE`` of the value's size
    (the larger of the float scheme's terms ``sum prior x |V|`` and the interval's ends), or within four
    ulps of ``max |V|``, below which nothing computed in normalised units can resolve a value."""
    sc, prior = game_scaling(game), game.prior
    x = np.asarray(sol.scheme, dtype=float)
    own = float((prior[:, None] * x * np.abs(game.sender)).sum())
    high, low = sc.value_out(iv.high, prior), sc.value_out(iv.low, prior)
    size = max(own, abs(high), abs(low))
    error = max(high - sol.value, sol.value - low)        # how far the reported value can be from V*
    return error <= max(CONDITIONING_TOLERANCE * size, 4 * EPS * sc.aV)


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
    _refuse_over_half_memory(DENSE_COPIES * 8 * n * n, f"a {game.num_states} x {n:,} game", lambda need, half:
                             f"is too large for this machine: {n:,} actions need about {need:,.1f} GiB for the "
                             f"n x n obedience multipliers (half the memory is {half:,.1f} GiB)")


def _refuse_over_half_memory(need: int, shown: str, rule) -> None:
    """Raise ``InvalidArgumentError`` (argument ``game``, rule ``rule(need GiB, half GiB)``) when ``need``
    bytes exceed half the machine's memory; nothing where the memory cannot be read."""
    have = _physical_memory()
    if have is not None and need > have // 2:
        raise InvalidArgumentError("solve()", "game", rule(need / 2**30, have / 2**31), shown)


#: Bytes per entry of a dense rational matrix held as a Python list and as a flint fmpq_mat (a pointer,
#: and at least two machine words for the smallest fraction): a lower bound, denominators grow.
RATIONAL_ENTRY_BYTES = 40


def _check_exact_memory(game: PersuasionGame, tableau: bool = False) -> None:
    """Refuse, before allocating, an exact LP solve whose dense rational matrices cannot fit in half the
    memory: the basis re-solve holds a square matrix of at least ``m`` rows (one per state: the simplex rows
    are equalities), the rational simplex a ``(m + K) x (m n + K)`` tableau."""
    m, n = game.shape
    K = n * (n - 1)
    entries = (m + K) * (m * n + K) if tableau else m * m
    what = "rational simplex tableau" if tableau else "exact basis re-solve (a dense rational matrix of at least one row per state)"
    _refuse_over_half_memory(RATIONAL_ENTRY_BYTES * entries, f"a {m:,} x {n:,} game", lambda need, half:
                             f"is too large for exact=True on this machine: the {what} needs at least {need:,.1f} GiB "
                             f"(half the memory is {half:,.1f} GiB); use exact=False, whose certificate is checked "
                             "with stated residuals")


def normalised_game(game: PersuasionGame) -> PersuasionGame:
    """``game`` with utilities normalised to spread 1 (same prior and labels; same optimal schemes)."""
    def make():
        sc = game_scaling(game)
        return PersuasionGame(game.prior, sc.sender, sc.receiver, game.states, game.actions, name=game.name)
    return game._derive("normalised", make)


def _assemble_normalised(game: PersuasionGame, scheme, y_n, lam_n, *, method: str, stats: dict | None = None):
    """A float solution from a solve of :func:`normalised_game`: its duals are reported in ``game``'s units
    and certified as the solver returned them (never mapped out and back in)."""
    sc = game_scaling(game)
    return assemble(game, scheme, sc.y_out(y_n, game.prior), sc.lam_out(lam_n), ar=FLOAT, method=method,
                    stats=stats, normalised=(np.asarray(y_n, float), lam_n))


def _solve_float(game: PersuasionGame, family: str, sub: str | None, options) -> tuple[Solution, dict | None]:
    """The float optimum, and the final model of row/column generation where it ran (for a warm check)."""
    m, n = game.shape
    gn = normalised_game(game)
    if family == "highs-cg":
        res, pairs, info = solve_generation(gn, options)
        return (_assemble_normalised(game, res.x.reshape(m, n), res.y, _lam_matrix(n, pairs, res.lam_rows, float),
                                     method="highs-cg", stats=info), res.info["warm"])
    lp = build_float_lp(gn)
    if family == "highs":
        res = backends.solve_highs(lp, options)
    elif family == "linprog":
        res = backends.solve_linprog(lp, options)
    else:
        res = backends.solve_cvxpy(lp, sub, options)
    return _assemble_normalised(game, res.x.reshape(m, n), res.y, _lam_matrix(n, lp.pairs, res.lam_rows, float),
                                method=family if family != "cvxpy" else f"cvxpy:{res.info['solver']}",
                                stats={"iterations": res.iterations, "rows": lp.m + lp.pairs.shape[0]}), None


#: HiGHS settings tried in turn, after the user's own, for another optimal basis where one is not exactly
#: optimal (or HiGHS stopped short).  Every basis is re-solved and certified in rationals, so a setting only
#: changes which vertex is tried: on a degenerate 30 x 30 game the default basis was infeasible by 1e-16
#: and the basis without presolve was exactly optimal (highspy 1.16).
ALTERNATIVE_BASES = ({"presolve": "off"}, {"simplex_strategy": 4})


def _solve_exact_highs(game: PersuasionGame, options, generation: bool = False) -> Solution:
    """Re-solve HiGHS' optimal basis in rationals; fall back to the full LP, to the bases HiGHS gives under
    :data:`ALTERNATIVE_BASES`, then to the exact simplex.

    With ``generation`` the basis comes from row/column generation, so the
    rational system involves only the rows and columns that were generated.
    """
    gn = normalised_game(game)          # the basis does not depend on units; HiGHS' tolerances do
    if generation:
        try:
            res, pairs, info = solve_generation(gn, options)
            sol, reason = _certified_basis(game, res, pairs, "highs-cg", info)
        except SolverError as e:
            sol, reason = None, str(e)
        if sol is not None:
            return sol
        # the generated basis missed something exactly: certify the full LP instead
        full = _solve_exact_highs(game, options)
        return _with_stats(full, fallback_reason="; ".join(r for r in (reason, full.stats.get("fallback_reason")) if r))
    lp = build_float_lp(gn)
    reasons, stops = [], []
    seeds, near = (set(), set()), None  # every tried basis' columns and tight rows: where generation starts
    n = game.num_actions
    for extra in ({},) + ALTERNATIVE_BASES:
        if any(key in (options or {}) for key in extra):
            continue                    # the user chose that setting
        try:
            res = backends.solve_highs(lp, {**(options or {}), **extra})
        except SolverError as e:        # no basis to re-solve: HiGHS stopped short of the optimum
            stops.append(e)
            reasons.append(str(e))
            continue
        sol, reason = _certified_basis(game, res, lp.pairs, "highs", {"highs_options": extra} if extra else {})
        if sol is not None:
            return _with_stats(sol, fallback_reason="; ".join(reasons)) if reasons else sol
        reasons.append(reason)
        tried = ([(int(j) // n, int(j) % n) for j in res.basis[0]], [tuple(p) for p in lp.pairs[res.basis[2]]])
        near = near or tried            # the default setting's basis: where generation's first LP starts
        seeds[0].update(tried[0])
        seeds[1].update(tried[1])
    reason = "; ".join(reasons)
    try:
        sol = _solve_exact_generation(game, *seeds, basis=near,
                                      method="highs+rational-cg" if seeds[0] else "rational-cg")
    except CertificateError as e:       # the restricted LP outgrew the exact simplex's limit
        if len(stops) == len(reasons):
            raise stops[0] from None    # HiGHS never reached an optimum: its own error says so
        raise CertificateError(f"solve(): no float basis is exactly optimal ({reason}) and the game is too "
                               f"large for the exact fallback: {e}") from None
    return _with_stats(sol, fallback_reason=reason)


def _certified_basis(game: PersuasionGame, res, pairs, name: str, stats: dict) -> tuple[Solution | None, str]:
    """``(solution, "")`` from HiGHS' basis re-solved in rationals where its certificate holds exactly, else
    ``(None, why not)``."""
    prior, V, U = game.rational()
    cols, tight_s, tight_o = res.basis
    try:
        scheme, y, lam = resolve_basis(prior, V, U, pairs, cols, tight_s, tight_o)
    except (ValueError, ZeroDivisionError) as e:
        return None, str(e)
    sol = assemble(game, scheme, y, lam, ar=EXACT, method=f"{name}+rational-basis",
                   stats={**stats, "iterations": res.iterations, "basis_size": len(cols)})
    return (sol, "") if sol.certificate.valid else (None, sol.certificate.summary())


def _solve_exact_generation(game: PersuasionGame, columns=(), rows=(), basis=None,
                            method: str = "rational-cg") -> Solution:
    """The exact optimum by row and column generation around the exact simplex
    (:mod:`persuasion.exact_generation`), started from ``columns``, ``rows`` and a near ``basis``; its
    certificate checked on the whole game."""
    scheme, y, lam, info = exact_generation(game, columns, rows, max_entries=RATIONAL_SIMPLEX_LIMIT, basis=basis)
    sol = assemble(game, scheme, y, lam, ar=EXACT, method=method,
                   stats={"rounds": info["rounds"], "cols_added": info["columns"],
                          "rows_added": info["rows"], "pivots": info["pivots"]})
    if not sol.certificate.valid:
        raise CertificateError("solve(): exact generation produced an invalid certificate: "
                               f"{sol.certificate.summary()}")
    return sol


def _fits_rational_simplex(game: PersuasionGame) -> bool:
    """Is the exact simplex's tableau within :data:`RATIONAL_SIMPLEX_LIMIT`?"""
    m, n = game.shape
    K = n * (n - 1)
    return (m + K) * (m * n + K) <= RATIONAL_SIMPLEX_LIMIT


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
    sol = assemble(game, scheme, y, lam, ar=EXACT, method="rational-simplex")
    if not sol.certificate.valid:
        raise CertificateError(f"solve(): exact simplex produced an invalid certificate: {sol.certificate.summary()}")
    return sol
