"""Best responses of the Receiver and the tie rules (see the package doc)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..arithmetic import Arithmetic, arithmetic
from ..errors import InvalidArgumentError
from ..game import PersuasionGame
from ..rational import dot
from ..scaling import tie_tolerance

TIE_RULES = ("sender", "adversarial", "lowest")


def _belief(game: PersuasionGame, belief, ar: Arithmetic, where: str) -> np.ndarray:
    m = game.num_states
    if ar.exact:
        b = np.array([x if isinstance(x, Fraction) else Fraction(x) for x in belief], dtype=object)
    else:
        b = np.asarray(belief, dtype=float)
    if b.shape != (m,):
        raise InvalidArgumentError(where, "belief", f"must have one entry per state ({m})", f"shape {b.shape}")
    if (b < 0).any():
        raise InvalidArgumentError(where, "belief", "must be non-negative", list(b))
    s = b.sum()
    if not ar.close(s, 1, 1e-9):
        raise InvalidArgumentError(where, "belief", "must sum to 1", s if ar.exact else float(s))
    return b


def _tolerances(game: PersuasionGame) -> tuple[float, float]:
    """Float tie tolerances for the Receiver's and the Advisor's expected utilities (relative to their
    spreads, so they mean the same at any units: :func:`persuasion.scaling.tie_tolerance`)."""
    return tie_tolerance(game.receiver), tie_tolerance(game.sender)


def _tied(values, target, ar: Arithmetic, tol: float) -> list[int]:
    return [i for i, v in enumerate(values) if ar.close(v, target, tol)]


def _select(game, receiver_payoff, sender_payoff, tie: str, ar: Arithmetic, prefer=None, tolerances=None) -> int:
    """The chosen action given one belief's expected payoffs for both players."""
    tol_u, tol_v = tolerances or _tolerances(game)
    top = max(receiver_payoff)
    cands = [a for a in range(len(receiver_payoff)) if ar.close(receiver_payoff[a], top, tol_u)]
    if tie == "lowest":
        return cands[0]
    sv = [sender_payoff[a] for a in cands]
    chosen = [cands[i] for i in _tied(sv, max(sv) if tie == "sender" else min(sv), ar, tol_v)]
    return int(prefer) if prefer is not None and prefer in chosen else int(chosen[0])


def best_responses(game: PersuasionGame, belief, exact: bool = False) -> np.ndarray:
    """Indices of all Receiver best responses to ``belief`` (ties within tolerance).

    Examples
    --------
    >>> from persuasion import best_responses, examples
    >>> best_responses(examples.prosecutor_judge(), [0.5, 0.5]).tolist()   # the judge is indifferent at 1/2
    [0, 1]
    """
    ar = arithmetic(exact)
    b = _belief(game, belief, ar, "best_responses()")
    payoff = dot(b, ar.data(game)[2])
    top = max(payoff)
    if ar.exact:
        return np.array([a for a, u in enumerate(payoff) if u == top], dtype=int)
    return np.flatnonzero(payoff >= top - _tolerances(game)[0])


def best_response(game: PersuasionGame, belief, tie: str = "sender", exact: bool = False,
                  prefer: int | None = None) -> int:
    """The Receiver's action at ``belief`` under a tie-breaking rule.

    Parameters
    ----------
    tie : {"sender", "adversarial", "lowest"}
        Among best responses: best for the Advisor, worst for it, or lowest index.
    prefer : int, optional
        Among actions still tied after ``tie``, choose this one if present
        (used to report that an obeyed recommendation is followed).

    Examples
    --------
    >>> from persuasion import best_response, examples
    >>> g = examples.prosecutor_judge()          # actions: acquit, convict
    >>> g.actions[best_response(g, [0.5, 0.5])], g.actions[best_response(g, [0.7, 0.3])]
    ('convict', 'acquit')
    """
    ar = arithmetic(exact)
    if tie not in TIE_RULES:
        raise InvalidArgumentError("best_response()", "tie", f"must be one of {TIE_RULES}", tie)
    b = _belief(game, belief, ar, "best_response()")
    _, V, U = ar.data(game)
    return _select(game, dot(b, U), dot(b, V), tie, ar, prefer)


def best_response_many(game: PersuasionGame, beliefs, tie: str = "sender", exact: bool = False,
                       prefer=None) -> np.ndarray:
    """:func:`best_response` for each row of ``beliefs`` (k x m), with two matrix products.

    ``prefer`` may be a sequence with one preferred action (or ``None``) per row.
    Rows are not validated (callers pass posteriors they built).  Beliefs need
    not be normalised: best responses are invariant to scaling a belief, and
    the float tie tolerance is applied to the normalised payoffs.
    """
    ar = arithmetic(exact)
    if tie not in TIE_RULES:
        raise InvalidArgumentError("best_response_many()", "tie", f"must be one of {TIE_RULES}", tie)
    B = np.asarray(beliefs, dtype=ar.dtype).reshape(-1, game.num_states)
    if not ar.exact:
        B = B / B.sum(axis=1, keepdims=True)
    _, V, U = ar.data(game)
    R, S = dot(B, U), dot(B, V)
    prefer = [None] * B.shape[0] if prefer is None else list(prefer)
    return np.array([_select(game, R[k], S[k], tie, ar, prefer[k]) for k in range(B.shape[0])], dtype=int)


def full_revelation_scheme_of(sender: np.ndarray, receiver: np.ndarray) -> np.ndarray:
    """Recommend, in each state, the Receiver's best action (ties: the Advisor's favourite), as a 0/1 scheme;
    the float tie rule of :func:`best_response`."""
    V, U = np.asarray(sender, float), np.asarray(receiver, float)
    m, n = U.shape
    tol = tie_tolerance(U)
    scheme = np.zeros((m, n))
    for w in range(m):
        best = np.flatnonzero(U[w] >= U[w].max() - tol)
        scheme[w, best[np.argmax(V[w, best])]] = 1.0
    return scheme
