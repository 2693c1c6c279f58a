"""Run untrusted code (model-written programs) in an isolated process, failing closed.

Threat model and layout: docs/llm_bridge.md ("The code sandbox").  In short,
the parent (root) starts a trusted *launcher* (``python3 -I -S -c``) whose
pre-exec hook has already entered new mount, network, IPC, UTS and PID
namespaces.  The launcher forks the *init* of the new PID namespace, which:

1. makes every mount private, mounts a fresh ``/proc`` for the namespace,
   a size-limited tmpfs as the only writable directory (the program is
   copied into it), and empty tmpfs over ``/tmp``, ``/var/tmp``, ``/run``,
   ``/dev/shm`` and the home folders (host UNIX sockets and files there
   disappear); then remounts ``/`` read-only;
2. sets resource limits (address space, CPU, file size, open files, no
   core dumps, processes), drops to a fresh unprivileged uid with no groups,
   sets ``no_new_privs``, and runs the program with a clean environment.

Every step is checked; if one fails the launcher exits with a code the
parent turns into :class:`SandboxUnavailable`, and the program never runs.
A non-root parent gets :class:`SandboxUnavailable` before anything starts.
``unsafe_no_isolation_trusted_code_only=True`` runs without isolation, for
trusted code only.

The parent holds the read ends of the output pipes (never paths the child
can swap), reads at most ``max_output_bytes`` from each with a deadline,
and at the end kills the launcher; the kernel then kills every process in
the PID namespace (its init is gone), so nothing outlives the call.
"""
from __future__ import annotations

import os
import random
import resource
import selectors
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = (0x00020000, 0x04000000, 0x08000000,
                                                                     0x20000000, 0x40000000)

#: Interpreters tried for the child, in order; the first one an unprivileged user can run wins.
PYTHON_CANDIDATES = ("/usr/bin/python3", "/usr/local/bin/python3")

#: Launcher exit codes: an isolation step failed (nothing ran).
SETUP_FAILED = 97


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be set up here (not root, no namespaces, a mount refused): nothing was run."""


@dataclass(frozen=True)
class SandboxResult:
    """Outcome of one sandboxed run.

    ``status`` is one of ``"ok"`` (exit 0), ``"error"`` (non-zero exit or an
    exception), ``"timeout"`` (wall clock or CPU limit), ``"memory"``
    (address-space limit), ``"output-limit"`` (output over the cap);
    ``reason`` says what happened in a line.  ``channel`` is what the
    program wrote to descriptor 3 (the verdict channel of a harness).
    """

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    reason: str
    seconds: float
    user: int | None = None      # the unprivileged uid the child ran as (None without isolation)
    channel: str = ""

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
    if os.geteuid() != 0 or _world_executable(sys.executable):
        return sys.executable
    for cand in PYTHON_CANDIDATES:
        if _world_executable(cand):
            return cand
    raise SandboxUnavailable("sandbox: no Python interpreter that an unprivileged user can execute; "
                             f"tried {sys.executable} and {PYTHON_CANDIDATES}")


# The launcher runs as root inside the new mount/net/ipc/uts namespaces and forks the PID namespace's
# init.  It is trusted code, kept short; every failure exits SETUP_FAILED with the step on stderr.
_LAUNCHER = r'''
import ctypes, os, sys, resource, json
cfg = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
def fail(step):
    e = ctypes.get_errno()
    os.write(2, ("sandbox setup failed: %%s: %%s\n" %% (step, os.strerror(e) if e else "error")).encode())
    os._exit(%(SETUP_FAILED)d)
def mount(src, dst, fstype, flags, data, step):
    if libc.mount(src, dst, fstype, flags, data) != 0:
        fail(step)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
pid = os.fork()
if pid:
    while True:
        try:
            _, st = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(%(SETUP_FAILED)d)
    os._exit(os.waitstatus_to_exitcode(st) if os.waitstatus_to_exitcode(st) >= 0 else 128 - os.waitstatus_to_exitcode(st))
# init of the new PID namespace
if libc.prctl(1, 9, 0, 0, 0) != 0:                      # PR_SET_PDEATHSIG = SIGKILL: die with the launcher
    fail("prctl(PR_SET_PDEATHSIG)")
if os.getpid() != 1:
    fail("PID namespace (init is pid %%d, not 1)" %% os.getpid())
mount(None, b"/", None, MS_REC | MS_PRIVATE, None, "make mounts private")
mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV, None, "mount /proc")
wd = cfg["workdir"].encode()
mount(b"tmpfs", wd, b"tmpfs", MS_NOSUID | MS_NODEV, ("size=%%dk,mode=0700" %% cfg["disk_kb"]).encode(), "mount workdir tmpfs")
for d in cfg["hide"]:
    if os.path.isdir(d):
        mount(b"tmpfs", d.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64k,mode=0755", "hide " + d)
mount(None, b"/", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None, "remount / read-only")
with open(os.path.join(cfg["workdir"], "program.py"), "w") as fh:
    fh.write(cfg["source"])
uid = cfg["uid"]
os.chown(cfg["workdir"], uid, uid)
os.chdir(cfg["workdir"])
for name, v in cfg["limits"].items():
    resource.setrlimit(getattr(resource, name), (v[0], v[1]))
try:
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
except OSError:
    fail("drop to uid %%d" %% uid)
if os.getuid() != uid or os.geteuid() != uid:
    fail("uid check")
if libc.prctl(38, 1, 0, 0, 0) != 0:                     # PR_SET_NO_NEW_PRIVS
    fail("prctl(PR_SET_NO_NEW_PRIVS)")
os.write(cfg["channel_fd"], b"%(READY)s")        # the program starts after this line, never before
env = {"PATH": "/usr/bin:/bin", "HOME": cfg["workdir"], "TMPDIR": cfg["workdir"], "LANG": "C.UTF-8",
       "PYTHONDONTWRITEBYTECODE": "1"}
child = os.fork()
if child == 0:
    if cfg["channel_fd"] != 3:
        os.dup2(cfg["channel_fd"], 3)
        os.close(cfg["channel_fd"])
    os.execve(cfg["python"], [cfg["python"], "-I", "program.py"], env)
while True:                                             # init: reap everyone, report the program's status
    p, st = os.wait()
    if p == child:
        code = os.waitstatus_to_exitcode(st)
        os._exit(code if code >= 0 else 128 - code)
''' % {"SETUP_FAILED": SETUP_FAILED, "READY": "\\x00sandbox-ready\\n"}
_READY = "\x00sandbox-ready\n"

#: Directories covered by an empty tmpfs in the sandbox (host sockets, shared temp files, homes);
#: the program's own writable directory is a size-limited tmpfs over /tmp.
HIDDEN_DIRS = ("/var/tmp", "/run", "/var/run", "/dev/shm", "/root", "/home", "/var/lib")


def _uid_processes(uid: int) -> list[int]:
    """Live (not zombie) processes owned by ``uid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    state = fh.read().rsplit(")", 1)[1].split()[0]
                if os.stat(f"/proc/{entry}").st_uid == uid and state not in ("Z", "X"):
                    pids.append(int(entry))
            except (OSError, IndexError):
                continue
    return pids


