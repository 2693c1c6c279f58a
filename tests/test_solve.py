"""solve(): known answers, every method, duals by name, errors."""
from fractions import Fraction

import numpy as np
import pytest

from persuasion import (InvalidArgumentError, PersuasionGame, SolverError, examples,
                        solve)


@pytest.fixture
def pj():
    return examples.prosecutor_judge()


def test_prosecutor_judge_exact(pj):
    sol = solve(pj, exact=True)
    assert sol.value == Fraction(3, 5)
    convict = pj.actions.index("convict")
    innocent = pj.states.index("innocent")
    assert sol.scheme[innocent, convict] == Fraction(3, 7)
    assert sol.certificate.valid and sol.certificate.exact and sol.certificate.tolerance == 0
    assert sol.residuals.worst() == 0
    assert sol.verify().valid
    # the convict signal leaves the judge exactly indifferent
    assert list(sol.posteriors[convict]) == [Fraction(1, 2), Fraction(1, 2)]
    assert sol.receiver_actions[convict] == convict


@pytest.mark.parametrize("method", ["auto", "closed-form", "highs-cg", "highs", "linprog", "cvxpy",
                                    "cvxpy:CLARABEL"])
def test_prosecutor_judge_float_methods(pj, method):
    sol = solve(pj, method=method)
    assert sol.value == pytest.approx(0.6, abs=1e-7)
    assert sol.scheme[0, 1] == pytest.approx(3 / 7, abs=1e-6)
    assert sol.certificate.valid, sol.certificate.summary()
    assert not sol.exact


def test_every_registered_method_finds_the_same_certified_optimum():
    """The registry drives the accepted names: each method, in each arithmetic it declares, solves a game
    with no closed form to the exact optimum (rational simplex as the reference), and is refused in an
    arithmetic it does not declare."""
    from persuasion.solve import EXACT_METHODS, FLOAT_METHODS, METHODS
    g = examples.load("investment_advice")
    reference = solve(g, exact=True, method="rational-simplex").value
    assert set(FLOAT_METHODS) | set(EXACT_METHODS) == set(METHODS)
    for name, m in METHODS.items():
        if name == "closed-form":
            continue                      # no closed form for this game: refused, tested below
        for exact, declared in ((False, m.floats), (True, m.exact)):
            if not declared:
                with pytest.raises(InvalidArgumentError, match="method must be one of"):
                    solve(g, exact=exact, method=name)
                continue
            sol = solve(g, exact=exact, method=name)
            assert sol.certificate.valid and sol.exact == exact
            assert sol.value == reference if exact else sol.value == pytest.approx(float(reference), abs=1e-7)


def test_float_certificates_check_the_solvers_own_duals(monkeypatch):
    """A float solve certifies the duals its solver returned for the normalised game (mapping them out to
    the game's units and back in again is never needed: blocked here, every float method still certifies),
    and the reported game-unit duals certify the same value when rechecked the long way."""
    from persuasion.scaling import Scaling
    from persuasion.solution import certify
    from persuasion.arithmetic import FLOAT
    from persuasion.solve import FLOAT_METHODS
    games = [examples.load("investment_advice"), examples.prosecutor_judge(),
             PersuasionGame([0.2, 0.5, 0.3], [[1e6, 0, 3e5], [0, 2e6, 1e5], [5e5, 5e5, 0]],
                            [[3e-4, 0, 1e-4], [0, 2e-4, 1e-4], [1e-4, 1e-4, 0]])]
    solved = {}
    with monkeypatch.context() as mp:
        mp.setattr(Scaling, "y_in", lambda *a: (_ for _ in ()).throw(AssertionError("round trip")))
        for g in games:
            for name in FLOAT_METHODS:
                try:
                    solved[g.name, name] = solve(g, method=name)
                except InvalidArgumentError:          # closed-form where none applies
                    continue
    assert len(solved) >= 2 * len(FLOAT_METHODS)
    for sol in solved.values():
        again = certify(sol.game, sol.scheme, sol.duals.state, sol.duals.obedience, ar=FLOAT)
        assert sol.certificate.valid and again.valid
        assert again.dual_value == pytest.approx(sol.certificate.dual_value, rel=1e-9, abs=1e-12)


def test_rational_simplex_method_is_exact(pj):
    sol = solve(pj, exact=True, method="rational-simplex")
    assert sol.value == Fraction(3, 5) and sol.method == "rational-simplex" and sol.certificate.valid


def test_labelled_duals_certify_the_value(pj):
    sol = solve(pj, exact=True)
    d = sol.duals.labelled()
    assert set(d) == {"sum_to_one[innocent]", "sum_to_one[guilty]", "obey[acquit>convict]", "obey[convict>acquit]"}
    assert d["sum_to_one[innocent]"] + d["sum_to_one[guilty]"] == sol.value
    # the binding row is the judge's obedience to "convict": its multiplier is positive
    assert sol.duals["obey[convict>acquit]"] > 0
    assert all(v >= 0 for k, v in d.items() if k.startswith("obey"))


