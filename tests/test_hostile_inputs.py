"""Malformed games never escape as anything but the package's own errors (one line, naming the rule).

A hypothesis fuzz test feeds JSON-like values (deep nesting, booleans, huge integers, non-finite and
unparsable strings, dicts where lists belong) to ``PersuasionGame.from_dict``, to ``from_json`` as text,
and Python values to the constructor: each either builds a valid game or raises a ``PersuasionError``
that is also a ``ValueError``.  The named files below went through the CLI as tracebacks before.
"""
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persuasion import PersuasionGame
from persuasion.errors import GameFileError, InvalidArgumentError, InvalidGameError, PersuasionError

BASE = {"prior": [0.3, 0.7], "sender": [[1, 0], [1, 0]], "receiver": [[1, 0], [0, 1]]}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**500, 10**500), st.floats(allow_nan=True),
                    st.sampled_from(["1e400", "-1e400", "1/0", "nan", "inf", "3/10", "0.5", "", "x", "1e-400"]),
                    st.text(max_size=5))
json_values = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                           st.dictionaries(st.text(max_size=3), kids, max_size=3)),
                           max_leaves=20)


@st.composite
def game_dicts(draw):
    d = dict(BASE)
    for key in draw(st.lists(st.sampled_from(["prior", "sender", "receiver", "states", "actions", "name", "extra"]),
                             min_size=1, max_size=3, unique=True)):
        d[key] = draw(json_values)
    return d


def _only_our_errors(fn, *args):
    try:
        fn(*args)
    except PersuasionError as e:
        assert isinstance(e, ValueError)
        assert "\n" not in str(e) and len(str(e)) < 400
    # anything else propagates and fails the test


@settings(max_examples=300)
@given(game_dicts())
def test_from_dict_raises_only_package_errors(d):
    _only_our_errors(PersuasionGame.from_dict, d)


@settings(max_examples=150)
@given(st.one_of(game_dicts().map(lambda d: json.dumps(d, allow_nan=True)), st.text(max_size=40).map(lambda t: "{" + t)))
def test_from_json_text_raises_only_package_errors(text):
    _only_our_errors(PersuasionGame.from_json, text)


@settings(max_examples=150)
@given(json_values, json_values, json_values)
def test_constructor_raises_only_package_errors(p, v, u):
    _only_our_errors(PersuasionGame, p, v, u)


@pytest.mark.parametrize("change, rule", [
    ({"prior": [True, 0]}, "not booleans"),
    ({"sender": [[True, 0], [1, 0]]}, "not booleans"),
    ({"sender": [[1, 10**400], [1, 0]]}, "finite floats"),
    ({"sender": [[1, "1e400"], [1, 0]]}, "finite floats"),
    ({"states": 5}, "must be a list of labels"),
    ({"actions": {"a": 1}}, "must be a list of labels"),
    ({"name": {"x": 1}}, "name must be a string"),
    ({"prior": "0.3,0.7"}, "must be a list of numbers"),
])
def test_named_bad_values(change, rule):
    with pytest.raises(InvalidGameError, match=rule):
        PersuasionGame.from_dict({**BASE, **change})


def _cli(path, *flags):
    return subprocess.run([sys.executable, "-m", "persuasion", "solve", str(path), *flags], capture_output=True,
                          text=True, timeout=300)


MODES = {"float": [], "exact": ["--exact"], "highs": ["--method", "highs"]}


