"""Partial implementations of HumanEval functions, one correct and one with a slip: the pair game on code.

The maths drafts (:func:`llm_bridge.games.draft_game.draft_pair`) are every step of the worked solution
but the last, the last given step slipped in the wrong one.  Here the same on the reference body: every
non-blank line but the last, and in the wrong draft the last given line carries a fixed edit
(:func:`code_slip`: a comparison, an arithmetic operator, a boolean or an integer constant changed).
Whether each draft is what it claims is *run*, not assumed: in the sandbox, the reference passes the
problem's tests, the reference with the slipped line fails them, and neither partial draft passes them on
its own (the item is a hint, not the implementation); a problem where any of these fails, or where the
reader below cannot tell the two completed drafts apart, is not used.

The Receiver's action is read off its code by the one line the drafts differ in
(:func:`built_on`): it builds on a draft when its code contains that draft's version of the line and not
the other's.
"""
from __future__ import annotations

import re

from llm_bridge.tasks.problems import Problem, first_code_block

#: The fixed edits, tried in this order on the last given line; each turns one token into another.
_SWAPS = (("<=", "<"), (">=", ">"), ("==", "!="), ("!=", "=="), ("<", "<="), (">", ">="),
          ("+=", "-="), ("-=", "+="), (" + ", " - "), (" - ", " + "), ("True", "False"), ("False", "True"))
_OPERATOR = re.compile(r"<=|>=|==|!=|->|<<|>>|\+=|-=|[<>]| \+ | - ")
_INT = re.compile(r"(?<![\w.])(\d+)(?![\w.])")


def body_lines(problem: Problem) -> list[str]:
    """The reference implementation's body, its non-blank lines as written (indentation kept)."""
    body = problem.meta.get("canonical_solution", "")
    return [ln.rstrip() for ln in body.splitlines() if ln.strip()]


def code_slip(line: str) -> str | None:
    """The line with one fixed edit, or None where none applies.  Lines with a string literal or a comment
    are left alone (an operator inside text is not code).  The first operator of the line that has a swap
    is swapped; failing that the first integer literal goes up by one."""
    if any(q in line for q in ("'", '"', "#")):
        return None
    for m in _OPERATOR.finditer(line):
        tok = m.group(0)
        for old, new in _SWAPS:
            if tok == old:
                return line[:m.start()] + new + line[m.end():]
    for word, other in (("True", "False"), ("False", "True")):
        m = re.search(rf"\b{word}\b", line)
        if m:
            return line[:m.start()] + other + line[m.end():]
    m = _INT.search(line)
    if m:
        return line[:m.start()] + str(int(m.group(1)) + 1) + line[m.end():]
    return None


def program(problem: Problem, lines: list[str]) -> str:
    """The function's prompt (signature and docstring) followed by ``lines`` as its body."""
    return problem.prompt + "\n".join(lines) + "\n"


def code_drafts(problem: Problem, passes=None) -> tuple[str, str] | None:
    """(correct partial body, slipped partial body) of a HumanEval problem, or None where the game cannot
    be set up: fewer than three body lines; no edit applies to the last given line; or, run in the
    sandbox (``passes(problem, program) -> bool``, default the problem's tests), the reference fails, the
    slipped reference passes, or either partial body passes on its own."""
    if passes is None:
        from llm_bridge.tasks.checkers import check_program

        def passes(pr, source):
            return check_program(pr, source).correct
    lines = body_lines(problem)
    if len(lines) < 3:
        return None
    changed = code_slip(lines[-2])
    if changed is None:
        return None
    good, bad = lines[:-1], lines[:-2] + [changed]
    if not passes(problem, program(problem, lines)) or passes(problem, program(problem, bad + lines[-1:])):
        return None
    own, other = "\n".join(good), "\n".join(bad)
    completed = ("```python\n" + program(problem, d.splitlines() + lines[-1:]) + "```" for d in (own, other))
    if [built_on(own, other, c) for c in completed] != [True, False]:
        return None                                  # the reader could not tell the completed drafts apart
    if passes(problem, program(problem, good)) or passes(problem, program(problem, bad)):
        return None
    return own, other


def _norm(line: str) -> str:
    return "".join(line.split())


def differing_lines(own: str, other: str) -> tuple[str, str]:
    """The one line (whitespace ignored) in which two drafts differ: (own's version, other's version)."""
    return _difference(own, other)[1:]


def _difference(own: str, other: str) -> tuple[int, str, str]:
    a, b = own.splitlines(), other.splitlines()
    diff = [(k, x, y) for k, (x, y) in enumerate(zip(a, b)) if _norm(x) != _norm(y)]
    if len(a) != len(b) or len(diff) != 1:
        raise ValueError(f"differing_lines: the drafts must differ in exactly one line; got {len(diff)} of "
                         f"{len(a)} and {len(b)} lines")
    return diff[0]


def built_on(own: str, other: str, output: str) -> bool | None:
    """Whether the code in ``output`` builds on ``own`` (True), on ``other`` (False), or on neither / both
    (None): which draft's version of their differing line it contains, right after the line that precedes
    it in both drafts (the line alone can occur elsewhere: ``return True`` slipped to ``return False``
    where the function ends with ``return False``)."""
    k, mine, theirs = _difference(own, other)
    before = _norm(own.splitlines()[k - 1]) if k else None
    lines = [_norm(ln) for ln in first_code_block(output).splitlines() if ln.strip()]
    seen = set(zip([None] + lines, lines)) if before is not None else {(None, ln) for ln in lines}
    has_mine, has_theirs = (before, _norm(mine)) in seen, (before, _norm(theirs)) in seen
    return True if has_mine and not has_theirs else False if has_theirs and not has_mine else None
