"""Rules for the numeric fields of the bridge's settings dataclasses, checked when one is made.

A study runs for hours against a model; a setting out of its domain (a negative learning rate, a base rate
of 1.5, zero bootstrap replicates) must stop it at once with the field's name, not in a division by zero
after the last model call, or silently (a negative temperature decodes greedily).  Each function checks
the named fields of one settings object and raises :class:`ValueError` written
``"SettingsClass: field must ...; got value"``.

>>> from dataclasses import dataclass
>>> @dataclass
... class Demo:
...     rounds: int = 10
...     rate: float = 0.3
>>> integers_at_least(Demo(rounds=0), 1, "rounds")
Traceback (most recent call last):
...
ValueError: Demo: rounds must be an integer >= 1; got 0
>>> numbers_in(Demo(rate=float("nan")), "(0, 1)", "rate")
Traceback (most recent call last):
...
ValueError: Demo: rate must be a number in (0, 1); got nan
"""
from __future__ import annotations

import math
import numbers

from persuasion.errors import is_integer      # an integer, not a bool: the package's one test

#: The intervals :func:`numbers_in` knows, by how they are written in its messages.
_INTERVALS = {
    "(0, 1)": (lambda x: 0 < x < 1, "a number in (0, 1)"),
    "[0, 1]": (lambda x: 0 <= x <= 1, "a number in [0, 1]"),
    "(0, 1]": (lambda x: 0 < x <= 1, "a number in (0, 1]"),
    "> 0": (lambda x: 0 < x < math.inf, "a finite number > 0"),
    ">= 0": (lambda x: 0 <= x < math.inf, "a finite number >= 0"),
}


def _where(obj) -> str:
    return type(obj).__name__


def integers_at_least(obj, minimum: int, *names: str) -> None:
    """Each field in ``names`` is an integer, at least ``minimum``."""
    for name in names:
        value = getattr(obj, name)
        if not is_integer(value) or value < minimum:
            raise ValueError(f"{_where(obj)}: {name} must be an integer >= {minimum}; got {value!r}")


def numbers_in(obj, interval: str, *names: str) -> None:
    """Each field in ``names`` is a real number (not NaN) in ``interval``, one of ``"(0, 1)"``,
    ``"[0, 1]"``, ``"(0, 1]"``, ``"> 0"`` or ``">= 0"`` (both finite)."""
    inside, phrase = _INTERVALS[interval]
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not inside(float(value)):
            raise ValueError(f"{_where(obj)}: {name} must be {phrase}; got {value!r}")


def probabilities(obj, name: str, at_least: int = 1, increasing: bool = False) -> tuple:
    """The field ``name`` as a tuple of floats, each in [0, 1], at least ``at_least`` of them (and strictly
    increasing if ``increasing``: levels that a response curve is read across)."""
    values = getattr(obj, name)
    try:
        out = tuple(float(v) for v in values)
        ok = not any(isinstance(v, bool) for v in values)
    except (TypeError, ValueError):
        out, ok = (), False
    if not ok or len(out) < at_least or not all(0 <= v <= 1 for v in out):
        raise ValueError(f"{_where(obj)}: {name} must be at least {at_least} probabilities in [0, 1]; "
                         f"got {values!r}")
    if increasing and any(b <= a for a, b in zip(out, out[1:])):
        raise ValueError(f"{_where(obj)}: {name} must be strictly increasing; got {values!r}")
    return out


def distinct_choices(obj, name: str, allowed) -> tuple:
    """The field ``name`` as a tuple of one or more distinct names from ``allowed``: a repeated name ran the
    same arm twice, none ran a study of nothing, and one string was read as its letters.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Study:
    ...     arms: tuple = ("a", "a")
    >>> distinct_choices(Study(), "arms", ("a", "b"))
    Traceback (most recent call last):
    ...
    ValueError: Study: arms must be one or more distinct names from ['a', 'b']; got ('a', 'a')
    """
    value = getattr(obj, name)
    names = () if isinstance(value, (str, bytes)) else tuple(value)
    if not names or len(set(names)) != len(names) or not set(names) <= set(allowed):
        raise ValueError(f"{_where(obj)}: {name} must be one or more distinct names from {list(allowed)}; "
                         f"got {value!r}")
    return names


def text_list(where: str, name: str, value) -> list:
    """``value`` as a list of strings: the prompts or continuations a model call takes.  A single string is
    refused (iterated, it became one prompt per character, each decoded at full cost) and so is anything
    that is not text.

    >>> text_list("LanguageModel.generate()", "prompts", "What is 2 + 2?")
    Traceback (most recent call last):
    ...
    ValueError: LanguageModel.generate(): prompts must be a list of strings, not one string; got 'What is 2 + 2?'
    """
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{where}: {name} must be a list of strings, not one string; got {value[:60]!r}")
    try:
        out = list(value)
    except TypeError:
        raise ValueError(f"{where}: {name} must be a list of strings; got {type(value).__name__}") from None
    bad = next((v for v in out if not isinstance(v, str)), None)
    if bad is not None:
        raise ValueError(f"{where}: {name} must be a list of strings; one is {type(bad).__name__} {bad!r:.60}")
    return out


def option_list(where: str, options) -> list:
    """The options a Receiver chooses among: two or more distinct strings.  One string was read as its
    characters ("Yes" a choice among "Y", "e" and "s"), and a repeated option split its probability.

    >>> option_list("ChoiceReceiver.choose()", "AB")
    Traceback (most recent call last):
    ...
    ValueError: ChoiceReceiver.choose(): options must be a list of strings, not one string; got 'AB'
    """
    out = text_list(where, "options", options)
    if len(out) < 2 or len(set(out)) != len(out):
        raise ValueError(f"{where}: options must be two or more distinct strings; got {out!r:.120}")
    return out


def sampling_config(where: str, sampling, kind):
    """``sampling`` if it is a ``kind`` (the models' :class:`SamplingConfig`), ``kind()`` for None; a dict or
    anything else is refused by name (it failed later on an attribute)."""
    if sampling is None:
        return kind()
    if not isinstance(sampling, kind):
        raise ValueError(f"{where}: sampling must be a {kind.__name__} or None; got {type(sampling).__name__}")
    return sampling
