"""Benchmarks of the package's costs and speed-ups (docs/performance.md), and what they share."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_json(report, path) -> None:
    """Write a benchmark's results to ``path`` as indented JSON (folders made as needed; numpy scalars as
    floats); nothing when ``path`` is empty or None (no ``--out`` given)."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(report, indent=1, default=float))


def mixed_game(seed: int, states=(2, 3), actions=(2, 3), state_independent=False):
    """A game drawn from ``seed`` whose every utility is ``sign x digit x 10^e`` with its own ``e`` in
    -12..12 (a zero a quarter of the time), a near tie between two of the Receiver's actions half the time
    (one column a relative 1e-12 from another), a prior of small fractions, and a number of states and
    actions uniform in ``states`` and ``actions`` (inclusive ranges): the games where floats are least sure
    and HiGHS' bases seldom exactly optimal.  Shared by the tests (tests/test_mixed_magnitudes.py, where a
    fuzz's finds are pinned by their seed) and benchmarks/bench_exact_fallback.py."""
    from persuasion import PersuasionGame
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(states[0], states[1] + 1)), int(rng.integers(actions[0], actions[1] + 1))
    V, U = (rng.choice([-1, 0, 1, 1], size=(m, n)) * rng.integers(1, 10, size=(m, n))
            * 10.0 ** rng.integers(-12, 13, size=(m, n)) for _ in range(2))
    if state_independent:
        V = np.repeat(V[:1], m, axis=0)
    if rng.random() < 0.5:                     # a near tie: one column a relative 1e-12 from another
        U[:, 1] = U[:, 0] * (1 + int(rng.integers(-3, 4)) * 1e-12)
    weights = rng.integers(1, 1001, size=m)
    return PersuasionGame(prior=[f"{w}/{weights.sum()}" for w in weights], sender=V, receiver=U)
