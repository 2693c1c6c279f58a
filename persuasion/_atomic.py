"""Atomic file writes: a reader sees the old file or the new one, never a torn one."""
from __future__ import annotations

import os


def write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, fsync'd, then renamed."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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
