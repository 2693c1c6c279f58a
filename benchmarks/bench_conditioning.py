"""What the float path's conditioning check costs: solve() with it and without it, side by side.

    python -m benchmarks.bench_conditioning

Random games (Dirichlet(1) prior, U and V uniform on [0, 1], seed 0); the check is switched off by
setting ``persuasion.solve.CONDITIONING_LIMIT`` to 0 for the baseline.
"""
from __future__ import annotations

import importlib
import time

import numpy as np


def main() -> None:
    from persuasion import PersuasionGame, solve
    S = importlib.import_module("persuasion.solve")
    rng = np.random.default_rng(0)
    for m, n, k in [(2, 4, 300), (4, 6, 200), (10, 30, 30)]:
        games = [PersuasionGame(rng.dirichlet(np.ones(m)), rng.random((m, n)), rng.random((m, n))) for _ in range(k)]
        t = time.perf_counter()
        for g in games:
            solve(g)
        with_check = (time.perf_counter() - t) / k
        limit, S.CONDITIONING_LIMIT = S.CONDITIONING_LIMIT, 0
        try:
            t = time.perf_counter()
            for g in games:
                solve(g)
            without = (time.perf_counter() - t) / k
        finally:
            S.CONDITIONING_LIMIT = limit
        print(f"{m} x {n}: {with_check * 1e3:.2f} ms with the check, {without * 1e3:.2f} ms without, "
              f"ratio {with_check / without:.2f}")


if __name__ == "__main__":
    main()
