"""Exceptions raised by the package.

Every error about user input subclasses :class:`ValueError` and names the
function, the rule that was broken and the offending value, e.g.
``PersuasionGame(): prior must sum to 1 (tolerance 1e-09); got 0.93``.
"""
from __future__ import annotations


class PersuasionError(Exception):
    """Base class of every exception the package raises on purpose.

    Examples
    --------
    >>> from persuasion import PersuasionError, PersuasionGame
    >>> try:
    ...     PersuasionGame([0.5, 0.5], [[1]], [[1]])
    ... except PersuasionError as e:                 # every deliberate error is one of these
    ...     print(type(e).__name__)
    InvalidGameError
    """


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

    Examples
    --------
    >>> from persuasion import InvalidGameError, PersuasionGame
    >>> try:
    ...     PersuasionGame([0.5, 0.4], [[1], [0]], [[1], [0]])
    ... except InvalidGameError as e:
    ...     print(e)
    PersuasionGame(): prior must sum to 1 (tolerance 1e-09); got 0.9
    """

    def __init__(self, where: str, argument: str, rule: str, value: object):
        self.where, self.argument, self.rule, self.value = where, argument, rule, value
        super().__init__(f"{where}: {argument} {rule}; got {value}")


class InvalidArgumentError(PersuasionError, ValueError):
    """A function argument other than a game is out of its domain.

    Examples
    --------
    >>> from persuasion import InvalidArgumentError, examples, value_function
    >>> try:
    ...     value_function(examples.prosecutor_judge(), [0.5, 0.5, 0.0])
    ... except InvalidArgumentError as e:
    ...     print(type(e).__name__)
    InvalidArgumentError
    """

    def __init__(self, where: str, argument: str, rule: str, value: object):
        self.where, self.argument, self.rule, self.value = where, argument, rule, value
        super().__init__(f"{where}: {argument} {rule}; got {value!r}")


def is_integer(value, minimum=None) -> bool:
    """Whether ``value`` is an integer (Python's or numpy's) that is not a bool, and at least ``minimum``
    where one is given: ``True`` is an ``int`` to Python, never a count to a user, and ``2.0`` or ``0.5``
    is refused, not truncated.  The test every count and seed in the package is read by; each caller words
    its own message.

    >>> is_integer(3, minimum=1), is_integer(True), is_integer(2.0), is_integer(0, minimum=1)
    (True, False, False, False)
    """
    import numbers
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and (minimum is None or value >= minimum))


def checked_flag(where: str, name: str, value, default: bool = False) -> bool:
    """A yes/no argument as a ``bool``: ``True``/``False`` (numpy's too), ``1``/``0``, or ``None`` for the
    default.  Anything else, a string above all, is refused: ``exact="no"`` is truthy and once ran the
    exact path.

    >>> checked_flag("solve()", "exact", 1), checked_flag("solve()", "exact", None)
    (True, False)
    >>> checked_flag("solve()", "exact", "no")
    Traceback (most recent call last):
    ...
    persuasion.errors.InvalidArgumentError: solve(): exact must be True or False (1 or 0; None: the default); got 'no'
    """
    import numbers

    import numpy as np
    if value is None:
        return default
    if isinstance(value, (numbers.Integral, np.bool_)) and value in (0, 1):   # bools are Integral; numpy's not
        return bool(value)
    raise InvalidArgumentError(where, name, "must be True or False (1 or 0; None: the default)", value)


def checked_nonnegative(where: str, name: str, value) -> None:
    """Refuse a tolerance, or another quantity that must be a finite number >= 0 (a range of utilities,
    a value gap), when it is not: a NaN tolerance made every check fail silently (a valid certificate
    read "invalid"), a NaN range came back as a bound of NaNs.

    >>> checked_nonnegative("verify()", "tolerance", float("nan"))
    Traceback (most recent call last):
    ...
    persuasion.errors.InvalidArgumentError: verify(): tolerance must be a finite number >= 0; got nan
    """
    import math
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < math.inf:
        raise InvalidArgumentError(where, name, "must be a finite number >= 0", value)


class GameFileError(PersuasionError, ValueError):
    """A game file cannot be read: missing, not JSON, or not a game.

    Examples
    --------
    >>> from persuasion import GameFileError, PersuasionGame
    >>> try:
    ...     PersuasionGame.from_json("no/such/game.json")
    ... except GameFileError as e:
    ...     print(type(e).__name__)
    GameFileError
    """


class SolverError(PersuasionError, RuntimeError):
    """The LP solver did not return an optimal solution.

    Attributes
    ----------
    status : str
        The solver's own status string.
    hint : str
        What usually causes this status and what to try.

    Examples
    --------
    Raised when a backend reports anything but an optimum; a valid game always has one, so it signals a
    solver failure rather than bad data:

    >>> from persuasion import PersuasionError, SolverError
    >>> issubclass(SolverError, PersuasionError)
    True
    """

    def __init__(self, where: str, status: str, hint: str):
        self.status, self.hint = status, hint
        super().__init__(f"{where}: solver stopped with status {status!r}. {hint}")


class CertificateError(PersuasionError, ArithmeticError):
    """An optimality certificate failed its exact check.

    Examples
    --------
    >>> from persuasion import CertificateError, PersuasionError
    >>> issubclass(CertificateError, PersuasionError)
    True
    """
