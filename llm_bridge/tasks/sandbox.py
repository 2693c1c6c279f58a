"""Run untrusted code (model-written programs) in an isolated process, failing closed.

Threat model and design: docs/llm_bridge.md ("The code sandbox").  In short,
the parent (root) starts a trusted *launcher* (``python3 -I -S -c``) that
dies with its caller (a parent-death signal), joins a fresh cgroup that
bounds the memory and the number of tasks of the whole run, and enters new
mount, network, IPC, UTS and PID namespaces.  The launcher forks the *init*
of the new PID namespace, which

1. builds a **minimal root** on a tmpfs: the interpreter, the directories of
   the shared libraries it loads, its standard library (any
   ``site-packages``/``dist-packages`` inside covered by an empty directory),
   ``/dev/null``, ``/dev/zero``, ``/dev/urandom``, a ``/proc`` of its own,
   and a private size- and inode-limited ``/tmp``; all read-only but
   ``/tmp``.  It pivots into that root and detaches the host's, so no host
   file (data sets, the checkout, home folders) exists for the program;
2. writes the program under ``/sandbox`` (read-only), sets resource limits,
   drops to a fresh unprivileged uid (from :mod:`secrets`) with no groups,
   sets ``no_new_privs``, and forks the program, which installs a seccomp
   filter (libseccomp) before it executes the interpreter.

Every step is checked; if one fails the launcher exits with a code the
parent turns into :class:`SandboxUnavailable`, and the program never runs.
A non-root parent gets :class:`SandboxUnavailable` before anything starts.
``unsafe_no_isolation_trusted_code_only=True`` runs without isolation, for
trusted code only.

The program's source, its standard input and the launcher's settings travel
in anonymous memory files, never on the command line, so any size and any
text gets a verdict.  The parent holds the read ends of the output pipes,
reads at most ``max_output_bytes`` from each with a deadline, and in a
``finally`` kills the launcher, waits until the run's processes are gone
and removes the cgroup.
"""
from __future__ import annotations

import functools
import json
import os
import resource
import secrets
import selectors
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, replace

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = (0x00020000, 0x04000000, 0x08000000,
                                                                     0x20000000, 0x40000000)

#: Interpreters tried for the child, in order; the first one an unprivileged user can run wins.
PYTHON_CANDIDATES = ("/usr/bin/python3", "/usr/local/bin/python3")

#: Launcher exit codes: an isolation step failed (nothing ran).
SETUP_FAILED = 97

#: Most files and directories the program may create in its private /tmp (the tmpfs's inode limit).
MAX_FILES = 4096

#: Device nodes the minimal root carries (bound read-only from the host).
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")

