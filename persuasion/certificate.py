"""Optimality certificates: primal feasibility, dual feasibility, zero gap.

A certificate is checked against the game itself, never against the solver's
own report.  By weak duality, a primal-feasible scheme and a dual-feasible
``(y, lam)`` with equal objectives prove that the scheme is optimal.  On the
exact path every quantity is a ``Fraction`` and the tolerance is exactly 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .arithmetic import arithmetic
from .errors import InvalidArgumentError, checked_nonnegative
from .lp import dual_slacks, worst_obedience_violation


@dataclass(frozen=True)
class Residuals:
    """Worst violations of each condition (0 means satisfied exactly).

    All fields are non-negative: ``nonnegativity`` is ``max(-x)``,
    ``sum_to_one`` is ``max |sum_a x - 1|``, ``obedience`` is the worst negative
    obedience slack, ``dual_sign`` is ``max(-lam)``, ``dual_constraints`` the
    worst negative dual slack, ``gap`` is ``|dual objective - primal objective|``.

    Examples
    --------
    >>> from persuasion import examples, solve
    >>> res = solve(examples.prosecutor_judge()).certificate.residuals
    >>> max(res.obedience, res.gap) < 1e-9
    True
    """

    nonnegativity: float | Fraction
    sum_to_one: float | Fraction
    obedience: float | Fraction
    dual_sign: float | Fraction
    dual_constraints: float | Fraction
    gap: float | Fraction

    @property
    def primal(self):
        """Worst primal violation."""
        return max(self.nonnegativity, self.sum_to_one, self.obedience)

    @property
    def dual(self):
        """Worst dual violation."""
        return max(self.dual_sign, self.dual_constraints)

    def worst(self):
        return max(self.primal, self.dual, self.gap)

    def as_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Fraction) else float(v)) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Certificate:
    """The outcome of checking a primal-dual pair against a game.

    ``valid`` is True when every residual is at most ``tolerance`` (exactly 0
    on the exact path).  ``primal_value`` and ``dual_value`` are the two
    objectives; on a valid certificate they agree within the tolerance.

    Examples
    --------
    >>> from persuasion import examples, solve
    >>> cert = solve(examples.prosecutor_judge(), exact=True).certificate
    >>> cert.valid, cert.primal_value == cert.dual_value, cert.failures
    (True, True, ())
    """

    valid: bool
    exact: bool
    tolerance: float | Fraction
    residuals: Residuals
    primal_value: float | Fraction
    dual_value: float | Fraction
    failures: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return self.valid

    def summary(self) -> str:
        kind = "exact (rational arithmetic)" if self.exact else f"float (tolerance {float(self.tolerance):.1e})"
        if self.valid:
            return f"VALID, {kind}: primal feasible, dual feasible, duality gap {_fmt(self.residuals.gap)}"
        return f"INVALID, {kind}: " + "; ".join(self.failures)


def _fmt(x) -> str:
    return str(x) if isinstance(x, Fraction) else f"{float(x):.2e}"


def check_certificate(prior, sender, receiver, scheme, y, lam, *, exact: bool,
                      tolerance: float = 1e-9) -> Certificate:
    """Check a primal scheme and a dual ``(y, lam)`` against a game's data.

    Parameters
    ----------
    prior, sender, receiver : arrays
        The game's data: float arrays, or object arrays of ``Fraction`` when
        ``exact`` is True.
    scheme : (m, n) array
    y : (m,) array
        Multipliers of the rows ``sum_a x[w, a] = 1``.
    lam : (n, n) array
        Multipliers of the obedience rows ``(a, a')``; diagonal ignored.
    exact : bool
        Check in exact arithmetic with tolerance 0 (inputs that are not ``Fraction`` are read as the
        rationals they are: a float exactly as stored).  Arrays of the wrong shape, or entries that
        are not real numbers, raise :class:`InvalidArgumentError` naming the argument.
    tolerance : float
        Largest residual accepted on the float path.

    Examples
    --------
    A scheme that is not obedient fails, and the failure says which condition:

    >>> import numpy as np
    >>> from persuasion import check_certificate, examples, solve
    >>> g = examples.prosecutor_judge()
    >>> sol = solve(g)
    >>> bad = np.array([[0.2, 0.8], [0.0, 1.0]])  # recommends 'convict' to the innocent too often
    >>> cert = check_certificate(g.prior, g.sender, g.receiver, bad, sol.duals.state, sol.duals.obedience,
    ...                          exact=False)
    >>> cert.valid, cert.failures[0]
    (False, 'obedience violated by 2.60e-01')
    """
    import scipy.sparse as sp
    checked_nonnegative("check_certificate()", "tolerance", tolerance)
    ar = arithmetic(exact)
    tol = ar.tolerance(tolerance)
    sparse = sp.issparse(lam)
    if sparse and ar.exact:
        raise InvalidArgumentError("check_certificate()", "lam", "must be a dense array on the exact path",
                                   type(lam).__name__)
    prior, sender, receiver, scheme, y, *dense = _checked_arrays(
        ar, prior=prior, sender=sender, receiver=receiver, scheme=scheme, y=y, **({} if sparse else {"lam": lam}))
    n = sender.shape[1]
    if sparse:                                  # float path only; the diagonal is ignored
        if lam.shape != (n, n):
            raise InvalidArgumentError("check_certificate()", "lam", f"must have shape {(n, n)} (n = {n} actions)",
                                       f"shape {lam.shape}")
        lam = sp.csr_matrix(lam, dtype=float)
        lam = lam - sp.diags(lam.diagonal())
    else:
        lam = dense[0].copy()
        np.fill_diagonal(lam, ar.zero)

    rowsum = scheme.sum(axis=1)
    primal_value = (prior[:, None] * sender * scheme).sum()
    dual_value = y.sum()
    res = Residuals(
        nonnegativity=ar.worst_negative(scheme),
        sum_to_one=ar.worst_abs(rowsum - 1),
        obedience=worst_obedience_violation(prior, receiver, scheme),
        dual_sign=ar.worst_negative(lam.data if sparse else lam),
        dual_constraints=ar.worst_negative(dual_slacks(prior, sender, receiver, y, lam)),
        gap=abs(dual_value - primal_value),
    )
    # "not <=" so that a NaN residual (overflow, an undefined dual) is a failure, never a pass
    failures = tuple(f"{name} violated by {_fmt(v)}" for name, v in res.__dict__.items() if not v <= tol)
    return Certificate(not failures, ar.exact, tol, res, ar.scalar(primal_value), ar.scalar(dual_value), failures)


def _checked_arrays(ar, **named) -> list[np.ndarray]:
    """The inputs of :func:`check_certificate` as arrays of its arithmetic, their shapes checked against
    ``sender``'s ``(m, n)``.  On the exact path every entry becomes a ``Fraction`` (a float exactly as
    stored), so a check called with floats still runs in rational arithmetic, as it says."""
    where = "check_certificate()"
    out = {}
    for name, values in named.items():
        try:
            if ar.exact:
                given = np.asarray(values, dtype=object)
                out[name] = np.empty(given.shape, dtype=object)
                out[name].reshape(-1)[:] = [v if isinstance(v, Fraction) else Fraction(v) for v in given.reshape(-1)]
            else:
                out[name] = np.asarray(values, dtype=float)
        except (TypeError, ValueError, OverflowError) as err:
            raise InvalidArgumentError(where, name, "must hold real numbers" + (", all finite" if ar.exact else ""),
                                       str(err)) from None
    if out["sender"].ndim != 2:
        raise InvalidArgumentError(where, "sender", "must be an (m, n) array", f"shape {out['sender'].shape}")
    m, n = out["sender"].shape
    expected = {"prior": (m,), "receiver": (m, n), "scheme": (m, n), "y": (m,), "lam": (n, n)}
    for name in out:
        if out[name].shape != expected.get(name, out[name].shape):
            raise InvalidArgumentError(where, name, f"must have shape {expected[name]} (m = {m} states, n = {n} "
                                       "actions)", f"shape {out[name].shape}")
    return list(out.values())
