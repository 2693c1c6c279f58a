"""Hint menus for the generation game: information items that help or mislead without giving the answer.

For a GSM-Symbolic problem the menu holds (for ``item="first_step"``; ``"steps_but_last"`` gives every
step of the worked solution but the last in place of the first line, the wrong variant changing the
last step given)

* ``true_step``: the first line of the reference solution (a step, not the answer);
* ``wrong_step``: the same line made wrong in a plausible way -- its first arithmetic operation swapped
  (``6 * 2 = 12`` becomes ``6 + 2 = 8``), or, where no operation can be read, its result doubled;
* ``placebo``: another problem's first step (from another template): text of the same kind that says
  nothing about this problem.

A problem gets a menu only if no item leaks the answer (:func:`leaks_answer`: the gold answer as a
number, or the ``####`` answer marker) -- one-step problems, whose first step is the answer, get none.
The test suite checks this on every problem it builds a menu for.
"""
from __future__ import annotations

import re
from fractions import Fraction

from persuasion.errors import is_integer
from llm_bridge.tasks.problems import Problem

_NUM = r"\d[\d,]*(?:\.\d+)?"
_BINARY = re.compile(r"(?P<a>[£$€]?" + _NUM + r")\s*(?P<op>[*x×/+\-])\s*(?P<b>[£$€]?" + _NUM + r")\s*=\s*"
                     r"(?P<cur>[£$€]?)(?P<c>" + _NUM + r")")
_RESULT = re.compile(r"=\s*(?P<cur>[£$€]?)(?P<c>" + _NUM + r")")
#: The operation a wrong step uses instead of each one read.
_SWAP = {"*": "+", "x": "+", "×": "+", "/": "*", "+": "*", "-": "+"}


def _value(text: str) -> Fraction:
    return Fraction(text.lstrip("£$€").replace(",", ""))


def _fmt(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    return f"{float(v):.2f}".rstrip("0").rstrip(".")


def numbers_in(text: str) -> set[Fraction]:
    """Every number written in ``text`` (thousands separators and currency signs ignored)."""
    out = set()
    for tok in re.findall(_NUM, text):
        try:
            out.add(_value(tok))
        except (ValueError, ZeroDivisionError):
            continue
    return out


def leaks_answer(problem: Problem, item: str) -> bool:
    """Does ``item`` give away the answer: the gold answer as a number in it, or the ``####`` marker?"""
    if "####" in item:
        return True
    try:
        gold = _value(problem.answer.strip())
    except (ValueError, ZeroDivisionError):
        return problem.answer.strip() != "" and problem.answer.strip() in item
    return gold in numbers_in(item)


def slip(step: str) -> tuple[str, Fraction, Fraction] | None:
    """``step`` made wrong, with the result it had and the result it now shows: its first binary operation
    swapped (result recomputed), else its first result doubled.  None if the line has no ``= number`` to
    change."""
    m = _BINARY.search(step)
    if m and re.search(r"[*x×/+\-]\s*$", step[:m.start()]):
        m = None                     # part of a longer expression: swapping one operation would misread it
    if m:
        a, b = _value(m["a"]), _value(m["b"])
        op = _SWAP[m["op"]]
        new = {"+": a + b, "*": a * b}[op]
        if new != _value(m["c"]):
            text = f"{m['a']} {op} {m['b']} = {m['cur']}{_fmt(new)}"
            return step[:m.start()] + text + step[m.end():], _value(m["c"]), new
    r = _RESULT.search(step)
    if r is None:
        return None
    value = _value(r["c"])
    if value == 0:
        return None
    return step[:r.start()] + f"= {r['cur']}{_fmt(2 * value)}" + step[r.end():], value, 2 * value


def wrong_step(step: str) -> str | None:
    """``step`` made wrong (:func:`slip`), or None if the line has no ``= number`` to change."""
    changed = slip(step)
    return None if changed is None else changed[0]


#: The kinds of item a menu can be built from.
ITEMS = ("first_step", "steps_but_last")


def steps_but_last(problem: Problem) -> str:
    """The worked solution without its last computing line and without the ``####`` answer line ("" if the
    solution has a single step): everything but the step that produces the answer."""
    lines = [ln.strip() for ln in problem.items.get("worked_solution", "").splitlines()
             if ln.strip() and not ln.strip().startswith("####")]
    return "\n".join(lines[:-1])


def _item(problem: Problem, kind: str) -> str:
    if kind not in ITEMS:
        raise ValueError(f"gsm_menu(): item must be one of {ITEMS}; got {kind!r}")
    return (problem.items.get("first_step", "") if kind == "first_step" else steps_but_last(problem)).strip()


def gsm_menu(problem: Problem, other: Problem, item: str = "first_step") -> dict[str, str] | None:
    """The hint menu of ``problem`` (``other`` supplies the placebo), or None where any item would leak
    the answer or no wrong step can be written.

    ``item="first_step"``: the solution's first line, that line made wrong, another problem's first line.
    ``item="steps_but_last"``: every step but the last (:func:`steps_but_last`), the same with its last
    given step made wrong (a plausible slip just before the answer), another problem's steps.  The menu
    keys are the same for both (``true_step``, ``wrong_step``, ``placebo``)."""
    true, placebo = _item(problem, item), _item(other, item)
    if not true or not placebo or other.meta.get("template") == problem.meta.get("template"):
        return None
    head, _, last = true.rpartition("\n")
    changed = wrong_step(last)
    if changed is None or changed == last:
        return None
    wrong = f"{head}\n{changed}" if head else changed
    menu = {"true_step": true, "wrong_step": wrong, "placebo": placebo}
    if any(leaks_answer(problem, item) for item in menu.values()):
        return None
    return menu


def gsm_menus(problems: list[Problem], n: int, item: str = "first_step") -> list[tuple[Problem, dict[str, str]]]:
    """The first ``n`` problems that get a menu of ``item`` (:func:`gsm_menu`), each paired with a placebo
    from the next problem of another template."""
    if item not in ITEMS:                # was checked only at a problem that reached gsm_menu: else [] silently
        raise ValueError(f"gsm_menus(): item must be one of {ITEMS}; got {item!r}")

    def menu_of(p, rest):
        other = next((q for q in rest if q.meta.get("template") != p.meta.get("template")), None)
        return gsm_menu(p, other, item) if other is not None else None
    return _first_menus("gsm_menus()", problems, n, menu_of)


def _first_menus(where: str, problems: list[Problem], n: int, menu_of) -> list[tuple[Problem, dict[str, str]]]:
    """The first ``n`` problems for which ``menu_of(problem, the other problems from the next one on)``
    gives a menu, with their menus (``where``: the public function asked, for the message)."""
    if not is_integer(n, minimum=1):              # 0 never matched len(out): every menu came back
        raise ValueError(f"{where}: n must be an integer >= 1 (the problems wanted); got {n!r}")
    out = []
    for i, p in enumerate(problems):
        menu = menu_of(p, problems[i + 1:] + problems[:i])
        if menu is not None:
            out.append((p, menu))
            if len(out) == n:
                break
    return out


def hinted_prompt(problem: Problem, hint: str | None) -> str:
    """The Receiver's prompt: the problem, the hint (if any) as an advisor's message, the answer format."""
    head = f"Problem: {problem.prompt}\n"
    if hint:
        head += f"An advisor who has seen the worked solution says: {hint}\n"
    return head + "Solve it step by step and give the final answer after '####'."


# ------------------------------------------------------------------ HumanEval: one of the hidden tests' examples
def _equality_asserts(problem: Problem) -> list[tuple[str, str, object]]:
    """``(call, expected source, expected value)`` for each ``assert candidate(...) == literal`` of the
    hidden tests, the call written with the function's own name."""
    import ast
    entry = problem.meta["entry_point"]
    out = []
    for line in problem.meta["test"].splitlines():
        line = line.strip()
        if not line.startswith("assert candidate("):
            continue
        try:
            node = ast.parse(line).body[0].test
        except (SyntaxError, AttributeError, IndexError):
            continue
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)
                and isinstance(node.left, ast.Call) and isinstance(node.left.func, ast.Name)
                and node.left.func.id == "candidate"):
            continue
        try:
            value = ast.literal_eval(node.comparators[0])
        except ValueError:
            continue
        node.left.func.id = entry
        out.append((ast.unparse(node.left), ast.unparse(node.comparators[0]), value))
    return out


