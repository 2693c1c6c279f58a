"""The paired tests every LLM report rests on, each checked against an independent computation.

What defines a right answer here: Holm's adjusted p-values mark exactly what the step-down procedure,
run by hand at any level, rejects; the exact McNemar p-value is the probability, summed over every
discordant split under a fair coin, of a split no more likely than the one seen; the sign-flip p-value,
where it is exact, is the share of all ``2**n`` sign patterns whose mean is as extreme.
"""
import itertools
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_bridge.studies.stats import holm, mcnemar_detectable, mcnemar_exact, mcnemar_power, paired_sign_flip

P = st.floats(0, 1)


def step_down_rejects(p, alpha):
    """Holm's procedure itself: walk the p-values upwards, reject while the k-th smallest is at most
    alpha / (m - k + 1), stop at the first that is not."""
    rejected, m = set(), len(p)
    for k, i in enumerate(sorted(range(m), key=lambda j: p[j])):
        if p[i] > alpha / (m - k):
            break
        rejected.add(i)
    return rejected


@given(st.lists(P, min_size=1, max_size=8), st.sampled_from([0.01, 0.05, 0.1, 0.2]))
def test_holm_adjusted_values_reject_what_the_step_down_procedure_rejects(p, alpha):
    adj = holm(p)
    assert all(pi <= a <= 1 for pi, a in zip(p, adj))
    # a level strictly between adjusted values avoids comparing two roundings of the same product
    if any(math.isclose(a, alpha, rel_tol=1e-9) for a in adj):
        return
    assert {i for i, a in enumerate(adj) if a <= alpha} == step_down_rejects(p, alpha)


def test_holm_refuses_what_is_not_a_p_value():
    for bad in ([0.1, math.nan], [0.2, 1.5], [-0.01], {"a": 0.01}, "0.01"):     # a dict, text: numpy's own errors
        with pytest.raises(ValueError, match=r"holm\(\): pvalues must be a list of numbers in \[0, 1\]"):
            holm(bad)
    assert holm([]) == []


def fair_coin_p(b, c):
    """Two-sided exact binomial p at 1/2 by enumeration: the mass of splits no likelier than (b, c)."""
    n = b + c
    if n == 0:
        return 1.0
    pmf = [math.comb(n, k) / 2 ** n for k in range(n + 1)]
    return min(1.0, sum(q for q in pmf if q <= pmf[b] * (1 + 1e-12)))


@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=40))
def test_mcnemar_is_the_exact_binomial_test_on_the_discordant_pairs(pairs):
    x = [a for a, _ in pairs]
    y = [b for _, b in pairs]
    r = mcnemar_exact(x, y)
    b, c = sum(a and not b_ for a, b_ in pairs), sum(b_ and not a for a, b_ in pairs)
    assert (r["n"], r["b"], r["c"]) == (len(pairs), b, c)
    assert r["p"] == pytest.approx(fair_coin_p(b, c), rel=1e-9, abs=1e-15)
    if pairs:
        assert r["diff"] == pytest.approx((b - c) / len(pairs))


@given(st.lists(st.integers(-3, 3), min_size=2, max_size=10))
def test_sign_flip_is_exact_on_small_samples(d):
    x, y = np.array(d, float), np.zeros(len(d))
    r = paired_sign_flip(x, y, n_resamples=2 ** 12)
    seen = abs(np.mean(d))
    if not np.any(d):
        assert r["p"] == 1.0
        return
    flips = [abs(np.mean(np.multiply(signs, d))) >= seen - 1e-12
             for signs in itertools.product((1, -1), repeat=len(d))]
    assert r["p"] == pytest.approx(sum(flips) / len(flips), rel=1e-9)
    assert r["n_nonzero"] == int(np.count_nonzero(d)) and r["diff"] == pytest.approx(np.mean(d))


@pytest.mark.parametrize("call, rule", [
    (lambda: paired_sign_flip([1.0, np.nan, 0.3], [0, 0, 0]), "paired_sign_flip(): x must hold finite numbers; entry 1"),
    (lambda: mcnemar_exact([0.5, 1, 0], [0, 0, 0]), "mcnemar_exact(): x must hold 0/1 outcomes"),
    (lambda: mcnemar_exact([1, 0], [np.nan, 0]), "mcnemar_exact(): y must hold 0/1 outcomes"),
    (lambda: mcnemar_exact([1, 0], [1]), "mcnemar_exact(): x and y must be paired vectors"),
    (lambda: mcnemar_power(0, 0.1, 0.1), "mcnemar_power(): n must be an integer >= 1"),
    (lambda: mcnemar_power(10, 0.1, 0.1, alpha=np.nan), "mcnemar_power(): alpha must be in (0, 1)"),
    (lambda: mcnemar_detectable(50, 0.3, step=0), "mcnemar_detectable(): step must be in (0, 1]"),
    (lambda: mcnemar_detectable(50, 1.5), "mcnemar_detectable(): discordance must be in [0, 1]"),
], ids=["flip-nan", "mcnemar-half", "mcnemar-nan", "mcnemar-unpaired", "power-n", "power-alpha", "step-0",
        "discordance"])
def test_the_tests_refuse_data_they_would_misread(call, rule):
    """A NaN made the sign-flip test report p = 0 (significant); McNemar counted 0.5 and NaN as successes;
    a step of 0 made mcnemar_detectable loop for ever."""
    with pytest.raises(ValueError, match=re.escape(rule)):
        call()
