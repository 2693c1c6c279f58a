"""Best responses of the Receiver and the tie rules (see the package doc)."""
from __future__ import annotations

import numpy as np

from ..arithmetic import Arithmetic, arithmetic
from ..errors import InvalidArgumentError, checked_nonnegative
from ..game import PersuasionGame, _entry_to_fraction, checked_game
from ..rational import dot
from ..scaling import TIE_TOLERANCE

TIE_RULES = ("sender", "adversarial", "lowest")


def _belief(game: PersuasionGame, belief, ar: Arithmetic, where: str) -> np.ndarray:
    """``belief`` checked, in the arithmetic.  On the exact path floats are read as the game reads them (the
    shortest decimal: 0.1 is 1/10), and a belief with a float entry, like a float prior, may sum to 1
    within ``1e-9`` and is then divided by its sum; one of fractions, integers or strings must sum to 1
    exactly."""
    m = game.num_states
    try:
        if ar.exact:
            entries = list(belief) if np.ndim(belief) == 1 else [belief]
            b = np.array([_entry_to_fraction(x) for x in entries], dtype=object)
            floats = any(isinstance(x, (float, np.floating)) for x in entries)
        else:
            b = np.asarray(belief, dtype=float)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError) as err:
        raise InvalidArgumentError(where, "belief", "must be a vector of real numbers", str(err)) from None
    if b.shape != (m,):
        raise InvalidArgumentError(where, "belief", f"must have one entry per state ({m})", f"shape {b.shape}")
    if (b < 0).any():
        raise InvalidArgumentError(where, "belief", "must be non-negative", list(b))
    s = b.sum()
    if ar.exact and floats and s != 1 and abs(float(s) - 1) <= 1e-9:
        return b / s
    if not ar.close(s, 1, 1e-9):
        raise InvalidArgumentError(where, "belief", "must sum to 1" + (" exactly (its entries are rational)"
                                   if ar.exact and not floats else ""), s if ar.exact else float(s))
    return b


def near_best(M: np.ndarray, beliefs, tol: float = TIE_TOLERANCE) -> np.ndarray:
    """Float tie rule: which actions are best, up to ties, for each belief (rows of ``beliefs``, any scale).

    Action ``c`` beats action ``a`` at belief ``p`` when

        sum_w p[w] (M[w, c] - M[w, a])  >  tol * sum_w p[w] |M[w, c] - M[w, a]|,

    the difference summed from per-state differences (so a shift common to a state cancels before any
    rounding), and ``a`` is near-best when no action beats it.  The tolerance is relative to the terms of
    that one comparison, not to the game's largest utility: the rule is unchanged when a state's utilities
    are multiplied by a positive number or shifted (with the belief divided by that number), so a
    difference of ``1e-10`` in one state is not lost beside a spread of ``1e10`` in another.  Rounding in
    the sums is below ``m`` ulps of the right-hand side, far below ``tol``.  In a single state (a
    degenerate belief) it is exact equality.

    "Beats" has no cycles (around one, the left-hand sides add up to zero, yet each would be positive), so
    the set is never empty and holds every exactly best action.  "Ties" is not transitive: ``a`` may tie
    the best action ``b`` while a third action, also tied with ``b``, beats ``a`` by a whole difference of
    ``1e-12`` in every state.  Such an ``a`` is not near-best, and which action ``argmax`` happens to find
    first (rounding can make it ``b`` in one batch and another action in the next) does not change the set.

    Returns a boolean ``(k, n)`` mask (``(n,)`` for a single belief).
    """
    where = "near_best()"
    M, B = _reals(where, "M", M), _reals(where, "beliefs", beliefs)
    if M.ndim != 2:
        raise InvalidArgumentError(where, "M", "must be a states x actions table", f"shape {M.shape}")
    if not np.isfinite(M).all():
        raise InvalidArgumentError(where, "M", "entries must be finite numbers", _first_bad(M, np.isfinite(M)))
    if B.ndim not in (1, 2) or B.shape[-1] != M.shape[0]:
        raise InvalidArgumentError(where, "beliefs", f"must be a belief or a table of them, {M.shape[0]} "
                                   "entries each (one per row of M)", f"shape {B.shape}")
    if not (ok := np.isfinite(B) & (B >= 0)).all():
        raise InvalidArgumentError(where, "beliefs", "entries must be finite numbers >= 0", _first_bad(B, ok))
    checked_nonnegative(where, "tol", tol)       # NaN made no action beat another: every action near-best
    return _near_best(M, B, float(tol))


