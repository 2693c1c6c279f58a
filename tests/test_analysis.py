"""Analysis functions: tie-breaking, benchmarks, closure, posteriors <-> scheme."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from persuasion import (InvalidArgumentError, PersuasionGame, best_response, best_responses,
                        concave_closure_two_states, examples, first_best_value, full_revelation_value,
                        no_information_value, value_function)
from persuasion.analysis import posteriors_from_scheme, region_vertices, scheme_from_posteriors

F = Fraction


@pytest.fixture
def pj():
    return examples.prosecutor_judge()


def test_tie_breaking_rules(pj):
    half = [F(1, 2), F(1, 2)]          # the judge is indifferent
    assert list(best_responses(pj, half, exact=True)) == [0, 1]
    assert best_response(pj, half, exact=True) == 1                    # Advisor-favoured: convict
    assert best_response(pj, half, tie="adversarial", exact=True) == 0
    assert best_response(pj, half, tie="lowest", exact=True) == 0
    assert best_response(pj, [0.5, 0.5]) == 1                          # float ties within tolerance
    assert best_response(pj, [0.5 + 1e-12, 0.5 - 1e-12]) == 1
    assert best_response(pj, [0.6, 0.4]) == 0
    with pytest.raises(InvalidArgumentError, match="tie must be one of"):
        best_response(pj, half, tie="random")


def test_bad_beliefs(pj):
    with pytest.raises(InvalidArgumentError, match="one entry per state"):
        value_function(pj, [1.0])
    with pytest.raises(InvalidArgumentError, match="must sum to 1"):
        value_function(pj, [0.3, 0.3])
    with pytest.raises(InvalidArgumentError, match="non-negative"):
        value_function(pj, [1.5, -0.5])
    for exact in (False, True):                      # numpy's or Fraction's own ValueError before
        with pytest.raises(InvalidArgumentError, match="belief must be a vector of real numbers"):
            best_response(pj, ["x", 1], exact=exact)


def test_benchmarks_prosecutor_judge(pj):
    assert no_information_value(pj, exact=True) == 0
    assert full_revelation_value(pj, exact=True) == F(3, 10)
    assert first_best_value(pj, exact=True) == 1
    assert value_function(pj, [F(1, 2), F(1, 2)], tie="adversarial", exact=True) == 0


def test_closure_prosecutor_judge(pj):
    c = concave_closure_two_states(pj, exact=True)
    assert c.breakpoints == (0, F(1, 2), 1)
    assert c.values == (0, 1, 1)
    assert c(F(3, 10)) == F(3, 5)          # 0.3 / 0.5
    assert c.split(F(3, 10)) == (0, F(1, 2))
    assert c(F(7, 10)) == 1


def test_closure_needs_two_states():
    g = PersuasionGame([1], [[1]], [[1]])
    with pytest.raises(InvalidArgumentError, match="exactly 2 states"):
        concave_closure_two_states(g)


def test_scheme_posteriors_round_trip_and_plausibility(pj):
    scheme = np.array([[F(4, 7), F(3, 7)], [F(0), F(1)]], dtype=object)
    w, posts = posteriors_from_scheme(pj, scheme, exact=True)
    assert list(w) == [F(2, 5), F(3, 5)]
    assert [list(p) for p in posts] == [[1, 0], [F(1, 2), F(1, 2)]]
    assert (scheme_from_posteriors(pj, w, posts, exact=True) == scheme).all()
    with pytest.raises(InvalidArgumentError, match="Bayes plausibility"):
        scheme_from_posteriors(pj, [F(1, 2), F(1, 2)], posts, exact=True)
    with pytest.raises(InvalidArgumentError, match="matching weights"):
        scheme_from_posteriors(pj, [1], posts, exact=True)


def test_region_vertices_prosecutor_judge(pj):
    verts = {tuple(v) for v in region_vertices(pj)}
    assert verts == {(1, 0), (0, 1), (F(1, 2), F(1, 2))}
    floats = region_vertices(pj, exact=False)                  # the flag did nothing: fractions came back
    assert all(v.dtype == float for v in floats) and {tuple(v) for v in floats} == {(1.0, 0.0), (0.0, 1.0), (0.5, 0.5)}
    with pytest.raises(InvalidArgumentError, match=r"region_vertices\(\): exact must be True or False"):
        region_vertices(pj, exact="no")


@pytest.mark.parametrize("name", ["best_response", "best_responses", "best_response_many", "value_function",
                                  "no_information_value", "full_revelation_value", "first_best_value",
                                  "posteriors_from_scheme", "scheme_from_posteriors", "concave_closure_two_states",
                                  "concave_closure_bruteforce", "region_vertices", "bounds.needed_rows",
                                  "bounds.persuasion_margin", "bounds.regret_bound",
                                  "approximate.delta_best_responses", "approximate.worst_delta_response",
                                  "approximate.robust_value_of_scheme", "cases.advisor_spread"])
def test_every_function_of_a_game_names_what_is_not_one(name):
    """A dict or a file name in place of the game ended in an AttributeError from inside the function."""
    import importlib
    module, _, function = name.rpartition(".")
    f = getattr(importlib.import_module(f"persuasion.{module or 'analysis'}"), function)
    args = {"best_response_many": ([[0.5, 0.5]],), "posteriors_from_scheme": ([[1, 0], [0, 1]],),
            "scheme_from_posteriors": ([1.0], [[0.5, 0.5]]), "concave_closure_bruteforce": (),
            "region_vertices": (), "needed_rows": (), "persuasion_margin": (), "regret_bound": (100, 0.05),
            "robust_value_of_scheme": ([[1, 0], [0, 1]], 0.1), "delta_best_responses": ([0.5, 0.5], 0.1),
            "worst_delta_response": ([0.5, 0.5], 0.1)}.get(function, ([0.5, 0.5],))
    if function in ("no_information_value", "full_revelation_value", "first_best_value", "concave_closure_two_states",
                    "advisor_spread"):
        args = ()
    with pytest.raises(InvalidArgumentError, match=rf"^{function}\(\): game must be a PersuasionGame"):
        f(examples.prosecutor_judge().to_dict(), *args)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.integers(2, 4), st.integers(2, 4), st.integers(0, 10 ** 6))
def test_signal_posteriors_average_to_the_prior_and_match_the_sent_signals(m, n, seed):
    """Every signal gets a posterior (the prior where it is never sent), the weighted posteriors average
    back to the prior exactly in rationals, and the sent ones are posteriors_from_scheme's."""
    from fractions import Fraction
    from persuasion import PersuasionGame, posteriors_from_scheme, signal_posteriors
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 4, size=(m, n))
    raw[:, 0] += 1                                         # every row sends something
    raw[:, rng.integers(0, n)] = 0 if n > 1 and rng.random() < 0.5 else raw[:, 0]   # sometimes an unsent signal
    raw[:, 0] = np.maximum(raw[:, 0], 1)
    scheme = [[Fraction(int(x), int(r.sum())) for x in r] for r in raw]
    prior = [Fraction(k + 1, m * (m + 1) // 2) for k in range(m)]
    w, post = signal_posteriors(prior, scheme)
    assert post.shape == (n, m)
    assert [sum(w[s] * post[s][i] for s in range(n)) for i in range(m)] == prior
    for s in range(n):
        assert sum(post[s]) == 1
        if w[s] == 0:
            assert list(post[s]) == prior
    g = PersuasionGame(prior, np.zeros((m, 2)), np.zeros((m, 2)))
    ws, ps = posteriors_from_scheme(g, scheme, exact=True)
    assert list(ws) == [x for x in w if x > 0]
    assert [list(r) for r in ps] == [list(post[s]) for s in range(n) if w[s] > 0]


def _near_tie_columns(seed: int, m: int, n: int) -> np.ndarray:
    """Small integer utilities, then copies of some columns moved by 1e-12 (in every state, or with a
    random sign per state) or by 1e-10: actions that tie within 1e-9 without being equal."""
    rng = np.random.default_rng(seed)
    U = rng.integers(-3, 4, (m, n)).astype(float)
    for j in range(1, n):
        if rng.random() < 0.6:
            src, how = rng.integers(0, j), rng.integers(0, 3)
            step = (1e-10 if how == 2 else 1e-12) * (rng.choice([-1.0, 1.0], m) if how == 1 else rng.choice([-1.0, 1.0]))
            U[:, j] = U[:, src] + step
    return U


def _unbeaten(U: np.ndarray, b: np.ndarray, tol: float = 1e-9) -> list[bool]:
    """The tie rule's definition checked pair by pair, each sum accurately rounded: no action beats ``a``."""
    import math
    def beats(c, a):
        d = math.fsum(float(p) * (U[w, c] - U[w, a]) for w, p in enumerate(b))
        s = math.fsum(float(p) * abs(U[w, c] - U[w, a]) for w, p in enumerate(b))
        return d > tol * s
    n = U.shape[1]
    return [not any(beats(c, a) for c in range(n) if c != a) for a in range(n)]


@given(st.integers(0, 10**6), st.integers(1, 5), st.integers(2, 7))
@settings(max_examples=150)
def test_near_best_is_the_set_no_action_beats_whatever_the_batch(seed, m, n):
    """Found by an online run: at a belief where action 3 tied action 1 exactly and action 0 sat 1e-12
    below action 1 in every state, ``argmax`` found 3 first in a batch of two beliefs (1 alone), and the
    rule then let 0 tie 3 although 1 beats it; the Receiver took 0, and the scheme scored above V*."""
    from persuasion.analysis import near_best
    U = _near_tie_columns(seed, m, n)
    rng = np.random.default_rng(seed + 1)
    B = rng.dirichlet(np.ones(m), size=8)
    for k in range(2, 8):                        # beliefs where two actions tie, on two states
        a, c = rng.choice(n, 2, replace=False)
        D = U[:, c] - U[:, a]
        up, down = np.flatnonzero(D > 1e-6), np.flatnonzero(D < -1e-6)
        if up.size and down.size:
            w1, w2 = rng.choice(up), rng.choice(down)
            B[k] = 0.0
            B[k, w1], B[k, w2] = -D[w2] / (D[w1] - D[w2]), D[w1] / (D[w1] - D[w2])
    B[0] = B[-1]                                           # the same belief twice in one batch
    batch = near_best(U, B)
    for k in range(B.shape[0]):
        alone = near_best(U, B[k])
        assert alone.tolist() == batch[k].tolist() == _unbeaten(U, B[k])
        exact = [sum(F(float(p)) * F(float(u)) for p, u in zip(B[k], U[:, a])) for a in range(n)]
        assert all(alone[a] for a in range(n) if exact[a] == max(exact))   # every exact best survives


def test_an_action_1e_minus_12_below_another_in_every_state_is_not_a_best_response():
    # At (1/2, 1/2) action 0 ties action 1 exactly and ties action 2 within 1e-9 of their spread, while
    # action 2 is 1e-12 below action 1 in every state.  argmax finds action 0 first.
    U = np.array([[0.0, 1.0, 1.0 - 1e-12], [1.0, 0.0, 0.0 - 1e-12]])
    from persuasion.analysis import near_best
    assert near_best(U, [0.5, 0.5]).tolist() == [True, True, False]
    g = PersuasionGame([0.5, 0.5], sender=[[0, 0, 5], [0, 0, 5]], receiver=U.tolist())
    assert best_responses(g, [0.5, 0.5]).tolist() == [0, 1]
    assert best_response(g, [0.5, 0.5]) == 0      # not action 2, which the Advisor would like best


def test_exact_functions_read_float_beliefs_as_the_game_reads_floats(pj):
    """concave_closure_bruteforce(g, [0.1, 0.9]) was refused: read as binary fractions the two floats sum
    to 1 + 2**-55.  They are read as the decimals 1/10 and 9/10, as a game's float entries are, and a
    float belief whose decimals miss 1 by rounding ([1/3] * 3) is divided by its sum, as a float prior is."""
    from persuasion import concave_closure_bruteforce
    assert concave_closure_bruteforce(pj, [0.1, 0.9]) == concave_closure_bruteforce(pj, [F(1, 10), F(9, 10)])
    third = 1 / 3
    g3 = PersuasionGame([0.2, 0.3, 0.5], np.eye(3), np.eye(3))
    assert concave_closure_bruteforce(g3, [third, third, third]) == 1
    assert value_function(pj, np.array([0.5, 0.5]), exact=True) == 1
    with pytest.raises(InvalidArgumentError, match="value_function\\(\\): belief must sum to 1 exactly"):
        value_function(pj, [F(1, 3), F(1, 3)], exact=True)      # rational entries are taken as given
    with pytest.raises(InvalidArgumentError, match="value_function\\(\\): belief must sum to 1"):
        value_function(pj, [0.5, 0.6], exact=True)
