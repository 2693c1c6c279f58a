"""The correspondence between schemes and Bayes-plausible distributions of posteriors."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..arithmetic import arithmetic
from ..errors import InvalidArgumentError
from ..game import PersuasionGame, checked_game


#: How far a float scheme's row may sum from 1, and an entry fall below 0 (rounding in a solver's output or
#: in a scheme written with six decimals), before it is refused as not a scheme.
SCHEME_ROW_TOLERANCE = 1e-6
SCHEME_NEGATIVE_TOLERANCE = 1e-9


def checked_scheme(where: str, scheme, num_states: int, dtype=float) -> np.ndarray:
    """``scheme`` as an ``(m, k)`` array of ``dtype``, refused with :class:`InvalidArgumentError` unless it is
    one: a row per state, real and finite entries, none below 0 and each row summing to 1 (on floats within
    :data:`SCHEME_NEGATIVE_TOLERANCE` and :data:`SCHEME_ROW_TOLERANCE`; rows are summed in floats on the
    exact path too, so a float scheme may be read there).

    >>> from persuasion.analysis.posteriors import checked_scheme
    >>> checked_scheme("f()", [[0.2, 0.2], [0.0, 1.0]], 2)
    Traceback (most recent call last):
    ...
    persuasion.errors.InvalidArgumentError: f(): scheme rows must each sum to 1 (P(signal | state)); got 'row 0 sums to 0.4'
    """
    try:
        pi = np.asarray(scheme, dtype=dtype)
        values = np.asarray(pi, dtype=float)
    except (TypeError, ValueError, OverflowError) as err:
        raise InvalidArgumentError(where, "scheme", "must hold real numbers", str(err)) from None
    if pi.ndim != 2 or pi.shape[0] != num_states:
        raise InvalidArgumentError(where, "scheme", f"must be a table with one row per state ({num_states})",
                                   f"shape {pi.shape}")
    if not np.isfinite(values).all():
        raise InvalidArgumentError(where, "scheme", "entries must be finite", "a non-finite entry")
    low = float(values.min()) if values.size else 0.0
    if (pi < 0).any() if dtype is object else low < -SCHEME_NEGATIVE_TOLERANCE:
        raise InvalidArgumentError(where, "scheme", "entries must be non-negative", f"an entry of {low:.3g}")
    sums = values.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1) > SCHEME_ROW_TOLERANCE)
    if off.size:
        raise InvalidArgumentError(where, "scheme", "rows must each sum to 1 (P(signal | state))",
                                   f"row {off[0]} sums to {sums[off[0]]:.6g}")
    return pi


def signal_posteriors(prior, scheme) -> tuple[np.ndarray, np.ndarray]:
    """``P(signal)`` and the posterior after *every* signal, in the scheme's column order.

    The one convention of the package for a signal sent with probability zero: Bayes' rule says nothing
    there, and its posterior is taken to be the prior (the belief of a Receiver who learns nothing from
    an event it was told cannot happen).  Its weight is 0, so it never changes a value; callers that
    need only the signals actually sent use :func:`posteriors_from_scheme`.  Arrays of floats or
    ``Fraction`` objects alike; ``posteriors[s]`` is a row over the states.

    Examples
    --------
    >>> from persuasion import signal_posteriors
    >>> weights, posts = signal_posteriors([0.3, 0.7], [[1.0, 0.0], [1.0, 0.0]])   # always the first signal
    >>> weights.tolist(), posts.tolist()
    ([1.0, 0.0], [[0.3, 0.7], [0.3, 0.7]])
    """
    prior = np.asarray(prior)
    if prior.ndim != 1:
        raise InvalidArgumentError("signal_posteriors()", "prior", "must be a vector", f"shape {prior.shape}")
    try:                                       # a NaN or negative mass came back as NaN or negative posteriors
        masses = np.asarray(prior, dtype=float)
    except (TypeError, ValueError, OverflowError):
        masses = np.full(prior.shape, np.nan)
    if not (np.isfinite(masses) & (masses >= 0)).all():
        raise InvalidArgumentError("signal_posteriors()", "prior", "must hold finite numbers >= 0", prior.tolist())
    pi = checked_scheme("signal_posteriors()", scheme, prior.size, object if prior.dtype == object else float)
    joint = prior[:, None] * pi
    w = joint.sum(axis=0)
    posts = np.array([joint[:, s] / w[s] if w[s] > 0 else prior for s in range(pi.shape[1])], dtype=joint.dtype)
    return w, posts.reshape(pi.shape[1], prior.size)


def posteriors_from_scheme(game: PersuasionGame, scheme, exact: bool = False):
    """Decompose a scheme into a Bayes-plausible distribution of posteriors.

    Returns ``(weights, posteriors)``: ``weights[s] = P(signal s)`` and
    ``posteriors[s]`` the belief after ``s``, for the signals sent with
    positive probability only (so ``sum_s weights[s] posteriors[s] = prior``).

    Examples
    --------
    >>> from persuasion import examples, posteriors_from_scheme, solve
    >>> g = examples.prosecutor_judge()
    >>> weights, posts = posteriors_from_scheme(g, solve(g).scheme)
    >>> weights.round(6).tolist(), posts.round(6).tolist()     # they average back to the prior (0.7, 0.3)
    ([0.4, 0.6], [[1.0, 0.0], [0.5, 0.5]])
    """
    checked_game("posteriors_from_scheme()", game)
    ar = arithmetic(exact)
    prior = ar.data(game)[0]
    pi = checked_scheme("posteriors_from_scheme()", scheme, game.num_states, ar.dtype)
    joint = prior[:, None] * pi
    w = joint.sum(axis=0)
    keep = [s for s in range(pi.shape[1]) if w[s] > 0]
    return w[keep], np.array([joint[:, s] / w[s] for s in keep], dtype=pi.dtype).reshape(len(keep), -1)


def scheme_from_posteriors(game: PersuasionGame, weights: Sequence, posteriors, exact: bool = False,
                           tolerance: float = 1e-9) -> np.ndarray:
    """The scheme that induces the given distribution of posteriors.

    ``pi[w, s] = weights[s] posteriors[s][w] / prior[w]``; states with zero
    prior get the conditional distribution ``weights`` (any row would do).

    Raises ``InvalidArgumentError`` unless the posteriors are Bayes-plausible:
    ``sum_s weights[s] posteriors[s] = prior`` (exactly, or within ``tolerance``).

    Examples
    --------
    >>> from persuasion import examples, scheme_from_posteriors
    >>> scheme_from_posteriors(examples.prosecutor_judge(), [0.4, 0.6], [[1.0, 0.0], [0.5, 0.5]]).round(6).tolist()
    [[0.571429, 0.428571], [0.0, 1.0]]
    """
    checked_game("scheme_from_posteriors()", game)
    ar = arithmetic(exact)
    prior = ar.data(game)[0]
    dt = ar.dtype
    where = "scheme_from_posteriors()"
    try:
        w, P = np.asarray(weights, dtype=dt), np.asarray(posteriors, dtype=dt)
        finite = bool(np.isfinite(np.asarray(w, float)).all() and np.isfinite(np.asarray(P, float)).all())
    except (TypeError, ValueError, OverflowError) as err:
        raise InvalidArgumentError(where, "weights/posteriors", "must hold real numbers", str(err)) from None
    if w.ndim != 1:
        raise InvalidArgumentError(where, "weights", "must be a vector (P(signal) per signal)", f"shape {w.shape}")
    if not finite:
        raise InvalidArgumentError(where, "weights/posteriors", "entries must be finite", "a non-finite entry")
    if P.ndim != 2 or P.shape != (w.shape[0], game.num_states):
        raise InvalidArgumentError("scheme_from_posteriors()", "posteriors",
                                   f"must be a (signals x states) table matching weights ({w.shape[0]} x {game.num_states})",
                                   f"shape {P.shape}")
    if (w < 0).any() or (P < 0).any():
        raise InvalidArgumentError("scheme_from_posteriors()", "weights/posteriors", "must be non-negative", "a negative entry")
    mean = w.dot(P)
    err = max(abs(mean - prior))
    if not ar.close(err, 0, tolerance):
        raise InvalidArgumentError("scheme_from_posteriors()", "posteriors",
                                   "must average back to the prior (Bayes plausibility)", f"max error {err}")
    pi = np.empty((game.num_states, w.shape[0]), dtype=dt)
    for s in range(w.shape[0]):
        for i in range(game.num_states):
            pi[i, s] = w[s] * P[s, i] / prior[i] if prior[i] > 0 else w[s] / w.sum()
    return pi
