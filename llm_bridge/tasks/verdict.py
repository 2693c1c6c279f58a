"""A code verdict computed where the candidate cannot reach it.

Two processes take part in every check:

* the **candidate server** runs in the sandbox (:func:`llm_bridge.tasks.sandbox.run_python`):
  it executes the candidate's program, then answers calls of the entry point
  that arrive on its descriptor 3, a socket, one JSON line each;
* the **tests runner** is a trusted interpreter (``python -I -S``) outside the
  sandbox holding the other end of the socket.  It executes the problem's
  prompt (so helpers the prompt defines, such as ``poly``, are the prompt's,
  never the completion's) and its tests, with ``candidate`` (and the entry
  point's name, which some tests call) a stub that sends the arguments and
  receives the return value.

Only plain data crosses (:mod:`llm_bridge.tasks.plain_data`), so no object of the
candidate's takes part in a comparison, and nothing the candidate patches in
its own process (builtins, modules, tracing, memory through ctypes) touches
the tests' code, which the candidate never sees.  Mutations of arguments come
back with each answer and are written into the caller's objects, so tests
that rely on them behave as in one process.  The verdict is the tests
runner's: PASS only when ``check(candidate)`` returned.
"""
from __future__ import annotations

import ctypes
import inspect
import json
import os
import signal
import socket
import subprocess
import sys

from . import plain_data
from .sandbox import _check_limits, _memfd, require_root, run_python

#: Largest reply (one JSON line) the tests accept from the candidate.
MAX_REPLY_BYTES = 64 << 20

_CODEC = inspect.getsource(plain_data)

# The candidate server: the sandboxed program.  __ENTRY__ becomes the problem's entry point (trusted data).
_SERVER = _CODEC + r'''
import os as _os, socket as _socket, sys as _sys
_sys.set_int_max_str_digits(0)
_conn = _socket.socket(fileno=3)
def _send(obj):
    _conn.sendall(dumps(obj))
try:
    _source = _sys.stdin.buffer.read().decode("utf-8")
    _ns = {"__name__": "candidate"}
    exec(compile(_source, "candidate.py", "exec"), _ns)
    _fn = _ns[__ENTRY__]
except BaseException as _e:
    _send({"ready": False, "error": ("%s: %s" % (type(_e).__name__, _e))[:500]})
    _os._exit(1)
_send({"ready": True})
for _line in _conn.makefile("rb"):
    _request = json.loads(_line)
    _args, _kwargs = decode(_request["args"]), decode(_request["kwargs"])
    try:
        _value = _fn(*_args, **_kwargs)
        _reply = {"value": encode(_value), "args": encode(_args), "kwargs": encode(_kwargs)}
    except BaseException as _e:
        _reply = {"raised": ("%s: %s" % (type(_e).__name__, _e))[:500]}
    _send(_reply)
_os._exit(0)
'''

# The tests runner: trusted, outside the sandbox.  Its input (prompt, tests, deadline, socket number) comes
# on stdin; its one output line is the verdict.
_RUNNER = _CODEC + r'''
import os, socket, sys, time
sys.set_int_max_str_digits(0)
payload = json.loads(sys.stdin.buffer.read())
deadline = time.monotonic() + payload["seconds"]
conn = socket.socket(fileno=payload["fd"])
reader = conn.makefile("rb")


def verdict(passed, reason):
    sys.stdout.write(json.dumps({"passed": passed, "reason": reason[:500]}) + "\n")
    sys.stdout.flush()
    os._exit(0)


class CandidateFailed(Exception):
    pass


def receive():
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the tests did not finish within %g s" % payload["seconds"])
    conn.settimeout(left)
    try:
        line = reader.readline(payload["max_reply"] + 1)
    except OSError:                                   # socket.timeout is an OSError
        raise TimeoutError("the candidate did not answer within %g s" % payload["seconds"]) from None
    if not line:
        raise CandidateFailed("the candidate's process ended without answering")
    if len(line) > payload["max_reply"] or not line.endswith(b"\n"):
        raise CandidateFailed("the candidate's answer is over %d bytes" % payload["max_reply"])
    return json.loads(line)


def candidate(*args, **kwargs):
    conn.sendall(dumps({"args": encode(list(args)), "kwargs": encode(kwargs)}))
    reply = receive()
    if type(reply) is not dict:
        raise CandidateFailed("malformed answer")
    if "raised" in reply:
        raise CandidateFailed("the candidate raised " + str(reply["raised"]))
    value, new_args, new_kwargs = decode(reply["value"]), decode(reply["args"]), decode(reply["kwargs"])
    if type(new_args) is not list or len(new_args) != len(args) or type(new_kwargs) is not dict:
        raise CandidateFailed("malformed answer")
    for old, new in zip(args, new_args):
        write_back(old, new)
    for k, old in kwargs.items():
        write_back(old, new_kwargs.get(k))
    return value


try:
    hello = receive()
    if type(hello) is not dict or hello.get("ready") is not True:
        detail = hello.get("error") if type(hello) is dict else hello
        verdict(False, "error: the candidate did not load: %s" % (detail,))
    tests = {"__name__": "tests"}
    exec(compile(payload["prompt"], "prompt.py", "exec"), tests)
    tests[payload["entry"]] = candidate          # a test that names the entry point means the candidate
    exec(compile(payload["test"], "tests.py", "exec"), tests)
    tests["check"](candidate)
except TimeoutError as e:
    verdict(False, "timeout: %s" % e)
except BaseException as e:
    verdict(False, "error: %s: %s" % (type(e).__name__, e))
verdict(True, "all tests passed")
'''


