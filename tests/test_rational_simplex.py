"""The exact simplex, on its own: every answer carries its own exact proof (primal feasible, dual feasible,
equal objectives), checked here in ``Fraction`` arithmetic, and agrees with HiGHS through SciPy."""
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from persuasion import InvalidArgumentError
from persuasion.rational import PIVOT_RULES, RationalTableau, SimplexError, rational_simplex


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


@pytest.mark.parametrize("rule", PIVOT_RULES)
def test_beales_degenerate_lp_ends_at_its_optimum(rule):
    # Beale (1955): the largest-coefficient rule alone cycles here; ours turns to Bland's rule after a
    # degenerate pivot, so it must not.  Slacks start basic.
    c = [F(3, 4), F(-20), F(1, 2), F(-6), 0, 0, 0]
    A = [[F(1, 4), F(-8), F(-1), F(9), 1, 0, 0],
         [F(1, 2), F(-12), F(-1, 2), F(3), 0, 1, 0],
         [0, 0, 1, 0, 0, 0, 1]]
    b = [0, 0, 1]
    z, y, basis = rational_simplex(c, A, b, [4, 5, 6], rule=rule)
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
    values = set()
    for rule in PIVOT_RULES:                              # each rule: its own path, the same exact optimum
        z, y, _ = rational_simplex(c, A, b, basis, rule=rule)
        assert_exact_optimum(c, A, b, z, y)
        values.add(sum(cj * zj for cj, zj in zip(c, z)))
    assert len(values) == 1 and abs(float(values.pop()) - highs_value(c, A, b)) <= 1e-9


def test_an_unknown_pivot_rule_is_refused_by_name():
    with pytest.raises(InvalidArgumentError, match="rule"):
        rational_simplex([1, 0], [[1, 1]], [1], [1], rule="steepest")


@pytest.mark.parametrize("basis, match", [([0], "one column per row"), ([0, 1], "singular")])
def test_a_bad_starting_basis_is_refused(basis, match):
    with pytest.raises(SimplexError, match=match):
        rational_simplex([1, 1, 0, 0], [[1, 1, 1, 0], [1, 1, 0, 1]], [1, 1], basis)


@st.composite
def lps_with_any_basis(draw):
    """``max c x`` subject to ``G x <= h`` and ``sum x <= 5`` with ``c`` and ``h`` of either sign (so the LP
    is sometimes infeasible), and a starting basis drawn at random: often feasible on neither side, and
    sometimes singular."""
    R, N = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    ints = st.integers(-3, 3)
    G = [[draw(ints) for _ in range(N)] for _ in range(R)] + [[1] * N]
    h = [F(draw(ints)) for _ in range(R)] + [F(5)]
    c = [F(draw(ints)) for _ in range(N)] + [F(0)] * (R + 1)
    A = [[F(v) for v in row] + [F(int(i == r)) for i in range(R + 1)] for r, row in enumerate(G)]
    basis = draw(st.lists(st.integers(0, N + R), min_size=R + 1, max_size=R + 1, unique=True))
    return c, A, h, basis


@settings(max_examples=300)
@given(lps_with_any_basis())
def test_any_starting_basis_ends_at_the_optimum_says_infeasible_or_is_singular(lp):
    """Neither primal nor dual feasible is no obstacle (the dual phase shifts costs first); a singular basis
    is refused, which the rank of its columns confirms independently."""
    c, A, b, basis = lp
    if np.linalg.matrix_rank(np.array([[float(row[j]) for j in basis] for row in A])) < len(A):
        with pytest.raises(SimplexError, match="singular"):
            rational_simplex(c, A, b, basis)
        return
    res = highs_lp(c, A, b)
    if res.status == 2:
        with pytest.raises(SimplexError, match="infeasible"):
            rational_simplex(c, A, b, basis)
        return
    z, y, _ = rational_simplex(c, A, b, basis)
    assert_exact_optimum(c, A, b, z, y)
    assert abs(float(sum(cj * zj for cj, zj in zip(c, z))) + res.fun) <= 1e-9


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
    for rule in PIVOT_RULES:
        z, y, _ = rational_simplex(c, A, b, basis, rule=rule)
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


@settings(max_examples=200)
@given(bounded_lps(), st.data())
def test_a_column_added_to_a_solved_tableau_gives_the_extended_lps_optimum(lp, data):
    """Solve, add a column ``g`` with cost ``k`` (given as the combination ``sum g_r e_r`` of the slack
    columns, which are the identity; 1 in the row ``sum x <= 5``, so the LP stays bounded), solve again from
    the last optimum: the extended LP's exact optimum."""
    c, A, b, basis = lp
    tableau = RationalTableau(c, A, b, basis)
    tableau.solve()
    R, N = len(A), len(c)
    g = [F(data.draw(st.integers(-3, 3))) for _ in range(R - 1)] + [F(1)]
    k = F(data.draw(st.integers(-3, 3)))
    tableau.add_column(g, k, {N - R + r: g[r] for r in range(R) if g[r]})
    c2, A2 = c + [k], [row + [gr] for row, gr in zip(A, g)]
    tableau.solve()
    z, y, _ = tableau.optimum()
    assert_exact_optimum(c2, A2, b, z, y)
    assert abs(float(sum(cj * zj for cj, zj in zip(c2, z))) - highs_value(c2, A2, b)) <= 1e-9


@pytest.mark.parametrize("column, combination, match", [([1], {1: 1}, "one entry per row"),
                                                        ([1, 2], {5: 1}, "name present columns"),
                                                        ([1, 2], {2: 1, 3: 1}, "not the combination given")])
def test_a_bad_column_is_refused(column, combination, match):
    tableau = RationalTableau([1, 1, 0, 0], [[1, 1, 1, 0], [1, 1, 0, 1]], [1, 1], [2, 3])
    with pytest.raises(SimplexError, match=match):
        tableau.add_column(column, 1, combination)