#: System calls the program may not make (an ``EPERM`` error), on top of the namespaces and the uid.
#: Names the running architecture does not have are skipped.  Further rules with arguments:
#: ``socket``/``socketpair`` of any family but AF_UNIX, ``clone`` with a namespace flag, ``clone3``
#: (``ENOSYS``, so the C library falls back to ``clone``, whose flags can be inspected) and the
#: terminal-injection ``ioctl``s.
DENIED_SYSCALLS = (
    # other processes' memory, and tracing
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    # kernel keyrings (state that outlives a run)
    "keyctl", "add_key", "request_key",
    # namespaces, mounts, the root
    "unshare", "setns", "mount", "umount", "umount2", "pivot_root", "chroot", "mount_setattr",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
    "open_by_handle_at", "name_to_handle_at",
    # kernel attack surface a Python program never needs
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "lookup_dcookie", "fanotify_init", "syslog", "uselib", "vhangup", "nfsservctl", "sysfs", "_sysctl", "ustat",
    "vm86", "vm86old", "ioperm", "iopl", "modify_ldt",
    # memory not counted by RLIMIT_AS, and NUMA placement
    "memfd_create", "memfd_secret", "mbind", "migrate_pages", "move_pages", "set_mempolicy",
    # the machine
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
    "get_kernel_syms", "query_module", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
    "settimeofday", "stime", "clock_settime", "clock_adjtime", "adjtimex",
)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be set up here (not root, no namespaces, a mount refused): nothing was run."""


@dataclass(frozen=True)
class SandboxResult:
    """Outcome of one sandboxed run.

    ``status`` is one of ``"ok"`` (exit 0), ``"error"`` (non-zero exit or an
    exception), ``"timeout"`` (wall clock or CPU limit), ``"memory"``
    (address-space limit, or the run's cgroup limit), ``"output-limit"``
    (output over the cap); ``reason`` says what happened in a line.
    ``channel`` is what the program wrote to descriptor 3 (the verdict
    channel of a harness; empty when the caller passed its own channel).
    ``memory_scope`` says what bounded memory: ``"cgroup-v2"`` or
    ``"cgroup-v1"`` (the whole run) or ``"per-process"`` (no cgroup could be
    had: each process is bounded, the run by ``memory_mb * max_processes``).
    """

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    reason: str
    seconds: float
    user: int | None = None      # the unprivileged uid the child ran as (None without isolation)
    channel: str = ""
    memory_scope: str = "per-process"
    peak_memory_bytes: int | None = None   # the run's peak, from its cgroup (None without one)

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


# ---------------------------------------------------------------- the minimal root
def _resolve_links(path: str, links: dict[str, str]) -> str:
    """The real path of ``path``, recording every symbolic link met on the way in ``links``."""
    parts, cur, hops = [p for p in path.split("/") if p], "/", 0
    while parts:
        nxt = os.path.join(cur, parts.pop(0))
        if os.path.islink(nxt):
            hops += 1
            if hops > 40:
                raise SandboxUnavailable(f"sandbox: too many symbolic links resolving {path}")
            target = os.readlink(nxt)
            links[nxt] = target
            parts = [p for p in os.path.normpath(os.path.join(cur, target)).split("/") if p] + parts
            cur = "/"
        else:
            cur = nxt
    return cur


@functools.lru_cache(maxsize=4)
def root_manifest(python: str) -> dict:
    """What the minimal root holds for ``python``: read-only binds, symbolic links, hidden package folders.

    The interpreter's search path comes from the interpreter itself (``-I -S``: the standard
    library only); the library directories from ``ldd`` over the interpreter and its extension
    modules.  Cached per interpreter.
    """
    links: dict[str, str] = {}
    real_python = _resolve_links(os.path.abspath(python), links)
    try:
        out = subprocess.run([real_python, "-I", "-S", "-c", "import sys, json; print(json.dumps(sys.path))"],
                             capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}, check=True)
        search = [p for p in json.loads(out.stdout) if p and os.path.isdir(p)]
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        raise SandboxUnavailable(f"sandbox: could not ask {real_python} for its standard library: {e}") from None
    dirs = {_resolve_links(p, links) for p in search}
    objects = [real_python] + [os.path.join(d, f) for d in sorted(dirs) for f in sorted(os.listdir(d))
                               if f.endswith(".so")]
    try:
        ldd = subprocess.run(["ldd", *objects], capture_output=True, text=True, timeout=60,
                             env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError) as e:
        raise SandboxUnavailable(f"sandbox: ldd (needed to find the interpreter's libraries) failed: {e}") from None
    for line in ldd.stdout.splitlines():
        tok = line.split("=>")[-1].strip().split(" (")[0].strip()
        if tok.startswith("/") and os.path.exists(tok):
            dirs.add(os.path.dirname(_resolve_links(tok, links)))
    if os.path.isfile("/etc/ld.so.cache"):
        files = [_resolve_links("/etc/ld.so.cache", links)]
    else:
        files = []
    # drop directories inside another bound directory, and links that a bound directory already holds
    binds = sorted(d for d in dirs if not any(d != o and d.startswith(o + "/") for o in dirs))
    inside = lambda p: any(p == b or p.startswith(b + "/") for b in binds)        # noqa: E731
    hide = sorted({os.path.join(sub, n) for d in binds
                   for sub in [d] + [os.path.join(d, c) for c in os.listdir(d) if c.startswith("python")]
                   for n in ("site-packages", "dist-packages") if os.path.isdir(os.path.join(sub, n))})
    return {"python": real_python, "dirs": binds, "files": [real_python, *files],
            "links": sorted((k, v) for k, v in links.items() if not inside(k)),
            "hide": hide}


# ---------------------------------------------------------------- cgroups: memory and tasks per run
def _cgroup_mounts() -> dict:
    """Mount points of the cgroup hierarchies: {"v2": path} and/or {"memory": path, "pids": path} (v1)."""
    found = {}
    try:
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                pre, _, post = line.partition(" - ")
                fstype, _, opts = (post.split() + ["", "", ""])[:3]
                mnt = pre.split()[4]
                if fstype == "cgroup2":
                    found.setdefault("v2", mnt)
                elif fstype == "cgroup":
                    for c in ("memory", "pids"):
                        if c in opts.split(","):
                            found.setdefault(c, mnt)
    except OSError:
        pass
    return found


def _own_cgroup(controller: str | None) -> str | None:
    """This process's cgroup path in the v1 hierarchy of ``controller`` (or the v2 one for None)."""
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                _, ctrls, path = line.rstrip("\n").split(":", 2)
                if (controller is None and ctrls == "") or (controller and controller in ctrls.split(",")):
                    return path
    except (OSError, ValueError):
        pass
    return None