def _reals(where: str, name: str, value) -> np.ndarray:
    """``value`` as a float array, or an error naming ``name`` (numpy's own said only "could not convert")."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(where, name, "must hold real numbers", str(err)) from None


def _first_bad(values: np.ndarray, ok: np.ndarray) -> str:
    """Where ``values`` first breaks its rule (``ok`` false), for a message that stays one line."""
    at = tuple(int(i) for i in np.argwhere(~ok)[0])
    return f"{values[at]} at index {at[0] if len(at) == 1 else at}"


def _near_best(M: np.ndarray, B: np.ndarray, tol: float = TIE_TOLERANCE) -> np.ndarray:
    """:func:`near_best` on arrays already checked (finite float ``M``, beliefs of its width): the package's
    own callers, in their hot loops, pass what they built from a checked game."""
    single = B.ndim == 1
    B = B.reshape(-1, M.shape[0])
    top = np.argmax(B @ M, axis=1)
    mask = np.zeros((B.shape[0], M.shape[1]), dtype=bool)
    pending = np.arange(B.shape[0])
    for _ in range(M.shape[1] + 1):                  # each pass moves a row's best action strictly up
        if not pending.size:
            break
        moved = []
        for b in np.unique(top[pending]):
            rows = pending[top[pending] == b]
            D = M - M[:, b:b + 1]                    # per-state differences to the candidate best
            d, S = B[rows] @ D, B[rows] @ np.abs(D)
            better = d > tol * S
            up = better.any(axis=1)
            mask[rows[~up]] = (d >= -tol * S)[~up]
            if up.any():
                top[rows[up]] = np.argmax(np.where(better[up], d[up] / np.where(S[up] > 0, S[up], 1.0), -np.inf),
                                          axis=1)
                moved.append(rows[up])
        pending = np.concatenate(moved) if moved else np.empty(0, dtype=int)
    mask[pending, top[pending]] = True               # unreachable in exact arithmetic; never leave a row empty
    # No action beats ``top``, but an action that ties it may still be beaten by another that ties it too.
    tied_rows = np.flatnonzero(mask.sum(axis=1) > 1)
    for a in np.unique(np.nonzero(mask[tied_rows])[1]):
        rows = tied_rows[mask[tied_rows, a] & (top[tied_rows] != a)]
        if rows.size:
            D = M - M[:, a:a + 1]
            beaten = (B[rows] @ D > tol * (B[rows] @ np.abs(D))).any(axis=1)
            mask[rows[beaten], a] = False
    return mask[0] if single else mask


def _candidates(M, belief, ar: Arithmetic, among=None) -> list[int]:
    """The best actions of ``M`` at ``belief`` (exactly, or by :func:`near_best`), restricted to ``among``."""
    cols = list(range(M.shape[1])) if among is None else list(among)
    if ar.exact:
        payoff = dot(belief, M[:, cols])
        top = max(payoff)
        return [a for a, u in zip(cols, payoff) if u == top]
    mask = _near_best(np.asarray(M, float)[:, cols], np.asarray(belief, float))
    return [a for a, keep in zip(cols, mask) if keep]


def _select(game, belief, tie: str, ar: Arithmetic, prefer=None) -> int:
    """The chosen action at one belief: the Receiver's best responses, then the tie rule."""
    _, V, U = ar.data(game)
    cands = _candidates(U, belief, ar)
    if tie == "lowest":
        return cands[0]
    chosen = _candidates(V if tie == "sender" else -V, belief, ar, among=cands)
    return int(prefer) if prefer is not None and prefer in chosen else int(chosen[0])


def best_responses(game: PersuasionGame, belief, exact: bool = False) -> np.ndarray:
    """Indices of all Receiver best responses to ``belief`` (ties within tolerance).

    Examples
    --------
    >>> from persuasion import best_responses, examples
    >>> best_responses(examples.prosecutor_judge(), [0.5, 0.5]).tolist()   # the judge is indifferent at 1/2
    [0, 1]
    """
    checked_game("best_responses()", game)
    ar = arithmetic(exact)
    b = _belief(game, belief, ar, "best_responses()")
    return np.array(_candidates(ar.data(game)[2], b, ar), dtype=int)


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
    checked_game("best_response()", game)
    ar = arithmetic(exact)
    if tie not in TIE_RULES:
        raise InvalidArgumentError("best_response()", "tie", f"must be one of {TIE_RULES}", tie)
    b = _belief(game, belief, ar, "best_response()")
    return _select(game, b, tie, ar, prefer)


