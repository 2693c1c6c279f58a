"""Shared fixtures and hypothesis strategies.

Hypothesis runs derandomized (a fixed seed derived from each test), so every
property test is deterministic: the same examples run on every machine.
"""
from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from persuasion import PersuasionGame

def pytest_report_header(config):
    """Every installed distribution and its version, so each CI log records what the resolver picked."""
    import textwrap
    from importlib import metadata
    found = sorted({(d.metadata["Name"] or "?").lower(): d.version for d in metadata.distributions()}.items())
    text = ", ".join(f"{name}=={version}" for name, version in found)
    return [f"resolved packages ({len(found)}):"] + textwrap.wrap(text, 118, initial_indent="  ",
                                                                  subsequent_indent="  ")


settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ci")

TINY = Fraction(1, 10**6)


@st.composite
def games(draw, max_m: int = 6, max_n: int = 6, lo: int = -3, hi: int = 3, min_m: int = 1) -> PersuasionGame:
    """Rational games with small integer utilities (ties are common), priors
    with zero and tiny masses, and sometimes a duplicated state or action."""
    m = draw(st.integers(min_m, max_m))
    n = draw(st.integers(1, max_n))
    ints = st.integers(lo, hi)
    V = [[draw(ints) for _ in range(n)] for _ in range(m)]
    U = [[draw(ints) for _ in range(n)] for _ in range(m)]
    if m >= 2 and draw(st.booleans()):        # duplicate a state
        i, j = draw(st.integers(0, m - 1)), draw(st.integers(0, m - 1))
        V[j], U[j] = list(V[i]), list(U[i])
    if n >= 2 and draw(st.booleans()):        # duplicate an action
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        for r in range(m):
            V[r][b], U[r][b] = V[r][a], U[r][a]
    w = [draw(st.one_of(st.integers(0, 5), st.just(TINY))) for _ in range(m)]
    if sum(w) == 0:
        w[draw(st.integers(0, m - 1))] = 1
    total = sum(w, Fraction(0))
    prior = [Fraction(x) / total for x in w]
    return PersuasionGame(prior, V, U)


def two_state_games(**kw):
    return games(min_m=2, max_m=2, **kw)