class _RunCgroup:
    """A fresh cgroup for one run: memory (no swap) and task limits, its peak and OOM kills, removed after."""

    PREFIX = "persuasion-sandbox-"

    def __init__(self, memory_bytes: int, tasks: int):
        self.dirs: list[str] = []
        self.scope = "per-process"
        name = f"{self.PREFIX}{os.getpid()}-{secrets.token_hex(8)}"      # the creator's pid: see sweep()
        mounts = _cgroup_mounts()
        self.sweep(mounts)
        try:
            if "v2" in mounts and _own_cgroup(None) is not None:
                d = os.path.join(mounts["v2"], _own_cgroup(None).lstrip("/"), name)
                os.mkdir(d)
                self.dirs = [d]
                if not (os.path.exists(os.path.join(d, "memory.max")) and os.path.exists(os.path.join(d, "pids.max"))):
                    raise OSError("memory and pids controllers are not enabled for child cgroups")
                self._write(d, "memory.max", memory_bytes)
                if os.path.exists(os.path.join(d, "memory.swap.max")):
                    self._write(d, "memory.swap.max", 0)
                self._write(d, "pids.max", tasks)
                self.scope = "cgroup-v2"
                return
        except OSError:
            self.remove()
        try:
            if "memory" in mounts and "pids" in mounts:
                mem = os.path.join(mounts["memory"], (_own_cgroup("memory") or "/").lstrip("/"), name)
                pids = os.path.join(mounts["pids"], (_own_cgroup("pids") or "/").lstrip("/"), name)
                for d in (mem, pids):
                    os.mkdir(d)
                    self.dirs.append(d)
                self._write(mem, "memory.limit_in_bytes", memory_bytes)
                if os.path.exists(os.path.join(mem, "memory.memsw.limit_in_bytes")):
                    self._write(mem, "memory.memsw.limit_in_bytes", memory_bytes)
                self._write(pids, "pids.max", tasks)
                self.scope = "cgroup-v1"
        except OSError:
            self.remove()
            self.scope = "per-process"

    @classmethod
    def sweep(cls, mounts: dict) -> None:
        """Remove the empty cgroups of runs whose caller died before it could (killed with SIGKILL)."""
        for key, controller in (("v2", None), ("memory", "memory"), ("pids", "pids")):
            if key not in mounts:
                continue
            parent = os.path.join(mounts[key], (_own_cgroup(controller) or "/").lstrip("/"))
            try:
                names = [n for n in os.listdir(parent) if n.startswith(cls.PREFIX)]
            except OSError:
                continue
            for n in names:
                creator = n[len(cls.PREFIX):].split("-")[0]
                if not creator.isdigit() or os.path.exists(f"/proc/{creator}"):
                    continue
                try:
                    os.rmdir(os.path.join(parent, n))       # fails, harmlessly, while processes remain
                except OSError:
                    pass

    @staticmethod
    def _write(d: str, name: str, value) -> None:
        with open(os.path.join(d, name), "w") as fh:
            fh.write(str(value))

    def procs_files(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in self.dirs]

    def _read(self, name: str) -> str:
        for d in self.dirs:
            try:
                with open(os.path.join(d, name)) as fh:
                    return fh.read()
            except OSError:
                continue
        return ""

    def peak(self) -> int | None:
        text = self._read("memory.peak" if self.scope == "cgroup-v2" else "memory.max_usage_in_bytes").strip()
        return int(text) if text.isdigit() else None

    def oom_kills(self) -> int:
        text = self._read("memory.events" if self.scope == "cgroup-v2" else "memory.oom_control")
        for line in text.splitlines():
            k, _, v = line.partition(" ")
            if k == "oom_kill" and v.strip().isdigit():
                return int(v)
        return 0

    def members(self) -> list[int]:
        return [int(p) for p in self._read("cgroup.procs").split() if p.isdigit()]

    def remove(self, wait: float = 5.0) -> None:
        """Kill anything left in the cgroup and remove it (the run's processes are gone after this)."""
        deadline = time.monotonic() + wait
        for d in reversed(self.dirs):
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    try:
                        with open(os.path.join(d, "cgroup.procs")) as fh:
                            for p in fh.read().split():
                                try:
                                    os.kill(int(p), signal.SIGKILL)
                                except (ProcessLookupError, ValueError):
                                    pass
                    except OSError:
                        pass
                    time.sleep(0.005)
        self.dirs = [d for d in self.dirs if os.path.exists(d)]