def _beliefs(where: str, beliefs, m: int, dtype) -> np.ndarray:
    """``beliefs`` as a ``(k, m)`` array of ``dtype``, or an error naming them: a shape that does not fit
    or a NaN (which ended in a reshape or an index error) is refused; the scale is not checked (any
    positive multiple of a belief has the same best responses)."""
    try:
        B = np.asarray(beliefs, dtype=dtype)
        finite = bool(np.isfinite(np.asarray(B, dtype=float)).all())
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgumentError(where, "beliefs", "must be real numbers, a row of m per belief", beliefs) from None
    if B.ndim not in (1, 2) or B.shape[-1] != m:
        raise InvalidArgumentError(where, "beliefs", f"must be a belief or a table of them, {m} entries each "
                                   "(one per state)", f"shape {B.shape}")
    if not finite:
        raise InvalidArgumentError(where, "beliefs", "entries must be finite", "a non-finite entry")
    return B.reshape(-1, m)


def best_response_many(game: PersuasionGame, beliefs, tie: str = "sender", exact: bool = False,
                       prefer=None) -> np.ndarray:
    """:func:`best_response` for each row of ``beliefs`` (k x m), with two matrix products.

    ``prefer`` may be a sequence with one preferred action (or ``None``) per row.
    Rows are not validated (callers pass posteriors they built).  Beliefs need
    not be normalised: best responses, and the float tie rule (:func:`near_best`),
    are invariant to scaling a belief.
    """
    checked_game("best_response_many()", game)
    ar = arithmetic(exact)
    if tie not in TIE_RULES:
        raise InvalidArgumentError("best_response_many()", "tie", f"must be one of {TIE_RULES}", tie)
    B = _beliefs("best_response_many()", beliefs, game.num_states, ar.dtype)
    prefer = [None] * B.shape[0] if prefer is None else list(prefer)
    if len(prefer) != B.shape[0]:
        raise InvalidArgumentError("best_response_many()", "prefer", f"must have one entry per belief ({B.shape[0]})",
                                   f"{len(prefer)} entries")
    if ar.exact:
        return np.array([_select(game, B[k], tie, ar, prefer[k]) for k in range(B.shape[0])], dtype=int)
    _, V, U = ar.data(game)
    tied = _near_best(U, B)
    if tie == "lowest":
        return np.argmax(tied, axis=1)
    out = np.empty(B.shape[0], dtype=int)
    for k in range(B.shape[0]):                   # the Advisor's choice among the few tied actions
        cands = np.flatnonzero(tied[k])
        chosen = cands[_near_best((V if tie == "sender" else -V)[:, cands], B[k])] if cands.size > 1 else cands
        out[k] = prefer[k] if prefer[k] is not None and prefer[k] in chosen else chosen[0]
    return out


def full_revelation_scheme_of(sender: np.ndarray, receiver: np.ndarray) -> np.ndarray:
    """Recommend, in each state, the Receiver's best action (ties: the Advisor's favourite, then the lowest
    index), as a 0/1 scheme.  Within one state a tie is an exact equality (what :func:`near_best` says at a
    degenerate belief), so this is the same scheme in floats and in fractions."""
    where = "full_revelation_scheme_of()"
    V, U = np.asarray(sender), np.asarray(receiver)
    if U.ndim != 2 or V.shape != U.shape:
        raise InvalidArgumentError(where, "sender/receiver", "must be two states x actions tables of one shape",
                                   f"shapes {V.shape}, {U.shape}")
    if not (np.isfinite(_reals(where, "receiver", U)).all() and np.isfinite(_reals(where, "sender", V)).all()):
        raise InvalidArgumentError(where, "sender/receiver", "must hold finite numbers",   # NaN: no best action
                                   "a non-finite entry")
    return _full_revelation(V, U)


def _full_revelation(V: np.ndarray, U: np.ndarray) -> np.ndarray:
    """:func:`full_revelation_scheme_of` on tables already checked (a game's, or a learner's view of one)."""
    m, n = U.shape
    scheme = np.zeros((m, n))
    for w in range(m):
        best = np.flatnonzero(U[w] == U[w].max())
        scheme[w, best[np.argmax(V[w, best])]] = 1.0
    return scheme
