"""The fast paths agree with the textbook LP: same optimum, same certificate.

Generated games include degenerate ones: integer utilities in a small range
make ties and duplicate rows common, which is where lazy rows and columns
could go wrong.  Float values must agree within 1e-9 (both are certified to
1e-7 relative); exact values must be equal.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from persuasion import PersuasionGame, solve

from .conftest import games


@given(games(max_m=8, max_n=8))
def test_generation_matches_textbook_lp_float(game):
    cg = solve(game, method="highs-cg")
    lp = solve(game, method="linprog")
    assert cg.certificate.valid, cg.certificate.summary()
    assert abs(cg.value - lp.value) <= 1e-9


@settings(max_examples=40)
@given(games(max_m=7, max_n=7, lo=-2, hi=2))
def test_generation_matches_textbook_lp_exact(game):
    cg = solve(game, exact=True, method="highs-cg")
    lp = solve(game, exact=True, method="highs")
    assert cg.certificate.valid and cg.certificate.exact
    assert cg.value == lp.value


@settings(max_examples=20)
@given(st.integers(0, 10**6), st.sampled_from([(15, 15), (30, 10), (10, 30)]))
def test_generation_on_random_float_games(seed, shape):
    rng = np.random.default_rng(seed)
    m, n = shape
    g = PersuasionGame(rng.dirichlet(np.ones(m)), rng.uniform(size=shape), rng.uniform(size=shape))
    cg, lp = solve(g, method="highs-cg"), solve(g, method="highs")
    assert cg.certificate.valid and abs(cg.value - lp.value) <= 1e-9


@given(games(max_m=6, max_n=6), st.data())
def test_auto_exact_equals_rational_simplex(game, data):
    assert solve(game, exact=True).value == solve(game, exact=True, method="rational-simplex").value
