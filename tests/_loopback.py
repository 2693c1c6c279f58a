"""Servers on loopback for the tests: a free port, and a server process started and waited for."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (as of the call)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server_process(cmd: list[str], ready_url: str, log_path, env=None, timeout: float = 120):
    """Run ``cmd`` until the block ends, after ``ready_url`` answers; stderr goes to ``log_path`` (a file, not
    a pipe nobody drains, which fills and stalls a chatty server).  A server that exits or stays silent for
    ``timeout`` seconds is a ``RuntimeError`` carrying the end of its log."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2):
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = open(log_path, errors="replace").read()[-2000:]
                raise RuntimeError(f"{cmd[:4]} did not come up at {ready_url}: {tail}")
            time.sleep(0.5)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
