"""A library call writes nothing: every solver path, the batch solver, the online learners and the bound.

HiGHS (highspy 1.16) writes a banner on stdout once per process, while it constructs its first solver
object, unless output is off before that moment; so each check runs in a fresh interpreter and captures
its file descriptors, not only Python's ``sys.stdout``.  The command line's ``--json`` output must parse.
"""
import json
import subprocess
import sys
import textwrap
from fractions import Fraction

import pytest

from persuasion import examples

CALLS = {
    "solve float, every method": """
        from persuasion import PersuasionGame, examples, solve
        import numpy as np
        rng = np.random.default_rng(0)
        big = PersuasionGame(rng.dirichlet(np.ones(4)), rng.random((4, 15)), rng.random((4, 15)))
        import cvxpy
        extra = ["cvxpy:HIGHS"] if "HIGHS" in cvxpy.installed_solvers() else []   # cvxpy >= 1.6 has HiGHS
        for g in (examples.prosecutor_judge(), examples.load("reasoning_hint"), big):
            for method in ["auto", "highs", "highs-cg", "linprog", "cvxpy"] + extra:
                solve(g, method=method)
        solve(examples.load("single_belief_middle"))              # the exact fallback
    """,
    "solve exact and the value interval": """
        from persuasion import examples, solve
        from persuasion.solve import value_interval
        for name in examples.names():
            solve(examples.load(name), exact=True)
            value_interval(examples.load(name))
        solve(examples.prosecutor_judge(), exact=True, method="rational-simplex")
    """,
    "cvxpy's own HiGHS first in the process": """
        import cvxpy
        from persuasion import examples, solve
        if "HIGHS" in cvxpy.installed_solvers():
            solve(examples.load("reasoning_hint"), method="cvxpy:HIGHS")
    """,
    "solve_many": """
        from persuasion import PersuasionGame, solve_many
        import numpy as np
        rng = np.random.default_rng(1)
        solve_many([PersuasionGame(rng.dirichlet(np.ones(3)), rng.random((3, 3)), rng.random((3, 3)))
                    for _ in range(50)])
    """,
    "options a backend refuses: an error, no warning": """
        from persuasion import InvalidArgumentError, examples, solve
        g = examples.load("investment_advice")
        for method in ["highs", "linprog", "cvxpy"]:          # linprog warned and used its defaults
            for options in ({"nope": 1}, {"time_limit": "x"}, "time_limit=1"):
                try:
                    solve(g, method=method, solver_options=options)
                except InvalidArgumentError as e:
                    assert "solver_options must be" in str(e), e
                else:
                    raise AssertionError(f"{method} took {options}")
    """,
    "online learners and the regret bound": """
        from persuasion import examples
        from persuasion.bounds import regret_bound
        from persuasion.online import ExploreThenCommit, KnownPriorOracle, RobustPersuader, run
        g = examples.prosecutor_judge()
        for learner in (RobustPersuader(0.05), ExploreThenCommit(100), KnownPriorOracle()):
            run(g, learner, T=300, seed=0)
        regret_bound(g, 1000, 0.05)
    """,
}


@pytest.mark.parametrize("name", list(CALLS))
def test_library_calls_write_nothing(name):
    code = textwrap.dedent(CALLS[name])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == "" and out.stderr == "", (out.stdout[-500:], out.stderr[-500:])


@pytest.mark.parametrize("flags", [[], ["--exact"], ["--method", "highs"], ["--method", "cvxpy:HIGHS"]])
def test_cli_json_is_json_and_nothing_else(tmp_path, flags):
    if "cvxpy:HIGHS" in flags:
        cvxpy = pytest.importorskip("cvxpy")
        if "HIGHS" not in cvxpy.installed_solvers():
            pytest.skip("this cvxpy has no HiGHS interface (added in 1.6)")
    path = tmp_path / "pj.json"
    examples.prosecutor_judge().to_json(path)
    out = subprocess.run([sys.executable, "-m", "persuasion", "solve", str(path), "--json", *flags],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    d = json.loads(out.stdout)                       # the whole of stdout, banner-free
    assert float(Fraction(str(d["value"]))) == pytest.approx(0.6) and d["certificate"]["valid"]
