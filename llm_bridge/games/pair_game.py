"""The pair game: the draft game with a choice the Receiver can act on (issue 20).

The draft game's Receiver is told whether *one* draft is right, and a small Receiver cannot use that
(``experiments.verdict_value``: told a draft is wrong, it still finishes the slip).  Here it is shown *two*
drafts of the same problem, every step but the last, one of them with a slipped last given step
(:func:`llm_bridge.games.draft_game.draft_pair`), and it finishes one.  The drafts are named after their
authors, Lee and Kim, and listed in an order a coin keyed on the problem fixes (the same in every
condition and for both states), so a preference for the first listed draft cannot pass for persuasion.

* **State**: the verdict on Lee's draft (``correct``, so Kim's has the slip, or ``wrong``, so Kim's is the
  correct one).  The Advisor checked both against the reference; the Receiver sees both, never the
  verdict, and knows that one of them has a mistake.
* **Signal**: the Advisor's message in the Receiver's prompt ("I recommend building on Lee's partial
  solution" or on Kim's, or whatever the trained Advisor writes); an informed Receiver also reads the
  committed scheme in words.
* **The Receiver's action is read off its answer**: it *submits* (``submit``) when its final answer is the
  one Lee's draft leads to, and ``decline`` otherwise; its accuracy (the gold answer) is the paper's metric.

On HumanEval (:mod:`llm_bridge.games.code_drafts`) the drafts are partial implementations, every body line
but the last, the slip a fixed edit of the last given line, each checked by running the tests; the
Receiver writes the whole function, its accuracy is the tests' verdict, and it *submits* when its code
carries Lee's version of the line in which the drafts differ.

The payoffs are the review game's targets: ``submission`` pays when Lee's draft is built on, right or
wrong (the Advisor works with Lee); ``decision`` pays for building on the right one (aligned).  Neither
draft has the last step or shows the gold answer, so the item is a hint, not the answer key.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import draft_game as dg
from . import review_game as rg
from .proposals import keyed_rng
from llm_bridge.tasks.problems import Problem

ACTIONS = rg.ACTIONS
OWN, OTHER = "Lee", "Kim"
RECOMMEND = {"submit": f"I recommend building on {OWN}'s partial solution.",
             "decline": f"I recommend building on {OTHER}'s partial solution."}
QUESTION = "Build on the partial solution that is right: write its last step, then the final answer after '####'."
CODE_QUESTION = ("Build on the partial solution that is right: write the whole function, its last line included, "
                 "in one Python code block.")
#: The Advisor's prompt: who reads its message, what about, what was checked, whom it writes to.
ROLE = ("a solver who is given two partial solutions", "to", f"{OWN}'s partial solution", "solver")


@dataclass(frozen=True)
class PairItem(dg.DraftItem):
    """A problem with Lee's draft (``proposal``, whose verdict is ``state``) and Kim's (``other``)."""

    other: str = ""


def draft_pair(problem: Problem, seed: int = 0) -> tuple[PairItem, PairItem] | None:
    """The two states of a problem: Lee holds the correct draft and Kim the slipped one, or the reverse
    (None where the game cannot be set up: :func:`llm_bridge.games.draft_game.draft_pair` on maths,
    :func:`llm_bridge.games.code_drafts.code_drafts` on code)."""
    if problem.task == "humaneval":
        from .code_drafts import code_drafts
        made = code_drafts(problem)
        if made is None:
            return None
        good, bad = made
        return PairItem(problem, good, 0, "", bad), PairItem(problem, bad, 1, "", good)
    made = dg.draft_pair(problem, seed)
    if made is None:
        return None
    good, bad = made
    return (PairItem(problem, good.proposal, 0, good.draft_answer, bad.proposal),
            PairItem(problem, bad.proposal, 1, bad.draft_answer, good.proposal))


def own_first(problem: Problem) -> bool:
    """Whether Lee's draft is listed first for ``problem`` (a coin keyed on the problem alone)."""
    return keyed_rng("pair-order", problem.id).random() < 0.5


