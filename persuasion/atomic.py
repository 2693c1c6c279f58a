"""Atomic file writes: a reader sees the old file or the new one, never a torn one.

Public: the studies, the LLM bridge and the figure scripts write their results through it.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "result.json")
>>> write_atomic(path, b'{"value": 0.6}')
>>> open(path).read()
'{"value": 0.6}'
"""
from __future__ import annotations

import os
import threading


#: Temporary files this process is writing right now (removed by :func:`remove_in_flight` on a hard exit).
_IN_FLIGHT: set[str] = set()
#: Held for the whole of each write, so that :func:`exit_now` can wait for one in progress and then
#: exit with no new one begun (a thread that removed the temporaries and then exited left a window in
#: which another thread could create one).
_WRITING = threading.Lock()


def write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, fsync'd, then renamed.
    The temporary file is removed if the write fails."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with _WRITING:
        _IN_FLIGHT.add(tmp)
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.remove(tmp)
            except FileNotFoundError:
                pass
            raise
        finally:
            _IN_FLIGHT.discard(tmp)


def remove_in_flight() -> None:
    """Delete the temporary files this process is writing (for a process about to ``os._exit``)."""
    for tmp in list(_IN_FLIGHT):
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass


def exit_now(code: int, wait: float = 30.0):
    """End this process at once (``os._exit(code)``, from any thread) leaving no temporary file behind: a
    write in progress is let finish (for up to ``wait`` seconds, then its temporary file is removed), and
    no write begins after it."""
    _WRITING.acquire(timeout=wait)      # never released: the process ends holding it
    remove_in_flight()
    os._exit(code)


def remove_stale_temporaries(path) -> list[str]:
    """Delete ``path.tmp<pid>`` files left by writers that died (their pid no longer runs); returns them."""
    import glob
    path = os.fspath(path)
    removed = []
    for tmp in glob.glob(glob.escape(path) + ".tmp*"):
        suffix = tmp[len(path) + 4:]
        if not suffix.isdigit():
            continue
        pid = int(suffix)
        alive = True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True
        if not alive or pid == os.getpid():
            try:
                os.remove(tmp)
                removed.append(tmp)
            except FileNotFoundError:
                pass
    return removed
