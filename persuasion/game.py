"""The persuasion game: prior, Advisor (sender) and Receiver utilities.

:class:`PersuasionGame` is immutable and validated up front.  It keeps two
views of the same data:

* float arrays (``prior``, ``sender``, ``receiver``), read-only, used by the
  float solvers and the analysis functions;
* exact rationals (:meth:`PersuasionGame.rational`), used by the exact path.

Inputs may be ints, floats, :class:`fractions.Fraction`, numpy numbers or
strings such as ``"3/10"``.  A game whose inputs are all ints, fractions or
fraction strings is *rational*: its prior must sum to exactly 1.  A game with
any float input is read with a tolerance (``PRIOR_TOLERANCE``) and rescaled to
sum to 1; its exact view reads each float as the shortest decimal that
round-trips (``0.3`` becomes ``3/10``) and rescales the prior exactly.
"""
from __future__ import annotations

import json
import math
import numbers
import os
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from .errors import GameFileError, InvalidArgumentError, InvalidGameError

#: Largest game file :meth:`PersuasionGame.from_json` reads.
MAX_FILE_BYTES = 256 * 2**20

#: Largest ``|sum(prior) - 1|`` accepted for a prior with float entries.
PRIOR_TOLERANCE = 1e-9

_WHERE = "PersuasionGame()"


