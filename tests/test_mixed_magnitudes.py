"""Utilities whose entries each have their own order of magnitude (issues 25 and 28).

A float answer with a valid certificate must be right beside the value's own size, not only beside the
largest utility: ``|v - V*| <= max(1e-6 * size, 4 eps max|V|)``, where ``size`` is the larger of
``sum prior x |V|`` over the float and the exact optimum.  Before the per-comparison tie rule and the
conditioning check's test beside the value's size, the two-state closed form answered 0 on the first game
below (optimum 1/2) and HiGHS 6e-11 on the third (optimum 0.531), both with valid certificates.
"""
from __future__ import annotations

import importlib
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import mixed_game
from persuasion import CertificateError, PersuasionGame, SolverError, backends, examples, solve
from persuasion.analysis import best_response, near_best
from persuasion.closed_forms import is_binary_state_independent
from persuasion.solution import game_scaling

EPS = float(np.finfo(float).eps)


def assert_right_beside_its_size(game, sol, exact):
    assert sol.certificate.valid
    size = max(float((game.prior[:, None] * np.asarray(s.scheme, float) * np.abs(game.sender)).sum())
               for s in (sol, exact))
    allowed = max(1e-6 * size, 4 * EPS * game_scaling(game).aV)
    assert abs(sol.value - float(exact.value)) <= allowed, (sol.method, sol.value, float(exact.value))


def test_two_state_game_with_a_tiny_difference_beside_a_huge_one():
    g = PersuasionGame(prior=[0.5, 0.5], sender=[[0, 1e10], [0, 1]], receiver=[[1e10, 0], [0, 1e-10]])
    exact = solve(g, exact=True)
    assert exact.value == Fraction(10000000001, 20000000000)
    for method in ("auto", "closed-form", "highs"):
        assert_right_beside_its_size(g, solve(g, method=method), exact)


def test_receiver_breaks_a_1e_minus_10_preference_beside_1e10():
    g = PersuasionGame(prior=[0.5, 0.5], sender=[[0, 1e10], [0, 1]], receiver=[[1e10, 0], [0, 1e-10]])
    assert best_response(g, [0, 1]) == 1                  # it prefers action 1 there, by 1e-10
    assert best_response(g, [1, 0]) == 0
    assert near_best(g.receiver, [1e-21, 1.0]).tolist() == [False, True]   # 1e-11 against 1e-10
    assert near_best(g.receiver, [1e-20, 1.0]).tolist() == [True, True]     # 1e-10 each: a tie


def test_float_optimum_missing_most_of_a_small_value_is_not_certified():
    g = PersuasionGame(prior=["13/500", "183/200", "59/1000"],
                       sender=[[0, 7e-12, 0], [-9e8, 7e-12, 9e-11], [9e-10, 7e-12, 9]],
                       receiver=[[-5, -5, 8e-8], [3e11, 3e11, 0], [-0.3, -0.3, 8e-9]])
    exact = solve(g, exact=True)
    for method in ("auto", "highs"):
        assert_right_beside_its_size(g, solve(g, method=method), exact)


@pytest.mark.parametrize("K", [10**6, 10**9, 10**12])
def test_prosecutor_judge_with_a_third_state_of_scale_K(K):
    g = PersuasionGame(prior=[0.35, 0.15, 0.5], sender=[[0, 1, 0], [0, 1, 0], [0, 0, 0]],
                       receiver=[[1, 0, -1], [0, 1, -1], [0, 0, K]])
    exact = solve(g, exact=True)
    assert exact.value == Fraction(3, 10)
    assert_right_beside_its_size(g, solve(g), exact)


@st.composite
def mixed_games(draw, states=(2, 3), actions=(2, 3), state_independent=False):
    """A game whose every utility is ``sign x digit x 10^e`` with its own ``e`` in -12..12, uniformly (drawn
    from one seed: hypothesis' own integers favour small exponents, which never mix magnitudes), a near tie
    between two of the Receiver's actions half the time, and a prior of small fractions."""
    return mixed_game(draw(st.integers(0, 2**32 - 1)), states, actions, state_independent)


def _methods(game):
    out = ["auto", "highs"]
    if game.num_states == 2 or is_binary_state_independent(game):
        out.append("closed-form")
    if game.num_actions >= 3:
        out.append("highs-cg")
    return out


@settings(max_examples=150)
@given(mixed_games())
def test_every_method_auto_can_choose_is_right_or_uncertified(game):
    exact = solve(game, exact=True)
    for method in _methods(game):
        sol = solve(game, method=method)
        if sol.certificate.valid:
            assert_right_beside_its_size(game, sol, exact)


@settings(max_examples=25)
@given(mixed_games(states=(2, 4), actions=(2, 2), state_independent=True))
def test_knapsack_closed_form_on_mixed_magnitudes(game):
    exact = solve(game, exact=True)
    for method in ("auto", "closed-form"):
        sol = solve(game, method=method)
        if sol.certificate.valid:
            assert_right_beside_its_size(game, sol, exact)


