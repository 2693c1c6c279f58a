"""``run(game, learner, T, seed)``: play the online persuasion protocol and track regret.

Each round ``t``: the learner commits to ``pi_t``; a state ``w_t ~ prior`` is
drawn; a signal ``s_t ~ pi_t[w_t]``; the Receiver, who knows the prior and the
committed scheme, forms its posterior and best responds (ties for the Advisor,
then for the recommendation), so a recommendation that is not obedient under
the true prior is overridden; the learner observes the round.

The trace records, per round, the committed scheme's expected Advisor utility
under the true prior with the Receiver's best responses (computed in floats,
ties judged by the package's per-comparison rule,
:func:`persuasion.analysis.near_best`; a scheme scoring above ``V*`` stops the
run with :class:`RegretAccountingError` instead of reporting negative regret), the
realised state, signal, action and utility, whether the Receiver obeyed, the
cumulative expected (pseudo-) regret ``sum_t (V* - E[V(pi_t)])``, the
cumulative realised regret ``sum_t (V* - V[w_t, a_t])``, and the bound curve
of :func:`persuasion.bounds.regret_bound`.

Rounds between two re-solves share one scheme, so they are simulated in
vectorised chunks: a million rounds of a small game take seconds.  With
``checkpoint=PATH`` the run is saved every ``checkpoint_every`` rounds at
chunk boundaries: the rounds played since the last checkpoint are appended to
``PATH.rows`` and the small state (learner, random generator, round) replaces
``PATH`` atomically, so a checkpoint costs the rounds since the last one, not
the whole trace.  A run started again with the same path resumes where the last
checkpoint left off: it loses no rounds and repeats none, and the final trace
equals that of an uninterrupted run.
"""
from __future__ import annotations

import math
import os
import pickle
from dataclasses import dataclass, field
from numbers import Real

import numpy as np

from ..atomic import remove_stale_temporaries, write_atomic
from ..progress import progress as progress_bar
from ..analysis import best_response_many
from ..analysis.posteriors import checked_scheme
from ..approximate import worst_delta_response
from ..bounds import regret_bound
from ..errors import InvalidArgumentError, PersuasionError, checked_flag, is_integer
from ..game import PersuasionGame, checked_game
from ..solution import fields_equal
from .learners import GameView, Learner

#: Rounds simulated per vectorised chunk (also the checkpoint granularity).
CHUNK = 1 << 15


@dataclass(eq=False)
class SchemeOutcome:
    """What a scheme does under the true prior.

    Examples
    --------
    >>> import numpy as np
    >>> from persuasion import examples
    >>> from persuasion.online import evaluate_scheme
    >>> always_convict = np.array([[0.0, 1.0], [0.0, 1.0]])    # the 'acquit' signal is never sent (-1)
    >>> evaluate_scheme(examples.prosecutor_judge(), always_convict).actions.tolist()
    [-1, 0]
    """

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)

    expected_utility: float
    actions: np.ndarray           # Receiver's action after each signal (-1: never sent)
    obedient: bool                # every sent recommendation is followed


def evaluate_scheme(game: PersuasionGame, scheme: np.ndarray, receiver_delta: float = 0.0) -> SchemeOutcome:
    """Expected Advisor utility of ``scheme`` under the true prior (floats), with the Receiver's best
    responses (per-comparison tie rule, ties for the Advisor, then for the recommendation), or,
    with ``receiver_delta > 0``, the worst delta-best response for the Advisor after each signal
    (:mod:`persuasion.approximate`).

    Examples
    --------
    >>> import numpy as np
    >>> from persuasion import examples
    >>> from persuasion.online import evaluate_scheme
    >>> out = evaluate_scheme(examples.prosecutor_judge(), np.eye(2))   # full revelation
    >>> round(out.expected_utility, 6), out.obedient
    (0.3, True)
    """
    checked_game("evaluate_scheme()", game)
    if isinstance(receiver_delta, bool) or not isinstance(receiver_delta, Real) or not 0 <= receiver_delta < math.inf:
        # a NaN compared False with 0 and the Receiver silently best responded
        raise InvalidArgumentError("evaluate_scheme()", "receiver_delta", "must be a finite number >= 0", receiver_delta)
    scheme = checked_scheme("evaluate_scheme()", scheme, game.num_states)
    prior, V = game.prior, game.sender
    joint = prior[:, None] * scheme
    probs = joint.sum(axis=0)
    n = scheme.shape[1]
    actions = np.full(n, -1, dtype=int)
    used = np.flatnonzero(probs > 0)
    if used.size and receiver_delta > 0:
        actions[used] = [worst_delta_response(game, joint[:, s] / probs[s], receiver_delta) for s in used]
    elif used.size:
        actions[used] = best_response_many(game, joint[:, used].T, prefer=used)
    value = float(sum(joint[:, s] @ V[:, actions[s]] for s in used))
    return SchemeOutcome(value, actions, bool(np.all(actions[used] == used)))


