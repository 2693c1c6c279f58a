"""The result of :func:`persuasion.solve`: a frozen, self-verifying record."""
from __future__ import annotations

import math

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from .arithmetic import Arithmetic, arithmetic
from .certificate import Certificate, Residuals, check_certificate
from .errors import checked_nonnegative
from .game import PersuasionGame

#: Float certificates accept residuals up to this, in the normalised units of :mod:`persuasion.scaling`
#: (utilities of spread 1), whatever the game's own units.
FLOAT_CERTIFICATE_TOLERANCE = 1e-7


def float_tolerance(game: PersuasionGame) -> float:
    """The float certificate tolerance (normalised units: the same for every game)."""
    return FLOAT_CERTIFICATE_TOLERANCE


def game_scaling(game: PersuasionGame):
    """The :class:`~persuasion.scaling.Scaling` of ``game``'s utilities."""
    from .scaling import Scaling
    return game._derive("scaling", lambda: Scaling.of(game.sender, game.receiver))


def certify(game: PersuasionGame, scheme, y, lam, *, ar: Arithmetic, tolerance: float | None = None,
            normalised: tuple | None = None) -> Certificate:
    """Check a primal-dual pair given in the game's units against the game.

    Exactly (tolerance 0) on the exact path.  On the float path the check runs on the normalised
    utilities, so residuals and tolerance are relative to the utilities' spread: the duals checked are
    ``normalised`` (``(y, lam)`` of the normalised game, as a solver of it returned them) where given, else
    ``y`` and ``lam`` mapped into normalised units.  The two objective values are reported in the game's
    units, the primal one summed from the game's own utilities (``fsum`` of ``prior[w] scheme[w, a]
    V[w, a]``): mapped back from normalised units it would carry an error of ``eps max|V|``, which swamps
    a value far smaller than the largest utility.
    """
    if ar.exact:
        return check_certificate(*game.rational(), scheme, y, lam, exact=True)
    sc, prior = game_scaling(game), game.prior
    y_n, lam_n = normalised if normalised is not None else (sc.y_in(y, prior), sc.lam_in(lam))
    cert = check_certificate(prior, sc.sender, sc.receiver, scheme, y_n, lam_n, exact=False,
                             tolerance=float_tolerance(game) if tolerance is None else tolerance)
    x = np.asarray(scheme, dtype=float).reshape(game.shape)
    primal = math.fsum((prior[:, None] * x * game.sender).reshape(-1).tolist())
    return replace(cert, primal_value=primal, dual_value=sc.value_out(cert.dual_value, prior))


