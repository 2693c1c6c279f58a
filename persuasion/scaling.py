"""Units: the float path works on utilities normalised to spread 1, so no tolerance depends on units.

The optimal schemes of a game do not change when the Receiver's utility is
multiplied by a positive number or shifted by a constant in each state
(obedience compares ``U[w, a] - U[w, a']``), nor when the Advisor's is (the
objective changes by a positive factor and a constant).  The float path
therefore solves and certifies the game with

    U = aU (bU U_n + cU[w]),      V = aV (bV V_n + cV[w]),

where ``aU = max |U|``, ``cU[w] = min_a U[w, a] / aU`` and ``bU`` is the
largest spread ``max_a - min_a`` of ``U / aU`` in a state, so ``U_n`` lies in
[0, 1] with spread 1 (the same for ``V``).  Dividing by ``a`` first keeps
every intermediate finite up to the largest floats.  Values and duals are
mapped back to the game's units; the certificate's residuals stay in the
normalised units, where a tolerance of ``1e-7`` means the same thing for
utilities of size ``1e-12`` and ``1e12``.

Limit: a shift much larger than the spread (``U = 1e12 + u`` with ``u`` of
size 1) leaves only the float digits below the shift, and mapping duals
back and forth loses about ``1e-16 x shift / spread`` of relative accuracy;
past a ratio of about ``1e8`` the float certificate fails (it says so) and
``exact=True`` is the answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .rational import to_float

#: Relative tolerance for float ties between expected utilities (times the spread of the utility).
TIE_TOLERANCE = 1e-9


def _affine(M: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """``(a, b, c, M_n)`` with ``M = a (b M_n + c[:, None])`` and ``M_n`` in [0, 1] with spread 1 (or 0)."""
    a, b, c, Mn = affine_stack(M[None])
    return float(a[0]), float(b[0]), c[0], Mn[0]


def affine_stack(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_affine` of each game in a stack ``M`` of shape ``(B, m, n)``: ``a`` and ``b`` of shape
    ``(B,)``, ``c`` of shape ``(B, m)``, ``M_n`` of shape ``(B, m, n)`` (what :func:`solve_many` uses)."""
    B = M.shape[0]
    a = np.abs(M).reshape(B, -1).max(axis=1) if M.size else np.zeros(B)
    a = np.where(a == 0.0, 1.0, a)
    M1 = M / a[:, None, None]
    c = M1.min(axis=2) if M.size else np.zeros(M.shape[:2])
    S = M1 - c[:, :, None]
    b = S.reshape(B, -1).max(axis=1) if S.size else np.zeros(B)
    b = np.where(b == 0.0, 1.0, b)
    return a, b, c, S / b[:, None, None]


@dataclass(frozen=True)
class Scaling:
    """The affine maps between a game's utilities and their normalised form (see the module doc)."""

    aV: float
    bV: float
    cV: np.ndarray
    aU: float
    bU: float
    cU: np.ndarray
    sender: np.ndarray        # V_n
    receiver: np.ndarray      # U_n

    @classmethod
    def of(cls, sender: np.ndarray, receiver: np.ndarray) -> "Scaling":
        V, U = np.asarray(sender, dtype=float), np.asarray(receiver, dtype=float)
        if V.ndim != 2 or V.shape != U.shape or not (np.isfinite(V).all() and np.isfinite(U).all()):
            from .errors import InvalidArgumentError      # a NaN utility gave NaN scales, silently
            raise InvalidArgumentError("Scaling.of()", "sender/receiver", "must be two states x actions tables "
                                       "of finite numbers, of one shape", f"shapes {V.shape} and {U.shape}")
        aV, bV, cV, Vn = _affine(V)
        aU, bU, cU, Un = _affine(U)
        for arr in (cV, cU, Vn, Un):
            arr.setflags(write=False)
        return cls(aV, bV, cV, aU, bU, cU, Vn, Un)

    @property
    def lam_factor(self) -> float:
        """Obedience multipliers in game units are ``lam_factor`` times the normalised ones
        (:func:`multiplier_factor`)."""
        return float(multiplier_factor(self.aV, self.bV, self.aU, self.bU)[0])

    def value_out(self, value_n: float, prior: np.ndarray) -> float:
        return self.aV * (self.bV * float(value_n) + float(prior @ self.cV))

    def y_out(self, y_n: np.ndarray, prior: np.ndarray) -> np.ndarray:
        return self.aV * (self.bV * np.asarray(y_n, float) + prior * self.cV)

    def y_in(self, y: np.ndarray, prior: np.ndarray) -> np.ndarray:
        return (np.asarray(y, float) / self.aV - prior * self.cV) / self.bV

    def lam_out(self, lam_n):
        """Multipliers in game units (a sparse matrix stays sparse).  A zero stays zero where the factor is
        ``inf``, and a product beyond the float range is ``inf`` (the certificate reads the normalised ones)."""
        return scale_multipliers(lam_n, self.lam_factor)

    def lam_in(self, lam):
        return scale_multipliers(lam, self.lam_factor, divide=True)


