"""An append-only JSONL log of keyed records that survives being killed mid-write.

:class:`KeyedLog` is the format every study's log shares.  In a :class:`RunLog`
the first line is also a header holding the fingerprint of the configuration
that produced the records; reopening with another fingerprint is refused
(so a resumed run never mixes settings).  A line cut by a kill is cut back
to the last whole record (and the file fsync'd) before anything is
appended, so the next record never joins a torn one.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "log.jsonl")
>>> log = RunLog(path, {"model": "tiny", "n": 3})
>>> log.add({"key": "a", "p": 0.25})
>>> RunLog(path, {"model": "tiny", "n": 3}).done["a"]["p"]
0.25
"""
from __future__ import annotations

import hashlib
import json
import os


def fingerprint(config: dict) -> str:
    """A short hash of a JSON-able configuration (key order does not matter)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_whole_lines(path, cut: bool = True) -> list[str]:
    """The non-empty whole lines of a JSONL file; a torn last line (a write cut by a kill) is cut off the
    file itself and the cut made durable, so whatever is appended next starts on a line of its own.

    ``cut=False`` reads another run's log without touching it: the torn line is only skipped (that run may
    be alive and the line still being written), unless it is a whole JSON value that lacks only its
    newline (a log written by hand or by another tool ends so), which is read."""
    with open(path, "rb") as fh:
        data = fh.read()
    whole = data[:data.rfind(b"\n") + 1]
    if cut and len(whole) != len(data):
        with open(path, "r+b") as fh:
            fh.truncate(len(whole))
            fh.flush()
            os.fsync(fh.fileno())
    lines = [ln for ln in whole.decode("utf-8").splitlines() if ln.strip()]
    tail = data[len(whole):].decode("utf-8", errors="replace")
    if not cut and tail.strip():
        try:
            json.loads(tail)
            lines.append(tail)
        except json.JSONDecodeError:
            pass
    return lines


def append_lines(path, recs: list[dict]) -> None:
    """Append JSON records, one per line, in one durable write."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in recs))
        fh.flush()
        os.fsync(fh.fileno())


def parse_record(line: str, path, number: int, who: str) -> dict:
    """Non-empty line ``number`` (from 1) of the log at ``path`` as a record, or a ``ValueError`` naming
    ``who`` read it, the file and the line: a whole line that is not a JSON object (not a torn write, which
    is cut on opening) means the log was edited or damaged, and resuming over it must stop, not end in a
    bare ``JSONDecodeError``."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"{who}: {os.fspath(path)} record {number} (its non-empty lines, from 1) is not JSON "
                         f"({e.msg}); the log was damaged or edited: move it aside to start afresh") from None
    if not isinstance(rec, dict):
        raise ValueError(f"{who}: {os.fspath(path)} record {number} is not a JSON object")
    return rec


def read_records(path, who: str, cut: bool = True) -> list[dict]:
    """Every record of the JSONL log at ``path``, in file order, each read by :func:`parse_record` (so a
    damaged line names ``who``, the file and the line).  A plain log is read by :func:`read_whole_lines`
    (``cut=False`` for another run's log, which may still be written to); a log whose name ends in
    ``.gz`` (a finished run's, as saved under docs/) is read whole."""
    if os.fspath(path).endswith(".gz"):
        import gzip
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            lines = [line for line in fh if line.strip()]
    else:
        lines = read_whole_lines(path, cut=cut)
    return [parse_record(line, path, number, who) for number, line in enumerate(lines, start=1)]


class KeyedLog:
    """Keyed records in a JSONL file without a header (the format of the review, calibration and generation
    studies' saved logs): ``done`` maps each key to its last record; a torn last line is cut off on
    opening (:func:`read_whole_lines`) and every append is one durable write."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.done: dict[str, dict] = {}
        self._load(read_whole_lines(self.path) if os.path.exists(self.path) else [])

    def _record(self, line: str, number: int) -> dict:
        return parse_record(line, self.path, number, type(self).__name__)

    def _load(self, lines: list[str], first: int = 1) -> None:
        for number, line in enumerate(lines, start=first):
            rec = self._record(line, number)
            if "key" not in rec:
                raise ValueError(f"{type(self).__name__}: {self.path} record {number} has no 'key'")
            self.done[rec["key"]] = rec

    def add(self, rec: dict) -> None:
        self.add_many([rec])

    def add_many(self, recs: list[dict]) -> None:
        """Append records (each with a ``key``) in one write."""
        if any("key" not in r for r in recs):
            raise ValueError(f"{type(self).__name__}.add_many(): every record needs a 'key'")
        append_lines(self.path, recs)
        for r in recs:
            self.done[r["key"]] = r


class RunLog(KeyedLog):
    """A :class:`KeyedLog` whose first line is a header holding the fingerprint of the configuration that
    wrote it; opening it with another configuration is refused."""

    def __init__(self, path, config: dict):
        self.config, self.fingerprint = config, fingerprint(config)
        super().__init__(path)

    def _load(self, lines: list[str]) -> None:
        if not lines:                                    # a new log (or one killed before its header landed)
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            append_lines(self.path, [{"header": True, "fingerprint": self.fingerprint, "config": self.config}])
            return
        head = self._record(lines[0], 1)
        if not head.get("header") or head.get("fingerprint") != self.fingerprint:
            raise ValueError(f"RunLog: {self.path} was written with another configuration "
                             f"(fingerprint {head.get('fingerprint')!r}, this one {self.fingerprint!r}); "
                             "use another output folder or the same settings")
        super()._load(lines[1:], first=2)
