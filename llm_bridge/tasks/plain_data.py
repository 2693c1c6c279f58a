"""Plain data across the boundary between a candidate's process and the trusted tests.

A candidate (model-written code) runs in the sandbox; the tests that judge it
run in another, trusted process.  Arguments go one way and return values the
other, as JSON lines in which every value has an exact built-in type:
``None``, ``bool``, ``int``, ``float``, ``str``, ``list`` (JSON arrays), and
tagged one-key objects for ``tuple``, ``dict`` (a list of pairs, so any
plain key), ``set``, ``frozenset``, ``complex`` and ``bytes``.  Anything
else (a subclass of ``int``, an object with its own ``__eq__``, a generator)
cannot be encoded, so no object of the candidate's can take part in a
comparison.  Decoding rebuilds exactly these types and rejects anything else.

This module is stdlib-only and self-contained: its source is also run as
text inside the sandboxed candidate server and the tests runner
(:mod:`llm_bridge.tasks.verdict`), so both sides share one definition.
"""
import json

#: Deepest nesting encoded or decoded (deeper is not plain data).
MAX_DEPTH = 200

_SCALARS = (type(None), bool, int, float, str)
_TAGGED = {"tuple": tuple, "set": set, "frozenset": frozenset}


def encode(value, _depth=0):
    """``value`` as a JSON-ready structure; ``TypeError`` if it is not plain data."""
    if _depth > MAX_DEPTH:
        raise TypeError(f"value nested deeper than {MAX_DEPTH}")
    t = type(value)
    if t in _SCALARS:
        return value
    if t is list:
        return [encode(x, _depth + 1) for x in value]
    if t in (tuple, set, frozenset):
        return {t.__name__: [encode(x, _depth + 1) for x in value]}
    if t is dict:
        return {"dict": [[encode(k, _depth + 1), encode(x, _depth + 1)] for k, x in value.items()]}
    if t is complex:
        return {"complex": [value.real, value.imag]}
    if t is bytes:
        return {"bytes": value.hex()}
    raise TypeError(f"a {t.__name__} is not plain data (None, bool, int, float, complex, str, bytes, "
                    "list, tuple, dict, set, frozenset)")


def decode(obj, _depth=0):
    """The value an :func:`encode` structure stands for; ``ValueError`` for anything else."""
    if _depth > MAX_DEPTH:
        raise ValueError(f"value nested deeper than {MAX_DEPTH}")
    t = type(obj)
    if t in _SCALARS:
        return obj
    if t is list:
        return [decode(x, _depth + 1) for x in obj]
    if t is dict and len(obj) == 1:
        (tag, body), = obj.items()
        if tag in _TAGGED and type(body) is list:
            return _TAGGED[tag](decode(x, _depth + 1) for x in body)
        if tag == "dict" and type(body) is list and all(type(p) is list and len(p) == 2 for p in body):
            return {decode(k, _depth + 1): decode(v, _depth + 1) for k, v in body}
        if tag == "complex" and type(body) is list and len(body) == 2 and all(type(x) in (int, float) for x in body):
            return complex(body[0], body[1])
        if tag == "bytes" and type(body) is str:
            return bytes.fromhex(body)
    raise ValueError(f"not an encoded plain value: {str(obj)[:80]}")


def dumps(value) -> bytes:
    """One JSON line (ASCII, so any string, lone surrogates included, survives)."""
    return json.dumps(value).encode("ascii") + b"\n"


def write_back(original, new) -> None:
    """Make the mutable containers in ``original`` equal to ``new`` in place (a callee's mutations).

    Lists of the same length, dicts and sets are updated element by element
    where both sides are containers of the same type, so a caller that holds a
    reference to an inner list sees it change as it would in one process.
    """
    t = type(original)
    if t is not type(new):
        return
    if t is list:
        if len(original) == len(new):
            for i, (a, b) in enumerate(zip(original, new)):
                if type(a) in (list, dict, set) and type(a) is type(b):
                    write_back(a, b)
                elif not (type(a) is type(b) and a == b):
                    original[i] = b
        else:
            original[:] = new
    elif t is dict:
        if list(original) != list(new):
            original.clear()
            original.update(new)
        else:
            for k, b in new.items():
                a = original[k]
                if type(a) in (list, dict, set) and type(a) is type(b):
                    write_back(a, b)
                elif not (type(a) is type(b) and a == b):
                    original[k] = b
    elif t is set and original != new:
        original.clear()
        original.update(new)