def memory_isolation() -> str:
    """What bounds a run's memory on this machine: ``"cgroup-v2"``, ``"cgroup-v1"`` or ``"per-process"``."""
    if os.geteuid() != 0:
        return "per-process"
    cg = _RunCgroup(64 << 20, 8)
    try:
        return cg.scope
    finally:
        cg.remove()


# ---------------------------------------------------------------- the launcher
# It runs as root inside the new mount/net/ipc/uts namespaces and forks the PID namespace's init.  It is
# trusted code, kept short; every failure exits SETUP_FAILED with the step on stderr.
_LAUNCHER = r'''
import ctypes, os, sys, resource, json
def fail(step, e=None):
    e = e if e is not None else ctypes.get_errno()
    os.write(2, ("sandbox setup failed: %%s: %%s\n" %% (step, os.strerror(e) if e else "error")).encode())
    os._exit(%(SETUP_FAILED)d)
def read_fd(fd):
    chunks = []
    while True:
        c = os.read(fd, 1 << 20)
        if not c:
            break
        chunks.append(c)
    os.close(fd)
    return b"".join(chunks)
os.lseek(int(sys.argv[1]), 0, 0)
cfg = json.loads(read_fd(int(sys.argv[1])))
os.lseek(cfg["source_fd"], 0, 0)
source = read_fd(cfg["source_fd"])
libc = ctypes.CDLL(None, use_errno=True)
try:
    scmp = ctypes.CDLL(cfg["libseccomp"], use_errno=True)
except OSError as e:
    fail("load libseccomp (%%s)" %% cfg["libseccomp"], e.errno or 2)
scmp.seccomp_init.restype = ctypes.c_void_p
scmp.seccomp_init.argtypes = [ctypes.c_uint32]
scmp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
class Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]
scmp.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(Cmp)]
scmp.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
scmp.seccomp_load.argtypes = [ctypes.c_void_p]
def nr(name):
    return scmp.seccomp_syscall_resolve_name(name.encode())
def mount(src, dst, fstype, flags, data, step):
    if libc.mount(src, dst, fstype, flags, data) != 0:
        fail(step)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
import select, signal
life_r, life_w = os.pipe()                              # init reads EOF here when the launcher is gone
pid = os.fork()
if pid:
    os.close(life_r)
    while True:
        try:
            _, st = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(%(SETUP_FAILED)d)
    code = os.waitstatus_to_exitcode(st)
    os._exit(code if code >= 0 else 128 - code)
# ---- init of the new PID namespace (its parent-death signal did not kill it when tested: see the loop)
os.close(life_w)
if os.getpid() != 1:
    fail("PID namespace (init is pid %%d, not 1)" %% os.getpid())
mount(None, b"/", None, MS_REC | MS_PRIVATE, None, "make mounts private")
new = b"/tmp"                                           # shadowed by the new root, in this namespace only
mount(b"tmpfs", new, b"tmpfs", MS_NOSUID | MS_NODEV, ("size=%%dk,mode=0755" %% (len(source) // 1024 + 1024)).encode(),
      "mount the new root")
def under(p):
    return new + p.encode()
def mkdirs(p):
    os.makedirs(p, mode=0o755, exist_ok=True)
def bind(src, is_dir, nodev=True):
    dst = under(src)
    if is_dir:
        mkdirs(dst)
    else:
        mkdirs(os.path.dirname(dst))
        open(dst, "wb").close()
    mount(src.encode(), dst, None, MS_BIND, None, "bind " + src)
    mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | (MS_NODEV if nodev else 0), None,
          "read-only " + src)
root = cfg["root"]
for link, target in root["links"]:
    mkdirs(os.path.dirname(under(link)))
    os.symlink(target, under(link))
for d in root["dirs"]:
    bind(d, True)
for f in root["files"]:
    bind(f, False)
for d in root["hide"]:
    mount(b"tmpfs", under(d), b"tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, b"size=4k,mode=0755", "hide " + d)
for dev in cfg["devices"]:
    if os.path.exists(dev):
        bind(dev, False, nodev=False)
for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                     ("stderr", "/proc/self/fd/2")):
    os.symlink(target, under("/dev/" + name))
mkdirs(under("/proc"))
mount(b"proc", under("/proc"), b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None, "mount /proc")
mkdirs(under("/tmp"))
mount(b"tmpfs", under("/tmp"), b"tmpfs", MS_NOSUID | MS_NODEV,
      ("size=%%dk,nr_inodes=%%d,mode=0700" %% (cfg["disk_kb"], cfg["max_files"])).encode(), "mount /tmp")
mkdirs(under("/sandbox"))
with open(under("/sandbox/program.py"), "wb") as fh:
    fh.write(source)
del source
os.chdir(new)
if libc.syscall(nr("pivot_root"), b".", b".") != 0:
    fail("pivot_root")
if libc.umount2(b".", 2) != 0:                           # MNT_DETACH: the host's root is gone
    fail("detach the host's root")
os.chdir("/")
mount(None, b"/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None, "remount / read-only")
uid = cfg["uid"]
os.chown("/tmp", uid, uid)
os.chdir("/tmp")
for name, v in cfg["limits"].items():
    resource.setrlimit(getattr(resource, name), (v[0], v[1]))
try:
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
except OSError as e:
    fail("drop to uid %%d" %% uid, e.errno)
if os.getuid() != uid or os.geteuid() != uid:
    fail("uid check")
if libc.prctl(38, 1, 0, 0, 0) != 0:                     # PR_SET_NO_NEW_PRIVS
    fail("prctl(PR_SET_NO_NEW_PRIVS)")
env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
wake_r, wake_w = os.pipe()
os.set_blocking(wake_w, False)
signal.signal(signal.SIGCHLD, lambda *a: None)
signal.set_wakeup_fd(wake_w)
child = os.fork()
if child == 0:
    ctx = scmp.seccomp_init(0x7fff0000)                 # SCMP_ACT_ALLOW by default; the rules deny
    if not ctx:
        fail("seccomp_init")
    if scmp.seccomp_attr_set(ctx, 2, 0x80000000) != 0:  # BADARCH: a foreign architecture's call kills the process
        fail("seccomp_attr_set(BADARCH)")
    def rule(action, name, *cmps):
        n = nr(name)
        if n < 0:
            return                                      # no such call on this architecture
        arr = (Cmp * max(1, len(cmps)))(*[Cmp(*c) for c in cmps])
        rc = scmp.seccomp_rule_add_array(ctx, action, n, len(cmps), arr)
        if rc != 0:
            fail("seccomp rule for " + name, -rc)
    EPERM, EAFNOSUPPORT, ENOSYS = 0x50000 | 1, 0x50000 | 97, 0x50000 | 38
    for name in cfg["denied"]:
        rule(EPERM, name)
    for name in ("socket", "socketpair"):
        rule(EAFNOSUPPORT, name, (0, 1, 1, 0))         # arg0 != AF_UNIX
    for flag in cfg["namespace_flags"]:
        rule(EPERM, "clone", (0, 7, flag, flag))       # (arg0 & flag) == flag
    rule(ENOSYS, "clone3")
    for request in (0x5412, 0x541C):                    # TIOCSTI, TIOCLINUX
        rule(EPERM, "ioctl", (1, 4, request, 0))
    if scmp.seccomp_load(ctx) != 0:
        fail("seccomp_load")
    os.write(cfg["status_fd"], b"%(READY)s")            # the program starts after this line, never before
    if cfg["channel_fd"] != 3:
        os.dup2(cfg["channel_fd"], 3)
    os.closerange(4, 1 << 16)
    os.execve(root["python"], [root["python"], "-I", "/sandbox/program.py"], env)
while True:                                             # init: reap everyone, report the program's status,
    while True:                                         # and end the namespace when the launcher is gone
        try:
            p, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            os._exit(%(SETUP_FAILED)d)
        if p == 0:
            break
        if p == child:
            code = os.waitstatus_to_exitcode(st)
            os._exit(code if code >= 0 else 128 - code)
    ready, _, _ = select.select([life_r, wake_r], [], [])
    if life_r in ready:
        os._exit(137)
    os.read(wake_r, 4096)
''' % {"SETUP_FAILED": SETUP_FAILED, "READY": "\\x00sandbox-ready\\n"}
_READY = "\x00sandbox-ready\n"