def test_solution_is_frozen(pj):
    sol = solve(pj)
    with pytest.raises(Exception):
        sol.value = 1.0
    with pytest.raises(ValueError):
        sol.scheme[0, 0] = 1.0


def test_tampered_solution_fails_verification(pj):
    sol = solve(pj, exact=True)
    scheme = np.array(sol.scheme, dtype=object)
    scheme[0] = [Fraction(3, 7), Fraction(4, 7)]   # recommends convict too often: not obedient
    from dataclasses import replace
    bad = replace(sol, scheme=scheme)
    cert = bad.verify()
    assert not cert.valid
    assert any("obedience" in f for f in cert.failures)


def test_bad_method_and_game():
    g = examples.prosecutor_judge()
    with pytest.raises(InvalidArgumentError, match="method must be one of"):
        solve(g, method="simplex-by-hand")
    with pytest.raises(InvalidArgumentError, match="with exact=True"):
        solve(g, exact=True, method="cvxpy")
    with pytest.raises(InvalidArgumentError, match="game must be a PersuasionGame"):
        solve({"prior": [1]})
    with pytest.raises(InvalidArgumentError, match="installed cvxpy solver"):
        solve(g, method="cvxpy:NOT_A_SOLVER")


def test_solver_failure_is_an_exception_with_status():
    g = examples.prosecutor_judge()
    # an iteration limit of zero stops HiGHS before optimality
    with pytest.raises(SolverError) as info:
        solve(g, method="highs", solver_options={"simplex_iteration_limit": 0, "presolve": "off"})
    assert info.value.status and "optimal" != info.value.status.lower()   # the solver's own words (they vary
    assert "rescale" in info.value.hint                                  # by version: 'Iteration limit', 'Not Set')


def test_bad_solver_option_names_itself():
    with pytest.raises(InvalidArgumentError, match="not_an_option"):
        solve(examples.prosecutor_judge(), method="highs", solver_options={"not_an_option": 1})


def test_single_state_and_single_action_games():
    one_state = PersuasionGame([1], [[0, 2, 1]], [[1, 1, 0]])
    sol = solve(one_state, exact=True)
    assert sol.value == 2       # tie between actions 0 and 1 goes the Advisor's way
    one_action = PersuasionGame(["1/3", "2/3"], [[1], [4]], [[0], [0]])
    assert solve(one_action, exact=True).value == 3


def test_float_game_exact_path_reads_decimals():
    g = PersuasionGame([0.7, 0.3], [[0, 1], [0, 1]], [[1, 0], [0, 1]])
    assert solve(g, exact=True).value == Fraction(3, 5)


def test_every_bundled_example_certifies():
    for name in examples.names():
        g = examples.load(name)
        e = solve(g, exact=True)
        f = solve(g)
        assert e.certificate.valid and f.certificate.valid
        assert abs(float(e.value) - f.value) <= 1e-7


def test_to_dict_is_json_serialisable(pj):
    import json
    for sol in (solve(pj), solve(pj, exact=True)):
        d = json.loads(json.dumps(sol.to_dict()))
        assert d["certificate"]["valid"] is True
        assert d["receiver_actions"] == ["acquit", "convict"]


def test_auto_takes_closed_forms_when_they_apply(pj):
    assert solve(pj).method == "closed-form:knapsack"
    two_states = PersuasionGame(["1/3", "2/3"], [[0, 1, 2], [2, 1, 0]], [[1, 0, 2], [0, 3, 1]])
    assert solve(two_states, exact=True).method == "closed-form:two-state"
    assert solve(examples.load("investment_advice")).method == "highs"
    with pytest.raises(InvalidArgumentError, match="'closed-form' needs 2 states"):
        solve(examples.load("investment_advice"), method="closed-form")


def test_auto_uses_generation_on_large_games():
    rng = np.random.default_rng(0)
    g = PersuasionGame(rng.dirichlet(np.ones(20)), rng.uniform(size=(20, 20)), rng.uniform(size=(20, 20)))
    auto, full = solve(g), solve(g, method="linprog")
    assert auto.method == "highs-cg" and auto.certificate.valid
    assert abs(auto.value - full.value) <= 1e-9
    assert auto.stats["rows_added"] < 20 * 19


@pytest.mark.parametrize("user_options, tried", [(None, [None, {"presolve": "off"}]),
                                                 ({"presolve": "off"}, [None, {"simplex_strategy": 4}])])
