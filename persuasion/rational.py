"""Exact rational arithmetic: one module for every computation the exact path does in rationals.

* :func:`dot`: matrix products of ``Fraction`` object arrays through
  python-flint (numpy's object ``dot`` multiplies ``Fraction`` objects one by
  one, about a microsecond each; flint clears denominators and multiplies
  integer matrices in C), the same call for float arrays, so the certificate
  code is one for both paths.
* :func:`resolve_basis` takes an optimal basis reported by a float solver and
  re-solves its square system in rationals, giving the exact vertex and the
  exact duals of that basis.  Only basic columns and tight rows enter the
  system, so its size is the support of the scheme, not the LP.
* :func:`rational_simplex` is a textbook primal simplex (Dantzig's rule,
  Bland's after a degenerate pivot) on a tableau of flint ``fmpq``, with a
  dual simplex phase for a start that is not primal feasible (on shifted
  costs where it is not dual feasible either), so any non-singular basis
  is a start; its :class:`RationalTableau` takes a new row or column into
  a solved LP and goes on from there.  It never touches a float.  It runs inside
  exact generation (:mod:`persuasion.exact_generation`), the fallback when
  no float basis is exactly optimal or HiGHS stops short, and on the whole
  LP as an independent oracle for tests.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np

from .errors import InvalidArgumentError, PersuasionError


def from_fmpq(x) -> Fraction:
    """A flint ``fmpq`` (always in lowest terms) as a ``Fraction``, without a second gcd."""
    p, q = int(x.p), int(x.q)
    if hasattr(Fraction, "_from_coprime_ints"):          # Python >= 3.12
        return Fraction._from_coprime_ints(p, q)
    return Fraction(p, q, _normalize=False)               # Python 3.11


def to_float(x) -> float:
    """A rational as the nearest float, or ``inf`` with its sign where it is beyond the float range (where
    ``float()`` raises ``OverflowError``)."""
    try:
        return float(x)
    except OverflowError:
        return float("inf") if x > 0 else float("-inf")


def _to_fmpq_mat(A: np.ndarray):
    import flint
    A2 = A.reshape(A.shape[0], -1) if A.ndim == 2 else A.reshape(1, -1)
    r, c = A2.shape
    return flint.fmpq_mat(r, c, [flint.fmpq(x.numerator, x.denominator) if isinstance(x, Fraction)
                                 else flint.fmpq(int(x)) for x in A2.reshape(-1)])


def dot(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` for 1-D or 2-D arrays; exact (via flint) for object arrays."""
    if A.dtype != object and B.dtype != object:
        return A.dot(B)
    a1, b1 = A.ndim == 1, B.ndim == 1
    A2 = A.reshape(1, -1) if a1 else A
    B2 = B.reshape(-1, 1) if b1 else B
    C = _to_fmpq_mat(A2) * _to_fmpq_mat(B2)
    out = np.array([from_fmpq(x) for x in C.entries()], dtype=object).reshape(A2.shape[0], B2.shape[1])
    if a1 and b1:
        return out[0, 0]
    if a1:
        return out[0]
    if b1:
        return out[:, 0]
    return out


def _to_fmpq(x: Fraction):
    import flint
    return flint.fmpq(x.numerator, x.denominator)


def solve_rational(M: Sequence[Sequence[Fraction]], rhs: Sequence[Sequence[Fraction]] | None = None,
                   transpose: bool = False):
    """Solve ``M X = rhs`` (or ``M^T X = rhs``) exactly; ``M`` square and non-singular.

    ``rhs`` is a list of right-hand-side vectors; returns a list of solution
    vectors (lists of ``Fraction``).  Raises ``ZeroDivisionError`` if ``M``
    is singular.
    """
    import flint
    K = len(M)
    flat = [_to_fmpq(M[j][i] if transpose else M[i][j]) for i in range(K) for j in range(K)]
    A = flint.fmpq_mat(K, K, flat)
    B = flint.fmpq_mat(K, len(rhs), [_to_fmpq(rhs[c][i]) for i in range(K) for c in range(len(rhs))])
    X = A.solve(B)
    return [[from_fmpq(X[i, c]) for i in range(K)] for c in range(len(rhs))]


def obedience_coefficient(prior, U, w: int, x: int, a: int, b: int):
    """The entry of column ``x[w, x]`` in the obedience row ``(a, b)``: ``prior[w] (U[w, a] - U[w, b])``
    where the column recommends ``a``, else 0 (exact for ``Fraction`` entries)."""
    return prior[w] * (U[w, a] - U[w, b]) if x == a else Fraction(0)