@settings(max_examples=10)
@given(mixed_games(states=(3, 3), actions=(12, 13)))
def test_row_and_column_generation_on_mixed_magnitudes(game):
    exact = solve(game, exact=True)
    sol = solve(game)                           # 12 actions and more: auto generates rows and columns
    if sol.certificate.valid:
        assert_right_beside_its_size(game, sol, exact)


@given(st.lists(st.integers(-12, 12), min_size=3, max_size=3), st.integers(0, 2))
def test_tie_rule_is_unchanged_by_scaling_a_state(exponents, state):
    """Multiplying one state's utilities by 10^e and dividing its belief weight by 10^e leaves the best
    responses (the rule compares per-state differences, relative to that comparison)."""
    U = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.2, 0.2, 0.2]])
    b = np.array([0.3, 0.3, 0.4])
    base = near_best(U, b)
    for e in exponents:
        U2, b2 = U.copy(), b.copy()
        U2[state] *= 10.0 ** e
        b2[state] /= 10.0 ** e
        assert near_best(U2, b2).tolist() == base.tolist()


# Found by a fuzz of 3,000 games drawn as in mixed_games (4 states or fewer, 5 actions or fewer).
# HiGHS' presolve called this LP 'Infeasible' (highspy 1.16), on the float and the exact path alike.
PRESOLVE_SAID_INFEASIBLE = PersuasionGame(
    prior=["200/577", "349/1154", "157/1154", "124/577"],
    sender=[[0.0, 5e7, -8000.0, 0.5, -1e5], [0.0, 6e-10, 900.0, 0.0, 9.0],
            [0.008, 3e-06, 6e-12, -4.9999999999999995e-11, 9e8], [40000.0, 10000.0, -0.001, 5e12, 0.0]],
    receiver=[[5e-07, 0.0, 0.5, 0.001, 6e6], [-0.0005, 4e11, -700.0, 0.0009000000000000001, -3e-10],
              [0.0, 5e-07, -2e-07, -40000.0, 1e5], [9e6, 1000.0, 80000.0, 9e9, 0.0009000000000000001]])
# A two-state game whose float duals divided by a gap that rounds to 0 beside 1e12 (a numpy warning on stderr).
GAP_ROUNDS_TO_ZERO = PersuasionGame(
    prior=["291/718", "427/718"],
    sender=[[-8e12, 4e-08, 0.0, -0.06], [-0.0009000000000000001, 0.0, -4e-12, 9e-07]],
    receiver=[[-0.004, -8000.0, -7e5, 4e-10], [-7e5, 8e-09, -6e11, 0.0]])


@pytest.mark.parametrize("game", [PRESOLVE_SAID_INFEASIBLE, GAP_ROUNDS_TO_ZERO], ids=["presolve", "zero-gap"])
def test_fuzz_finds_are_solved_silently_and_agree_with_the_exact_simplex(game):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol, exact = solve(game), solve(game, exact=True)
    independent = solve(game, exact=True, method="rational-simplex")     # no float step at all
    assert exact.certificate.valid and exact.certificate.exact
    assert exact.value == independent.value
    assert_right_beside_its_size(game, sol, exact)


def test_auto_answers_where_highs_stops_short_and_a_named_method_says_so(monkeypatch):
    """Every HiGHS solve made to stop short (as presolve did above): "auto" and the exact path still
    answer, from the exact simplex; ``method="highs"`` raises the solver's error, naming the status."""
    def stopped(*args, **kwargs):
        raise SolverError("solve()", "Infeasible", "a stand-in for HiGHS stopping short")
    monkeypatch.setattr(backends, "solve_highs", stopped)
    game = examples.load("investment_advice")                # 3 states: no closed form, the LP runs
    reference = solve(game, exact=True, method="rational-simplex")
    exact, sol = solve(game, exact=True), solve(game)
    assert exact.value == reference.value and exact.certificate.valid and exact.certificate.exact
    assert sol.certificate.valid and sol.value == float(reference.value)
    assert sol.method.endswith("+exact-fallback") and "Infeasible" in sol.stats["fallback_reason"]
    with pytest.raises(SolverError, match="Infeasible"):
        solve(game, method="highs")


@pytest.mark.parametrize("seed", range(4))
def test_one_action_mixed_games(seed):
    """The generator makes games of one action too (its near tie needs two); with one action the Receiver
    has no choice, so the value is ``sum_w prior[w] V[w, 0]`` exactly, on both paths."""
    game = mixed_game(seed, (2, 4), (1, 1))
    prior, V, _ = game.rational()
    expected = sum(prior[w] * V[w, 0] for w in range(game.num_states))
    assert solve(game, exact=True).value == expected
    assert_right_beside_its_size(game, solve(game), solve(game, exact=True))