def _die_with_parent(parent: int):
    def preexec():
        if ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
            os._exit(1)
    return preexec


def run_tests(prompt: str, test: str, entry: str, program: str, timeout: float = 5.0) -> tuple[bool, str]:
    """Run HumanEval-style ``test`` (defining ``check(candidate)``) against ``program``'s ``entry``.

    Returns ``(passed, reason)``.  ``program`` runs in the sandbox; ``prompt``
    and ``test`` (trusted data) run in a separate trusted process, which
    decides.  ``timeout`` bounds the whole check; the candidate's process is
    ended as soon as the tests runner is done.
    """
    if not isinstance(entry, str) or not entry.isidentifier():
        raise ValueError(f"run_tests(): entry must be a Python identifier; got {entry!r}")
    _check_limits(timeout, "run_tests()")   # 0 reached the sandbox as 1 s and ended as "the launcher ended"
    require_root("run_tests()")
    ours, theirs = socket.socketpair()
    done_r, done_w = os.pipe()
    out_fd = _memfd("verdict", b"")
    err_fd = _memfd("runner-stderr", b"")
    in_fd = _memfd("tests", json.dumps({"prompt": prompt, "test": test, "entry": entry, "seconds": timeout, "fd": theirs.fileno(),
                                        "max_reply": MAX_REPLY_BYTES}).encode())
    runner = None
    try:
        runner = subprocess.Popen([sys.executable, "-I", "-S", "-c", _RUNNER], stdin=in_fd, stdout=out_fd,
                                  stderr=err_fd, pass_fds=(theirs.fileno(), done_w), close_fds=True,
                                  preexec_fn=_die_with_parent(os.getpid()), env={"LANG": "C.UTF-8"}, cwd="/")
        for fd in (in_fd, done_w):
            os.close(fd)
        in_fd = done_w = None
        theirs.close()
        # the candidate gets a little longer than the tests, so that a hang is reported by the tests runner
        res = run_python(_SERVER.replace("__ENTRY__", repr(entry)), stdin=program.encode("utf-8", "surrogatepass"),
                         channel=ours, timeout=timeout + 1.0, stop_fd=done_r)
        ours.close()
        try:
            runner.wait(timeout=timeout + 5.0)
        except subprocess.TimeoutExpired:
            return False, "error: the tests runner did not finish"
        os.lseek(out_fd, 0, os.SEEK_SET)
        text = os.read(out_fd, 1 << 16).decode("utf-8", "replace")
        try:
            result = json.loads(text)
            passed, reason = result["passed"] is True, str(result["reason"])
        except (ValueError, KeyError, TypeError):
            os.lseek(err_fd, 0, os.SEEK_SET)
            err = os.read(err_fd, 1 << 16).decode("utf-8", "replace").strip().splitlines()
            return False, f"error: the tests runner failed (status {runner.returncode}): {err[-1] if err else ''}"
        if not passed and res.status in ("memory", "output-limit", "timeout"):
            reason += f" ({res.status}: {res.reason})"
        return passed, reason
    finally:
        for fd in (in_fd, done_w, done_r, out_fd, err_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        ours.close()
        theirs.close()
        if runner is not None and runner.poll() is None:
            runner.kill()
            runner.wait()