def _reap_uid(uid: int, wait: float = 5.0) -> None:
    """Wait until the kernel has killed the PID namespace (its init is gone); SIGKILL stragglers by uid."""
    deadline = time.monotonic() + wait
    while (left := _uid_processes(uid)) and time.monotonic() < deadline:
        if time.monotonic() > deadline - wait / 2:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(0.01)


def _enter_namespaces():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID) != 0:
        os.write(2, f"sandbox setup failed: unshare: {os.strerror(ctypes.get_errno())}\n".encode())
        os._exit(SETUP_FAILED)


def _read_all(fds: dict, limit: int, deadline: float) -> tuple[dict, bool, bool]:
    """Read the pipes until EOF, the byte limit, or the deadline: (data, over_limit, timed_out)."""
    data = {k: bytearray() for k in fds}
    sel = selectors.DefaultSelector()
    for k, fd in fds.items():
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, k)
    over = timed_out = False
    while sel.get_map():
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        for key, _ in sel.select(timeout=min(left, 0.5)):
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(key.fd)
                continue
            buf = data[key.data]
            buf += chunk[:max(0, limit - len(buf))]
            if len(chunk) and len(buf) >= limit and key.data != "channel":
                over = True
        if over:
            break
    sel.close()
    return data, over, timed_out