def test_auto_gives_the_whole_lp_a_game_whose_generation_stops_short(monkeypatch):
    """Row/column generation made to stop short on a 25 x 25 game (past the exact fallback's m n <= 400,
    so nothing but another LP could answer): "auto" solves the whole LP instead and says why in
    ``stats["fallback_reason"]``; ``method="highs-cg"`` raises the solver's error, and so does "auto"
    on a game past ``WHOLE_LP_FALLBACK_ENTRIES``."""
    S = importlib.import_module("persuasion.solve")          # the module, not the function of that name
    def stopped(*args, **kwargs):
        raise SolverError("solve()", "Solve error", "a stand-in for HiGHS stopping short")
    monkeypatch.setattr(S, "solve_generation", stopped)
    rng = np.random.default_rng(3)
    game = PersuasionGame(rng.dirichlet(np.ones(25)), rng.random((25, 25)), rng.random((25, 25)))
    sol, whole = solve(game), solve(game, method="highs")
    assert sol.certificate.valid and sol.value == whole.value and sol.method == "highs"
    assert "Solve error" in sol.stats["fallback_reason"]
    with pytest.raises(SolverError, match="Solve error"):
        solve(game, method="highs-cg")
    monkeypatch.setattr(S, "WHOLE_LP_FALLBACK_ENTRIES", 25 * 25 * 24 - 1)   # one entry short of this game
    with pytest.raises(SolverError, match="Solve error"):      # past the limit: the solver's own error, at once
        solve(game)


@settings(max_examples=40)
@given(mixed_games())
def test_exact_path_equals_the_exact_simplex_on_mixed_magnitudes(game):
    """Whichever route the exact path takes (a HiGHS basis, another setting's basis, the simplex after
    HiGHS stopped short), its optimum is the one the float-free simplex finds."""
    exact = solve(game, exact=True)
    assert exact.certificate.valid and exact.certificate.exact
    assert exact.value == solve(game, exact=True, method="rational-simplex").value


def test_a_float_solve_reports_a_failed_exact_fallback_in_its_certificate(monkeypatch):
    """The conditioning check re-solves an ill-conditioned game exactly; where that finds no certified
    optimum (a stand-in here; past the exact simplex's size in the test below), a float solve() still
    returns, its certificate invalid and saying why, instead of raising CertificateError."""
    import importlib
    solve_module = importlib.import_module("persuasion.solve")

    def no_exact_optimum(game, options):
        raise CertificateError("solve(): no float basis is exactly optimal (a stand-in) and the game is too large")

    monkeypatch.setattr(solve_module, "_exact_optimum", no_exact_optimum)
    sol = solve(examples.load("single_belief_middle"))          # its float value needs the exact fallback
    assert not sol.certificate.valid
    failure = sol.certificate.failures[-1]
    assert failure.startswith("ill-conditioned value") and "no certified optimum either" in failure
    assert "use exact=True" not in failure and "a stand-in" not in failure     # first line only, no advice


@settings(max_examples=20)
@given(mixed_games(states=(2, 4), actions=(15, 29)))
def test_float_solve_returns_past_the_exact_simplex_size(game):
    """Mixed magnitudes with 15-29 actions: 6 of 40 such games raised CertificateError from a float
    solve() before 2026-12-07 (the conditioning check's exact fallback failed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol = solve(game)
    if not sol.certificate.valid:       # allowed, saying why (a residual, or the conditioning check's reason)
        assert sol.certificate.failures
        return
    try:
        exact = solve(game, exact=True)
    except CertificateError as err:
        assert "too large" in str(err)
        return
    assert_right_beside_its_size(game, sol, exact)


@pytest.mark.parametrize("method", ["auto", "highs", "linprog"])
def test_a_failed_float_certificate_is_replaced_by_the_exact_optimum(monkeypatch, method):
    """19 of 300 mixed-magnitude games with 12-30 actions came back with a failed float certificate (a dual
    residual of about 1e-7) though the exact path certifies them.  A stand-in fails the certificate of a
    small game's float answer: solve() returns the exact optimum, saying why."""
    import importlib
    from dataclasses import replace
    solve_module = importlib.import_module("persuasion.solve")
    real = solve_module._assemble_normalised

    def failed(*args, **kwargs):
        sol = real(*args, **kwargs)
        return replace(sol, certificate=replace(sol.certificate, valid=False, failures=("stand-in residual",)))

    monkeypatch.setattr(solve_module, "_assemble_normalised", failed)
    game = examples.load("investment_advice")
    sol = solve(game, method=method)
    reference = solve(game, exact=True, method="rational-simplex")
    assert sol.certificate.valid and sol.certificate.exact and sol.method.endswith("+exact-fallback")
    assert sol.value == float(reference.value) and "stand-in residual" in sol.stats["fallback_reason"]
