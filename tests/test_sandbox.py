"""The sandbox: hostile programs come back as failed samples with a reason,
and nothing outside the sandbox changes.

The fork-bomb test is bounded by RLIMIT_NPROC, which binds because the child
drops to a fresh unprivileged user first (it does not bind root), and by the
wall-clock timeout after which every process of that user is killed.
"""
import os
import socket
import textwrap
import time

import pytest

from llm_bridge.tasks.sandbox import run_python
from tests.test_sandbox_hostile import _procs_of as _uids_processes

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="isolation by user and namespaces needs a root parent")
# run_python refuses to run without a root parent (it fails closed): every test here needs one
pytestmark = needs_root


def test_ordinary_program_runs():
    r = run_python("print(sum(range(10)))")
    assert r.status == "ok" and r.stdout.strip() == "45" and r.passed


def test_exception_is_an_error_with_its_reason():
    r = run_python("raise ValueError('nope')")
    assert r.status == "error" and "ValueError: nope" in r.reason


def test_infinite_loop_times_out():
    t = time.perf_counter()
    r = run_python("while True:\n    pass", timeout=1.5)
    assert r.status == "timeout" and not r.passed
    assert time.perf_counter() - t < 10


def test_memory_hog_hits_the_memory_limit():
    r = run_python("x = []\nwhile True:\n    x.append(bytearray(10**7))", memory_mb=256, timeout=10)
    assert r.status == "memory", (r.status, r.reason, r.stderr[-300:])


def test_output_flood_hits_the_file_size_limit():
    r = run_python("while True:\n    print('x' * 1000)", max_output_bytes=100_000, timeout=10)
    assert r.status == "output-limit"
    assert len(r.stdout) <= 100_000


@needs_root
def test_fork_bomb_is_contained_and_cleaned_up():
    src = textwrap.dedent("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """)
    t = time.perf_counter()
    r = run_python(src, timeout=2, max_processes=16)
    assert r.status in ("timeout", "error") and not r.passed
    assert time.perf_counter() - t < 30
    # nothing of the bomb survives
    assert r.user is not None and _uids_processes(r.user) == []
    with open("/proc/loadavg") as fh:
        running = int(fh.read().split()[3].split("/")[0])
    assert running < 200


@needs_root
def test_deleting_and_writing_files_outside_fails(tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("keep me")
    project_file = os.path.abspath("README.md")
    before = open(project_file).read()
    src = textwrap.dedent(f"""
        import os, shutil
        results = []
        for action in (lambda: os.remove({str(canary)!r}),
                       lambda: open({str(canary)!r}, 'w').write('gone'),
                       lambda: open({project_file!r}, 'a').write('pwned'),
                       lambda: shutil.rmtree({str(tmp_path)!r})):
            try:
                action()
                results.append('done')
            except OSError as e:
                results.append(type(e).__name__)
        print(results)
        open('inside.txt', 'w').write('fine')
        print('wrote inside')
    """)
    r = run_python(src)
    assert r.status == "ok", r.reason
    assert "done" not in r.stdout.splitlines()[0]
    assert "wrote inside" in r.stdout
    assert canary.read_text() == "keep me"
    assert open(project_file).read() == before
    assert not os.path.exists("/tmp/persuasion_sandbox_escape")


@needs_root
def test_sandbox_tmp_is_private():
    r = run_python("open('/tmp/persuasion_sandbox_escape', 'w').write('x')\nprint('inside only')")
    assert r.status == "ok" and not os.path.exists("/tmp/persuasion_sandbox_escape")


def test_secrets_in_the_environment_are_not_visible(monkeypatch):
    monkeypatch.setenv("PERSUASION_TEST_SECRET", "hunter2-token")
    r = run_python("import os\nprint(dict(os.environ))\nprint(open('/proc/1/environ','rb').read() if os.path.exists('/proc/1/environ') else '')")
    assert "hunter2-token" not in r.stdout and "hunter2-token" not in r.stderr
    assert "PERSUASION_TEST_SECRET" not in r.stdout


@needs_root
def test_no_network():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    try:
        r = run_python(f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')")
    finally:
        srv.close()
    assert r.status == "error" and "connected" not in r.stdout


@pytest.mark.parametrize("limits, rule", [
    ({"timeout": float("nan")}, "timeout must be a finite number of seconds > 0"),   # failed in int()
    ({"timeout": 0}, "timeout must be a finite number of seconds > 0"),              # ran a second anyway
    ({"memory_mb": 256.0}, "memory_mb must be an integer >= 1"),                     # failed in a shift
    ({"max_processes": 0}, "max_processes must be an integer >= 1"),
])
def test_limits_a_run_cannot_use_are_refused_before_it_starts(limits, rule):
    with pytest.raises(ValueError, match=rf"run_python\(\): {rule}"):
        run_python("print(1)", **limits)


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), True])
def test_a_test_run_names_a_timeout_it_cannot_use(timeout):
    """run_tests passed the timeout on as timeout + 1 s to the sandbox: 0 ran, and ended as 'the launcher
    ended before the program started', which blamed the machine."""
    from llm_bridge.tasks.verdict import run_tests
    with pytest.raises(ValueError, match=r"^run_tests\(\): timeout must be a finite number of seconds > 0"):
        run_tests("def f():\n", "def check(candidate):\n    assert candidate() == 1\n", "f",
                  "def f():\n    return 1\n", timeout=timeout)