#: Namespace flags a sandboxed ``clone`` may not carry (user, mount, PID, network, IPC, UTS, cgroup).
_NAMESPACE_FLAGS = (0x10000000, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, 0x02000000)


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


def _memfd(name: str, data: bytes) -> int:
    """An anonymous memory file holding ``data`` (a pipe would block past its 64 KiB buffer)."""
    fd = os.memfd_create(name, 0)          # not close-on-exec: passed on by number
    view, off = memoryview(data), 0
    while off < len(view):
        off += os.write(fd, view[off:])
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_all(fds: dict, limit: int, deadline: float, stop_fd: int | None = None) -> tuple[dict, bool, bool]:
    """Read the pipes until EOF, the byte limit, the deadline, or ``stop_fd`` readable: (data, over, timed_out)."""
    data = {k: bytearray() for k in fds}
    sel = selectors.DefaultSelector()
    for k, fd in fds.items():
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, k)
    if stop_fd is not None:
        sel.register(stop_fd, selectors.EVENT_READ, "stop")
    over = timed_out = False
    while len(sel.get_map()) > (stop_fd is not None):
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        events = sel.select(timeout=min(left, 0.5))
        stop = any(key.data == "stop" for key, _ in events)
        if stop:       # take what is already written (the launcher's ready line among it), then end
            events = [(key, None) for key in sel.get_map().values() if key.data != "stop"]
        for key, _ in events:
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(key.fd)
                continue
            buf = data[key.data]
            buf += chunk[:max(0, limit - len(buf))]
            if len(chunk) and len(buf) >= limit and key.data not in ("channel", "status"):
                over = True
        if over or stop:
            break
    sel.close()
    return data, over, timed_out