def resolve_basis(prior, sender, receiver, pairs: np.ndarray, basic_cols: Sequence[int],
                  tight_simplex: Sequence[int], tight_obedience: Sequence[int]):
    """Exact vertex and duals of a basis of the persuasion LP.

    Parameters
    ----------
    prior, sender, receiver : object arrays of ``Fraction``
    pairs : (K, 2) int array
        The obedience rows present in the LP the basis belongs to.
    basic_cols : column indices ``w * n + a`` that are basic.
    tight_simplex : states whose row ``sum_a x[w,a] = 1`` is nonbasic (tight).
    tight_obedience : indices into ``pairs`` of obedience rows that are tight.

    Returns
    -------
    scheme : (m, n) object array, y : (m,) object array, lam : (n, n) object array

    Raises
    ------
    ValueError if the basis is not square; ZeroDivisionError if singular.
    """
    m, n = sender.shape
    zero = Fraction(0)
    basic_cols = list(basic_cols)
    rows = [("s", w) for w in tight_simplex] + [("o", k) for k in tight_obedience]
    if len(rows) != len(basic_cols):
        raise ValueError(f"basis is not square: {len(basic_cols)} basic columns, {len(rows)} tight rows")
    M, rhs, cost = [], [], []
    for kind, idx in rows:
        if kind == "s":
            M.append([Fraction(1) if j // n == idx else zero for j in basic_cols])
            rhs.append(Fraction(1))
        else:
            a, b = pairs[idx]
            M.append([obedience_coefficient(prior, receiver, j // n, j % n, a, b) for j in basic_cols])
            rhs.append(zero)
    cost = [prior[j // n] * sender[j // n, j % n] for j in basic_cols]
    scheme = np.full((m, n), zero, dtype=object)
    y = np.full(m, zero, dtype=object)
    lam = np.full((n, n), zero, dtype=object)
    if basic_cols:
        (xb,) = solve_rational(M, [rhs])
        (w,) = solve_rational(M, [cost], transpose=True)
        for j, v in zip(basic_cols, xb):
            scheme[j // n, j % n] = v
        for (kind, idx), v in zip(rows, w):
            if kind == "s":
                y[idx] = v
            else:
                a, b = pairs[idx]
                lam[a, b] = -v
    return scheme, y, lam


class SimplexError(PersuasionError, ArithmeticError):
    """The rational simplex was given a singular basis or found the LP infeasible or unbounded (one of the
    package's errors: ``except PersuasionError`` catches it)."""


#: The simplex's pivot rule: ``"dantzig"`` (largest reduced cost or most infeasible row, Bland's after a
#: degenerate pivot) or ``"bland"`` (Bland's throughout: the classical safe rule, kept as the baseline
#: ``benchmarks/bench_exact_fallback.py`` times beside it).
PIVOT_RULES = ("dantzig", "bland")


def rational_simplex(c: Sequence[Fraction], A: Sequence[Sequence[Fraction]], b: Sequence[Fraction],
                     basis: Sequence[int], max_iterations: int = 1_000_000, rule: str = "dantzig"):
    """Maximise ``c z`` subject to ``A z = b, z >= 0`` exactly, from any non-singular starting basis.

    Primal simplex on a dense tableau of flint ``fmpq`` (exact rationals in C) whose reduced costs are kept
    as one more row that each pivot updates.  The column of largest reduced cost enters (Dantzig's rule),
    except after a degenerate pivot (one that left the objective where it was): then the improving column
    of smallest index enters until the objective moves again (Bland's rule).  The row of smallest ratio
    leaves, the smallest basic index among ties.  Bland's rule cannot cycle and the objective strictly
    rises between its stretches, so no basis comes back.  A primal infeasible start is first made feasible
    by the dual simplex with the same pair of rules on the dual side (the most infeasible row leaves, or
    after a degenerate pivot the infeasible row of smallest basic index; the column of smallest ratio
    enters, the smallest index among ties).  Where the start is not dual feasible either, that phase runs
    on shifted costs (each improving column's cost lowered until its reduced cost is zero), and the true
    costs come back once the basis is primal feasible.  This is how a row added to a solved LP is taken in
    without starting over (:class:`RationalTableau`), and how a float solver's basis, nearly optimal but
    feasible on neither side in exact arithmetic, still serves as a warm start.  Meant for small LPs: cost
    per pivot is ``rows x columns``.  ``rule="bland"`` takes Bland's rule at every pivot of both phases
    (the classical safe rule; slower, kept as a baseline).

    Returns
    -------
    z : list of Fraction, the optimal vertex
    y : list of Fraction, row multipliers with ``A^T y >= c`` and ``b y = c z``
    basis : list of int, the optimal basis (one column per row)
    """
    tableau = RationalTableau(c, A, b, basis)
    tableau.solve(max_iterations, rule)
    return tableau.optimum()


class RationalTableau:
    """The tableau :func:`rational_simplex` works on, kept so that a solved LP can take a new row (with its
    own slack column, basic; the dual simplex goes on from there) or a new column (non-basic; the primal
    simplex goes on) and be solved again from its last optimum.  ``pivots`` counts the pivots so far."""

    def __init__(self, c: Sequence[Fraction], A: Sequence[Sequence[Fraction]], b: Sequence[Fraction],
                 basis: Sequence[int]):
        import flint
        R = len(A)
        if len(basis) != R:
            raise SimplexError(f"rational_simplex(): basis must have one column per row ({R}); got {len(basis)}")
        self.zero = flint.fmpq(0)
        self.A, self.c = [list(row) for row in A], list(c)
        T = self.T = [[self.q(v) for v in row] + [self.q(bi)] for row, bi in zip(A, b)]
        self.where = [-1] * R               # where[r] = basic column of row r
        self.pivots = 0                     # pivots so far, setting up the basis included
        free_rows = set(range(R))
        # sparsest columns first (a slack's single entry pivots without touching another row), so setting
        # up a warm basis costs about one elimination per structural column, not one per row
        for j in sorted(basis, key=lambda j: sum(1 for row in A if row[j])):
            r = next((r for r in sorted(free_rows) if T[r][j] != 0), None)
            if r is None:
                raise SimplexError(f"rational_simplex(): starting basis is singular at column {j}")
            self.pivot(r, j)
            free_rows.discard(r)
        T.append(self._reduced_costs())     # a last row that every pivot updates

    def _reduced_costs(self) -> list:
        """``d_j = c_j - c_B B^-1 A_j`` for every column, and minus the objective ``c_B B^-1 b`` last."""
        T, zero = self.T, self.zero
        D = [self.q(v) for v in self.c] + [zero]
        for r, j in enumerate(self.where):  # T[r] is 0 at every other basic column: each step clears one
            f = D[j]
            if f:
                D = [d - f * t for d, t in zip(D, T[r])]
        return D

    def q(self, v):
        """An entry (int or Fraction) as flint ``fmpq``."""
        import flint
        return self.zero if not v else _to_fmpq(v) if isinstance(v, Fraction) else flint.fmpq(int(v))

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the LP, the reduced costs and right-hand side not counted."""
        return len(self.where), len(self.c)

    def pivot(self, r: int, j: int) -> None:
        """Pivot on ``(r, j)``: every row of the tableau, the reduced costs too once they are there."""
        T = self.T
        p = T[r][j]
        Tr = T[r] = [v / p for v in T[r]]
        nz = [k for k, v in enumerate(Tr) if v]
        for Ti in T:
            f = Ti[j]
            if f and Ti is not Tr:
                for k in nz:
                    Ti[k] -= f * Tr[k]
        self.where[r] = j
        self.pivots += 1

    def add_row(self, row: Sequence[Fraction]) -> None:
        """Add the constraint ``row . z - s = 0`` with a new slack column ``s >= 0``, basic in the new row.

        An optimal basis stays dual feasible (the new row's multiplier is 0 and no reduced cost moves);
        where the current vertex violates the row, ``s`` is negative and :meth:`solve` runs the dual simplex.
        """
        R, N = self.shape
        if len(row) != N:
            raise SimplexError(f"add_row(): the row must have one entry per column ({N}); got {len(row)}")
        for Ai in self.A:
            Ai.append(0)
        self.A.append(list(row) + [-1])
        self.c.append(0)
        for Ti in self.T:
            Ti.insert(N, self.zero)
        new = [self.q(v) for v in row] + [self.q(-1), self.zero]
        for r, j in enumerate(self.where):  # in terms of the non-basic columns
            f = new[j]
            if f:
                new = [v - f * t for v, t in zip(new, self.T[r])]
        p = new[N]                          # -1: the slack's column is 0 in every other row
        self.T.insert(R, [v / p for v in new])
        self.where.append(N)

    def add_column(self, column: Sequence[Fraction], cost: Fraction, combination: dict[int, Fraction]) -> None:
        """Add a column ``column`` of cost ``cost``, non-basic, given as a combination of present ones:
        ``column = sum(k A_i for i, k in combination.items())``, which is checked.

        Its tableau column is then the same combination of theirs and its reduced cost
        ``cost - sum(k (c_i - d_i))``, so no pivot or solve is needed.  The basis and vertex do not move:
        an optimal tableau stays primal feasible, and :meth:`solve` goes on with the primal simplex.
        """
        R, N = self.shape
        if len(column) != R:
            raise SimplexError(f"add_column(): the column must have one entry per row ({R}); got {len(column)}")
        if any(not 0 <= i < N for i in combination):
            raise SimplexError(f"add_column(): combination must name present columns (0..{N - 1}); "
                               f"got {sorted(combination)}")
        for r, Ar in enumerate(self.A):
            if sum(k * Ar[i] for i, k in combination.items() if Ar[i]) != column[r]:
                raise SimplexError(f"add_column(): the column is not the combination given (row {r})")
        T = self.T
        new = [self.zero] * (R + 1)
        for i, k in combination.items():
            kq = self.q(k)
            for r in range(R):
                if T[r][i]:
                    new[r] += kq * T[r][i]
            new[R] -= kq * (self.q(self.c[i]) - T[R][i])
        new[R] += self.q(cost)
        for Ar, v in zip(self.A, column):
            Ar.append(v)
        self.c.append(cost)
        for Tr, v in zip(T, new):
            Tr.insert(N, v)

    def solve(self, max_iterations: int = 1_000_000, rule: str = "dantzig") -> None:
        """From any basis to an optimal one: the dual simplex first where the basis is primal infeasible
        (on shifted costs where it is not dual feasible either), then the primal simplex."""
        if rule not in PIVOT_RULES:
            raise InvalidArgumentError("rational_simplex()", "rule", f"must be one of {PIVOT_RULES}", rule)
        T, where = self.T, self.where
        R, N = self.shape
        if any(T[r][N] < 0 for r in range(R)):
            shifted = any(d > 0 for d in T[R][:N])
            if shifted:                     # lower each improving column's cost until it no longer improves:
                T[R] = [min(d, self.zero) for d in T[R][:N]] + [T[R][N]]    # the basis is dual feasible
            self._dual_phase(max_iterations, rule == "bland")
            if shifted:                     # primal feasible now: the true costs back, for the primal phase
                T[R] = self._reduced_costs()
        bland = always_bland = rule == "bland"  # else Dantzig's rule until a degenerate pivot, Bland's until progress
        for _ in range(max_iterations):
            D = T[R]
            if bland:
                entering = next((j for j, d in enumerate(D[:N]) if d > 0), None)
            else:
                entering = max(range(N), key=D.__getitem__)
                entering = entering if D[entering] > 0 else None
            if entering is None:
                return
            best, leave = None, None
            for r in range(R):
                if T[r][entering] > 0:
                    ratio = T[r][N] / T[r][entering]
                    if best is None or ratio < best or (ratio == best and where[r] < where[leave]):
                        best, leave = ratio, r
            if leave is None:
                raise SimplexError("rational_simplex(): LP is unbounded")
            bland = always_bland or best == 0
            self.pivot(leave, entering)
        raise SimplexError(f"rational_simplex(): no optimum after {max_iterations} pivots")

    def _dual_phase(self, max_iterations: int, always_bland: bool) -> None:
        """Dual simplex on a dual feasible tableau until every basic value is non-negative (the most
        infeasible row leaves; after a degenerate pivot, the dual of Bland's rule)."""
        T, where = self.T, self.where
        R, N = self.shape
        bland = always_bland                # else the most infeasible row leaves until a degenerate pivot
        for _ in range(max_iterations):
            rows = [r for r in range(R) if T[r][N] < 0]
            if not rows:
                return
            r = min(rows, key=lambda i: where[i]) if bland else min(rows, key=lambda i: T[i][N])
            D, best, entering = T[R], None, None
            for j in range(N):
                if T[r][j] < 0:
                    ratio = D[j] / T[r][j]      # D[j] <= 0 < -T[r][j]: ratio >= 0
                    if best is None or ratio < best:
                        best, entering = ratio, j
            if entering is None:
                raise SimplexError("rational_simplex(): LP is infeasible")
            bland = always_bland or best == 0
            self.pivot(r, entering)
        raise SimplexError(f"rational_simplex(): no primal feasible basis after {max_iterations} dual pivots")

    def optimum(self):
        """``(z, y, basis)`` of an optimal tableau; ``y`` solved from the basis matrix in rationals."""
        T, where = self.T, self.where
        R, N = self.shape
        z = [Fraction(0)] * N
        for r in range(R):
            z[where[r]] = from_fmpq(T[r][N])
        # B^T y = c_B, with B the basic columns of A
        (y,) = solve_rational([[row[j] for j in where] for row in self.A], [[self.c[j] for j in where]],
                              transpose=True)
        return z, y, list(where)