@dataclass(eq=False)
class Trace:
    """Per-round record of an online run (arrays of length ``T``).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.online import KnownPriorOracle, run
    >>> trace = run(examples.prosecutor_judge(), KnownPriorOracle(), T=1_000, seed=0)
    >>> trace.T, float(abs(trace.cumulative_regret).max()) < 1e-9    # the oracle has no regret
    (1000, True)
    """

    __eq__ = fields_equal          # arrays compared entry by entry (the default raised on them)

    game: str
    learner: str
    T: int
    seed: int
    delta: float
    optimal_value: float
    expected_utility: np.ndarray
    state: np.ndarray
    signal: np.ndarray
    action: np.ndarray
    utility: np.ndarray
    obeyed: np.ndarray
    bound: np.ndarray
    within_theorem: bool
    resolves: list = field(default_factory=list)

    @property
    def cumulative_regret(self) -> np.ndarray:
        """``sum_{s<=t} (V* - E[V(pi_s)])``: the expected (pseudo-) regret."""
        return np.cumsum(self.optimal_value - self.expected_utility)

    @property
    def cumulative_realised_regret(self) -> np.ndarray:
        """``sum_{s<=t} (V* - V[w_s, a_s])``: the realised regret."""
        return np.cumsum(self.optimal_value - self.utility)

    def summary(self, points: int = 200) -> dict:
        """Log-spaced samples of the curves (what a results file keeps), at most ``points`` of them."""
        if not is_integer(points, minimum=1):          # 2.5 or -1 failed inside numpy, 0 kept no round
            raise InvalidArgumentError("Trace.summary()", "points", "must be an integer >= 1", points)
        idx = np.unique(np.geomspace(1, self.T, num=min(points, self.T)).astype(int)) - 1
        return {"game": self.game, "learner": self.learner, "T": self.T, "seed": self.seed, "delta": self.delta,
                "optimal_value": self.optimal_value, "within_theorem": self.within_theorem,
                "rounds": (idx + 1).tolist(), "cumulative_regret": self.cumulative_regret[idx].tolist(),
                "cumulative_realised_regret": self.cumulative_realised_regret[idx].tolist(),
                "bound": self.bound[idx].tolist(), "obedience_rate": float(self.obeyed.mean()),
                "resolves": len(self.resolves)}


def _learner_id(learner) -> str:
    """The learner's name and settings (what a resumed run must match)."""
    settings = {k: v for k, v in vars(learner).items() if k in ("delta", "schedule", "explore_rounds", "guard")}
    return f"{learner.name}{sorted(settings.items())}"


