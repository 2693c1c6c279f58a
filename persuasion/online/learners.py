"""Online learners: objects the caller drives.

Protocol for rounds ``t = 1..T`` (see :func:`persuasion.online.run`):

1. ``scheme = learner.commit(t)``: the Advisor commits to a scheme for round ``t``;
   it stays committed until round ``learner.next_update(t) - 1``;
2. a state is drawn from the prior (unknown to the learner), a signal from the
   scheme, and the Receiver, who knows the prior and the scheme, best responds;
3. ``learner.observe(t, states, signals, actions, utilities)`` reports the
   feedback of rounds ``t, t+1, ...`` played under that one scheme.

Every learner is given the utilities and labels (a :class:`GameView`), never
the prior, except :class:`KnownPriorOracle`, the zero-regret reference.
Each states what it observes in ``observes``.  Learners are plain picklable
objects, so a run can be checkpointed and resumed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from numbers import Real

import numpy as np

from ..analysis.responses import _full_revelation
from ..analysis.posteriors import checked_scheme
from ..confidence import box, l1_radius, radius, worst_case_advantage
from ..errors import InvalidArgumentError, is_integer
from ..game import PersuasionGame
from ..solve import solve
from .robust import solve_robust

NEVER = math.inf


def _integer(where: str, name: str, value, minimum: int) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) of at least ``minimum``; else the error naming it.
    A float is refused, not truncated: ``explore_rounds=0.5`` once explored for no round at all."""
    if not is_integer(value, minimum):
        raise InvalidArgumentError(where, name, f"must be an integer >= {minimum}", value)
    return int(value)


def _number(where: str, name: str, value, inside, interval: str) -> float:
    """``value`` as a ``float`` if it is a real number (not a bool, not NaN) for which ``inside`` holds."""
    if isinstance(value, bool) or not isinstance(value, Real) or not inside(float(value)):
        raise InvalidArgumentError(where, name, f"must be in {interval} (a number)", value)
    return float(value)


@dataclass(frozen=True)
class GameView:
    """What a learner may know of the game: utilities and labels, not the prior.

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.online import GameView
    >>> view = GameView.of(examples.prosecutor_judge())
    >>> view.actions, hasattr(view, "prior")                         # the prior is what the learner lacks
    (('acquit', 'convict'), False)
    """

    sender: np.ndarray
    receiver: np.ndarray
    states: tuple
    actions: tuple

    @classmethod
    def of(cls, game: PersuasionGame) -> "GameView":
        return cls(game.sender, game.receiver, game.states, game.actions)

    @property
    def shape(self) -> tuple[int, int]:
        return self.sender.shape