def run_python(source: str, *, timeout: float = 5.0, memory_mb: int = 512, max_processes: int = 16,
               max_output_bytes: int = 1 << 20, disk_mb: int = 16, stdin: bytes = b"",
               unsafe_no_isolation_trusted_code_only: bool = False) -> SandboxResult:
    """Run ``source`` as a Python program in the sandbox and report what happened.

    Parameters
    ----------
    source : str
        The program.
    timeout : float
        Wall-clock seconds (the CPU limit is the same, rounded up).
    memory_mb, max_processes, disk_mb : int
        Address-space limit, process limit of the sandbox user, size of its only writable directory.
    max_output_bytes : int
        Most bytes read from stdout or stderr; more ends the run as ``"output-limit"``.
    stdin : bytes
        Given to the program on standard input (at most the pipe's buffer, 64 KiB).
    unsafe_no_isolation_trusted_code_only : bool
        Run without any isolation (for trusted code, and machines that cannot isolate).

    Raises
    ------
    SandboxUnavailable
        If isolation cannot be set up here; the program did not run.
    """
    if len(stdin) > 65536:
        raise ValueError(f"run_python(): stdin must be at most 65536 bytes; got {len(stdin)}")
    python = sandbox_python()
    isolate = not unsafe_no_isolation_trusted_code_only
    if isolate and os.geteuid() != 0:
        raise SandboxUnavailable(f"run_python(): isolation needs a root parent (namespaces, mounts, a fresh uid); "
                                 f"running as uid {os.geteuid()}. Run as root, or pass "
                                 "unsafe_no_isolation_trusted_code_only=True for trusted code only")
    uid = random.randint(200_000, 2_000_000_000) if isolate else None
    cpu = max(1, int(timeout + 0.999))
    limits = {"RLIMIT_AS": (memory_mb << 20, memory_mb << 20), "RLIMIT_CPU": (cpu, cpu + 1),
              "RLIMIT_FSIZE": (disk_mb << 20, disk_mb << 20), "RLIMIT_NOFILE": (64, 64), "RLIMIT_CORE": (0, 0),
              "RLIMIT_NPROC": (max_processes, max_processes)}
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    ch_r, ch_w = os.pipe()
    in_r, in_w = os.pipe()
    os.write(in_w, stdin)
    os.close(in_w)
    t0 = time.perf_counter()
    workdir = "/tmp"
    if isolate:
        import json
        cfg = {"channel_fd": ch_w, "workdir": workdir, "disk_kb": disk_mb * 1024, "hide": list(HIDDEN_DIRS), "source": source,
               "uid": uid, "limits": limits, "python": python}
        argv = [python, "-I", "-S", "-c", _LAUNCHER, json.dumps(cfg)]
        preexec = _enter_namespaces
    else:
        import tempfile
        tmp = tempfile.mkdtemp(prefix="persuasion-unsafe-")
        with open(os.path.join(tmp, "program.py"), "w") as fh:
            fh.write(source)
        argv = [python, "-I", os.path.join(tmp, "program.py")]

        def preexec():
            os.dup2(ch_w, 3)
            for name, v in limits.items():
                resource.setrlimit(getattr(resource, name), v)
    try:
        proc = subprocess.Popen(argv, stdin=in_r, stdout=out_w, stderr=err_w, pass_fds=(ch_w,) if isolate else (ch_w, 3),
                                start_new_session=True, close_fds=True, preexec_fn=preexec,
                                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/")
    finally:
        for fd in (in_r, out_w, err_w, ch_w):
            os.close(fd)
    data, over, timed_out = _read_all({"stdout": out_r, "stderr": err_r, "channel": ch_r},
                                      max_output_bytes, time.monotonic() + timeout)
    for fd in (out_r, err_r, ch_r):
        os.close(fd)
    try:
        os.killpg(proc.pid, signal.SIGKILL)          # the launcher; its death takes the PID namespace with it
    except ProcessLookupError:
        pass
    rc = proc.wait()
    if isolate:
        _reap_uid(uid)
    seconds = time.perf_counter() - t0
    if not isolate:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    stdout, stderr = (data[k].decode("utf-8", "replace") for k in ("stdout", "stderr"))
    channel = data["channel"].decode("utf-8", "replace")
    if isolate:
        if not channel.startswith(_READY):
            why = next((ln for ln in stderr.splitlines() if ln.startswith("sandbox setup failed")),
                       f"the launcher ended (status {rc}) before the program started")
            raise SandboxUnavailable(f"run_python(): {why}; the program did not run")
        channel = channel[len(_READY):]
    res = _classify(rc, timed_out, over, stdout, stderr, seconds, timeout)
    from dataclasses import replace
    return replace(res, user=uid, channel=channel)


def _classify(rc, timed_out, over, stdout, stderr, seconds, timeout) -> SandboxResult:
    """Status from how the process ended; never from what it printed (stderr text is the program's to forge)."""
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if timed_out:
        return SandboxResult("timeout", rc, stdout, stderr, f"killed after {timeout:g} s wall clock", seconds)
    if over:
        return SandboxResult("output-limit", rc, stdout, stderr, "output over the byte limit", seconds)
    if rc in (-signal.SIGXCPU, 128 + signal.SIGXCPU) or (rc in (-signal.SIGKILL, 128 + signal.SIGKILL)
                                                          and seconds >= timeout):
        return SandboxResult("timeout", rc, stdout, stderr, "CPU time limit exceeded", seconds)
    if rc in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
        return SandboxResult("output-limit", rc, stdout, stderr, "file size limit exceeded", seconds)
    if rc == 0:
        return SandboxResult("ok", rc, stdout, stderr, "exited 0", seconds)
    if last.startswith("MemoryError"):
        return SandboxResult("memory", rc, stdout, stderr, "memory limit exceeded (exit status and MemoryError)",
                             seconds)
    if rc is not None and rc > 128:
        try:
            return SandboxResult("error", rc, stdout, stderr, f"killed by signal {signal.Signals(rc - 128).name}",
                                 seconds)
        except ValueError:
            pass
    return SandboxResult("error", rc, stdout, stderr, last or f"exit status {rc}", seconds)
