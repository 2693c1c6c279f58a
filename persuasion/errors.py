"""Exceptions raised by the package.

Every error about user input subclasses :class:`ValueError` and names the
function, the rule that was broken and the offending value, e.g.
``PersuasionGame(): prior must sum to 1 (tolerance 1e-09); got 0.93``.
"""
from __future__ import annotations


class PersuasionError(Exception):
    """Base class of every exception the package raises on purpose."""


class InvalidGameError(PersuasionError, ValueError):
    """A game's data break one of the rules of :class:`PersuasionGame`.

    Attributes
    ----------
    argument : str
        The argument at fault (``"prior"``, ``"sender"``, ...).
    rule : str
        The rule that was broken, in words.
    value : object
        The offending value (or a short description of it).
    """

    def __init__(self, where: str, argument: str, rule: str, value: object):
        self.where, self.argument, self.rule, self.value = where, argument, rule, value
        super().__init__(f"{where}: {argument} {rule}; got {value}")


class InvalidArgumentError(PersuasionError, ValueError):
    """A function argument other than a game is out of its domain."""

    def __init__(self, where: str, argument: str, rule: str, value: object):
        self.where, self.argument, self.rule, self.value = where, argument, rule, value
        super().__init__(f"{where}: {argument} {rule}; got {value!r}")


class GameFileError(PersuasionError, ValueError):
    """A game file cannot be read: missing, not JSON, or not a game."""


class SolverError(PersuasionError, RuntimeError):
    """The LP solver did not return an optimal solution.

    Attributes
    ----------
    status : str
        The solver's own status string.
    hint : str
        What usually causes this status and what to try.
    """

    def __init__(self, where: str, status: str, hint: str):
        self.status, self.hint = status, hint
        super().__init__(f"{where}: solver stopped with status {status!r}. {hint}")


class CertificateError(PersuasionError, ArithmeticError):
    """An optimality certificate failed its exact check."""