def require_root(caller: str, opt_out: bool = False) -> None:
    """Raise :class:`SandboxUnavailable` unless this process can isolate (it runs as root)."""
    if os.geteuid() != 0:
        raise SandboxUnavailable(f"{caller}: isolation needs a root parent (namespaces, mounts, a fresh uid); "
                                 f"running as uid {os.geteuid()}. Run as root" +
                                 (", or pass unsafe_no_isolation_trusted_code_only=True for trusted code only"
                                  if opt_out else ""))


def _libseccomp() -> str:
    import ctypes.util
    name = ctypes.util.find_library("seccomp")
    if not name:
        raise SandboxUnavailable("run_python(): libseccomp is not installed (the system call filter needs it); "
                                 "install the system package libseccomp2")
    return name


def _encode_source(source: str) -> bytes:
    # a lone surrogate cannot be UTF-8; kept as its bytes, it makes the program a syntax error, not a crash here
    return source.encode("utf-8", "surrogatepass")


def _check_limits(timeout, where: str = "run_python()", **counts) -> None:
    """A run's limits, checked before anything starts: a NaN timeout failed in ``int()``, a float memory
    size in a shift, and a timeout of 0 or below still ran the program for a second of CPU."""
    import math
    import numbers
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0 < timeout < math.inf:
        raise ValueError(f"{where}: timeout must be a finite number of seconds > 0; got {timeout!r}")
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{where}: {name} must be an integer >= 1; got {value!r}")