def _entry_to_fraction(x: Any) -> Fraction:
    """Exact value of one validated entry (floats read as shortest decimal)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError("bool")
    if isinstance(x, numbers.Integral):
        return Fraction(int(x))
    if isinstance(x, numbers.Real):
        return Fraction(repr(float(x)))
    if isinstance(x, str):
        return Fraction(x.strip())
    raise TypeError(type(x).__name__)


#: Largest number of entries a game's table may have (checked before any array is built).
MAX_ENTRIES = 50_000_000


def _find_bool(value: Any, ndim: int, path: tuple = ()) -> tuple | None:
    """Index of the first boolean in nested lists/tuples (numpy would read ``True`` as 1), or None."""
    if isinstance(value, (bool, np.bool_)):
        return path
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "b":
            return path + (0,) * value.ndim
        if value.dtype != object:
            return None
    if ndim > 0 and isinstance(value, (list, tuple, np.ndarray)):
        for i, x in enumerate(value):
            hit = _find_bool(x, ndim - 1, path + (i,))
            if hit is not None:
                return hit
    return None


def _count_entries(value: Any, argument: str) -> None:
    """Refuse tables too large to hold before numpy tries to allocate them."""
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        total = len(value) * len(value[0])
    elif isinstance(value, (list, tuple, np.ndarray)):
        total = int(np.size(value)) if isinstance(value, np.ndarray) else len(value)
    else:
        return
    if total > MAX_ENTRIES:
        raise InvalidGameError(_WHERE, argument, f"must have at most {MAX_ENTRIES:,} entries (about "
                               f"{MAX_ENTRIES * 24 // 2**30} GiB to hold)", f"about {total:,} entries")


def _read_array(value: Any, argument: str, ndim: int) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Validate a table of numbers.

    Returns the float array, the exact object array (or ``None`` when the
    input was a plain float/int numpy array, converted lazily later) and
    whether every entry was rational.
    """
    shape_word = "a list of numbers" if ndim == 1 else "a rectangular table of numbers"
    if isinstance(value, (str, bytes, dict, set)) or value is None:
        raise InvalidGameError(_WHERE, argument, f"must be {shape_word}", f"a {type(value).__name__}")
    _count_entries(value, argument)
    where_bool = _find_bool(value, ndim)
    if where_bool is not None:
        raise InvalidGameError(_WHERE, argument, "entries must be numbers, not booleans",
                               f"a boolean at index {where_bool}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise InvalidGameError(_WHERE, argument, f"must be {shape_word}", "a ragged sequence") from None
    if arr.dtype.kind in "US":
        # numpy turns ["1/3", 0.6666666666666667] into strings, which would read the float as an exact
        # decimal: keep each entry as the type it was written in
        try:
            arr = np.array(value, dtype=object)
        except (ValueError, TypeError):
            raise InvalidGameError(_WHERE, argument, f"must be {shape_word}", "a ragged sequence") from None
    if arr.ndim != ndim:
        raise InvalidGameError(_WHERE, argument, f"must be {shape_word} ({ndim}-D)", f"an array of shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return arr.astype(float), None, True
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InvalidGameError(_WHERE, argument, "entries must be finite", f"{arr[idx]} at index {idx}")
        return arr.astype(float), None, False
    if arr.dtype.kind == "b":
        raise InvalidGameError(_WHERE, argument, "entries must be numbers, not booleans", value)
    exact = np.empty(arr.shape, dtype=object)
    rational = True
    out = np.empty(arr.shape, dtype=float)
    for idx, x in np.ndenumerate(arr):
        if isinstance(x, (float, np.floating)) and not math.isfinite(x):
            raise InvalidGameError(_WHERE, argument, "entries must be finite", f"{x} at index {idx}")
        try:
            exact[idx] = _entry_to_fraction(x)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
            shown = repr(x) if len(repr(x)) <= 60 else repr(x)[:57] + "..."
            raise InvalidGameError(_WHERE, argument, "entries must be real numbers", f"{shown} at index {idx}") from None
        try:
            out[idx] = float(exact[idx])
        except OverflowError:
            raise InvalidGameError(_WHERE, argument, "entries must be finite floats (magnitude below 1.8e308)",
                                   f"a number with {len(str(abs(exact[idx].numerator)))} digits at index {idx}") from None
        if isinstance(x, (float, np.floating)):
            rational = False
    return out, exact, rational


def checked_game(where: str, game) -> None:
    """Refuse anything that is not a :class:`PersuasionGame` where a function takes one, naming the function
    and what it got (a string or a dict ended in an ``AttributeError`` from inside the function)."""
    if not isinstance(game, PersuasionGame):
        raise InvalidArgumentError(where, "game", "must be a PersuasionGame (PersuasionGame.from_dict reads a "
                                   "dict, from_json a file)", type(game).__name__)


def _read_game_file(label: str) -> str:
    """The text of a game file: a regular file (or a character device such as a pipe's end given as
    ``/dev/stdin``, read up to the size limit); FIFOs, sockets and block devices are refused by type before
    anything is opened for reading, so nothing hangs or reads without end."""
    import stat
    try:
        mode = os.stat(label).st_mode
    except OSError as e:
        raise GameFileError(f"cannot read game file {label!r}: {e.strerror}") from None
    kinds = {stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISSOCK: "a socket", stat.S_ISBLK: "a block device",
             stat.S_ISDIR: "a directory"}
    for test, kind in kinds.items():
        if test(mode):
            raise GameFileError(f"game file {label!r} is {kind}, not a regular file")
    try:
        with open(label, "rb") as fh:
            return read_game_stream(fh, label, os.path.getsize(label) if stat.S_ISREG(mode) else None)
    except OSError as e:
        raise GameFileError(f"cannot read game file {label!r}: {e.strerror}") from None


def read_game_stream(fh, label: str, size: int | None = None) -> str:
    """The text of a game read from the binary stream ``fh`` (a file, or standard input given as ``-`` on
    the command line), at most :data:`MAX_FILE_BYTES` of it; ``size``, where known, goes in the error."""
    raw = fh.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise GameFileError(f"game file {label!r} is larger than {MAX_FILE_BYTES // 2**20} MiB"
                            + (f" ({size:,} bytes)" if size else " (read stopped there)"))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise GameFileError(f"game file {label!r} is not UTF-8 text (byte {e.start}): a binary file?") from None


def _no_duplicate_keys(pairs: list, label: str) -> dict:
    """A JSON object's keys, refusing one written twice (json would keep the last silently)."""
    out = {}
    for key, value in pairs:
        if key in out:
            shown = key if len(key) <= 40 else key[:37] + "..."
            raise GameFileError(f"game file {label!r} has the key {shown!r} twice in one object")
        out[key] = value
    return out


def _read_labels(labels: Sequence[str] | None, count: int, argument: str, prefix: str) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"{prefix}{i}" for i in range(count))
    if isinstance(labels, str):
        raise InvalidGameError(_WHERE, argument, "must be a sequence of labels, not one string", repr(labels))
    if not isinstance(labels, (list, tuple, np.ndarray)):
        raise InvalidGameError(_WHERE, argument, "must be a list of labels", f"a {type(labels).__name__}")
    if any(not isinstance(x, (str, numbers.Real)) or isinstance(x, bool) for x in labels):
        bad = next(x for x in labels if not isinstance(x, (str, numbers.Real)) or isinstance(x, bool))
        raise InvalidGameError(_WHERE, argument, "labels must be strings or numbers", repr(bad)[:60])
    labels = tuple(str(x) for x in labels)
    if len(labels) != count:
        raise InvalidGameError(_WHERE, argument, f"must have one label per {prefix == 's' and 'state' or 'action'} ({count})",
                               f"{len(labels)} labels")
    if len(set(labels)) != len(labels):
        dup = next(x for x in labels if labels.count(x) > 1)
        raise InvalidGameError(_WHERE, argument, "labels must be distinct", f"{dup!r} twice")
    return labels


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


class PersuasionGame:
    """A Bayesian persuasion game with a finite state space and direct signals.

    Parameters
    ----------
    prior : sequence of m numbers
        The common prior ``mu0`` over states; non-negative, sums to 1.
    sender : m x n table
        The Advisor's (sender's) utility ``V[state, action]``.
    receiver : m x n table
        The Receiver's utility ``U[state, action]``.
    states, actions : sequences of str, optional
        Labels; default ``s0..`` and ``a0..``.
    name : str, optional
        A name used in reports.

    Raises
    ------
    InvalidGameError
        (a ``ValueError``) naming the argument, the rule and the bad value.

    Examples
    --------
    >>> from fractions import Fraction
    >>> g = PersuasionGame([Fraction(7, 10), Fraction(3, 10)],
    ...                    sender=[[0, 1], [0, 1]], receiver=[[1, 0], [0, 1]],
    ...                    states=["innocent", "guilty"], actions=["acquit", "convict"])
    >>> g.num_states, g.num_actions, g.is_rational
    (2, 2, True)
    """

    __slots__ = ("_prior", "_sender", "_receiver", "_exact_in", "_exact", "_states", "_actions",
                 "_rational", "_name", "_derived")

    def __init__(self, prior, sender, receiver, states=None, actions=None, name: str | None = None):
        p, p_exact, p_rat = _read_array(prior, "prior", 1)
        V, V_exact, V_rat = _read_array(sender, "sender", 2)
        U, U_exact, U_rat = _read_array(receiver, "receiver", 2)
        m = p.shape[0]
        if m == 0:
            raise InvalidGameError(_WHERE, "prior", "must have at least one state", "an empty prior")
        if V.shape[0] != m:
            raise InvalidGameError(_WHERE, "sender", f"must have one row per state ({m} rows, matching prior)",
                                   f"shape {V.shape}")
        if V.shape[1] == 0:
            raise InvalidGameError(_WHERE, "sender", "must have at least one action (column)", f"shape {V.shape}")
        if U.shape != V.shape:
            raise InvalidGameError(_WHERE, "receiver", f"must have the same shape as sender {V.shape}",
                                   f"shape {U.shape}")
        if (p < 0).any():
            i = int(np.argmax(p < 0))
            raise InvalidGameError(_WHERE, "prior", "entries must be non-negative", f"{p[i]} at index {i}")
        rational = p_rat and V_rat and U_rat
        if p_rat:
            # Python integers: a fixed-width sum of large integer entries wraps around (2**62 x 4 + 1 -> 1)
            exact_sum = sum(p_exact) if p_exact is not None else sum(int(x) for x in np.asarray(prior).tolist())
            if exact_sum != 1:
                raise InvalidGameError(_WHERE, "prior", "must sum to exactly 1 (entries are rational)", str(exact_sum))
        else:
            s = float(p.sum())
            if abs(s - 1.0) > PRIOR_TOLERANCE:
                raise InvalidGameError(_WHERE, "prior", f"must sum to 1 (tolerance {PRIOR_TOLERANCE:g})", repr(s))
            p = p / s
        self._prior = _readonly(p)
        self._sender = _readonly(V)
        self._receiver = _readonly(U)
        self._exact_in = (p_exact, V_exact, U_exact, np.asarray(prior), np.asarray(sender), np.asarray(receiver))
        self._exact = None
        self._states = _read_labels(states, m, "states", "s")
        self._actions = _read_labels(actions, V.shape[1], "actions", "a")
        self._rational = rational
        if name is not None and not isinstance(name, str):
            raise InvalidGameError(_WHERE, "name", "must be a string", f"a {type(name).__name__}")
        self._name = name
        self._derived = {}        # objects computed from the data once (normalised game, scaling), by name

    # ------------------------------------------------------------------ views
    @property
    def prior(self) -> np.ndarray:
        """Float prior, read-only, shape ``(m,)``."""
        return self._prior

    @property
    def sender(self) -> np.ndarray:
        """Float Advisor utility ``V``, read-only, shape ``(m, n)``."""
        return self._sender

    @property
    def receiver(self) -> np.ndarray:
        """Float Receiver utility ``U``, read-only, shape ``(m, n)``."""
        return self._receiver

    @property
    def num_states(self) -> int:
        return self._prior.shape[0]

    @property
    def num_actions(self) -> int:
        return self._sender.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``: number of states and of actions."""
        return self._sender.shape

    @property
    def states(self) -> tuple[str, ...]:
        return self._states

    @property
    def actions(self) -> tuple[str, ...]:
        return self._actions

    @property
    def name(self) -> str | None:
        return self._name

    def _derive(self, key: str, make):
        """``make()`` computed once per game and kept (the game is immutable, so it stays right)."""
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]

    @property
    def is_rational(self) -> bool:
        """True when every input was an int, a fraction or a fraction string."""
        return self._rational

    def rational(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact data ``(prior, sender, receiver)`` as object arrays of ``Fraction``.

        The prior sums to exactly 1 (a float prior is rescaled exactly).
        Computed once and cached; the arrays returned are read-only.
        """
        if self._exact is None:
            parts = []
            for exact, raw in zip(self._exact_in[:3], self._exact_in[3:]):
                if exact is None:
                    exact = np.empty(raw.shape, dtype=object)
                    for idx, x in np.ndenumerate(raw):
                        exact[idx] = _entry_to_fraction(x.item() if hasattr(x, "item") else x)
                parts.append(exact)
            p = parts[0]
            s = sum(p, Fraction(0))
            if s != 1:
                p = np.array([x / s for x in p], dtype=object)
            parts[0] = p
            object.__setattr__(self, "_exact", tuple(_readonly(x) for x in parts))
        return self._exact

    # ------------------------------------------------------------ derived games
    def with_prior(self, prior) -> "PersuasionGame":
        """The same game with another prior (labels and name kept)."""
        return PersuasionGame(prior, self._exact_or_float("sender"), self._exact_or_float("receiver"),
                              self._states, self._actions, self._name)

    def _exact_or_float(self, which: str):
        i = {"prior": 0, "sender": 1, "receiver": 2}[which]
        return self.rational()[i] if self._rational else getattr(self, "_" + which)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """A JSON-ready dict; rational games store entries as ``"p/q"`` strings."""
        def enc(a):
            if self._rational:
                return np.vectorize(lambda x: str(x) if x.denominator != 1 else int(x.numerator),
                                    otypes=[object])(a).tolist()
            return np.asarray(a, dtype=float).tolist()
        prior, sender, receiver = self.rational() if self._rational else (self.prior, self.sender, self.receiver)
        d = {"states": list(self._states), "actions": list(self._actions),
             "prior": enc(prior), "sender": enc(sender), "receiver": enc(receiver)}
        if self._name is not None:
            d = {"name": self._name, **d}
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "PersuasionGame":
        """Build a game from :meth:`to_dict`'s format."""
        if not isinstance(data, dict):
            raise GameFileError(f"PersuasionGame.from_dict(): expected a JSON object, got {type(data).__name__}")
        missing = [k for k in ("prior", "sender", "receiver") if k not in data]
        if missing:
            raise GameFileError(f"PersuasionGame.from_dict(): missing required field(s) {', '.join(missing)}")
        unknown = set(data) - {"name", "states", "actions", "prior", "sender", "receiver", "description"}
        if unknown:
            raise GameFileError(f"PersuasionGame.from_dict(): unknown field(s) {', '.join(sorted(unknown))}")
        return cls(data["prior"], data["sender"], data["receiver"], data.get("states"), data.get("actions"),
                   data.get("name"))

    def to_json(self, path: str | os.PathLike | None = None, indent: int | None = 2) -> str:
        """Serialise to JSON; write to ``path`` if given. Returns the text."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return text

    @classmethod
    def from_json(cls, source: str | os.PathLike) -> "PersuasionGame":
        """Read a game from a JSON file path (or a JSON text starting with ``{``).

        Raises :class:`GameFileError` for a missing or malformed file and
        :class:`InvalidGameError` for valid JSON that is not a valid game.
        """
        if isinstance(source, str) and source.lstrip().startswith("{"):
            return cls.from_text(source, "<text>")
        label = os.fspath(source)
        return cls.from_text(_read_game_file(label), label)

    @classmethod
    def from_text(cls, text: str, label: str = "<text>") -> "PersuasionGame":
        """Read a game from JSON text (what :meth:`from_json` does once the file is read); ``label`` names
        the source in errors.

        >>> PersuasionGame.from_text('{"prior": [0.5, 0.5], "sender": [[1, 0], [1, 0]], '
        ...                          '"receiver": [[1, 0], [0, 1]]}').shape
        (2, 2)
        """
        if not isinstance(text, str):
            raise InvalidArgumentError("PersuasionGame.from_text()", "text", "must be a str (JSON text)",
                                       type(text).__name__)
        try:
            data = json.loads(text, object_pairs_hook=lambda pairs: _no_duplicate_keys(pairs, label))
        except json.JSONDecodeError as e:
            raise GameFileError(f"game file {label!r} is not valid JSON: {e.msg} at line {e.lineno}") from None
        except RecursionError:
            raise GameFileError(f"game file {label!r} is nested too deeply to be a game") from None
        except GameFileError:        # a duplicate key, from the hook
            raise
        except ValueError as e:      # e.g. an integer literal with more digits than Python converts
            raise GameFileError(f"game file {label!r} cannot be read as JSON: {str(e)[:120]}") from None
        return cls.from_dict(data)

    # ------------------------------------------------------------- protocol
    def __eq__(self, other) -> bool:
        if not isinstance(other, PersuasionGame):
            return NotImplemented
        if (self.shape, self._states, self._actions) != (other.shape, other._states, other._actions):
            return False
        return all(np.array_equal(a, b) for a, b in zip(self.rational(), other.rational()))

    def __hash__(self) -> int:
        return hash((self.shape, self._states, self._actions, tuple(self.rational()[0])))

    def __repr__(self) -> str:
        m, n = self.shape
        label = f" {self._name!r}" if self._name else ""
        return f"<PersuasionGame{label}: {m} states x {n} actions{', rational' if self._rational else ''}>"

    def __setattr__(self, key, value):
        if key in PersuasionGame.__slots__ and not hasattr(self, key):
            object.__setattr__(self, key, value)
        else:
            raise AttributeError(f"PersuasionGame is immutable; cannot set {key!r}")