def _same(a, b) -> bool:
    """Equal values, arrays (dense, sparse, of fractions) compared entry by entry, also inside lists,
    tuples and dicts."""
    import scipy.sparse as sp
    if sp.issparse(a) or sp.issparse(b):
        a, b = (x.toarray() if sp.issparse(x) else np.asarray(x) for x in (a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.all(a == b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def fields_equal(self, other) -> bool:
    """``==`` for the package's frozen results holding arrays: the compared fields equal entry by entry.
    (The dataclass default compared the arrays with ``==`` and raised "the truth value of an array is
    ambiguous".)  Such a result is not hashable."""
    from dataclasses import fields
    if type(self) is not type(other):
        return NotImplemented
    return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self) if f.compare)


@dataclass(frozen=True, eq=False)
class Duals:
    """LP multipliers: ``state[w]`` for ``sum_a pi[w,a] = 1`` and
    ``obedience[a, a']`` (>= 0) for the row "recommended ``a``, not ``a'``".

    Examples
    --------
    >>> from persuasion import examples, solve
    >>> duals = solve(examples.prosecutor_judge(), exact=True).duals
    >>> duals.state.tolist()                      # one multiplier per state's sum-to-one row
    [Fraction(0, 1), Fraction(3, 5)]
    """

    state: np.ndarray
    obedience: np.ndarray
    labels: tuple[tuple[str, ...], tuple[str, ...]] = field(repr=False, default=((), ()))

    __eq__ = fields_equal

    def labelled(self, nonzero_only: bool = False) -> dict[str, Any]:
        """Duals by row label: ``sum_to_one[state]`` and ``obey[a>a']``.

        A sparse ``obedience`` matrix (the two-state closed form on the float path) lists only its
        stored entries: the others are 0.
        """
        import scipy.sparse as sp
        states, actions = self.labels
        out = {f"sum_to_one[{s}]": self.state[i] for i, s in enumerate(states)}
        if sp.issparse(self.obedience):
            coo = self.obedience.tocoo()
            for a, b, v in zip(coo.row, coo.col, coo.data):
                if a != b and (v != 0 or not nonzero_only):
                    out[f"obey[{actions[a]}>{actions[b]}]"] = float(v)
            return out
        for a, la in enumerate(actions):
            for b, lb in enumerate(actions):
                if a != b:
                    out[f"obey[{la}>{lb}]"] = self.obedience[a, b]
        if nonzero_only:
            out = {k: v for k, v in out.items() if v != 0}
        return out

    def __getitem__(self, label: str):
        """The multiplier of the row ``label`` (``sum_to_one[state]`` or ``obey[a>a']``), 0 for an obedience
        row a sparse matrix does not store (it raised ``KeyError`` although the row exists)."""
        states, actions = self.labels
        if isinstance(label, str) and label.startswith("sum_to_one[") and label.endswith("]"):
            where = {s: i for i, s in enumerate(states)}.get(label[len("sum_to_one["):-1])
            if where is not None:
                return self.state[where]
        if isinstance(label, str) and label.startswith("obey[") and label.endswith("]"):
            inner, index = label[len("obey["):-1], {a: i for i, a in enumerate(actions)}
            for cut in (k for k, ch in enumerate(inner) if ch == ">"):      # a label may hold ">" itself
                a, b = index.get(inner[:cut]), index.get(inner[cut + 1:])
                if a is not None and b is not None and a != b:
                    value = self.obedience[a, b]
                    return float(value) if not isinstance(value, Fraction) else value
        raise KeyError(f"{label!r} is not a row of this game's LP: its rows are sum_to_one[state] for the "
                       f"states and obey[a>b] for two different actions")


@dataclass(frozen=True, eq=False)
class Solution:
    """An optimal signaling scheme with everything needed to check it.

    Attributes
    ----------
    game : PersuasionGame
    value : float or Fraction
        The Advisor's optimal expected utility.
    scheme : (m, n) array
        ``scheme[w, a] = P(recommend a | state w)``; object array of
        ``Fraction`` on the exact path.
    signal_probabilities : (n,) array
        ``P(recommend a)``.
    posteriors : (n, m) array
        Row ``a`` is the Receiver's posterior after recommendation ``a``; rows of
        signals never sent are NaN (float) or ``None`` (exact).
    receiver_actions : (n,) int array
        The Receiver's action after each signal (-1 for signals never sent):
        its best response to the posterior, ties broken in the Advisor's favour,
        then in favour of the recommendation.
    duals : Duals
        ``duals.obedience`` is an ``(n, n)`` array, or a scipy sparse matrix where the solver's
        multipliers are sparse (the two-state closed form on the float path).
    residuals : Residuals
    certificate : Certificate
    method, exact, status : str, bool, str
    stats : dict
        Solver iterations, rows used, timings.
    exact_solution : Solution or None
        On a float solution the float path could not certify (its value jumps under tiny perturbations
        of the data), the exact solution it was replaced by: the arrays here are its values in float,
        the certificate is its exact one, and :meth:`verify` re-checks it exactly.

    Examples
    --------
    >>> from persuasion import examples, solve
    >>> sol = solve(examples.prosecutor_judge(), exact=True)
    >>> sol.value, sol.certificate.valid
    (Fraction(3, 5), True)
    >>> sol.scheme[0].tolist()                   # P(recommendation | innocent)
    [Fraction(4, 7), Fraction(3, 7)]
    """

    game: PersuasionGame
    value: float | Fraction
    scheme: np.ndarray
    signal_probabilities: np.ndarray
    posteriors: np.ndarray
    receiver_actions: np.ndarray
    duals: Duals
    certificate: Certificate
    method: str
    exact: bool
    status: str = "optimal"
    tie_breaking: str = "sender"
    stats: dict = field(default_factory=dict, compare=False)
    exact_solution: "Solution | None" = field(default=None, compare=False, repr=False)
    #: On the float path, ``(y, lam)`` as the solver returned them for the normalised game (what the
    #: certificate and the conditioning check read; ``duals`` holds them in the game's units).
    normalised_duals: tuple | None = field(default=None, compare=False, repr=False)

    __eq__ = fields_equal

    @property
    def residuals(self) -> Residuals:
        return self.certificate.residuals

    def verify(self, tolerance: float | None = None) -> Certificate:
        """Re-check the stored primal and dual against the game (exactly on the exact path, where
        ``tolerance`` is not used: the check is exact)."""
        if tolerance is not None:
            checked_nonnegative("Solution.verify()", "tolerance", tolerance)
        if self.exact_solution is not None:
            return self.exact_solution.verify()
        return certify(self.game, self.scheme, self.duals.state, self.duals.obedience,
                       ar=arithmetic(self.exact), tolerance=tolerance, normalised=self.normalised_duals)

    def to_dict(self) -> dict:
        """JSON-ready summary (fractions as ``"p/q"`` strings).  Strict JSON has no infinity: a multiplier
        beyond the float range (utilities near 1e300 beside others near 1e-300; the certificate reads the
        normalised ones) is written ``"inf"`` or ``"-inf"``, which ``float()`` reads back, and NaN ``null``."""
        def enc(x):
            if isinstance(x, np.ndarray):
                return [enc(v) for v in x]
            if x is None:
                return None
            if isinstance(x, Fraction):
                return str(x)
            if isinstance(x, (np.integer, int)):
                return int(x)
            x = float(x)
            return None if np.isnan(x) else x if math.isfinite(x) else ("inf" if x > 0 else "-inf")
        g = self.game
        return {
            "game": g.to_dict(), "method": self.method, "exact": self.exact, "status": self.status,
            "tie_breaking": self.tie_breaking, "value": enc(self.value), "scheme": enc(self.scheme),
            "signal_probabilities": enc(self.signal_probabilities),
            "posteriors": [enc(row) if self.signal_probabilities[a] > 0 else None
                           for a, row in enumerate(self.posteriors)],
            "receiver_actions": [g.actions[a] if a >= 0 else None for a in self.receiver_actions],
            "duals": {k: enc(v) for k, v in self.duals.labelled().items()},
            "certificate": {"valid": self.certificate.valid, "exact": self.certificate.exact,
                            "tolerance": enc(self.certificate.tolerance),
                            "residuals": {k: v if isinstance(v, str) else enc(v)       # "p/q" on the exact path
                                          for k, v in self.certificate.residuals.as_dict().items()},
                            "failures": list(self.certificate.failures)},
            "stats": {k: enc(v) if isinstance(v, float) else v for k, v in self.stats.items()
                      if isinstance(v, (int, float, str))},
        }

    def report(self) -> str:
        """A readable report: scheme table, posteriors, value, certificate."""
        from .report import format_solution
        return format_solution(self)


def assemble(game: PersuasionGame, scheme, y, lam, *, ar: Arithmetic, method: str, stats: dict | None = None,
             tolerance: float | None = None, normalised: tuple | None = None) -> Solution:
    """Build a :class:`Solution` from a primal-dual pair in arithmetic ``ar``, checking its certificate
    (on the solver's own normalised duals where ``normalised`` gives them: :func:`certify`)."""
    from .analysis import best_response_many
    m, n = game.shape
    prior = ar.data(game)[0]
    if not ar.exact:
        scheme = np.clip(np.asarray(scheme, dtype=float).reshape(m, n), 0.0, None)
    for arr in (scheme, y, lam):
        if isinstance(arr, np.ndarray):
            arr.setflags(write=False)
    cert = certify(game, scheme, y, lam, ar=ar, tolerance=tolerance, normalised=normalised)
    joint = prior[:, None] * scheme
    probs = joint.sum(axis=0)
    posteriors = ar.empty((n, m))
    actions = np.full(n, -1, dtype=int)
    used = [a for a in range(n) if probs[a] > 0]
    for a in range(n):
        if probs[a] > 0:
            posteriors[a] = joint[:, a] / probs[a]
        else:
            posteriors[a] = ar.missing
    if used:
        actions[used] = best_response_many(game, np.stack([posteriors[a] for a in used]), exact=ar.exact, prefer=used)
    for arr in (probs, posteriors, actions):
        arr.setflags(write=False)
    value = cert.primal_value
    return Solution(game=game, value=value, scheme=scheme, signal_probabilities=probs, posteriors=posteriors,
                    receiver_actions=actions, duals=Duals(y, lam, (game.states, game.actions)),
                    certificate=cert, method=method, exact=ar.exact, stats=dict(stats or {}),
                    normalised_duals=normalised)