@pytest.mark.parametrize("name, content, rule", [
    ("nested", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("binary", bytes(range(256)) * 4, "not UTF-8 text"),
    ("bigint", '{"prior":[0.3,0.7],"sender":[[1,1%s],[1,0]],"receiver":[[1,0],[0,1]]}' % ("0" * 400),
     "finite floats"),
    ("states", json.dumps({**BASE, "states": 5}), "list of labels"),
    ("huge", json.dumps({"prior": [0.2, 0.3, 0.5], "sender": [[0] * 150_000] * 3,
                         "receiver": [[0] * 150_000, [1] * 150_000, [2] * 150_000]}),
     "too large for this machine"),
], ids=["nested", "binary", "bigint", "states", "huge"])     # short ids: the test id goes into the environment
@pytest.mark.parametrize("mode", list(MODES))
def test_cli_gives_one_line_and_exit_2(tmp_path, name, content, rule, mode):
    path = tmp_path / f"{name}.json"
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    res = _cli(path, *MODES[mode])
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and rule in res.stderr and "Traceback" not in res.stderr


def test_solve_refuses_games_too_large_before_allocating(monkeypatch):
    import importlib
    from persuasion import solve
    S = importlib.import_module("persuasion.solve")          # the module (the package exports the function)
    monkeypatch.setattr(S, "_physical_memory", lambda: 2**30)            # a 1 GiB machine
    game = PersuasionGame([0.2, 0.3, 0.5], np.zeros((3, 5000)), np.zeros((3, 5000)))   # no closed form: an LP
    with pytest.raises(InvalidArgumentError, match=r"5,000 actions need about 0.6 GiB"):
        solve(game)


@pytest.mark.parametrize("flags", [["--exact"], ["--exact", "--method", "rational-simplex"]])
def test_exact_path_refuses_games_too_large_before_allocating(tmp_path, monkeypatch, capsys, flags):
    """10^6 states x 3 actions with --exact ended in a MemoryError traceback: the basis re-solve holds a dense
    rational matrix with a row per state.  On a 256 MiB machine 3,000 x 3 is already too large."""
    import importlib
    from persuasion.cli import main
    S = importlib.import_module("persuasion.solve")
    monkeypatch.setattr(S, "_physical_memory", lambda: 2**28)
    rng = np.random.default_rng(0)
    path = tmp_path / "many_states.json"
    PersuasionGame(rng.dirichlet(np.ones(3000)), rng.random((3000, 3)), rng.random((3000, 3))).to_json(path)
    assert main(["solve", str(path), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "too large for exact=True" in err and "3,000 x 3 game" in err and "GiB" in err


def test_missing_and_oversized_files_are_game_file_errors(tmp_path, monkeypatch):
    import persuasion.game as G
    with pytest.raises(GameFileError, match="cannot read"):
        PersuasionGame.from_json(tmp_path / "absent.json")
    path = tmp_path / "g.json"
    path.write_text(json.dumps(BASE))
    monkeypatch.setattr(G, "MAX_FILE_BYTES", 10)
    with pytest.raises(GameFileError, match="larger than"):
        PersuasionGame.from_json(path)


def test_two_state_games_with_many_actions_solve_in_linear_memory(tmp_path):
    """2 states x 20,000 actions took 108 s and 9.4 GB with dense n x n multipliers; they are sparse now."""
    # VmHWM is this interpreter's own peak: ru_maxrss would also count the pytest process it was started
    # from (Linux keeps the larger of the two across fork and exec), which holds torch by then
    code = ("import re, numpy as np; from persuasion import PersuasionGame, solve; "
            "rng = np.random.default_rng(0); n = 20_000; "
            "s = solve(PersuasionGame([0.4, 0.6], rng.random((2, n)), rng.random((2, n)))); "
            "assert s.certificate.valid and s.verify().valid and s.method == 'closed-form:two-state'; "
            "print(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.split()[-1]) < 1024 * 1024          # kilobytes: peak under 1 GiB


def test_integer_prior_sums_are_exact():
    """Four entries of 2**62 and a 1 summed in 64-bit integers wrap to exactly 1 (issue: hostile inputs 3)."""
    with pytest.raises(InvalidGameError, match="must sum to exactly 1"):
        PersuasionGame([2**62] * 4 + [1], [[1]] * 5, [[1]] * 5)


def test_a_float_beside_fraction_strings_stays_a_float():
    """["1/3", 0.6666666666666667] was turned into strings by numpy and read as an exact decimal."""
    g = PersuasionGame(["1/3", 0.6666666666666667], [[1], [0]], [[1], [0]])
    assert not g.is_rational                                  # a float game, within the float tolerance
    assert PersuasionGame(["1/3", "2/3"], [[1], [0]], [[1], [0]]).is_rational


def test_duplicate_keys_are_refused_naming_the_key():
    text = '{"prior": [0.5, 0.5], "prior": [1, 0], "sender": [[1], [1]], "receiver": [[1], [1]]}'
    with pytest.raises(GameFileError, match="has the key 'prior' twice"):
        PersuasionGame.from_json(text)


@pytest.mark.parametrize("kind", ["fifo", "directory", "endless"])
def test_inputs_that_are_not_files_are_refused_in_one_line(tmp_path, kind):
    import os
    if kind == "fifo":
        path, rule = tmp_path / "pipe", "is a FIFO"
        os.mkfifo(path)                                      # reading it would block: refused by type
    elif kind == "directory":
        path, rule = tmp_path, "is a directory"
    else:
        path, rule = "/dev/zero", "larger than"              # a character device without end: read to the limit
    res = _cli(path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and rule in res.stderr, res.stderr


def test_labels_reach_the_terminal_escaped_and_json_exactly(tmp_path):
    """ANSI escapes, carriage returns, NUL, a right-to-left override and a newline in labels: the report
    escapes them and its tables keep their columns (wide characters counted as two); --json keeps them."""
    import unicodedata
    from persuasion.report import display_width
    states, actions = ["inno\x1b[31mcent", "gu\nilty"], ["acq\u202euit", "有罪"]
    g = PersuasionGame([0.7, 0.3], [[0, 1], [0, 1]], [[1, 0], [0, 1]], states=states, actions=actions,
                       name="bad\rname\x00")
    path = tmp_path / "labels.json"
    g.to_json(path)
    report = _cli(path).stdout
    assert not [ch for ch in report if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf")]
    lines = report.splitlines()
    start = lines.index("Signaling scheme  P(recommend action | state):") + 1
    scheme_table = lines[start:start + 4]
    assert len({display_width(row) for row in scheme_table}) == 1, scheme_table
    out = subprocess.run([sys.executable, "-m", "persuasion", "solve", str(path), "--json"], capture_output=True,
                         text=True, timeout=120)
    d = json.loads(out.stdout)
    assert d["game"]["states"] == states and d["game"]["actions"] == actions and d["game"]["name"] == "bad\rname\x00"


@settings(max_examples=80)
@given(st.integers(0, 10**6), st.integers(2, 5), st.floats(-323.5, -290))
def test_subnormal_prior_masses_are_solved_silently_and_right(seed, m, exponent):
    """A prior mass near 1e-320 made the two-action closed form divide by a cost that rounds to 0 or
    overflows: numpy printed 'overflow encountered in divide' from a library call (the answer was right)."""
    import warnings
    from fractions import Fraction
    from persuasion import solve
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.ones(m))
    prior[0] = 10.0 ** exponent
    prior[1:] *= (1 - prior[0]) / prior[1:].sum()
    sender = np.tile(rng.integers(-3, 4, 2), (m, 1))       # state-independent: the closed form applies
    g = PersuasionGame(prior, sender, rng.integers(-3, 4, (m, 2)))
    exact = solve(g, exact=True).value
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("auto", "closed-form", "highs"):
            sol = solve(g, method=method)
            assert sol.certificate.valid, method
            assert abs(Fraction(sol.value) - exact) <= Fraction(1, 10**9), (method, sol.value, float(exact))


@pytest.mark.parametrize("argument, value, rule", [
    ("scheme", np.ones((3, 2)) / 2, "must have shape (2, 2)"),
    ("scheme", [["a", "b"], [0, 1]], "must hold real numbers"),
    ("y", np.zeros(1), "must have shape (2,)"),
    ("lam", np.zeros((3, 3)), "must have shape (2, 2)"),
])
def test_check_certificate_names_a_bad_argument(argument, value, rule):
    """A wrong shape was a numpy broadcasting error, or (a y of one entry) broadcast silently into a
    verdict; a list scheme was an AttributeError."""
    from persuasion import check_certificate, examples, solve
    g = examples.prosecutor_judge()
    sol = solve(g)
    args = {"scheme": sol.scheme, "y": sol.duals.state, "lam": sol.duals.obedience, argument: value}
    with pytest.raises(InvalidArgumentError, match=rf"check_certificate\(\): {argument} {re.escape(rule)}"):
        check_certificate(g.prior, g.sender, g.receiver, args["scheme"], args["y"], args["lam"], exact=False)
    for bad in (np.nan, -1e-9, "1e-9"):             # a NaN tolerance read a valid certificate as invalid
        with pytest.raises(InvalidArgumentError, match=r"check_certificate\(\): tolerance must be a finite number"):
            check_certificate(g.prior, g.sender, g.receiver, sol.scheme, sol.duals.state, sol.duals.obedience,
                              exact=False, tolerance=bad)
        with pytest.raises(InvalidArgumentError, match=r"Solution.verify\(\): tolerance must be a finite number"):
            sol.verify(bad)
    lists = {k: np.asarray(v).tolist() for k, v in (("scheme", sol.scheme), ("y", sol.duals.state))}
    assert check_certificate(g.prior.tolist(), g.sender.tolist(), g.receiver.tolist(), lists["scheme"], lists["y"],
                             sol.duals.obedience, exact=False).valid


def test_an_exact_check_of_float_numbers_runs_in_rationals():
    """With exact=True and float inputs the check ran in floats with tolerance 0, and called the float
    optimum (4/7 rounded) exactly optimal.  Floats are now read as the rationals they are."""
    from fractions import Fraction
    from persuasion import check_certificate, examples, solve
    g = examples.prosecutor_judge()
    sol = solve(g)
    cert = check_certificate(g.prior, g.sender, g.receiver, sol.scheme, sol.duals.state, sol.duals.obedience,
                             exact=True)
    assert cert.exact and isinstance(cert.residuals.obedience, Fraction)
    assert not cert.valid and 0 < cert.residuals.obedience < Fraction(1, 10**15)
    ex = solve(g, exact=True)
    assert check_certificate(*g.rational(), ex.scheme, ex.duals.state, ex.duals.obedience, exact=True).valid
    as_floats = np.asarray(ex.duals.obedience, float)                   # lam too is read in rationals
    cert = check_certificate(*g.rational(), ex.scheme, ex.duals.state, as_floats, exact=True)
    assert all(isinstance(v, Fraction) for v in vars(cert.residuals).values())
    with pytest.raises(InvalidArgumentError, match="scheme must hold real numbers, all finite"):
        check_certificate(*g.rational(), np.array([[np.nan, 1.0], [0.0, 1.0]]), ex.duals.state, ex.duals.obedience,
                          exact=True)


def _scheme_users():
    from persuasion import examples, posteriors_from_scheme, signal_posteriors
    from persuasion.approximate import robust_value_of_scheme
    from persuasion.bounds import needed_rows
    from persuasion.online import evaluate_scheme
    g = examples.prosecutor_judge()
    return {"posteriors_from_scheme": lambda s: posteriors_from_scheme(g, s),
            "signal_posteriors": lambda s: signal_posteriors(g.prior, s),
            "evaluate_scheme": lambda s: evaluate_scheme(g, s),
            "robust_value_of_scheme": lambda s: robust_value_of_scheme(g, s, 0.01),
            "needed_rows": lambda s: needed_rows(g, s)}


@pytest.mark.parametrize("user", ["posteriors_from_scheme", "signal_posteriors", "evaluate_scheme",
                                  "robust_value_of_scheme", "needed_rows"])
@pytest.mark.parametrize("scheme, rule", [
    ([[0.2, 0.2], [0.0, 1.0]], "rows must each sum to 1"),          # was read as a scheme sending 0.4
    ([[-0.5, 1.5], [0.0, 1.0]], "entries must be non-negative"),
    ([[np.nan, 1.0], [0.0, 1.0]], "entries must be finite"),        # the NaN column was dropped
    (np.ones((3, 2)) / 2, "one row per state"),
    ([["a", 1], [0, 1]], "must hold real numbers"),
])
def test_functions_of_a_scheme_refuse_what_is_not_one(user, scheme, rule):
    with pytest.raises(InvalidArgumentError, match=rf"{user}\(\): scheme .*{re.escape(rule)}"):
        _scheme_users()[user](scheme)


def test_a_scheme_given_as_lists_or_with_rounding_is_read():
    users = _scheme_users()
    for s in ([[4 / 7, 3 / 7], [0, 1]], [[0.571429, 0.428571], [1e-12 - 1e-12, 1.0]], [[0.5714285, 0.4285714], [0, 1]]):
        for f in users.values():
            f(s)
    assert users["evaluate_scheme"]([[4 / 7, 3 / 7], [0, 1]]).expected_utility == pytest.approx(0.6)


def _flag_and_number_users():
    from persuasion import case_from_values, examples, persuasion_case, solve, solve_many, value_function
    from persuasion.approximate import delta_best_responses, robust_value_of_scheme, solve_delta_robust
    from persuasion.bounds import regret_bound
    g = examples.prosecutor_judge()
    return {
        "solve(exact)": (lambda v: solve(g, exact=v), "solve(): exact must be True or False"),
        "value_function(exact)": (lambda v: value_function(g, [0.5, 0.5], exact=v),
                                  "value_function(): exact must be True or False"),
        "solve_many(exact)": (lambda v: solve_many([g], exact=v), "solve_many(): exact must be True or False"),
        "solve_many(progress)": (lambda v: solve_many([g], progress=v), "solve_many(): progress must be True or False"),
        "regret_bound(guarded)": (lambda v: regret_bound(g, 10, 0.05, guarded=v),
                                  "regret_bound(): guarded must be True or False"),
        "regret_bound(delta)": (lambda v: regret_bound(g, 10, v), "regret_bound(): delta must be in (0, 1)"),
        "persuasion_case(tol)": (lambda v: persuasion_case(g, v), "persuasion_case(): tol must be a finite number >= 0"),
        "case_from_values(tol)": (lambda v: case_from_values(0.6, 0.3, 0.0, 1.0, v),
                                  "case_from_values(): tol must be a finite number >= 0"),
        "case_from_values(optimum)": (lambda v: case_from_values(v, 0.3, 0.0, 1.0),
                                      "case_from_values(): optimum must be a finite number"),
        "solve_delta_robust(delta)": (lambda v: solve_delta_robust(g, v),
                                      "solve_delta_robust(): delta must be a finite number >= 0"),
        "delta_best_responses(delta)": (lambda v: delta_best_responses(g, [0.5, 0.5], v),
                                        "delta_best_responses(): delta must be a finite number >= 0"),
        "robust_value_of_scheme(delta)": (lambda v: robust_value_of_scheme(g, np.eye(2), v),
                                          "robust_value_of_scheme(): delta must be a finite number >= 0"),
    }


@pytest.mark.parametrize("user", sorted(_flag_and_number_users()))
@pytest.mark.parametrize("value", ["no", None, 1, 2, np.nan, -1.0, [0.1]], ids=repr)
def test_flags_and_tolerances_refuse_what_they_cannot_mean(user, value):
    """Before: exact="no" was truthy and ran the exact path (1, 0 and None still read as True, False and the
    default: persuasion.errors.checked_flag); a NaN tolerance or
    delta compared False everywhere and gave a case or a response set without a word; delta="x" ended in
    float()'s ValueError.  Values inside a domain (a flag is a bool, a delta may be 2) are not asserted on
    here, only that what falls outside is named."""
    call, message = _flag_and_number_users()[user]
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
    inside = {"must be True or False": value is None or (isinstance(value, int) and value in (0, 1)),
              "must be in (0, 1)": number and 0 < value < 1,
              "must be a finite number >= 0": number and value >= 0,
              "must be a finite number": number}
    if next(ok for rule, ok in inside.items() if message.endswith(rule)):
        call(value)
        return
    with pytest.raises(InvalidArgumentError, match=f"^{re.escape(message)}"):
        call(value)


def test_solve_many_names_games_that_are_not_iterable():
    from persuasion import solve_many
    with pytest.raises(InvalidArgumentError, match=r"solve_many\(\): games must be an iterable"):
        solve_many(5)


@pytest.mark.parametrize("belief", ["x", [0.5], [np.nan, 0.5], [-0.1, 1.1]])
def test_delta_best_responses_names_a_belief_it_cannot_read(belief):
    from persuasion import examples
    from persuasion.approximate import delta_best_responses
    with pytest.raises(InvalidArgumentError, match=r"delta_best_responses\(\): belief must be 2 finite"):
        delta_best_responses(examples.prosecutor_judge(), belief, 0.1)


@pytest.mark.parametrize("function, args, rule", [
    ("radius", (10, 2, 0.0), r"radius\(\): delta must be in \(0, 1\)"),
    ("radius", (10, 2, np.nan), r"radius\(\): delta must be in"),
    ("radius", (10, 0, 0.05), r"radius\(\): m must be an integer >= 1"),
    ("radius", ([np.nan], 2, 0.05), r"radius\(\): s must be sample counts"),
    ("radius", ("x", 2, 0.05), r"radius\(\): s must be sample counts"),
    ("l1_radius", (-1, 2, 0.05), r"l1_radius\(\): s must be sample counts"),
    ("box", (np.array([0.5, 0.5]), np.nan), r"box\(\): eps must be a number >= 0"),
    ("box", (np.array([np.nan, 0.5]), 0.1), r"box\(\): mu_hat must be a vector of finite numbers"),
    ("box_vertices", ([0.1, 0.2], [0.3]), r"box_vertices\(\): lower/upper must be finite vectors of one length"),
    ("box_vertices", ([0.4, 0.2], [0.3, 0.3]), r"box_vertices\(\): lower/upper must be .* lower <= upper"),
    ("bounds.epoch_samples", ([0, 1],), r"epoch_samples\(\): t must be rounds \(integers >= 1\)"),
    ("bounds.epoch_samples", ([1.5],), r"epoch_samples\(\): t must be rounds"),
    ("bounds.burn_in", (2, np.nan, 0.05), r"burn_in\(\): gamma must be a number >= 0"),
    ("bounds.burn_in", (2, -0.1, 0.05), r"burn_in\(\): gamma must be a number >= 0"),
    ("worst_case_advantage", ([1, np.nan], [0.5, 0.5], 0.1, 1), r"advantage\(\): h must be a vector of finite"),
    ("worst_case_advantage", ([1, -1], [0.5], 0.1, 1), r"advantage\(\): mu_hat must have one entry per state"),
    ("worst_case_advantage", ([1, -1], [0.5, 0.5], -0.1, 1), r"advantage\(\): eps must be a number >= 0"),
    ("worst_case_advantage", ([1, -1], [0.5, 0.5], 0.1, np.nan), r"advantage\(\): l1 must be a number >= 0"),
    ("bounds.per_round_bound", (2, np.nan, 0.1, 0.3, 0.3, 0.05, 10), r"bound\(\): delta_V must be a finite"),
    ("bounds.per_round_bound", (2, 1.0, np.nan, 0.3, 0.3, 0.05, 10), r"bound\(\): gamma must be a number >= 0"),
    ("bounds.per_round_bound", (2, 1.0, 0.1, 0.3, -1.0, 0.05, 10), r"bound\(\): revelation_gap must be a finite"),
    ("bounds.per_round_bound", (2, 1.0, 0.1, 0.3, 0.3, 0.05, 0), r"bound\(\): T must be an integer >= 1"),
])
def test_the_confidence_sets_name_what_they_cannot_use(function, args, rule):
    """delta = 0 gave radius inf, a NaN delta or count gave NaN radii, a NaN eps a box of NaNs, round 0 a
    garbage epoch, a NaN margin a burn-in of 1 round, a negative eps a worst case that moved mass the wrong
    way and a NaN range a per-round bound of NaNs, all silently."""
    import importlib
    module, _, name = function.rpartition(".")
    with pytest.raises(InvalidArgumentError, match=rule):
        getattr(importlib.import_module(f"persuasion.{module or 'confidence'}"), name)(*args)



def _analysis_calls():
    from persuasion import examples, scheme_from_posteriors, signal_posteriors
    from persuasion.analysis import best_response_many, full_revelation_scheme_of, near_best, tie_tolerance
    from persuasion.online import full_revelation_scheme
    from persuasion.bounds import needed_rows, persuasion_margin
    from persuasion.online import solve_robust
    g = examples.prosecutor_judge()
    return {
        "many-shape": (lambda: best_response_many(g, [0.5]), r"best_response_many\(\): beliefs must be a belief or"),
        "many-nan": (lambda: best_response_many(g, [[np.nan, 0.5]]), r"best_response_many\(\): beliefs entries must be"),
        "many-text": (lambda: best_response_many(g, "x"), r"best_response_many\(\): beliefs must be real numbers"),
        "many-prefer": (lambda: best_response_many(g, [[0.5, 0.5]], prefer=[0, 1]), r"prefer must have one entry per"),
        "near-best-shape": (lambda: near_best(g.receiver, [0.5, 0.2, 0.3]), r"near_best\(\): beliefs must be a belief"),
        "near-best-text": (lambda: near_best("ab", [0.5, 0.5]), r"near_best\(\): M must hold real numbers"),
        "near-best-nan-utility": (lambda: near_best([[1.0, np.nan], [0.0, 1.0]], [0.5, 0.5]),
                                  r"near_best\(\): M entries must be finite numbers; got 'nan at index \(0, 1\)'"),
        "near-best-negative-belief": (lambda: near_best(g.receiver, [[0.5, 0.5], [-0.1, 1.1]]),
                                      r"beliefs entries must be finite numbers >= 0; got '-0.1 at index \(1, 0\)'"),
        "near-best-nan-tol": (lambda: near_best(g.receiver, [0.5, 0.5], np.nan), r"near_best\(\): tol must be a finite"),
        "tie-tolerance": (lambda: tie_tolerance([1.0, np.inf]), r"tie_tolerance\(\): M must be a states x actions"),
        "tie-tolerance-text": (lambda: tie_tolerance("ab"), r"tie_tolerance\(\): M must hold real numbers"),
        "reveal-nan": (lambda: full_revelation_scheme_of([[1.0, np.nan], [0.0, 1.0]], g.receiver),
                       r"full_revelation_scheme_of\(\): sender/receiver must hold finite numbers"),
        "reveal-shapes": (lambda: full_revelation_scheme_of([[1.0, 2.0]], [[1.0, 2.0, 3.0]]),
                          r"full_revelation_scheme_of\(\): sender/receiver must be two states x actions"),
        "reveal-view": (lambda: full_revelation_scheme(g.to_dict()),
                        r"full_revelation_scheme\(\): view must be a GameView or a PersuasionGame; got 'dict'"),
        "posteriors-text": (lambda: scheme_from_posteriors(g, "ab", [[1, 0]]), r"weights/posteriors must hold real"),
        "weights-scalar": (lambda: scheme_from_posteriors(g, 0.5, [[1, 0]]), r"posteriors\(\): weights must be a vector"),
        "weights-nan": (lambda: scheme_from_posteriors(g, [np.nan, 0.5], [[1, 0], [0, 1]]), r"entries must be finite"),
        "needed-columns": (lambda: needed_rows(g, [[1.0], [1.0]]), r"needed_rows\(\): scheme must have one column per"),
        "margin-nan": (lambda: persuasion_margin(g, np.nan), r"persuasion_margin\(\): v_star must be a finite number"),
        "robust-lists": (lambda: solve_robust(g.sender, g.receiver, [0.7], [0.6, 0.2], [0.8, 0.4]),
                         r"solve_robust\(\): mu_hat must be 2 probabilities"),
        "robust-box": (lambda: solve_robust(g.sender, g.receiver, [0.7, 0.3], [0.8, 0.2], [0.6, 0.4]),
                       r"solve_robust\(\): lower must be at most upper"),
        "signal-prior": (lambda: signal_posteriors([np.nan, 1.0], [[1, 0], [0, 1]]), r"signal_posteriors\(\): prior "
                                                                                      r"must hold finite numbers >= 0"),
    }


@pytest.mark.parametrize("case", sorted(_analysis_calls()))
def test_analysis_functions_name_beliefs_and_values_they_cannot_use(case):
    """Each ended in a reshape, index, argmax-of-nothing, attribute or linprog error (or, for a NaN weight,
    in a Bayes-plausibility complaint about an error of nan) before it named the argument; text gave numpy's
    "could not convert", and near_best answered a NaN utility, a NaN tolerance or a negative belief with a
    mask, silently."""
    call, rule = _analysis_calls()[case]
    with pytest.raises(InvalidArgumentError, match=rule):
        call()