def humaneval_example(problem: Problem, call: str, expected: str) -> str:
    """An example of the function's behaviour, in the words an advisor would use."""
    return f"{call} should return {expected}"


def humaneval_menu(problem: Problem, other: Problem) -> dict[str, str] | None:
    """The hint menu of a HumanEval problem: one example from the hidden tests that the prompt does not
    show (``true_step``), the same call with another test's expected value of the same type
    (``wrong_step``: a plausible but false example), and ``other``'s example (``placebo``).  None where
    the tests have no such example.  No item is an implementation: each is one call and one value."""
    own = _equality_asserts(problem)
    unseen = [(c, e, v) for c, e, v in own if c not in problem.prompt]
    theirs = [(c, e) for c, e, _ in _equality_asserts(other) if c not in other.prompt]
    if not unseen or not theirs:
        return None
    call, expected, value = unseen[0]
    wrong = next((e for c, e, v in own if type(v) is type(value) and v != value), None)
    if wrong is None:
        return None
    return {"true_step": humaneval_example(problem, call, expected),
            "wrong_step": humaneval_example(problem, call, wrong),
            "placebo": humaneval_example(other, *theirs[0])}


def humaneval_menus(problems: list[Problem], n: int) -> list[tuple[Problem, dict[str, str]]]:
    """The first ``n`` problems that get a :func:`humaneval_menu`, the placebo from the next problem that
    has an example to give."""
    return _first_menus("humaneval_menus()", problems, n, lambda p, rest: next(
        (m for q in rest if (m := humaneval_menu(p, q)) is not None), None))


def hinted_code_prompt(problem: Problem, hint: str | None) -> str:
    """The Receiver's prompt for a code problem: the signature and docstring, the hint (if any) as an
    advisor's message, and the instruction to write the whole function."""
    head = f"Complete this Python function.\n\n{problem.prompt}\n"
    if hint:
        head += f"An advisor who has seen the hidden tests says: {hint}\n"
    return head + "Write the whole function in one Python code block."
