"""Exact matrix products for object arrays of ``Fraction``.

numpy's ``dot`` on object arrays multiplies ``Fraction`` objects one by one
(about a microsecond each); python-flint clears denominators and multiplies
integer matrices in C.  :func:`dot` picks the right one, so the certificate
code is the same for float and exact arrays.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np


def from_fmpq(x) -> Fraction:
    """A flint ``fmpq`` (always in lowest terms) as a ``Fraction``, without a second gcd."""
    p, q = int(x.p), int(x.q)
    if hasattr(Fraction, "_from_coprime_ints"):          # Python >= 3.12
        return Fraction._from_coprime_ints(p, q)
    return Fraction(p, q, _normalize=False)               # Python 3.11


def _to_fmpq_mat(A: np.ndarray):
    import flint
    A2 = A.reshape(A.shape[0], -1) if A.ndim == 2 else A.reshape(1, -1)
    r, c = A2.shape
    return flint.fmpq_mat(r, c, [flint.fmpq(x.numerator, x.denominator) if isinstance(x, Fraction)
                                 else flint.fmpq(int(x)) for x in A2.reshape(-1)])


def dot(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` for 1-D or 2-D arrays; exact (via flint) for object arrays."""
    if A.dtype != object and B.dtype != object:
        return A.dot(B)
    a1, b1 = A.ndim == 1, B.ndim == 1
    A2 = A.reshape(1, -1) if a1 else A
    B2 = B.reshape(-1, 1) if b1 else B
    C = _to_fmpq_mat(A2) * _to_fmpq_mat(B2)
    out = np.array([from_fmpq(x) for x in C.entries()], dtype=object).reshape(A2.shape[0], B2.shape[1])
    if a1 and b1:
        return out[0, 0]
    if a1:
        return out[0]
    if b1:
        return out[:, 0]
    return out
