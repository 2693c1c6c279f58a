"""Hostile programs against the sandbox and the code checker (issue: fail closed, no fake passes).

Each test asserts containment (nothing leaks, nothing survives, nothing on
the host changes) and the verdict.  Tests that need a root parent say so and
skip elsewhere; the fail-closed test runs the sandbox as an unprivileged
user (through a forked child that drops to a fresh uid) and expects
:class:`SandboxUnavailable`.
"""
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from llm_bridge.tasks.checkers import check_code
from llm_bridge.tasks.sandbox import run_python
from llm_bridge.tasks.problems import humaneval

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="isolation needs a root parent")


@pytest.fixture(scope="module")
def he0():
    return humaneval(1)[0]          # has_close_elements


WRONG = "    return True\n"


# ---------------------------------------------------------------- fail closed
@needs_root
def test_non_root_caller_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    os.chmod(tmp_path, 0o777)
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {os.getcwd()!r})
        from llm_bridge.tasks.sandbox import run_python, SandboxUnavailable   # import as root, then drop
        os.setgroups([]); os.setgid(65534); os.setuid(65534)
        try:
            run_python("open({str(marker)!r}, 'w').write('x')")
            print("RAN")
        except SandboxUnavailable as e:
            print("REFUSED", e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "REFUSED" in out.stdout and "root" in out.stdout, (out.stdout, out.stderr)
    assert not marker.exists()


def test_unsafe_opt_out_is_explicit():
    r = run_python("print(6 * 7)", unsafe_no_isolation_trusted_code_only=True)
    assert r.status == "ok" and r.stdout.strip() == "42" and r.user is None


# ---------------------------------------------------------------- host files and environment
@needs_root
def test_capture_cannot_be_swapped_for_host_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSUASION_SECRET_TOKEN", "hunter2-token")
    secret = tmp_path / "root_only.txt"
    secret.write_text("TOP-SECRET-ROOT")
    os.chmod(secret, 0o600)
    src = textwrap.dedent(f"""
        import os
        for name in ("stdout", "stderr"):
            try:
                os.remove(name)
            except OSError:
                pass
            try:
                os.symlink({str(secret)!r}, name)
            except OSError:
                pass
        for p in ({str(secret)!r}, "/proc/1/environ", "/proc/self/environ"):
            try:
                print(open(p).read())
            except OSError as e:
                print("denied", p)
    """)
    r = run_python(src)
    for text in (r.stdout, r.stderr, r.reason, r.channel):
        assert "TOP-SECRET-ROOT" not in text and "hunter2-token" not in text


@needs_root
def test_fifo_in_place_of_capture_does_not_hang():
    src = "import os\nfor n in ('stdout','stderr'):\n    try: os.mkfifo(n)\n    except OSError: pass\nprint('done')"
    t = time.perf_counter()
    r = run_python(src, timeout=3)
    assert time.perf_counter() - t < 20
    assert r.status == "ok" and "done" in r.stdout


# ---------------------------------------------------------------- host services
@needs_root
def test_host_unix_socket_is_unreachable():
    d = tempfile.mkdtemp(dir="/tmp")
    os.chmod(d, 0o777)
    path = os.path.join(d, "svc.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    os.chmod(path, 0o777)
    srv.listen(1)
    srv.settimeout(0.5)
    try:
        r = run_python(f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({path!r})\nprint('connected')")
        try:
            conn, _ = srv.accept()
            conn.close()
            accepted = True
        except OSError:
            accepted = False
    finally:
        srv.close()
        os.unlink(path)
        os.rmdir(d)
    assert "connected" not in r.stdout and not accepted and r.status == "error"


@needs_root
def test_no_abstract_unix_sockets():
    # TCP on loopback is covered by test_sandbox.test_no_network; abstract sockets are per network namespace
    ab = socket.socket(socket.AF_UNIX)
    ab.bind(b"\0persuasion-test-abstract")
    ab.listen(1)
    try:
        r = run_python("import socket\ns=socket.socket(socket.AF_UNIX)\ns.connect(b'\\0persuasion-test-abstract')\n"
                       "print('connected')")
    finally:
        ab.close()
    assert "connected" not in r.stdout and r.status == "error"


# ---------------------------------------------------------------- processes, disk, privilege
def _alive(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            return "State:\tZ" not in fh.read()
    except OSError:
        return False


def _procs_of(uid):
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                st = os.stat(f"/proc/{e}")
            except OSError:
                continue
            if st.st_uid == uid and _alive(e):
                out.append(int(e))
    return out


@needs_root
def test_pid_hopper_and_daemons_do_not_outlive_the_call():
    src = textwrap.dedent("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            while True:
                if os.fork():
                    os._exit(0)          # hop to a new pid forever
        print('parent leaves')
    """)
    r = run_python(src, timeout=2)
    time.sleep(0.5)
    assert r.user is not None and _procs_of(r.user) == []


@needs_root
def test_host_process_table_is_invisible():
    r = run_python("import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
    pids = eval(r.stdout.strip())
    assert pids and max(pids) < 10        # a fresh PID namespace: its init and the program, not the host's


@needs_root
def test_disk_is_bounded(tmp_path):
    before = os.statvfs("/tmp").f_bfree
    src = "import os\nwith open('big', 'wb') as fh:\n    for _ in range(4096):\n        fh.write(b'x' * (1 << 20))\nprint('wrote all')"
    r = run_python(src, timeout=10, disk_mb=16)
    assert "wrote all" not in r.stdout and r.status in ("error", "output-limit")
    after = os.statvfs("/tmp").f_bfree
    assert (before - after) * os.statvfs("/tmp").f_frsize < 64 << 20


@needs_root
def test_cannot_kill_or_trace_the_checker():
    me = os.getpid()
    src = textwrap.dedent(f"""
        import os, signal, ctypes
        for target in ({me}, os.getppid()):
            try:
                os.kill(target, signal.SIGKILL)
                print('killed', target)
            except OSError as e:
                print('no', target, type(e).__name__)
        libc = ctypes.CDLL(None, use_errno=True)
        print('ptrace', libc.ptrace(16, {me}, 0, 0))
        print('uid', os.getuid(), 'nnp', open('/proc/self/status').read().split('NoNewPrivs:')[1].split()[0])
    """)
    r = run_python(src)
    assert f"killed {me}" not in r.stdout and "ptrace -1" in r.stdout
    assert "nnp 1" in r.stdout and "uid 0" not in r.stdout


# ---------------------------------------------------------------- fake passes
@needs_root
@pytest.mark.parametrize("trick", [
    "    import os; os._exit(0)\n",
    "    raise SystemExit(0)\n",
    "    import atexit, os; atexit.register(lambda: os._exit(0))\n    return True\n",
    "    import sys, os\n    sys.excepthook = lambda *a: os._exit(0)\n    return True\n",
    "    class E:\n        def __eq__(self, o): return True\n        def __ne__(self, o): return False\n    return E()\n",
    "    class B(int):\n        def __eq__(self, o): return True\n    return B(1)\n",
    "    import sys\n    print(open(sys.argv[0]).read()); return True\n",
    "    import os; os.write(3, b'0' * 32); os._exit(0)\n",
])
def test_fake_pass_tricks_fail(he0, trick):
    v = check_code(he0, trick)
    assert not v.correct, (trick, v.reason)


@needs_root
def test_tests_are_not_readable_from_the_program_file(he0):
    # the candidate reports, through the exception the harness records, whether its file holds the tests
    spy = ("    import sys, os\n    src = open(sys.argv[0]).read() + ''.join(open(f).read() for f in os.listdir('.'))\n"
           "    raise RuntimeError('FOUND' if ('0.3' in src or 'candidate([' in src) else 'CLEAN')\n")
    v = check_code(he0, spy)
    assert not v.correct and "RuntimeError: CLEAN" in v.reason, v.reason


@needs_root
def test_correct_solution_writing_memoryerror_to_stderr_passes(he0):
    body = "    import sys\n    sys.stderr.write('MemoryError\\n')\n" + he0.meta["canonical_solution"]
    assert check_code(he0, body).correct


@needs_root
def test_imports_of_the_prompt_are_kept(he0):
    full = "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n" + he0.meta["canonical_solution"]
    assert check_code(he0, full).correct
