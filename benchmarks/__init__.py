"""Benchmarks of the package's costs and speed-ups (docs/performance.md), and what they share."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def write_json(report, path) -> None:
    """Write a benchmark's results to ``path`` as indented JSON (folders made as needed; numpy scalars as
    floats); nothing when ``path`` is empty or None (no ``--out`` given)."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(report, indent=1, default=float))


def load_old_module(commit: str, name: str):
    """``persuasion/<name>.py`` as it was at ``commit`` (read with ``git show``), loaded beside today's as
    a module of the package, so its relative imports resolve to today's package: the baseline of a
    benchmark that runs two versions of one file on the same games.  Needs a git checkout."""
    text = subprocess.run(["git", "show", f"{commit}:persuasion/{name}.py"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as folder:          # the file is read once, by exec_module
        path = Path(folder) / f"{name}_old.py"
        path.write_text(text)
        spec = importlib.util.spec_from_file_location(f"persuasion._{name}_old", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module                     # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module


def mixed_game(seed: int, states=(2, 3), actions=(2, 3), state_independent=False):
    """A game drawn from ``seed`` whose every utility is ``sign x digit x 10^e`` with its own ``e`` in
    -12..12 (a zero a quarter of the time), a near tie between two of the Receiver's actions half the time
    (one column a relative 1e-12 from another; none in a game of one action), a prior of small fractions,
    and a number of states and actions uniform in ``states`` and ``actions`` (inclusive ranges): the
    games where floats are least sure
    and HiGHS' bases seldom exactly optimal.  Shared by the tests (tests/test_mixed_magnitudes.py, where a
    fuzz's finds are pinned by their seed) and benchmarks/bench_exact_fallback.py."""
    from persuasion import PersuasionGame
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(states[0], states[1] + 1)), int(rng.integers(actions[0], actions[1] + 1))
    V, U = (rng.choice([-1, 0, 1, 1], size=(m, n)) * rng.integers(1, 10, size=(m, n))
            * 10.0 ** rng.integers(-12, 13, size=(m, n)) for _ in range(2))
    if state_independent:
        V = np.repeat(V[:1], m, axis=0)
    if rng.random() < 0.5 and n >= 2:          # a near tie: one column a relative 1e-12 from another
        U[:, 1] = U[:, 0] * (1 + int(rng.integers(-3, 4)) * 1e-12)
    weights = rng.integers(1, 1001, size=m)
    return PersuasionGame(prior=[f"{w}/{weights.sum()}" for w in weights], sender=V, receiver=U)
