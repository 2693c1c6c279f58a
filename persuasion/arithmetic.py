"""Exact or float: the choice of arithmetic as one small value, made once where a call enters.

The public functions keep their ``exact=`` arguments; each turns it into an
:class:`Arithmetic` at entry (:func:`arithmetic`) and hands that down, so the
code below asks the value for its zero, its dtype, its tolerance or its
worst residual instead of branching on a flag.

>>> from fractions import Fraction
>>> arithmetic(True).zero, arithmetic(False).zero
(Fraction(0, 1), 0.0)
>>> arithmetic(True).worst_negative([Fraction(1, 3), Fraction(-1, 7)])
Fraction(1, 7)
>>> arithmetic(False).tolerance(1e-9), arithmetic(True).tolerance(1e-9)
(1e-09, Fraction(0, 1))
>>> arithmetic(False).close(0.1 + 0.2, 0.3, 1e-9), arithmetic(True).close(Fraction(3, 10), 0.3, 1e-9)
(True, False)
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class Arithmetic:
    """Exact (object arrays of ``Fraction``, tolerance 0) or float (float64 arrays, a stated tolerance)."""

    exact: bool

    @property
    def zero(self):
        return Fraction(0) if self.exact else 0.0

    @property
    def one(self):
        return Fraction(1) if self.exact else 1.0

    @property
    def dtype(self):
        """The numpy dtype of this arithmetic's arrays."""
        return object if self.exact else float

    @property
    def missing(self):
        """What stands for an undefined entry (a posterior of a signal never sent)."""
        return None if self.exact else np.nan

    def array(self, values) -> np.ndarray:
        return np.array(values, dtype=self.dtype)

    def empty(self, shape) -> np.ndarray:
        return np.empty(shape, dtype=self.dtype)

    def full(self, shape, value) -> np.ndarray:
        return np.full(shape, value, dtype=self.dtype)

    def data(self, game):
        """``(prior, sender, receiver)`` of ``game`` in this arithmetic."""
        return game.rational() if self.exact else (game.prior, game.sender, game.receiver)

    def tolerance(self, tol):
        """The residual a check accepts: 0 exactly, ``tol`` on floats."""
        return self.zero if self.exact else float(tol)

    def worst_negative(self, values):
        """``max(0, -min(values))``: how far the most negative entry is below zero (NaN stays NaN on floats)."""
        a = np.asarray(values).reshape(-1)
        if not a.size:
            return self.zero
        if self.exact:
            return max(self.zero, -min(a))
        return float(np.max(np.maximum(0.0, -a.astype(float))))

    def worst_abs(self, values):
        """``max |values|`` (0 when empty)."""
        a = np.asarray(values).reshape(-1)
        if not a.size:
            return self.zero
        if self.exact:
            return max(abs(v) for v in a)
        return float(np.max(np.abs(a.astype(float))))

    def close(self, a, b, tol) -> bool:
        """``a == b`` exactly, or ``|a - b| <= tol`` on floats (a tie, in this arithmetic)."""
        return a == b if self.exact else abs(float(a) - float(b)) <= tol

    def scalar(self, value):
        """A result in this arithmetic's scalar type (a float on the float path)."""
        return value if self.exact else float(value)


EXACT = Arithmetic(True)
FLOAT = Arithmetic(False)


def arithmetic(exact) -> Arithmetic:
    """The :class:`Arithmetic` for a public ``exact=`` argument (a bool, or an Arithmetic passed down).

    It is read by :func:`persuasion.errors.checked_flag` (1 and 0 are True and False, None the float
    default), and anything else is refused naming the public function that was called: ``exact="no"``
    was truthy and ran the exact path.

    >>> from persuasion import examples, solve
    >>> solve(examples.prosecutor_judge(), exact="no")
    Traceback (most recent call last):
    ...
    persuasion.errors.InvalidArgumentError: solve(): exact must be True or False (1 or 0; None: the default); got 'no'
    """
    if isinstance(exact, Arithmetic):
        return exact
    if isinstance(exact, (bool, np.bool_)):     # the common case: no frame look-up, no import, on every call
        return EXACT if exact else FLOAT
    from .errors import checked_flag
    caller = sys._getframe(1).f_code.co_name                     # the public function whose flag this is
    return EXACT if checked_flag(f"{caller}()", "exact", exact) else FLOAT


def of_array(a) -> Arithmetic:
    """The arithmetic an array is in: exact for object arrays, float otherwise."""
    return EXACT if np.asarray(a).dtype == object else FLOAT