def multiplier_factor(aV, bV, aU, bU):
    """``(aV / aU) (bV / bU)``, elementwise over arrays: the factor between obedience multipliers in game
    units and normalised ones.  Where the float product overflows or underflows (``V`` near 1e300 beside
    ``U`` near 1e-300 makes ``aV / aU`` alone overflow), it is recomputed in rationals and rounded once:
    a float where the factor is one, else ``inf`` or 0."""
    aV, bV, aU, bU = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, float)) for x in (aV, bV, aU, bU)))
    with np.errstate(over="ignore", under="ignore"):
        f = (aV / aU) * (bV / bU)
    for k in np.flatnonzero(~np.isfinite(f) | (f == 0)):
        f.flat[k] = to_float(Fraction(aV.flat[k]) / Fraction(aU.flat[k]) * Fraction(bV.flat[k]) / Fraction(bU.flat[k]))
    return f


def scale_multipliers(lam, factor, divide: bool = False):
    """``lam * factor`` (or ``lam / factor``; ``factor`` a number, or one per game broadcast over the
    trailing axes) with zeros kept zero (``0 * inf = 0``) and no overflow warning; a sparse ``lam`` stays
    sparse.  Dividing does not go through ``1 / factor``, which overflows for a subnormal factor."""
    if _is_sparse(lam):
        if np.isfinite(factor) and factor != 0:
            return lam / factor if divide else lam * factor
        return lam.sign() * (factor if not divide else (np.inf if factor == 0 else 0.0))
    lam = np.asarray(lam, float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return np.where(lam == 0, 0.0, lam / factor if divide else lam * factor)


def _is_sparse(a) -> bool:
    import scipy.sparse as sp
    return sp.issparse(a)


def tie_tolerance(M: np.ndarray) -> float:
    """Float tie tolerance for expected utilities under ``M``: relative to its largest spread in a state,
    plus a few ulps of its magnitude (so values shifted far from 0 still tie when they are equal)."""
    from .errors import InvalidArgumentError
    try:
        M = np.asarray(M, dtype=float)
    except (TypeError, ValueError) as err:        # numpy's own said only "could not convert"
        raise InvalidArgumentError("tie_tolerance()", "M", "must hold real numbers", str(err)) from None
    if M.ndim != 2 or not np.isfinite(M).all():
        raise InvalidArgumentError("tie_tolerance()", "M", "must be a states x actions table of finite numbers",
                                   f"shape {M.shape}")
    if not M.size:
        return 0.0
    a = float(np.abs(M).max())
    if a == 0.0:
        return 0.0
    spread1 = float(((M / a).max(axis=1) - (M / a).min(axis=1)).max())
    return (TIE_TOLERANCE * spread1 + 8 * np.finfo(float).eps * M.shape[0]) * a