def run_python(source: str, *, timeout: float = 5.0, memory_mb: int = 512, max_processes: int = 16,
               max_output_bytes: int = 1 << 20, disk_mb: int = 16, stdin: bytes = b"", channel=None,
               stop_fd: int | None = None, unsafe_no_isolation_trusted_code_only: bool = False) -> SandboxResult:
    """Run ``source`` as a Python program in the sandbox and report what happened.

    Parameters
    ----------
    source : str
        The program, of any size and any text (a lone surrogate is a syntax error of the program).
    timeout : float
        Wall-clock seconds (the CPU limit is the same, rounded up).
    memory_mb : int
        Memory of the whole run (its cgroup, where one can be had; see :func:`memory_isolation`) and
        the address-space limit of each process.
    max_processes, disk_mb : int
        Processes of the run, size of its only writable directory (``/tmp``, at most
        :data:`MAX_FILES` entries).
    max_output_bytes : int
        Most bytes read from stdout or stderr; more ends the run as ``"output-limit"``.
    stdin : bytes
        Given to the program on standard input (any size).
    channel : socket.socket, optional
        A connected socket that becomes the program's descriptor 3, for a caller that talks with
        the program while it runs; otherwise descriptor 3 is a pipe whose content is the result's
        ``channel``.
    stop_fd : int, optional
        A descriptor whose readability ends the run early (for example the read end of a pipe whose
        write end a peer process holds: its exit ends the run).  The program is then killed and its
        status is whatever that makes it.
    unsafe_no_isolation_trusted_code_only : bool
        Run without any isolation (for trusted code, and machines that cannot isolate).

    Raises
    ------
    SandboxUnavailable
        If isolation cannot be set up here; the program did not run.
    """
    _check_limits(timeout=timeout, memory_mb=memory_mb, max_processes=max_processes,
                  max_output_bytes=max_output_bytes, disk_mb=disk_mb)
    python = sandbox_python()
    isolate = not unsafe_no_isolation_trusted_code_only
    if isolate:
        require_root("run_python()", opt_out=True)
    uid = 200_000 + secrets.randbelow(2_000_000_000 - 200_000) if isolate else None
    cpu = max(1, int(timeout + 0.999))
    limits = {"RLIMIT_AS": (memory_mb << 20, memory_mb << 20), "RLIMIT_CPU": (cpu, cpu + 1),
              "RLIMIT_FSIZE": (disk_mb << 20, disk_mb << 20), "RLIMIT_NOFILE": (64, 64), "RLIMIT_CORE": (0, 0),
              "RLIMIT_NPROC": (max_processes, max_processes)}
    opened: list[int] = []

    def track(fd: int) -> int:
        opened.append(fd)
        return fd

    proc = cgroup = tmp = None
    t0 = time.perf_counter()
    try:
        out_r, out_w = (track(fd) for fd in os.pipe())
        err_r, err_w = (track(fd) for fd in os.pipe())
        st_r, st_w = (track(fd) for fd in os.pipe())
        if channel is None:
            ch_r, ch_w = (track(fd) for fd in os.pipe())
        else:
            ch_r, ch_w = None, channel.fileno()
        in_fd = track(_memfd("stdin", stdin))
        if isolate:
            root = root_manifest(python)
            cgroup = _RunCgroup(memory_mb << 20, max_processes + 2)    # + the launcher and init
            src_fd = track(_memfd("program", _encode_source(source)))
            cfg = {"channel_fd": ch_w, "status_fd": st_w, "source_fd": src_fd, "disk_kb": disk_mb * 1024,
                   "max_files": MAX_FILES, "uid": uid, "limits": limits, "root": root, "devices": list(DEVICES),
                   "libseccomp": _libseccomp(), "denied": list(DENIED_SYSCALLS),
                   "namespace_flags": list(_NAMESPACE_FLAGS)}
            cfg_fd = track(_memfd("config", json.dumps(cfg).encode()))
            argv = [python, "-I", "-S", "-c", _LAUNCHER, str(cfg_fd)]
            pass_fds = (ch_w, st_w, src_fd, cfg_fd)
            procs_files, parent = cgroup.procs_files(), os.getpid()

            def preexec():
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
                    os._exit(SETUP_FAILED)                       # PR_SET_PDEATHSIG; the caller may already be gone
                for f in procs_files:
                    with open(f, "w") as fh:
                        fh.write(str(os.getpid()))
                if libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID) != 0:
                    os.write(2, f"sandbox setup failed: unshare: {os.strerror(ctypes.get_errno())}\n".encode())
                    os._exit(SETUP_FAILED)
        else:
            import tempfile
            tmp = tempfile.mkdtemp(prefix="persuasion-unsafe-")
            with open(os.path.join(tmp, "program.py"), "wb") as fh:
                fh.write(_encode_source(source))
            argv = [python, "-I", os.path.join(tmp, "program.py")]
            pass_fds = (ch_w, 3)
            os.write(st_w, _READY.encode())

            def preexec():
                os.dup2(ch_w, 3)
                for name, v in limits.items():
                    resource.setrlimit(getattr(resource, name), v)
        try:
            proc = subprocess.Popen(argv, stdin=in_fd, stdout=out_w, stderr=err_w, pass_fds=pass_fds,
                                    start_new_session=True, close_fds=True, preexec_fn=preexec,
                                    env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/")
        except subprocess.SubprocessError as e:
            raise SandboxUnavailable(f"run_python(): the launcher could not be started: {e}") from None
        for fd in [fd for fd in opened if fd not in (out_r, err_r, st_r, ch_r)]:   # the child holds its copies
            os.close(fd)
            opened.remove(fd)
        pipes = {"stdout": out_r, "stderr": err_r, "status": st_r}
        if ch_r is not None:
            pipes["channel"] = ch_r
        data, over, timed_out = _read_all(pipes, max_output_bytes, time.monotonic() + timeout, stop_fd)
    finally:
        for fd in opened:
            try:
                os.close(fd)
            except OSError:
                pass
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)      # the launcher; its death takes the PID namespace with it
            except ProcessLookupError:
                pass
            proc.wait()
        if isolate and proc is not None:
            _reap_uid(uid)
        peak = oom = None
        if cgroup is not None:
            peak, oom = cgroup.peak(), cgroup.oom_kills()
            cgroup.remove()
        if tmp is not None:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    rc = proc.returncode
    seconds = time.perf_counter() - t0
    stdout, stderr = (data[k].decode("utf-8", "replace") for k in ("stdout", "stderr"))
    if not data["status"].decode("utf-8", "replace").startswith(_READY):
        why = next((ln for ln in stderr.splitlines() if ln.startswith("sandbox setup failed")),
                   f"the launcher ended (status {rc}) before the program started")
        raise SandboxUnavailable(f"run_python(): {why}; the program did not run")
    res = _classify(rc, timed_out, over, stdout, stderr, seconds, timeout)
    if oom and res.status != "timeout":
        res = replace(res, status="memory", reason=f"memory limit of the run exceeded ({memory_mb} MiB, cgroup): "
                                                   f"{oom} process(es) killed")
    channel_text = data["channel"].decode("utf-8", "replace") if "channel" in data else ""
    return replace(res, user=uid, channel=channel_text, memory_scope=cgroup.scope if cgroup else "per-process",
                   peak_memory_bytes=peak)


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
