"""Row and column generation in rationals (persuasion.exact_generation): the exact path's fallback and
``method="rational-cg"``.

The reference is the float-free simplex on the whole LP (``method="rational-simplex"``); every answer's
certificate is also checked on the whole game in rationals, which proves it optimal on its own.
"""
from __future__ import annotations

import importlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persuasion import CertificateError, examples, solve
from persuasion.arithmetic import EXACT
from persuasion.exact_generation import exact_generation
from persuasion.solution import assemble

from .conftest import games
from .test_mixed_magnitudes import mixed_game, mixed_games

solve_module = importlib.import_module("persuasion.solve")


def certified_value(game, scheme, y, lam):
    sol = assemble(game, scheme, y, lam, ar=EXACT, method="test")
    assert sol.certificate.valid and sol.certificate.exact, sol.certificate.summary()
    return sol.value


@settings(max_examples=150)
@given(st.one_of(games(max_m=4, max_n=5), mixed_games(states=(2, 4), actions=(2, 5))))
def test_rational_cg_is_the_whole_lps_exact_optimum(game):
    cg = solve(game, exact=True, method="rational-cg")
    assert cg.certificate.valid and cg.certificate.exact
    assert cg.value == solve(game, exact=True, method="rational-simplex").value


@settings(max_examples=100)
@given(games(max_m=4, max_n=5), st.data())
def test_any_starting_rows_and_columns_give_the_same_optimum(game, data):
    """The start only changes how many rounds it takes: any columns and rows, even useless ones."""
    m, n = game.shape
    cols = data.draw(st.lists(st.tuples(st.integers(0, m - 1), st.integers(0, n - 1)), max_size=m * n))
    rows = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=n * n))
    scheme, y, lam, info = exact_generation(game, cols, rows)
    assert certified_value(game, scheme, y, lam) == solve(game, exact=True, method="rational-simplex").value
    assert info["rounds"] >= 1 and info["columns"] >= m


@settings(max_examples=60)
@given(mixed_games(states=(2, 4), actions=(3, 8)))
def test_starting_from_the_float_basis_gives_the_whole_lps_optimum(game):
    """The first restricted LP starts from HiGHS' basis where that is a non-singular basis there, feasible
    in exact arithmetic or not (the dual phase shifts costs first), else from full revelation: the optimum
    is the same either way, under either pivot rule."""
    from persuasion import backends
    from persuasion.lp import build_float_lp
    m, n = game.shape
    lp = build_float_lp(solve_module.normalised_game(game))
    res = backends.solve_highs(lp)
    near = ([(int(j) // n, int(j) % n) for j in res.basis[0]], [tuple(p) for p in lp.pairs[res.basis[2]]])
    reference = solve(game, exact=True, method="rational-simplex").value
    for rule in ("dantzig", "bland"):
        scheme, y, lam, _ = exact_generation(game, basis=near, rule=rule)
        assert certified_value(game, scheme, y, lam) == reference


@pytest.mark.parametrize("seed", [5, 9])
def test_fuzz_finds_past_the_full_simplex_are_certified(seed):
    """Mixed-magnitude games (4x27, 3x28) where no HiGHS basis is exactly optimal and the whole LP is past
    the simplex's limit: ``exact=True`` raised CertificateError on them before 2026-12-07 (7 of 40 such
    games).  Now certified, and equal to the float-free generation's optimum; the first also to the
    whole LP's simplex (about 3 s)."""
    game = mixed_game(seed, states=(2, 5), actions=(12, 30))
    assert not solve_module._fits_rational_simplex(game)
    exact = solve(game, exact=True)
    assert exact.certificate.valid and exact.certificate.exact
    assert exact.value == solve(game, exact=True, method="rational-cg").value
    if seed == 5:
        assert exact.value == solve(game, exact=True, method="rational-simplex").value


def test_rows_are_added_a_few_per_action_so_the_restricted_lp_stays_small():
    """3x100 mixed magnitudes: adding every violated row of each recommended action grew the restricted LP
    past its limit (584 rows, 723 columns) and exact=True raised; the most violated four per action and
    round keep it small.  The exact certificate on the whole game is its own proof of optimality."""
    game = mixed_game(0, states=(3, 3), actions=(100, 100))
    exact = solve(game, exact=True)
    assert exact.certificate.valid and exact.certificate.exact
    if exact.method.endswith("rational-cg"):    # (with highspy 1.16 no HiGHS basis is exactly optimal here)
        R = game.num_states + exact.stats["rows_added"]
        assert R * (exact.stats["cols_added"] + exact.stats["rows_added"] + 1) <= solve_module.RATIONAL_SIMPLEX_LIMIT


def test_exact_path_generates_from_the_rejected_bases(monkeypatch):
    """A stand-in rejects every HiGHS basis: the exact path certifies the optimum by exact generation
    started from those bases' columns and rows, and says why it got there."""
    monkeypatch.setattr(solve_module, "_certified_basis", lambda *args: (None, "stand-in: not exactly optimal"))
    game = examples.load("investment_advice")
    sol = solve(game, exact=True)
    assert sol.certificate.valid and sol.certificate.exact and sol.method == "highs+rational-cg"
    assert "stand-in" in sol.stats["fallback_reason"] and sol.stats["rounds"] >= 1
    assert sol.value == solve(game, exact=True, method="rational-simplex").value


def test_a_restricted_lp_past_its_limit_is_refused(monkeypatch):
    game = examples.load("investment_advice")
    with pytest.raises(CertificateError, match="past its limit of 10 tableau entries"):
        exact_generation(game, max_entries=10)
    monkeypatch.setattr(solve_module, "_certified_basis", lambda *args: (None, "stand-in: not exactly optimal"))
    monkeypatch.setattr(solve_module, "RATIONAL_SIMPLEX_LIMIT", 10)
    with pytest.raises(CertificateError, match="no float basis is exactly optimal .*stand-in.* too large"):
        solve(game, exact=True)


def test_a_wrong_generated_answer_is_refused_not_returned(monkeypatch):
    """The whole game's exact certificate is checked on every answer: a stand-in that lowers one state's
    dual (so the dual is infeasible) is refused with CertificateError."""
    real = solve_module.exact_generation

    def lowered(*args, **kwargs):
        scheme, y, lam, info = real(*args, **kwargs)
        y = y.copy()
        y[0] -= 1
        return scheme, y, lam, info

    monkeypatch.setattr(solve_module, "exact_generation", lowered)
    with pytest.raises(CertificateError, match="exact generation produced an invalid certificate"):
        solve(examples.load("investment_advice"), exact=True, method="rational-cg")
