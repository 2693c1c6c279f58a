"""Estimate a persuasion game from the models' behaviour, with confidence intervals.

Each sample is one real generation: the state of the problem (the
information item the Advisor sees), the action the Receiver took (the item
it conditioned on), whether the answer was correct (the Advisor's reward),
and the Receiver's own utility for that answer (its revealed preference, for
example the mean log-probability it gives its own answer).  Cell means give
``V`` and ``U``; the state frequencies give the prior.  Accuracy intervals
are Wilson score intervals; utility intervals are normal-approximation
intervals of the mean.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from persuasion import PersuasionGame, first_best_value, full_revelation_value, no_information_value, solve
from persuasion.errors import is_integer
from persuasion.solution import fields_equal


@dataclass(frozen=True)
class Sample:
    state: int
    action: int
    correct: bool
    receiver_utility: float


def wilson(k, n, z: float = 1.96):
    """Wilson score interval for ``k`` successes in ``n`` trials (vectorised); ``(nan, nan)`` if ``n = 0``.

    Counts out of range are refused: ``k > n`` would take the square root of a negative number and come
    out as a silent ``nan``.

    >>> wilson(5, 10).round(4).tolist()
    [0.2366, 0.7634]
    """
    k, n = np.asarray(k, float), np.asarray(n, float)
    if not (np.all(np.isfinite(k) & np.isfinite(n)) and np.all((0 <= k) & (k <= n))):
        raise ValueError(f"wilson(): successes k must satisfy 0 <= k <= n for finite counts; got k={k.tolist()}, "
                         f"n={n.tolist()}")
    if not (np.isfinite(z) and z > 0):
        raise ValueError(f"wilson(): z must be a finite number > 0; got {z!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.clip(np.stack([centre - half, centre + half], axis=-1), 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class EstimatedGame:
    """The estimated game, its sampling uncertainty, and which case it is in."""

    game: PersuasionGame
    counts: np.ndarray            # (m, n) samples per cell
    sender_ci: np.ndarray         # (m, n, 2) Wilson intervals of accuracy
    receiver_ci: np.ndarray       # (m, n, 2) intervals of the Receiver's mean utility
    state_counts: np.ndarray      # (m,) problems per state (the prior's data)
    case: str

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)

    def table(self) -> str:
        from persuasion.report import table
        g = self.game
        rows = []
        for w, s in enumerate(g.states):
            for a, act in enumerate(g.actions):
                lo, hi = self.sender_ci[w, a]
                ulo, uhi = self.receiver_ci[w, a]
                rows.append([s, act, int(self.counts[w, a]), f"{g.sender[w, a]:.3f} [{lo:.3f}, {hi:.3f}]",
                             f"{g.receiver[w, a]:.3f} [{ulo:.3f}, {uhi:.3f}]"])
        return table(["state", "action", "n", "V = accuracy [95% CI]", "U = Receiver utility [95% CI]"], rows)


def classify(game: PersuasionGame, tol: float = 1e-9) -> str:
    """The case of an estimated game (:func:`persuasion.persuasion_case`) in a sentence, with the values."""
    from persuasion import PersuasionCase, case_from_values
    v = float(solve(game).value)
    fr, ni, fb = (float(f(game)) for f in (full_revelation_value, no_information_value, first_best_value))
    case = case_from_values(v, fr, ni, fb, tol)
    if case is PersuasionCase.ALIGNED:
        return ("aligned: revealing the state already gets the Advisor its first-best value "
                f"({fb:.4f}); no persuasion is needed")
    if case is PersuasionCase.BINDS:
        return (f"persuasion binds: the optimal scheme ({v:.4f}) beats full revelation ({fr:.4f}) and "
                f"no information ({ni:.4f}); first best {fb:.4f}")
    return f"persuasion does not help: the optimum ({v:.4f}) equals max(full revelation {fr:.4f}, no information {ni:.4f})"


def estimate_game(samples: Sequence[Sample], m: int, n: int, *, state_counts: Sequence[int] | None = None,
                  states=None, actions=None, name: str | None = None, z: float = 1.96) -> EstimatedGame:
    """Cell means of the samples as a :class:`PersuasionGame`, with intervals.

    ``state_counts`` gives the prior (problems per state); by default the
    states' frequencies among the samples.  Every cell needs a sample.
    """
    for name, size, what in (("m", m, "states"), ("n", n, "actions")):   # 2.0 failed in np.zeros, 0 was
        if not is_integer(size, minimum=1):                                # blamed on the samples
            raise ValueError(f"estimate_game(): {name} must be an integer >= 1 (the {what}); got {size!r}")
    if state_counts is not None:                    # problems per state: 1.5 became 1 in the record, 1.5 in the prior
        given = list(state_counts)
        if len(given) != m or not all(is_integer(c, minimum=0) for c in given) or sum(given) <= 0:
            raise ValueError(f"estimate_game(): state_counts must be {m} integers >= 0 (problems per state) with a "
                             f"positive sum; got {given!r}")
    samples = list(samples)
    counts = np.zeros((m, n), dtype=int)
    correct = np.zeros((m, n))
    usum, usq = np.zeros((m, n)), np.zeros((m, n))
    for s in samples:
        whole = is_integer(s.state) and is_integer(s.action)
        if not (whole and 0 <= s.state < m and 0 <= s.action < n):          # 0.5 passed, then failed to index
            raise ValueError(f"estimate_game(): sample state/action must be integers in [0,{m})x[0,{n}); got "
                             f"({s.state!r}, {s.action!r})")
        if not np.isfinite(s.receiver_utility):
            raise ValueError(f"estimate_game(): a sample's receiver_utility must be finite; got {s.receiver_utility!r}")
        counts[s.state, s.action] += 1
        correct[s.state, s.action] += bool(s.correct)
        usum[s.state, s.action] += s.receiver_utility
    if (counts == 0).any():
        w, a = map(int, np.argwhere(counts == 0)[0])
        raise ValueError(f"estimate_game(): every (state, action) cell needs a sample; cell ({w}, {a}) has none")
    V = correct / counts
    U = usum / counts
    for s in samples:        # squared deviations from the cell mean: E[u^2] - E[u]^2 cancels to 0 at large |u|
        usq[s.state, s.action] += (s.receiver_utility - U[s.state, s.action]) ** 2
    var = usq / np.maximum(counts - 1, 1)
    half = z * np.sqrt(var / counts)
    sc = np.asarray(given if state_counts is not None else counts.sum(axis=1), dtype=float)
    game = PersuasionGame(sc / sc.sum(), V, U, states, actions, name=name)
    return EstimatedGame(game, counts, wilson(correct, counts, z), np.stack([U - half, U + half], axis=-1),
                         sc.astype(int), classify(game))
