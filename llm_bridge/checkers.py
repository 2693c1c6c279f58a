"""Answer checkers: maths with math-verify, code by running the tests in the sandbox.

Answer extraction follows the GSM8K conventions of lm-evaluation-harness:
*strict* takes the number after ``####``; *flexible* takes the last number
in the text; a ``\\boxed{...}`` answer is taken first when present.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .sandbox import run_python
from .tasks import Problem, first_code_block

_NUMBER = r"-?[\d,]*\.?\d+"


@dataclass(frozen=True)
class Verdict:
    correct: bool
    reason: str
    extracted: str = ""


def extract_answer(text: str, mode: str = "flexible") -> str:
    """The answer in a model's output ('' if none): boxed, then ``####``, then (flexible) the last number."""
    boxed = re.findall(r"\\boxed\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", text)
    if boxed:
        return boxed[-1].strip()
    strict = re.findall(r"####\s*(" + _NUMBER + ")", text)
    if strict:
        return strict[-1].replace(",", "")
    if mode == "strict":
        return ""
    nums = re.findall(_NUMBER, text)
    return nums[-1].replace(",", "") if nums else ""


def check_math(gold: str, output: str, mode: str = "flexible") -> Verdict:
    """Is the answer in ``output`` mathematically equal to ``gold``? (math-verify, gold first)."""
    from math_verify import parse, verify
    ans = extract_answer(output, mode)
    if not ans:
        return Verdict(False, "no answer found", "")
    ok = verify(parse(gold), parse(ans))
    return Verdict(bool(ok), "equal to the reference" if ok else f"{ans!r} differs from {gold!r}", ans)


# The harness is the sandboxed program; the candidate and the tests come on stdin after a per-run secret.
# It writes the secret to descriptor 3 only after check() returned, then leaves by os._exit (no atexit hooks).
# Return values reach the tests only as plain built-in values (exact types), so an object that claims to
# equal everything fails; the tests get a copy of the builtins taken before the candidate ran.
_HARNESS = r"""
import os, sys, json, builtins
def _setup():
    raw = b""
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        raw += chunk
    os.close(0)
    secret, payload = raw[:32], json.loads(raw[32:].decode())
    clean_builtins = dict(vars(builtins))
    plain_types = (int, float, complex, str, bytes, bool, type(None))

    def plain(v, depth=0):
        t = type(v)
        if depth > 50:
            raise TypeError("candidate returned a value nested too deep")
        if t in plain_types:
            return v
        if t in (list, tuple, set, frozenset):
            return t(plain(x, depth + 1) for x in v)
        if t is dict:
            return {plain(k, depth + 1): plain(x, depth + 1) for k, x in v.items()}
        raise TypeError("candidate returned a %s, not a plain built-in value" % t.__name__)

    def run():
        ns = {"__name__": "candidate", "__builtins__": builtins}
        exec(compile(payload["program"], "candidate.py", "exec"), ns)
        fn = ns[payload["entry"]]
        def candidate(*a, **k):
            return plain(fn(*a, **k))
        # the tests see the program's names (some call its helpers, e.g. poly or encode_cyclic)
        tests = {**ns, "__name__": "tests", "__builtins__": clean_builtins}
        exec(compile(payload.pop("test"), "tests.py", "exec"), tests)
        tests["check"](candidate)
        os.write(3, secret)
    return run
_run = _setup()
del _setup
try:
    _run()
except BaseException as e:
    try:
        os.write(2, ("FAILED: %s: %s\n" % (type(e).__name__, e))[:1000].encode("utf-8", "replace"))
    finally:
        os._exit(1)
os._exit(0)
"""


def check_program(problem: Problem, program: str, timeout: float = 5.0) -> Verdict:
    """Run HumanEval's tests on a whole ``program`` (imports, helpers and the entry point) in the sandbox.

    The verdict is PASS only if the harness wrote this run's secret to its
    verdict channel after the last assertion and the process exited 0;
    neither the exit status alone nor anything on stdout or stderr decides.
    """
    import json
    import secrets
    secret = secrets.token_hex(16).encode()
    payload = json.dumps({"program": program, "test": problem.meta["test"], "entry": problem.meta["entry_point"]})
    res = run_python(_HARNESS, timeout=timeout, stdin=secret + payload.encode())
    ok = res.status == "ok" and res.channel == secret.decode()
    if ok:
        return Verdict(True, "all tests passed", "")
    if res.status == "ok":
        return Verdict(False, "exited 0 without the harness's pass signal", "")
    last = res.stderr.strip().splitlines()[-1][:200] if res.stderr.strip() else ""
    return Verdict(False, f"{res.status}: {last or res.reason}", "")


def completion_program(problem: Problem, completion: str) -> str:
    """The program a completion stands for.

    A completion that defines the entry point itself is a whole program, but
    it keeps the prompt's imports (``from typing import List`` and the like):
    dropping them made correct solutions fail with a ``NameError``.  Any
    other completion is a body that continues the prompt.
    """
    body = first_code_block(completion)
    if body.lstrip().startswith(("def ", "import ", "from ")) and problem.meta["entry_point"] in body:
        imports = [ln for ln in problem.prompt.splitlines() if ln.startswith(("import ", "from "))]
        missing = [ln for ln in imports if ln not in body]
        return "\n".join(missing + [body])
    return problem.prompt + body


def check_code(problem: Problem, completion: str, timeout: float = 5.0) -> Verdict:
    """Run HumanEval's tests on the program ``completion`` stands for, in the sandbox."""
    return check_program(problem, completion_program(problem, completion), timeout=timeout)


def check(problem: Problem, output: str, mode: str = "strict") -> Verdict:
    """Dispatch on the problem's task.

    Maths defaults to *strict* extraction (``####`` or ``\\boxed``): the
    flexible "last number" rule was seen to score a SmolLM2 ramble that
    stopped at "...modulo 3" as the answer 3.
    """
    if problem.task == "humaneval":
        return check_code(problem, output)
    return check_math(problem.answer, output, mode)