def run(game: PersuasionGame, learner: Learner, T: int, seed: int, *, delta: float | None = None,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 8 * CHUNK, progress: bool = False,
        stop_after: int | None = None, receiver_delta: float = 0.0) -> Trace:
    """Play ``T`` rounds of online persuasion and return the :class:`Trace`.

    Parameters
    ----------
    game : PersuasionGame
        Its prior is the true state distribution, hidden from the learner.
    learner : Learner
        E.g. ``RobustPersuader(delta=0.05)``, ``ExploreThenCommit()``, ``KnownPriorOracle()``.
    T : int
        Number of rounds.
    seed : int
        Seed of the state and signal draws.
    delta : float, optional
        The ``delta`` of the bound curve; default the learner's ``delta`` or 0.05.  A learner with its own
        ``delta`` refuses another one.
    checkpoint : path, optional
        Save progress here and resume from it if it exists.
    checkpoint_every : int
        Rounds between checkpoints (rounded up to whole chunks).
    progress : bool
        Show a tqdm progress bar.
    stop_after : int, optional
        Stop (returning ``None``) once this many rounds are done in total, as an
        interruption would; used to test resumption.
    receiver_delta : float
        0 (default): the Receiver best responds (ties for the Advisor).  ``> 0``: it takes the worst
        delta-best response for the Advisor (an approximately rational Receiver); regret is still
        measured against ``V*``, and the bound curve, which assumes exact best responses, is reported as
        computed but does not apply (``within_theorem`` is False).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.online import RobustPersuader, run
    >>> trace = run(examples.prosecutor_judge(), RobustPersuader(delta=0.05), T=20_000, seed=0)
    >>> bool((trace.cumulative_regret <= trace.bound).all())      # the proven bound, at every round
    True
    """
    delta = _check_run_arguments(game, learner, T, delta, receiver_delta, seed, checkpoint_every, stop_after,
                                 progress)
    T = int(T)
    path = os.fspath(checkpoint) if checkpoint is not None else None
    identity = {"T": T, "seed": int(seed), "game": game.to_dict(), "receiver_delta": float(receiver_delta)}
    run_state = _resume(path, identity, learner) if path else None
    if run_state is None:
        run_state = _fresh(game, learner, T, seed)
    learner = run_state.learner
    v_star = optimal_value(game)
    bar = progress_bar(None, f"{learner.name} on {game.name or 'game'}", unit="round", total=T,
                       initial=run_state.t - 1, enabled=progress)
    last_saved = run_state.t
    saved_rows = run_state.t - 1
    outcome, outcome_of = None, None
    try:
        while run_state.t <= T:
            t = run_state.t
            if learner.is_update(t):
                run_state.resolves.append(t)
            scheme = learner.commit(t)
            if scheme is not outcome_of:
                outcome, outcome_of = evaluate_scheme(game, scheme, receiver_delta), scheme
                _check_accounting(game, learner, t, scheme, outcome, v_star)
            chunk_end = ((t - 1) // CHUNK + 1) * CHUNK          # chunk boundaries are fixed: resumable
            end = int(min(T, learner.next_update(t) - 1, chunk_end))
            _play(game, run_state, scheme, outcome, t, end)
            bar.update(end - t + 1)
            at_boundary = (run_state.t - 1) % CHUNK == 0 or run_state.t > T
            if path and at_boundary and (run_state.t - last_saved >= checkpoint_every or run_state.t > T):
                saved_rows = _save(path, identity, run_state, saved_rows)
                last_saved = run_state.t
            if stop_after is not None and run_state.t - 1 >= stop_after and run_state.t <= T:
                return None
    finally:
        bar.close()
    rb = regret_bound(game, np.arange(1, T + 1), delta, guarded=getattr(learner, "guard", True))
    return Trace(game.name or "game", learner.name, T, int(seed), delta, rb.optimal_value, bound=rb.value,
                 within_theorem=rb.within_theorem and receiver_delta == 0, resolves=run_state.resolves,
                 **run_state.arrays)


class RegretAccountingError(PersuasionError, AssertionError):
    """A committed scheme scored above the optimum: the regret would come out negative, which is impossible
    for a correct Receiver model; the run stops rather than report it.

    Examples
    --------
    A Receiver model that always obeys would let an always-'convict' scheme score 0.7 > V* = 0.6:

    >>> import numpy as np
    >>> from persuasion import examples
    >>> from persuasion.online import RegretAccountingError, RobustPersuader, SchemeOutcome
    >>> from persuasion.online.engine import _check_accounting
    >>> g, always = examples.prosecutor_judge(), np.array([[0.0, 1.0], [0.0, 1.0]])
    >>> try:
    ...     _check_accounting(g, RobustPersuader(), 1, always, SchemeOutcome(0.7, np.array([-1, 1]), True), 0.6)
    ... except RegretAccountingError as e:
    ...     print(str(e)[:60])
    run(): on game prosecutor-judge, the scheme robust committed
    """


def _check_accounting(game: PersuasionGame, learner, t: int, scheme, outcome: SchemeOutcome, v_star: float) -> None:
    """Stop the run if ``scheme`` is worth more than ``V*`` beyond float rounding beside the value's size
    (``1e-6`` of ``sum prior x |V|``, or four ulps of ``max |V|``): a Receiver that follows a recommendation
    it should override, or a wrong ``V*``, would otherwise show as negative regret."""
    size = max(float((game.prior[:, None] * np.asarray(scheme, float) * np.abs(game.sender)).sum()), abs(v_star))
    allowed = max(1e-6 * size, 4 * np.finfo(float).eps * float(np.abs(game.sender).max()))
    if outcome.expected_utility > v_star + allowed:
        raise RegretAccountingError(
            f"run(): on game {game.name or '(unnamed)'}, the scheme {learner.name} committed at round {t} scores "
            f"{outcome.expected_utility!r} under the true prior, above the optimum V* = {v_star!r} by more than "
            f"{allowed:.3g}: the regret would be negative.  The Receiver's best responses or V* are wrong for "
            "this game; please report it with the game file")


def optimal_value(game: PersuasionGame) -> float:
    """``V*``, solved exactly once per game (shared with the bound's constants)."""
    from ..bounds import _constants
    return _constants(game)[0]


#: One round as stored in a checkpoint's rows file (appended, never rewritten).
ROW = np.dtype([("expected_utility", "<f8"), ("state", "<i4"), ("signal", "<i4"), ("action", "<i4"),
                ("utility", "<f8"), ("obeyed", "?")])


def rows_path(path) -> str:
    """The file beside checkpoint ``path`` that holds the rounds played so far, one :data:`ROW` each."""
    return os.fspath(path) + ".rows"


def remove_checkpoint(path) -> None:
    """Delete a run's checkpoint and its rows file (after its result is safely written)."""
    for p in (os.fspath(path), rows_path(path)):
        try:
            os.remove(p)
        except FileNotFoundError:
            pass


@dataclass
class _RunState:
    """Everything a run needs to continue: the learner, the random stream, the arrays so far, the round."""

    learner: Learner
    rng: np.random.Generator
    arrays: dict
    t: int
    resolves: list


def _check_run_arguments(game, learner, T: int, delta, receiver_delta, seed, checkpoint_every, stop_after,
                         progress) -> float:
    """Validate ``run()``'s arguments; returns the ``delta`` of the bound curve."""
    checked_game("run()", game)
    if isinstance(receiver_delta, bool) or not isinstance(receiver_delta, Real) or not 0 <= receiver_delta < math.inf:
        raise InvalidArgumentError("run()", "receiver_delta", "must be a finite number >= 0", receiver_delta)
    if not is_integer(checkpoint_every, minimum=1):         # 0 or -5 were taken (as "every chunk")
        raise InvalidArgumentError("run()", "checkpoint_every", "must be an integer >= 1", checkpoint_every)
    if stop_after is not None and not is_integer(stop_after, minimum=0):
        raise InvalidArgumentError("run()", "stop_after", "must be an integer >= 0 or None", stop_after)
    checked_flag("run()", "progress", progress)                         # 1, 0 and None read as their bools
    if delta is not None and (isinstance(delta, bool) or not isinstance(delta, Real) or not 0 < delta < 1):
        raise InvalidArgumentError("run()", "delta", "must be in (0, 1) or None", delta)
    if not is_integer(T, minimum=1):
        raise InvalidArgumentError("run()", "T", "must be at least 1 (an integer)", T)
    if not is_integer(seed, minimum=0):
        raise InvalidArgumentError("run()", "seed", "must be an integer >= 0", seed)
    if not isinstance(learner, Learner):
        raise InvalidArgumentError("run()", "learner", "must be a Learner", type(learner).__name__)
    own = getattr(learner, "delta", None)
    if delta is not None and own is not None and float(delta) != float(own):
        raise InvalidArgumentError("run()", "delta", f"must equal the learner's delta ({own}) or be left out: the "
                                   "bound holds for the delta the learner's confidence box was built with", delta)
    return float(delta if delta is not None else (own if own is not None else 0.05))


def _fresh(game: PersuasionGame, learner: Learner, T: int, seed: int) -> _RunState:
    learner.reset(GameView.of(game), T, prior=game.prior if learner.uses_true_prior else None)
    return _RunState(learner, np.random.default_rng(seed), _empty_arrays(T), 1, [])


def _empty_arrays(T: int) -> dict:
    return {name: np.zeros(T, ROW[name]) for name in ROW.names}


def _resume(path: str, identity: dict, learner: Learner) -> _RunState | None:
    """The run saved at ``path`` (None if there is none), after checking it is this run's."""
    remove_stale_temporaries(path)               # half-written checkpoints of a killed run
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as fh:
            state = pickle.load(fh)
        if not isinstance(state, dict) or not {"T", "seed", "game", "learner", "rng", "rows", "t"} <= set(state):
            raise ValueError("not a checkpoint of run()")
        rows = np.fromfile(rows_path(path), ROW, count=state["rows"]) if state["rows"] else np.empty(0, ROW)
        if rows.size != state["rows"]:
            raise ValueError(f"{rows_path(path)} holds {rows.size} rounds, the checkpoint says {state['rows']}")
    except Exception as e:                       # truncated, corrupt or foreign file
        raise InvalidArgumentError("run()", "checkpoint", f"cannot be read ({type(e).__name__}: {str(e)[:80]}); "
                                   "delete it to start the run afresh", path) from None
    saved = {k: state.get(k, 0.0 if k == "receiver_delta" else None) for k in identity}
    if saved != identity:
        raise InvalidArgumentError("run()", "checkpoint", "belongs to another run (game, T, seed or receiver_delta "
                                   "differ)", path)
    if _learner_id(state["learner"]) != _learner_id(learner):
        raise InvalidArgumentError("run()", "checkpoint", f"was written by learner {_learner_id(state['learner'])}, "
                                   f"not {_learner_id(learner)}", path)
    rng = np.random.default_rng()
    rng.bit_generator.state = state["rng"]
    arrays = _empty_arrays(identity["T"])
    for name in ROW.names:
        arrays[name][:rows.size] = rows[name]
    return _RunState(state["learner"], rng, arrays, state["t"], state["resolves"])


def _play(game: PersuasionGame, rs: _RunState, scheme, outcome: SchemeOutcome, t: int, end: int) -> None:
    """Rounds ``t .. end`` under ``scheme``: draw states and signals, record, and tell the learner."""
    m, n = game.shape
    L = end - t + 1
    states = rs.rng.choice(m, size=L, p=game.prior)
    cdf = np.cumsum(scheme, axis=1)
    u = rs.rng.random(L)
    signals = np.minimum((u[:, None] >= cdf[states]).sum(axis=1), n - 1)
    actions = outcome.actions[signals]
    utilities = game.sender[states, actions]
    sl, a = slice(t - 1, end), rs.arrays
    a["expected_utility"][sl] = outcome.expected_utility
    a["state"][sl], a["signal"][sl], a["action"][sl] = states, signals, actions
    a["utility"][sl] = utilities
    a["obeyed"][sl] = actions == signals
    rs.learner.observe(t, states, signals, actions, utilities)
    rs.t = end + 1


def _save(path: str, identity: dict, rs: _RunState, saved_rows: int) -> int:
    """Append rounds ``saved_rows + 1 .. t - 1`` to the rows file, then replace the small state file (learner,
    random stream, round, rows count) atomically; returns the rows now saved.  Each checkpoint writes only
    the rounds since the last one.  A crash between the two writes leaves extra rows, which the next
    resume cuts back to the count the state file records."""
    rows = rs.t - 1
    block = np.empty(rows - saved_rows, ROW)
    for name in ROW.names:
        block[name] = rs.arrays[name][saved_rows:rows]
    with open(rows_path(path), "r+b" if os.path.exists(rows_path(path)) else "wb") as fh:
        fh.seek(saved_rows * ROW.itemsize)
        fh.truncate()
        fh.write(block.tobytes())
        fh.flush()
        os.fsync(fh.fileno())
    write_atomic(path, pickle.dumps({**identity, "learner": rs.learner, "rng": rs.rng.bit_generator.state,
                                     "rows": rows, "t": rs.t, "resolves": rs.resolves},
                                    protocol=pickle.HIGHEST_PROTOCOL))
    return rows
