"""Property tests of the exact core on generated games (hypothesis, derandomized).

Generated games have integer utilities in [-3, 3] (ties are common), priors
with zero and tiny (1e-6) masses, m and n from 1 to 6, and duplicated states
and actions.  Exact-path properties hold with tolerance exactly 0.  The float
path must agree with the exact value within ``FLOAT_AGREEMENT`` (the float
certificate tolerance, 1e-7 times the largest utility, with margin).
"""
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from persuasion import (PersuasionGame, concave_closure_bruteforce, concave_closure_two_states,
                        first_best_value, full_revelation_value, no_information_value, solve)
from persuasion.analysis import posteriors_from_scheme, scheme_from_posteriors

from .conftest import games, two_state_games

FLOAT_AGREEMENT = 1e-6


@given(games())
def test_exact_certificate_and_float_agreement(game):
    e = solve(game, exact=True)
    assert e.certificate.valid and e.certificate.tolerance == 0, e.certificate.summary()
    assert e.verify().valid
    f = solve(game)
    assert f.certificate.valid, f.certificate.summary()
    assert abs(float(e.value) - f.value) <= FLOAT_AGREEMENT


@given(games())
def test_value_between_benchmarks(game):
    v = solve(game, exact=True).value
    assert max(no_information_value(game, exact=True), full_revelation_value(game, exact=True)) <= v
    assert v <= first_best_value(game, exact=True)


@given(games())
def test_obedience_and_bayes_plausibility(game):
    sol = solve(game, exact=True)
    prior, V, U = game.rational()
    total = np.full(game.num_states, Fraction(0), dtype=object)
    for a in range(game.num_actions):
        p = sol.signal_probabilities[a]
        if p > 0:
            post = sol.posteriors[a]
            total = total + p * post
            payoff = post.dot(U)
            assert payoff[a] == max(payoff)           # the recommendation is a best response
            assert sol.receiver_actions[a] >= 0
    assert list(total) == list(prior)                 # posteriors average back to the prior
    # and the decomposition goes back to an outcome-equivalent scheme
    w, posts = posteriors_from_scheme(game, sol.scheme, exact=True)
    back = scheme_from_posteriors(game, w, posts, exact=True)
    used = [a for a in range(game.num_actions) if sol.signal_probabilities[a] > 0]
    for i in range(game.num_states):
        if prior[i] > 0:
            assert list(back[i]) == [sol.scheme[i, a] for a in used]


@given(two_state_games())
def test_lp_equals_concave_closure_two_states(game):
    closure = concave_closure_two_states(game, exact=True)
    assert solve(game, exact=True).value == closure(game.rational()[0][1])
    fclosure = concave_closure_two_states(game)
    assert abs(fclosure(game.prior[1]) - solve(game).value) <= FLOAT_AGREEMENT


@settings(max_examples=40)
@given(games(max_m=4, max_n=4))
def test_lp_equals_bruteforce_over_posteriors(game):
    assert solve(game, exact=True).value == concave_closure_bruteforce(game)


@settings(max_examples=30)
@given(games(max_m=4, max_n=4))
def test_two_exact_methods_agree(game):
    a = solve(game, exact=True)
    b = solve(game, exact=True, method="rational-simplex")
    assert a.value == b.value and b.certificate.valid


def _permuted(game, sp, ap):
    prior, V, U = game.rational()
    return PersuasionGame(prior[sp], V[np.ix_(sp, ap)], U[np.ix_(sp, ap)])


@given(games(), st.randoms(use_true_random=False))
def test_invariant_under_relabelling(game, rnd):
    m, n = game.shape
    sp, ap = list(range(m)), list(range(n))
    rnd.shuffle(sp)
    rnd.shuffle(ap)
    assert solve(_permuted(game, sp, ap), exact=True).value == solve(game, exact=True).value


@given(games(), st.data())
def test_invariant_under_duplicate_action(game, data):
    a = data.draw(st.integers(0, game.num_actions - 1))
    prior, V, U = game.rational()
    g2 = PersuasionGame(prior, np.hstack([V, V[:, [a]]]), np.hstack([U, U[:, [a]]]))
    assert solve(g2, exact=True).value == solve(game, exact=True).value


@given(games(), st.integers(1, 5), st.integers(1, 3), st.integers(-4, 4))
def test_invariant_under_positive_affine_receiver(game, num, den, shift):
    prior, V, U = game.rational()
    g2 = PersuasionGame(prior, V, U * Fraction(num, den) + shift)
    assert solve(g2, exact=True).value == solve(game, exact=True).value


@given(games(), st.data())
def test_invariant_under_state_dependent_constant(game, data):
    c = data.draw(st.lists(st.integers(-5, 5), min_size=game.num_states, max_size=game.num_states))
    prior, V, U = game.rational()
    g2 = PersuasionGame(prior, V, U + np.array([Fraction(x) for x in c], dtype=object)[:, None])
    assert solve(g2, exact=True).value == solve(game, exact=True).value
