"""The draft game: the paper's game with a Receiver that writes the answer (issue 20).

A junior solver hands the Receiver a **draft**: every step of the reference worked solution but the last
(:func:`llm_bridge.games.hints.steps_but_last`).  With probability ``base_rate`` the draft is correct; otherwise
its last given step carries a plausible slip (:func:`llm_bridge.games.hints.slip`: an operation swapped, or a
result doubled).  The draft is a hint, never the answer key: the step that produces the answer is missing,
and a draft with the gold answer written in it is not used (:func:`llm_bridge.games.hints.leaks_answer`).

* **State**: the checker's verdict on the draft (``correct`` or ``wrong``).  The Advisor has compared the
  draft with the reference solution; the Receiver sees the problem and the draft, never the verdict.
* **Signal**: the Advisor's message, text in the Receiver's prompt (a recommendation to build on the draft
  or to redo it, or whatever the trained Advisor writes); an *informed* Receiver also reads the committed
  scheme in words.
* **The Receiver's action is what it writes**: it finishes the solution, and its final answer is read off
  (:func:`final_answer`, compared by math-verify).  It *submits the draft's answer*
  (``submit``) when that answer is the one the draft leads to -- the gold answer for a correct draft, the
  slipped answer (:func:`draft_pair`: the last step recomputed with the slipped value) for a wrong one --
  and ``decline`` otherwise.  Its accuracy (the final answer against the gold answer) is the paper's metric
  and is reported beside it.

The payoffs are the review game's (:data:`llm_bridge.games.review_game.TARGETS`): ``submission`` pays the draft's
author when its answer is submitted, right or wrong (the prosecutor); ``decision`` pays for the right call
(build on a correct draft, not on a wrong one: aligned with a Receiver that wants to be right).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from . import review_game as rg
from .hints import _fmt, _value, leaks_answer, numbers_in, slip
from .review_game import ReviewItem
from llm_bridge.tasks.problems import Problem

ACTIONS = rg.ACTIONS
RECOMMEND = {"submit": "I recommend building on the partial solution.",
             "decline": "I recommend redoing the computation instead of relying on the partial solution."}
QUESTION = "Complete the solution: write its last step, then the final answer after '####'."
#: The Advisor's prompt: who reads its message, what about, what was checked, whom it writes to.
ROLE = ("a solver who is given a partial solution", "to", "the partial solution", "solver")


@dataclass(frozen=True)
class DraftItem(ReviewItem):
    """A problem with one draft (``proposal``); ``draft_answer`` is the answer the draft leads to."""

    draft_answer: str = ""


# ------------------------------------------------------------------ the answer a draft leads to
_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[+*/×\-]|(?<![A-Za-z])x(?![A-Za-z])")


def final_expression(line: str) -> tuple[list, Fraction] | None:
    """The arithmetic a solution's last line does, as ``([number, op, number, ...], result)``: the longest
    run of numbers joined by single operators just before the line's last ``=`` (words and currency signs
    between them skipped), and the first number after it.  None where the line has none."""
    lhs, eq, rhs = line.rpartition("=")
    after = _TOKEN.findall(rhs)
    if not eq or not after or not after[0][0].isdigit():
        return None
    toks = _TOKEN.findall(lhs)
    run: list = []
    for t in reversed(toks):
        is_num = t[0].isdigit()
        if is_num == (not run or not run[0][0].isdigit()):
            run.insert(0, t)
        else:
            break
    while run and not run[0][0].isdigit():
        run.pop(0)
    if len(run) < 3:
        return None
    out = [_value(t) if t[0].isdigit() else {"x": "*", "×": "*"}.get(t, t) for t in run]
    return out, _value(after[0])


def evaluate(expr: list) -> Fraction | None:
    """``[number, op, number, ...]`` with the usual precedence (None on a division by zero)."""
    terms, ops = [expr[0]], []
    for op, v in zip(expr[1::2], expr[2::2]):
        if op in "*/":
            if op == "/" and v == 0:
                return None
            terms[-1] = terms[-1] * v if op == "*" else terms[-1] / v
        else:
            terms.append(v)
            ops.append(op)
    total = terms[0]
    for op, v in zip(ops, terms[1:]):
        total = total + v if op == "+" else total - v
    return total


def draft_pair(problem: Problem, seed: int = 0) -> tuple[DraftItem, DraftItem] | None:
    """The correct and the wrong draft of a GSM problem, or None where the game cannot be set up exactly:

    the solution has fewer than two computing steps; the last given step cannot be slipped; the last step's
    arithmetic cannot be read back to the gold answer; the slipped value is not used exactly once in it; the
    slipped line still states the old value (it would lead to two answers); the slip does not change the
    answer; or either draft shows the gold answer.  (``seed`` is unused: the slip
    is a fixed edit; kept for :func:`llm_bridge.games.review_game.proposal_pairs`.)"""
    lines = [ln.strip() for ln in problem.items.get("worked_solution", "").splitlines()
             if ln.strip() and not ln.strip().startswith("####")]
    if len(lines) < 2:
        return None
    steps, last = lines[:-1], lines[-1]
    changed = slip(steps[-1])
    parsed = final_expression(last)
    if changed is None or parsed is None:
        return None
    text, old, new = changed
    expr, result = parsed
    try:
        gold = _value(problem.answer.strip())
    except (ValueError, ZeroDivisionError):
        return None
    if evaluate(expr) != result or result != gold or expr[::2].count(old) != 1 or old in numbers_in(text):
        return None                  # (a slipped line that still states the old value leads to two answers)
    slipped = evaluate([new if k % 2 == 0 and v == old else v for k, v in enumerate(expr)])
    if slipped is None or slipped == gold:
        return None
    good, bad = "\n".join(steps), "\n".join(steps[:-1] + [text])
    if leaks_answer(problem, good) or leaks_answer(problem, bad):
        return None
    return DraftItem(problem, good, 0, _fmt(gold)), DraftItem(problem, bad, 1, _fmt(slipped))


# ------------------------------------------------------------------ prompts
def head(item: ReviewItem) -> str:
    """What every condition with the draft shares: the problem and the draft (ends with a newline)."""
    return (f"Problem: {item.problem.prompt.strip()}\n"
            f"A junior solver's partial solution (every step but the last):\n{item.proposal}\n")


def message_tail(problem: Problem, seed: int, message: str | None, statement: str | None = None,
                 fact: str | None = None) -> str:
    """Scheme statement, signal or fact, then the instruction to finish the solution."""
    return rg.message_tail(problem, seed, message, statement, fact, ask=QUESTION)


def scheme_statement(scheme: np.ndarray, prior: np.ndarray, task: str) -> str:
    """The committed scheme in plain words: P(recommend building on the draft | verdict), and the base rate."""
    scheme = rg.two_action_scheme("scheme_statement()", scheme)
    a, b = float(scheme[0, 0]), float(scheme[1, 0])
    base = f"Partial solutions like this one are correct {rg.percent(prior[0])} of the time. "
    if abs(a - b) < 1e-9:
        return base + (f"The advisor does not look at the partial solution: it recommends building on it "
                       f"{rg.percent(a)} of the time, whatever it says.")
    return base + (f"The advisor has checked the partial solution against the reference. When it is correct, the "
                   f"advisor recommends building on it {rg.percent(a)} of the time; when it has a mistake, "
                   f"{rg.percent(b)} of the time.")


def fact_text(item: ReviewItem) -> str:
    """The verdict stated as a verified fact (the oracle item, and the estimation prompts)."""
    return ("Verified by the reference check: the partial solution is "
            + ("correct." if item.state == 0 else "wrong: one of its steps has a mistake."))


def classify_message(text: str) -> str:
    """Which recommendation a free-text message makes: 'submit' (build on the draft), 'decline' (redo it)
    or 'other'."""
    t = text.lower()
    s, d = "build" in t, "redo" in t or "mistake" in t or "not rely" in t
    return "submit" if s and not d else "decline" if d and not s else "other"


_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"


def final_answer(output: str) -> str:
    """The final answer a written solution gives ('' if none), read in this order:

    * the last ``\\boxed{}``;
    * on the line after the last ``####``, the first number after its last ``=`` ("#### 96 - 20 = 76
      coins" gives 76);
    * where that line has no ``=``, a number stated as the final answer after it ("#### Total for the
      month:\\n28 x 30 = 840\\nFinal answer: 840" gives 840, not 30), else the line's first number
      ("#### Ray takes 425 minutes longer to swim 5 miles" gives 425);
    * else the last number written.

    Small Receivers often write a sentence after ``####``, where the harness's flexible rule (the last
    number of the text) reads the wrong one."""
    from llm_bridge.tasks.checkers import extract_answer
    if re.search(r"\\boxed\{", output):
        return extract_answer(output, "strict")
    if "####" in output:
        rest = output.rsplit("####", 1)[1]
        line = rest.split("\n", 1)[0]
        stated = re.findall(r"final answer(?: is)?:?\s*\$?\s*(" + _NUMBER + ")", rest, re.IGNORECASE)
        nums = (re.findall(_NUMBER, line.rpartition("=")[2]) if "=" in line else []) or stated[-1:] \
            or re.findall(_NUMBER, line)
        if nums:
            return nums[0].replace(",", "")
    nums = re.findall(_NUMBER, output)
    return nums[-1].replace(",", "") if nums else ""


def read_action(item: DraftItem, output: str) -> dict:
    """What the Receiver did, read off its solution (:func:`final_answer`, compared by math-verify):
    ``action`` ('submit' when its final answer is the one the draft leads to), ``correct`` (its final answer
    is the gold one), ``extracted`` (the answer read)."""
    from llm_bridge.tasks.checkers import check_math
    answer = final_answer(output)
    said = f"\\boxed{{{answer}}}" if answer else ""       # read back verbatim, a LaTeX answer included
    return {"action": "submit" if said and check_math(item.draft_answer, said, "strict").correct else "decline",
            "correct": bool(said) and check_math(item.problem.answer, said, "strict").correct,
            "extracted": answer}