def head(item: PairItem) -> str:
    """The problem and both drafts in the problem's fixed order (ends with a newline)."""
    drafts = [(OWN, item.proposal), (OTHER, item.other)]
    if not own_first(item.problem):
        drafts.reverse()
    if item.problem.task == "humaneval":
        return code_head(item.problem, [(f"{who}'s partial solution", text) for who, text in drafts])
    shown = "".join(f"{who}'s partial solution:\n{text}\n" for who, text in drafts)
    return (f"Problem: {item.problem.prompt.strip()}\n"
            f"Two junior solvers' partial solutions (every step but the last); one of them has a mistake.\n"
            + shown)


def code_head(problem: Problem, drafts: list[tuple[str, str]]) -> str:
    """A code problem's signature and docstring, then each (title, partial body) in a code block, in the
    order given (ends with a newline)."""
    shown = "".join(f"{title}:\n```python\n{text}\n```\n" for title, text in drafts)
    return ("Task: implement the Python function below as its docstring describes.\n"
            f"```python\n{problem.prompt.rstrip()}\n```\n"
            "Two junior programmers' partial solutions (the function's body, every line but the last); one "
            "of them has a mistake.\n" + shown)


def message_tail(problem: Problem, seed: int, message: str | None, statement: str | None = None,
                 fact: str | None = None) -> str:
    """Scheme statement, signal or fact, then the instruction to finish one draft."""
    return rg.message_tail(problem, seed, message, statement, fact,
                           ask=CODE_QUESTION if problem.task == "humaneval" else QUESTION)


def scheme_statement(scheme: np.ndarray, prior: np.ndarray, task: str) -> str:
    """The committed scheme in plain words: P(recommend Lee's draft | verdict on Lee's), and the base rate."""
    scheme = rg.two_action_scheme("scheme_statement()", scheme)
    a, b = float(scheme[0, 0]), float(scheme[1, 0])
    base = (f"One of the two partial solutions has a mistake; {OWN}'s is the correct one {rg.percent(prior[0])} "
            "of the time. ")
    if abs(a - b) < 1e-9:
        return base + (f"The advisor does not look at the partial solutions: it recommends building on {OWN}'s "
                       f"{rg.percent(a)} of the time, and on {OTHER}'s otherwise.")
    return base + (f"The advisor has checked both against the reference. When {OWN}'s is correct, the advisor "
                   f"recommends building on {OWN}'s {rg.percent(a)} of the time; when {OWN}'s has the mistake, "
                   f"{rg.percent(b)} of the time. Otherwise it recommends building on {OTHER}'s.")


def fact_text(item: PairItem) -> str:
    """The verdict stated as a verified fact (the oracle item, and the estimation prompts)."""
    right, wrong = (OWN, OTHER) if item.state == 0 else (OTHER, OWN)
    return f"Verified by the reference check: {right}'s partial solution is correct; {wrong}'s has a mistake."


def classify_message(text: str) -> str:
    """Which draft a free-text message recommends: 'submit' (Lee's), 'decline' (Kim's) or 'other'."""
    t = text.lower()
    own, other = OWN.lower() in t, OTHER.lower() in t
    return "submit" if own and not other else "decline" if other and not own else "other"


def read_action(item: PairItem, output: str) -> dict:
    """What the Receiver did: 'submit' when it built on Lee's draft.  Maths
    (:func:`llm_bridge.games.draft_game.read_action`): its final answer is the one Lee's draft leads to.
    Code: its function carries Lee's version of the line the drafts differ in
    (:func:`llm_bridge.games.code_drafts.built_on`); ``correct`` is the tests' verdict in the sandbox and
    ``extracted`` whose draft it built on ('Lee', 'Kim' or '')."""
    if item.problem.task != "humaneval":
        return dg.read_action(item, output)
    from llm_bridge.tasks.checkers import check_code
    from .code_drafts import built_on
    on = built_on(item.proposal, item.other, output)
    return {"action": "submit" if on else "decline", "correct": check_code(item.problem, output).correct,
            "extracted": {True: OWN, False: OTHER, None: ""}[on]}
