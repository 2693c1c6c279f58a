"""Float LP backends: HiGHS through highspy, scipy's ``linprog``, and cvxpy.

Each backend takes a :class:`~persuasion.lp.FloatLP` and returns a
:class:`FloatResult` holding the primal ``x``, the multipliers ``y`` of the
simplex rows and ``lam_rows`` of the obedience rows in the package's sign
convention (``lam >= 0``; see :mod:`persuasion.lp`), and, for HiGHS, the
optimal basis.  A solver that stops short of optimal raises
:class:`~persuasion.errors.SolverError`, never returns ``None``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .errors import InvalidArgumentError, SolverError
from .lp import FloatLP

#: Primal and dual feasibility tolerances asked of HiGHS (its default is 1e-7).
HIGHS_TOLERANCE = 1e-9

_HINT = ("The persuasion LP is always feasible (full revelation of the Receiver's best action is) "
         "and bounded (a scheme is a stochastic matrix), so this points at numerics: rescale the "
         "utilities to O(1), or try another method ('highs', 'linprog', 'cvxpy').")


@dataclass
class FloatResult:
    x: np.ndarray                 # (m*n,)
    y: np.ndarray                 # (m,)
    lam_rows: np.ndarray          # (K,) multipliers of the obedience rows, >= 0
    status: str
    iterations: int = 0
    basis: tuple | None = None    # (basic column indices, tight simplex rows, tight obedience rows)
    info: dict = field(default_factory=dict)


def _highs_lp(lp: FloatLP):
    import highspy
    A = sp.vstack([lp.A_eq, lp.A_ob], format="csc")
    K, m, cols = lp.A_ob.shape[0], lp.A_eq.shape[0], len(lp.c)
    model = highspy.HighsLp()
    model.num_col_ = cols
    model.num_row_ = m + K
    model.col_cost_ = np.asarray(lp.c, dtype=float)
    model.col_lower_ = np.zeros(cols)
    model.col_upper_ = np.full(cols, highspy.kHighsInf)
    model.row_lower_ = np.concatenate([np.ones(m), np.zeros(K)])
    model.row_upper_ = np.concatenate([np.ones(m), np.full(K, highspy.kHighsInf)])
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = A.indptr.astype(np.int32)
    model.a_matrix_.index_ = A.indices.astype(np.int32)
    model.a_matrix_.value_ = A.data.astype(float)
    model.sense_ = highspy.ObjSense.kMaximize
    return model


_SILENT_CLASS = None


def _silent_highs_class():
    """``highspy.Highs`` with its output switched off before it can write anything.

    highspy 1.16 writes a two-line banner on stdout while it *constructs* a ``Highs`` (when the Python
    wrapper registers its callbacks, after the C++ object exists), so setting ``output_flag`` after
    construction is too late.  The subclass switches it off at that first moment; on versions whose
    constructor registers no callbacks the override is simply not called and :func:`new_highs` switches it
    off before any other call (which older versions require).
    """
    global _SILENT_CLASS
    if _SILENT_CLASS is None:
        import highspy

        class SilentHighs(highspy.Highs):
            def enableCallbacks(self):                 # called from highspy.Highs.__init__ (1.16)
                self.setOptionValue("output_flag", False)
                super().enableCallbacks()

        _SILENT_CLASS = SilentHighs
    return _SILENT_CLASS


_BANNER_SPENT = False


def spend_highs_banner() -> None:
    """Make HiGHS write its once-per-process banner to nowhere, so that a ``highspy.Highs`` built by another
    library (cvxpy's HiGHS interface builds its own, then switches logging off) prints nothing either.

    The banner is logged once per process when logging is on; here it is logged with the console off and
    no log file.  Harmless on versions that log it per instance (their instances are silenced by
    :func:`new_highs` and by cvxpy's own options before any solve).
    """
    global _BANNER_SPENT
    if _BANNER_SPENT:
        return
    from highspy import _core
    h = _core._Highs() if hasattr(_core, "_Highs") else None
    if h is not None and hasattr(h, "setCallback"):
        h.setOptionValue("log_to_console", False)
        h.setCallback(lambda *args: None, None)
    _BANNER_SPENT = True


def new_highs(options: dict | None = None):
    """A silent ``highspy.Highs`` with the package's tolerances and ``options`` applied.

    Silent from construction on (see :func:`_silent_highs_class`); a user's ``output_flag`` in
    ``options`` turns logging back on, which is the only way this package's HiGHS writes anything.
    """
    import highspy
    h = _silent_highs_class()()
    h.setOptionValue("output_flag", False)
    opts = {"primal_feasibility_tolerance": HIGHS_TOLERANCE, "dual_feasibility_tolerance": HIGHS_TOLERANCE}
    opts.update(options or {})
    for key, value in opts.items():
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise InvalidArgumentError("solve()", "solver_options", f"must be valid HiGHS options ({key!r})", value)
    return h


def run_highs(h) -> None:
    """``h.run()``, retried cold, then with the primal simplex, then without presolve, then also by the
    interior point method (its crossover gives a basis), if HiGHS stops short.

    Warm re-solves after rows or columns are added occasionally end with
    status 'Unknown' (a primal infeasibility left after HiGHS' cleanup); a cold
    solve of the same model has always succeeded where we have seen this.  On
    games whose utilities span some 24 orders of magnitude, presolve can call
    the (always feasible, bounded) LP 'Infeasible' or 'Unbounded'; the same
    model solved without presolve is optimal (as ``solve_linprog`` retries).  Where some states' prior
    masses are near 1e-5, a restricted LP of row/column generation ended 'Solve error' under every
    simplex setting and under the interior point method with presolve, and optimal under the interior
    point method without it (highspy 1.16); a conditioning check's tightened LP, run with presolve off,
    ended 'Unknown' under every simplex setting and optimal by the interior point method.  A caller's
    ``simplex_iteration_limit`` caps the interior point method's iterations too.
    """
    import highspy
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        return
    h.clearSolver()
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        return
    strategy = _option(h, "simplex_strategy")
    h.setOptionValue("simplex_strategy", 4)
    h.clearSolver()
    h.run()
    h.setOptionValue("simplex_strategy", strategy)
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        return
    presolve = _option(h, "presolve")
    h.setOptionValue("presolve", "off")
    if presolve != "off":
        h.clearSolver()
        h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        # a caller's simplex iteration limit binds the interior point method too: a limit stays a limit
        saved = {name: _option(h, name) for name in ("solver", "ipm_iteration_limit")}
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("ipm_iteration_limit", min(saved["ipm_iteration_limit"],
                                                    _option(h, "simplex_iteration_limit")))
        h.clearSolver()
        h.run()
        for name, value in saved.items():
            h.setOptionValue(name, value)
    h.setOptionValue("presolve", presolve)


def _option(h, name: str):
    """A HiGHS option's value (highspy 1.x returns ``(status, value)``)."""
    value = h.getOptionValue(name)
    return value[1] if isinstance(value, tuple) else value


def read_highs(h, m: int, K: int, where: str = "solve()") -> FloatResult:
    """Read the optimum, duals and basis out of a solved ``highspy.Highs``."""
    import highspy
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverError(where, h.modelStatusToString(status), _HINT)
    sol = h.getSolution()
    basis = h.getBasis()
    row_dual = np.asarray(sol.row_dual, dtype=float)
    col_status = np.array([int(s) for s in basis.col_status])
    row_status = np.array([int(s) for s in basis.row_status])
    basic = int(highspy.HighsBasisStatus.kBasic)
    info = h.getInfo()
    return FloatResult(
        x=np.asarray(sol.col_value, dtype=float),
        y=row_dual[:m].copy(),
        lam_rows=-row_dual[m:m + K],
        status="optimal",
        iterations=int(info.simplex_iteration_count),
        basis=(np.flatnonzero(col_status == basic), np.flatnonzero(row_status[:m] != basic),
               np.flatnonzero(row_status[m:m + K] != basic)),
    )


def solve_highs(lp: FloatLP, options: dict | None = None) -> FloatResult:
    """Solve with HiGHS (dual simplex by default) and return duals and basis."""
    h = new_highs(options)
    h.passModel(_highs_lp(lp))
    run_highs(h)
    return read_highs(h, lp.m, lp.pairs.shape[0])


def solve_linprog(lp: FloatLP, options: dict | None = None) -> FloatResult:
    """The textbook route: ``scipy.optimize.linprog`` (HiGHS inside), all rows at once."""
    from scipy.optimize import linprog
    opts = dict(options or {})
    algo = opts.pop("method", "highs")
    if algo.startswith("highs"):     # the package's HiGHS tolerances on every path (SciPy's default is 1e-7)
        opts = {"primal_feasibility_tolerance": HIGHS_TOLERANCE, "dual_feasibility_tolerance": HIGHS_TOLERANCE,
                **opts}
    def run(o):
        import warnings
        from scipy.optimize import OptimizeWarning
        with warnings.catch_warnings(record=True) as seen:     # a library call prints nothing
            warnings.simplefilter("always", OptimizeWarning)
            try:
                res = linprog(-lp.c, A_ub=-lp.A_ob if lp.A_ob.shape[0] else None,
                              b_ub=np.zeros(lp.A_ob.shape[0]) if lp.A_ob.shape[0] else None,
                              A_eq=lp.A_eq, b_eq=np.ones(lp.m), bounds=(0, None), method=algo, options=o or None)
            except TypeError as e:                              # an option of the wrong type, from HiGHS' binding
                if not options:
                    raise
                raise InvalidArgumentError("solve()", "solver_options", "must be linprog options of the right "
                                           "types", f"{options} ({str(e).splitlines()[0]})") from None
        unknown = [str(w.message) for w in seen if "option" in str(w.message).lower()]
        if unknown:     # linprog warned and went on with its defaults: the caller's setting was not applied
            raise InvalidArgumentError("solve()", "solver_options", "must be options linprog accepts",
                                       f"{options} ({unknown[0]})")
        return res
    res = run(opts)
    if res.status in (2, 3, 4) and "presolve" not in opts:
        # The LP is feasible (full revelation is) and bounded (a scheme is stochastic), so "infeasible",
        # "unbounded" or "numerical difficulties" is the solver's presolve misjudging a tolerance's edge (seen
        # with SciPy 1.11's HiGHS on integer games with tiny prior masses): retry without it rather than
        # report a wrong verdict.
        res = run({**opts, "presolve": False})
    if res.status != 0:
        raise SolverError("solve()", f"linprog status {res.status}: {res.message}", _HINT)
    K = lp.A_ob.shape[0]
    lam = -res.ineqlin.marginals if K else np.zeros(0)
    return FloatResult(x=res.x, y=-res.eqlin.marginals, lam_rows=lam, status="optimal",
                       iterations=int(getattr(res, "nit", 0)))


def solve_cvxpy(lp: FloatLP, solver: str | None = None, options: dict | None = None) -> FloatResult:
    """Solve through cvxpy (default solver CLARABEL, an interior-point method)."""
    try:
        import cvxpy as cp
    except ImportError:
        raise InvalidArgumentError("solve()", "method", "'cvxpy' needs the optional dependency cvxpy "
                                   "(pip install cvxpy)", "cvxpy") from None
    x = cp.Variable(lp.m * lp.n, nonneg=True)
    cons = [lp.A_eq @ x == 1]
    if lp.A_ob.shape[0]:
        cons.append(lp.A_ob @ x >= 0)
    prob = cp.Problem(cp.Maximize(lp.c @ x), cons)
    solver = solver or "CLARABEL"
    if solver == "HIGHS":
        spend_highs_banner()
    if solver not in cp.installed_solvers():
        raise InvalidArgumentError("solve()", "method", f"must name an installed cvxpy solver "
                                   f"({', '.join(cp.installed_solvers())})", f"cvxpy:{solver}")
    import warnings
    try:
        with warnings.catch_warnings():          # "solution may be inaccurate": the status below says so
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver=solver, **(options or {}))
    except cp.error.SolverError as e:
        raise SolverError("solve()", f"cvxpy/{solver}: {e}", _HINT) from None
    except TypeError as e:                       # Clarabel and others refuse an unknown setting this way
        if not options:
            raise
        raise InvalidArgumentError("solve()", "solver_options", f"must be settings cvxpy/{solver} accepts",
                                   f"{options} ({str(e).splitlines()[0]})") from None
    if prob.status != cp.OPTIMAL:
        raise SolverError("solve()", f"cvxpy/{solver}: {prob.status}", _HINT)
    lam = np.asarray(cons[1].dual_value, dtype=float) if lp.A_ob.shape[0] else np.zeros(0)
    return FloatResult(x=np.asarray(x.value, dtype=float), y=np.asarray(cons[0].dual_value, dtype=float),
                       lam_rows=lam, status="optimal", info={"solver": solver})
