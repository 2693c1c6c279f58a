"""The exact simplex, on its own: every answer carries its own exact proof (primal feasible, dual feasible,
equal objectives), checked here in ``Fraction`` arithmetic, and agrees with HiGHS through SciPy."""
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from persuasion.rational import RationalTableau, SimplexError, rational_simplex


def assert_exact_optimum(c, A, b, z, y):
    R, N = len(A), len(c)
    assert all(v >= 0 for v in z)
    assert all(sum(A[r][j] * z[j] for j in range(N)) == b[r] for r in range(R))          # A z = b
    assert all(sum(A[r][j] * y[r] for r in range(R)) >= c[j] for j in range(N))          # A^T y >= c
    assert sum(bi * yi for bi, yi in zip(b, y)) == sum(cj * zj for cj, zj in zip(c, z))  # no gap


def highs_lp(c, A, b):
    """SciPy's HiGHS on ``max c z, A z = b, z >= 0`` (its ``fun`` is minus the optimum)."""
    return linprog(-np.array(c, float), A_eq=np.array(A, float), b_eq=np.array(b, float), bounds=(0, None),
                   method="highs")


def highs_value(c, A, b):
    res = highs_lp(c, A, b)
    assert res.status == 0
    return -res.fun


def test_beales_degenerate_lp_ends_at_its_optimum():
    # Beale (1955): the largest-coefficient rule cycles here; Bland's rule must not.  Slacks start basic.
    c = [F(3, 4), F(-20), F(1, 2), F(-6), 0, 0, 0]
    A = [[F(1, 4), F(-8), F(-1), F(9), 1, 0, 0],
         [F(1, 2), F(-12), F(-1, 2), F(3), 0, 1, 0],
         [0, 0, 1, 0, 0, 0, 1]]
    b = [0, 0, 1]
    z, y, basis = rational_simplex(c, A, b, [4, 5, 6])
    assert_exact_optimum(c, A, b, z, y)
    assert sum(cj * zj for cj, zj in zip(c, z)) == F(5, 4) and abs(highs_value(c, A, b) - 1.25) < 1e-9
    assert sorted(basis) == sorted(set(basis)) and len(basis) == 3


@st.composite
def bounded_lps(draw):
    """``max c x`` subject to ``G x <= h`` (h >= 0, so the slacks are a feasible basis) and ``sum x <= 5``
    (bounded), in standard form: small integers, so degenerate vertices and ties are common."""
    R, N = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    ints = st.integers(-3, 3)
    G = [[draw(ints) for _ in range(N)] for _ in range(R)] + [[1] * N]
    h = [draw(st.integers(0, 3)) for _ in range(R)] + [5]
    c = [F(draw(ints)) for _ in range(N)] + [F(0)] * (R + 1)
    A = [[F(v) for v in row] + [F(int(i == r)) for i in range(R + 1)] for r, row in enumerate(G)]
    return c, A, [F(v) for v in h], list(range(N, N + R + 1))


@settings(max_examples=200)
@given(bounded_lps())
def test_every_answer_is_an_exactly_certified_optimum(lp):
    c, A, b, basis = lp
    z, y, _ = rational_simplex(c, A, b, basis)
    assert_exact_optimum(c, A, b, z, y)
    assert abs(float(sum(cj * zj for cj, zj in zip(c, z))) - highs_value(c, A, b)) <= 1e-9


@pytest.mark.parametrize("basis, match", [([0], "one column per row"), ([0, 1], "singular"),
                                          ([2, 3], "neither primal nor dual feasible")])
def test_a_bad_starting_basis_is_refused(basis, match):
    A = [[1, 1, 1, 0], [1, 1, 0, 1]]
    b = [1, -1] if "feasible" in match else [1, 1]
    with pytest.raises(SimplexError, match=match):
        rational_simplex([1, 1, 0, 0], A, b, basis)


def test_an_unbounded_lp_is_refused():
    with pytest.raises(SimplexError, match="unbounded"):
        rational_simplex([1, 0], [[1, -1]], [0], [1])        # x - s = 0: x grows with s


@st.composite
def dual_feasible_lps(draw):
    """``max c x`` subject to ``G x <= h`` with ``c <= 0`` (so the slack basis is dual feasible and the LP
    bounded) and ``h`` of either sign (so that basis is often primal infeasible, and the LP sometimes
    infeasible): the dual simplex phase's whole job."""
    R, N = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    G = [[draw(st.integers(-3, 3)) for _ in range(N)] for _ in range(R)]
    h = [F(draw(st.integers(-3, 3))) for _ in range(R)]
    c = [F(draw(st.integers(-3, 0))) for _ in range(N)] + [F(0)] * R
    A = [[F(v) for v in row] + [F(int(i == r)) for i in range(R)] for r, row in enumerate(G)]
    return c, A, h, list(range(N, N + R))


@settings(max_examples=200)
@given(dual_feasible_lps())
def test_a_dual_feasible_start_ends_at_the_optimum_or_says_infeasible(lp):
    c, A, b, basis = lp
    res = highs_lp(c, A, b)
    if res.status == 2:                                   # HiGHS: infeasible
        with pytest.raises(SimplexError, match="infeasible"):
            rational_simplex(c, A, b, basis)
        return
    z, y, _ = rational_simplex(c, A, b, basis)
    assert_exact_optimum(c, A, b, z, y)
    assert abs(float(sum(cj * zj for cj, zj in zip(c, z))) + res.fun) <= 1e-9


@settings(max_examples=200)
@given(bounded_lps(), st.data())
def test_a_row_added_to_a_solved_tableau_gives_the_extended_lps_optimum(lp, data):
    """Solve, add ``g . z - s = 0`` (a new slack column, basic), solve again from the last optimum (the
    dual simplex where the vertex violates the row): the exact optimum of the extended LP, or 'infeasible'
    exactly where HiGHS says so."""
    c, A, b, basis = lp
    tableau = RationalTableau(c, A, b, basis)
    tableau.solve()
    g = [F(data.draw(st.integers(-3, 3))) for _ in c]
    tableau.add_row(g)
    c2, A2, b2 = c + [F(0)], [row + [F(0)] for row in A] + [g + [F(-1)]], b + [F(0)]
    res = highs_lp(c2, A2, b2)
    if res.status == 2:
        with pytest.raises(SimplexError, match="infeasible"):
            tableau.solve()
        return
    tableau.solve()
    z, y, _ = tableau.optimum()
    assert_exact_optimum(c2, A2, b2, z, y)
    assert abs(float(sum(cj * zj for cj, zj in zip(c2, z))) + res.fun) <= 1e-9


def test_a_row_of_the_wrong_length_is_refused():
    tableau = RationalTableau([1, 0], [[1, 1]], [1], [1])
    with pytest.raises(SimplexError, match="one entry per column"):
        tableau.add_row([1])