def full_revelation_scheme(view: GameView) -> np.ndarray:
    """Recommend, in each state, the Receiver's best action (ties: the Advisor's favourite).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.online import GameView, full_revelation_scheme
    >>> full_revelation_scheme(GameView.of(examples.prosecutor_judge())).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    if not isinstance(view, (GameView, PersuasionGame)):        # a dict ended in an AttributeError
        raise InvalidArgumentError("full_revelation_scheme()", "view", "must be a GameView or a PersuasionGame",
                                   type(view).__name__)
    return _full_revelation(np.asarray(view.sender), np.asarray(view.receiver))


class Learner:
    """Base class.  Subclasses set ``name`` and ``observes`` and implement ``_scheme``.

    Examples
    --------
    A learner that always reveals the state, written from scratch:

    >>> import numpy as np
    >>> from persuasion import examples
    >>> from persuasion.online import Learner, run
    >>> class Reveal(Learner):
    ...     name, observes = "reveal", "states"
    ...     def _scheme(self, t):
    ...         return np.eye(self.view.sender.shape[0], self.view.sender.shape[1])
    >>> trace = run(examples.prosecutor_judge(), Reveal(), T=100, seed=0)
    >>> round(float(trace.expected_utility[0]), 6)
    0.3
    """

    name = "learner"
    observes = ""
    uses_true_prior = False

    def reset(self, view: GameView, horizon: int, prior: np.ndarray | None = None) -> None:
        self.view, self.horizon = view, int(horizon)
        m = view.shape[0]
        self.counts = np.zeros(m, dtype=np.int64)
        self.samples = 0
        self._scheme_cache = None
        self.history: list[dict] = []

    def commit(self, t: int) -> np.ndarray:
        """The scheme for round ``t`` (re-solved if the schedule says so)."""
        if self._scheme_cache is None or self.is_update(t):
            self._scheme_cache = self._scheme(t)
            self._scheme_cache.setflags(write=False)
        return self._scheme_cache

    def is_update(self, t: int) -> bool:
        return t == 1

    def next_update(self, t: int) -> float:
        """The first round after ``t`` at which the scheme may change."""
        return NEVER

    def observe(self, t: int, states, signals, actions, utilities) -> None:
        """Feedback of rounds ``t .. t + len(states) - 1``; default: count states."""
        self.counts += np.bincount(np.asarray(states), minlength=self.counts.shape[0])
        self.samples += len(states)

    @property
    def empirical_prior(self) -> np.ndarray:
        m = self.counts.shape[0]
        return self.counts / self.samples if self.samples else np.full(m, 1.0 / m)

    def _scheme(self, t: int) -> np.ndarray:
        raise NotImplementedError


class KnownPriorOracle(Learner):
    """Commits to the exact optimum for the true prior: zero regret (the reference).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.online import KnownPriorOracle, run
    >>> round(float(run(examples.prosecutor_judge(), KnownPriorOracle(), T=10, seed=0).expected_utility[0]), 6)
    0.6
    """

    name = "oracle"
    observes = "nothing: it is given the true prior"
    uses_true_prior = True

    def reset(self, view, horizon, prior=None):
        super().reset(view, horizon)
        if prior is None:
            raise InvalidArgumentError("KnownPriorOracle.reset()", "prior", "must be given to the oracle", None)
        self._prior = np.asarray(prior, dtype=float)

    def _scheme(self, t):
        game = PersuasionGame(self._prior, self.view.sender, self.view.receiver)
        sol = solve(game, exact=True)
        return np.array(sol.scheme, dtype=float)


class FullRevelation(Learner):
    """Ignores all data and reveals the state: linear regret wherever persuasion binds.

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.online import FullRevelation, run
    >>> trace = run(examples.prosecutor_judge(), FullRevelation(), T=1_000, seed=0)
    >>> round(float(trace.cumulative_regret[-1]), 6)                 # (0.6 - 0.3) per round
    300.0
    """

    name = "full-revelation"
    observes = "nothing (it ignores the data)"

    def _scheme(self, t):
        return full_revelation_scheme(self.view)


class ExploreThenCommit(Learner):
    """Reveal the state for ``explore_rounds`` rounds, then commit to the optimum for the empirical prior.

    Parameters
    ----------
    explore_rounds : int, optional
        Default ``ceil(T^(2/3))`` for horizon ``T``.

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.online import ExploreThenCommit, run
    >>> trace = run(examples.prosecutor_judge(), ExploreThenCommit(explore_rounds=100), T=1_000, seed=0)
    >>> round(float(trace.expected_utility[0]), 6)                   # it reveals the state while exploring
    0.3
    """

    name = "explore-then-commit"
    observes = "the realised state of each round"

    def __init__(self, explore_rounds: int | None = None):
        if explore_rounds is not None:
            explore_rounds = _integer("ExploreThenCommit()", "explore_rounds", explore_rounds, 0)
        self.explore_rounds = explore_rounds

    def reset(self, view, horizon, prior=None):
        super().reset(view, horizon)
        self.n0 = int(self.explore_rounds if self.explore_rounds is not None else math.ceil(horizon ** (2 / 3)))

    def is_update(self, t):
        return t == 1 or t == self.n0 + 1

    def next_update(self, t):
        return self.n0 + 1 if t <= self.n0 else NEVER

    def _scheme(self, t):
        if t <= self.n0:
            return full_revelation_scheme(self.view)
        game = PersuasionGame(self.empirical_prior, self.view.sender, self.view.receiver)
        return np.array(solve(game).scheme, dtype=float)


class RobustPersuader(Learner):
    """Commit to the best scheme obedient for every prior in a confidence box, unless full revelation may be
    better.

    At each update round ``t`` it has seen ``s = t - 1`` states; the box is
    ``|mu - mu_hat| <= radius(s, m, delta / 2)`` clipped to ``[0, 1]`` (see
    :mod:`persuasion.online.confidence`), which holds for all rounds at once
    with probability ``1 - delta / 2``; the objective uses ``mu_hat``.  The
    other ``delta / 2`` is spent by the analysis (docs/theory.md): the l1 ball
    ``|mu - mu_hat|_1 <= l1_radius(s, m, delta / 2)`` holds on it, so the
    regret bound holds with probability ``1 - delta``.

    The guard (default): the robust scheme ``pi`` is played only if it is certified no worse than full
    revelation ``R`` for every prior in the box that is also in that l1 ball, i.e.
    ``min_mu sum_w mu[w] sum_a (pi - R)[w, a] V[w, a] >= 0``, computed exactly
    (:func:`persuasion.confidence.worst_case_advantage`); otherwise ``R`` is played.  On the good event
    its regret is then at most ``F t`` at every ``t`` (``F = V* - V(R)``), never worse than revealing the
    state, besides the robust bound up to a constant (docs/theory.md, "The guard").

    Parameters
    ----------
    delta : float in (0, 1)
        Failure probability of the regret bound.
    schedule : {"doubling", "every-round"}
        Re-solve at rounds 1, 2, 4, 8, ... (default), or every round.
    guard : bool
        Play full revelation unless the robust scheme is certified no worse (default True).  ``False`` is
        the earlier learner, whose bound can exceed ``F t`` for tens of thousands of rounds.

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.online import RobustPersuader, run
    >>> trace = run(examples.prosecutor_judge(), RobustPersuader(delta=0.05), T=50_000, seed=1)
    >>> float(trace.cumulative_regret[-1]) < 0.1 * 50_000 * trace.optimal_value   # sublinear: far below linear
    True
    """

    name = "robust"
    observes = "the realised state of each round"

    def __init__(self, delta: float = 0.05, schedule: str = "doubling", guard: bool = True):
        where = f"{type(self).__name__}()"                 # a subclass's errors name the class the user made
        delta = _number(where, "delta", delta, lambda x: 0 < x < 1, "(0, 1)")
        if schedule not in ("doubling", "every-round"):
            raise InvalidArgumentError(where, "schedule", "must be 'doubling' or 'every-round'", schedule)
        if not isinstance(guard, bool):
            raise InvalidArgumentError(where, "guard", "must be True or False", guard)
        self.delta, self.schedule, self.guard = delta, schedule, guard
        if not guard:
            self.name = "robust-unguarded"

    def is_update(self, t):
        return self.schedule == "every-round" or (t & (t - 1)) == 0

    def next_update(self, t):
        if self.schedule == "every-round":
            return t + 1
        return 1 << int(t).bit_length()          # next power of two above t

    def _scheme(self, t):
        m = self.view.shape[0]
        mu_hat = self.empirical_prior
        eps = float(radius(self.samples, m, self.delta / 2))
        lower, upper = box(mu_hat, eps)
        scheme = solve_robust(self.view.sender, self.view.receiver, mu_hat, lower, upper)
        entry = {"t": t, "samples": self.samples, "eps": eps, "lower": lower, "upper": upper, "robust": scheme.copy(),
                 "played": "robust"}
        if self.guard:
            l1 = float(l1_radius(self.samples, m, self.delta / 2))
            reveal = full_revelation_scheme(self.view)
            h = ((scheme - reveal) * self.view.sender).sum(axis=1)
            mu_exact = ([Fraction(int(c), self.samples) for c in self.counts] if self.samples
                        else [Fraction(1, m)] * m)
            advantage = worst_case_advantage(h, mu_exact, eps, l1)
            entry.update(l1=l1, advantage=advantage)
            if advantage < 0:
                scheme, entry["played"] = reveal, "full revelation"
        entry["scheme"] = scheme.copy()
        self.history.append(entry)
        return scheme


class ActionInformedPersuader(RobustPersuader):
    """The robust learner plus what the Receiver's actions reveal about the prior it knows.

    The Receiver knows the prior ``mu0`` and best responds, so every action it takes after a
    recommendation ``a`` of the committed scheme ``pi`` is a fact about ``mu0``: if it obeys,
    ``sum_w mu0[w] pi[w,a] (U[w,a] - U[w,a']) >= 0`` for every ``a'``; if it takes ``b`` instead,
    ``sum_w mu0[w] pi[w,a] (U[w,b] - U[w,a]) >= 0``.  These half-spaces (cuts) hold with certainty, so
    the learner intersects its confidence box with them (the box is shrunk to the smallest box
    containing box, simplex and cuts, by ``2m`` small LPs).

    To make the actions informative it is optimistic at the start of each epoch: it commits to the
    scheme robust only over the inner box ``mu_hat +- shrink * eps`` (within the shrunk box), which is
    worth more under ``mu_hat``.  It checks the Receiver every ``check`` rounds; the first time a
    recommendation is defied it records the cut and falls back, for the rest of the epoch, to the scheme
    robust over the whole shrunk box (the robust learner's scheme, or better).  Each epoch thus pays at
    most the defied rounds of one check window on top of the robust learner's loss; no bound is proved
    here beyond that observation, and its regret is measured (docs/theory.md).

    Examples
    --------
    >>> from persuasion import examples
    >>> from persuasion.online import ActionInformedPersuader, RobustPersuader, run
    >>> g = examples.prosecutor_judge()
    >>> informed = run(g, ActionInformedPersuader(delta=0.05), T=50_000, seed=0).cumulative_regret[-1]
    >>> robust = run(g, RobustPersuader(delta=0.05), T=50_000, seed=0).cumulative_regret[-1]
    >>> bool(informed < robust)
    True
    """

    name = "action-informed"
    observes = "the realised state and the Receiver's action of each round"

    def __init__(self, delta: float = 0.05, shrink: float = 0.25, check: int = 64):
        super().__init__(delta, guard=False)
        self.name = "action-informed"
        self.shrink = _number("ActionInformedPersuader()", "shrink", shrink, lambda x: 0 < x <= 1, "(0, 1]")
        self.check = _integer("ActionInformedPersuader()", "check", check, 1)

    def reset(self, view, horizon, prior=None):
        super().reset(view, horizon, prior)
        self.cuts: list[np.ndarray] = []          # rows c with c . mu0 >= 0
        self._optimistic = True
        self._resolve_at = None

    def is_update(self, t):
        if self._resolve_at is not None and t >= self._resolve_at:
            return True
        return super().is_update(t)

    def next_update(self, t):
        nxt = super().next_update(t)
        if self._optimistic:
            nxt = min(nxt, t + self.check)
        return nxt

    def _shrunk_box(self, lower, upper):
        """The smallest box containing {mu in [lower, upper], sum mu = 1, every cut}."""
        from scipy.optimize import linprog
        if not self.cuts:
            return lower, upper
        m = lower.shape[0]
        A = -np.array(self.cuts)
        lo, hi = lower.copy(), upper.copy()
        for w in range(m):
            for sign in (1.0, -1.0):
                c = np.zeros(m)
                c[w] = sign
                res = linprog(c, A_ub=A, b_ub=np.zeros(len(A)), A_eq=np.ones((1, m)), b_eq=[1.0],
                              bounds=list(zip(lower, upper)), method="highs")
                if res.status != 0:            # outside the good event: keep the statistical box
                    return lower, upper
                if sign > 0:
                    lo[w] = max(lo[w], res.x[w] - 1e-12)
                else:
                    hi[w] = min(hi[w], res.x[w] + 1e-12)
        return lo, hi

    def _scheme(self, t):
        if super().is_update(t):                   # a new epoch: optimistic again
            self._optimistic = True
        self._resolve_at = None
        m = self.view.shape[0]
        mu_hat = self.empirical_prior
        eps = float(radius(self.samples, m, self.delta / 2))
        lower, upper = self._shrunk_box(*box(mu_hat, eps))
        if self._optimistic and np.isfinite(eps):
            lo = np.maximum(lower, mu_hat - self.shrink * eps)
            hi = np.minimum(upper, mu_hat + self.shrink * eps)
            if (lo <= hi).all():
                lower, upper = lo, hi
        scheme = solve_robust(self.view.sender, self.view.receiver, mu_hat, lower, upper)
        self.history.append({"t": t, "samples": self.samples, "eps": eps, "lower": lower, "upper": upper,
                             "optimistic": self._optimistic, "cuts": len(self.cuts), "scheme": scheme.copy()})
        return scheme

    def observe(self, t, states, signals, actions, utilities):
        super().observe(t, states, signals, actions, utilities)
        pi, U = self._scheme_cache, self.view.receiver
        signals, actions = np.asarray(signals), np.asarray(actions)
        for a in np.unique(signals):
            taken = np.unique(actions[signals == a])
            for b in taken:
                if b == a:                         # obeyed: a is weakly best at the posterior
                    for a2 in range(U.shape[1]):
                        if a2 != a:
                            self._add_cut(pi[:, a] * (U[:, a] - U[:, a2]))
                else:                              # defied: b is weakly better than a
                    self._add_cut(pi[:, a] * (U[:, b] - U[:, a]))
                    if self._optimistic:
                        self._optimistic = False
                        self._resolve_at = t + len(states)

    def _add_cut(self, c):
        c = np.asarray(c, float)
        if (c >= 0).all():                         # holds for every prior: no information
            return
        scale = np.abs(c).max()
        c = c / scale
        if not any(np.allclose(c, d) for d in self.cuts):
            self.cuts.append(c)


class BehaviouralPersuader(Learner):
    """Learns how the Receiver *responds* to each recommendation, not what it believes (Thompson sampling).

    The robust and action-informed learners assume a Receiver who knows the
    prior, reads the committed scheme and best responds with the utilities
    the learner is given.  A language model need do none of this.  This
    learner assumes only that the Receiver's action after a recommendation
    depends on the state and the recommendation (a *signal-only* Receiver,
    which never sees the scheme): it keeps a Dirichlet posterior over
    ``P(action | state, signal)`` for every cell, starting from
    ``prior_count`` on each action, and each round commits, for every state,
    to the signal whose sampled response distribution pays the Advisor most
    (``sender``), so its schemes are deterministic.  The sampling explores;
    nothing about the prior or the Receiver's utilities is used.

    With ``arms`` (a list of schemes) it treats each scheme as one arm
    instead, for a Receiver whose response depends on the scheme it is told
    (an *informed* Receiver): a Beta posterior over each arm's payoff,
    rescaled to [0, 1] and binarised by a keyed coin, and Thompson sampling
    over arms.

    Against the core's simulated Receiver, who reads the scheme, only the
    ``arms`` form is right; the per-cell form is for Receivers that never see
    the scheme (:mod:`llm_bridge.studies.online_play`).

    Examples
    --------
    >>> import numpy as np
    >>> from persuasion import examples
    >>> from persuasion.online import BehaviouralPersuader, run
    >>> grid = [np.array([[1 - q, q], [0.0, 1.0]]) for q in (0.0, 0.25, 3 / 7, 0.75)]   # q = P(convict | innocent)
    >>> trace = run(examples.prosecutor_judge(), BehaviouralPersuader(seed=0, arms=grid), T=2_000, seed=0)
    >>> bool(trace.cumulative_regret[-1] < 0.1 * 0.3 * 2_000)        # a tenth of full revelation's loss
    True
    """

    name = "behavioural"
    observes = "the realised state, the signal and the Receiver's action of each round"

    def __init__(self, seed: int = 0, prior_count: float = 1.0, arms=None):
        self.seed = _integer("BehaviouralPersuader()", "seed", seed, 0)
        self.prior_count = _number("BehaviouralPersuader()", "prior_count", prior_count,
                                   lambda x: 0 < x < math.inf, "(0, inf)")
        try:                                   # a number or text ended in "not iterable" or a float() error
            self.arms = None if arms is None else [np.asarray(a, dtype=float) for a in arms]
        except (TypeError, ValueError, OverflowError):
            raise InvalidArgumentError("BehaviouralPersuader()", "arms", "must be a list of schemes (tables of "
                                       "real numbers)", arms) from None
        if self.arms is not None and not self.arms:
            raise InvalidArgumentError("BehaviouralPersuader()", "arms", "must hold at least one scheme", arms)

    def reset(self, view, horizon, prior=None):
        super().reset(view, horizon)
        m, n = view.shape
        if self.arms is not None and any(a.shape != (m, n) for a in self.arms):
            raise InvalidArgumentError("BehaviouralPersuader.reset()", "arms", f"must be {m}x{n} schemes",
                                       [a.shape for a in self.arms])
        for k, arm in enumerate(self.arms or ()):        # rows summing to 0.4 were played as if they were one
            checked_scheme(f"BehaviouralPersuader.reset() arms[{k}]", arm, m)
        self.response = np.zeros((m, n, n))             # counts of action b after signal s in state w
        self.arm_wins = np.zeros((len(self.arms or ()), 2))
        self._arm = 0
        self._rng = np.random.default_rng([self.seed, 7919])

    def is_update(self, t):
        return True

    def next_update(self, t):
        return t + 1

    def _scheme(self, t):
        V = self.view.sender
        if self.arms is not None:
            draws = self._rng.beta(1 + self.arm_wins[:, 0], 1 + self.arm_wins[:, 1])
            self._arm = int(np.argmax(draws))
            scheme = self.arms[self._arm].copy()
        else:
            m, n = V.shape
            scheme = np.zeros((m, n))
            for w in range(m):
                values = [self._rng.dirichlet(self.prior_count + self.response[w, s]) @ V[w] for s in range(n)]
                scheme[w, int(np.argmax(values))] = 1.0
        self.history.append({"t": t, "scheme": scheme.copy(), "arm": self._arm if self.arms is not None else None})
        return scheme

    def observe(self, t, states, signals, actions, utilities):
        super().observe(t, states, signals, actions, utilities)
        for w, s, b in zip(states, signals, actions):
            self.response[w, s, b] += 1
        if self.arms is not None:
            lo, hi = float(self.view.sender.min()), float(self.view.sender.max())
            for u in utilities:
                x = (float(u) - lo) / (hi - lo) if hi > lo else 1.0
                self.arm_wins[self._arm, 0 if self._rng.random() < x else 1] += 1