def test_exact_path_tries_another_highs_basis_before_the_simplex(monkeypatch, user_options, tried):
    """Where HiGHS' basis is not exactly optimal (a stand-in rejects the first), the exact path re-solves
    the basis HiGHS gives under the next setting the user did not choose, and certifies that."""
    import importlib
    solve_module = importlib.import_module("persuasion.solve")
    real, calls = solve_module._certified_basis, []

    def first_rejected(game, res, pairs, name, stats):
        calls.append(stats.get("highs_options"))
        return (None, "stand-in: not exactly optimal") if len(calls) == 1 else real(game, res, pairs, name, stats)

    monkeypatch.setattr(solve_module, "_certified_basis", first_rejected)
    game = examples.load("investment_advice")                    # 4 states, 3 actions: the full LP runs
    sol = solve(game, exact=True, solver_options=user_options)
    assert calls == tried
    assert sol.certificate.valid and sol.certificate.exact and sol.method == "highs+rational-basis"
    assert sol.stats["highs_options"] == tried[1] and "stand-in" in sol.stats["fallback_reason"]
    assert sol.value == solve(game, exact=True, method="rational-simplex").value


def test_to_dict_is_strict_json_where_a_multiplier_overflows(tmp_path):
    """Utilities near 1e300 beside others near 1e-300 give an obedience multiplier beyond the float range
    (the certificate reads the normalised ones): the JSON carried ``Infinity``, which strict parsers refuse."""
    import json
    import subprocess
    import sys
    rng = np.random.default_rng(1)
    g = PersuasionGame(rng.dirichlet(np.ones(2)), rng.random((2, 2)) * 1e300, rng.random((2, 2)) * 1e-300)
    sol = solve(g)
    assert sol.certificate.valid and np.isinf(sol.duals.obedience.toarray()).any()
    d = json.loads(json.dumps(sol.to_dict(), allow_nan=False))
    assert sorted(float(v) for v in d["duals"].values())[-1] == float("inf")
    g.to_json(tmp_path / "g.json")
    out = subprocess.run([sys.executable, "-m", "persuasion", "solve", str(tmp_path / "g.json"), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "Infinity" not in out.stdout, out.stderr
    json.loads(out.stdout, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_every_row_label_reads_its_multiplier_also_where_the_matrix_is_sparse():
    """The two-state closed form stores its obedience multipliers sparsely: a row it does not store raised
    KeyError, although the row exists and its multiplier is 0.  Labels holding '>' are read too."""
    import scipy.sparse as sp
    rng = np.random.default_rng(0)
    g = PersuasionGame([0.3, 0.7], rng.random((2, 6)), rng.random((2, 6)), actions=[f"x>{k}" for k in range(6)])
    d = solve(g).duals
    assert sp.issparse(d.obedience) and len(d.labelled()) < 2 + 6 * 5
    dense = d.obedience.toarray()
    for a in range(6):
        for b in range(6):
            if a != b:
                assert d[f"obey[x>{a}>x>{b}]"] == dense[a, b]
    assert all(d[k] == v for k, v in d.labelled().items())
    for bad in ("obey[x>0>x>0]", "sum_to_one[nowhere]", 3):
        with pytest.raises(KeyError, match="is not a row of this game's LP"):
            d[bad]


def test_solutions_compare_by_value_and_say_they_are_unhashable():
    """``==`` between two solutions raised "the truth value of an array is ambiguous"; now the compared
    fields are equal entry by entry (the timings in ``stats`` are not compared), and hash() says the
    result is unhashable instead of failing on an array inside."""
    from persuasion import solve_many
    pj, other = examples.prosecutor_judge(), examples.load("investment_advice")
    assert solve(pj) == solve(pj) and solve(pj, exact=True) == solve(pj, exact=True)
    assert solve(pj) != solve(other) and solve(pj) != solve(pj, exact=True) and solve(pj) != "a solution"
    assert solve(pj).duals == solve(pj).duals and solve_many([pj, other]) == solve_many([pj, other])
    with pytest.raises(TypeError, match="unhashable type: 'Solution'"):
        hash(solve(pj))


@pytest.mark.parametrize("make", ["robust", "outcome", "trace", "margin", "bound", "kl_fit"])
def test_every_result_holding_arrays_compares_by_value(make):
    """Each of these raised "the truth value of an array is ambiguous" under ==."""
    from persuasion.afd import forward_fit
    from persuasion.approximate import solve_delta_robust
    from persuasion.bounds import persuasion_margin, regret_bound
    from persuasion.online import KnownPriorOracle, evaluate_scheme, run
    build = {"robust": lambda g: solve_delta_robust(g, 0.1),
             "outcome": lambda g: evaluate_scheme(g, np.full(g.shape, 1 / g.num_actions)),
             "trace": lambda g: run(g, KnownPriorOracle(), T=20, seed=0),
             "margin": persuasion_margin,
             "bound": lambda g: regret_bound(g, [10, 100], 0.05),
             "kl_fit": lambda g: forward_fit([0.5, 0.2, 0.3] if g.num_states == 2 else [0.1, 0.6, 0.3])}[make]
    pj, other = examples.prosecutor_judge(), examples.load("investment_advice")
    assert build(pj) == build(pj) and build(pj) != build(other)
