"""The proposal-review game: a persuasion game the Receiver model plays in its own prompt.

A junior solver proposes a solution to a problem (a final answer for a
GSM-Symbolic problem, an implementation for a HumanEval problem).  The
**state** is the checker's verdict on the proposal (``correct`` or
``wrong``): the Advisor has run the verifier (math-verify against the
reference, or the hidden unit tests in the sandbox); the Receiver sees the
problem and the proposal, never the verdict.  A wrong verdict does not say
what the right answer is, so the item is not an answer key to the problem.

The **Receiver's action** is its own output, one word: Yes (submit the
proposal: the final answer becomes the proposal) or No (decline it), the
same question in every condition (paired design).

**Signals** are the Advisor's message, text in the Receiver's prompt (a
recommendation to submit or to decline, or whatever the trained Advisor
writes).  An *informed* Receiver also reads the committed scheme in plain
words (with the base rate of correct proposals), so a Bayesian reader could
form the posterior; a *signal-only* Receiver reads the message alone.

**Payoffs.**  ``U`` is the Receiver's revealed preference, estimated from its
choices when the verdict is stated as a fact (logit random utility:
``U[w, a] = log P(a | told w)``).  ``V`` is the Advisor's target, from the
checker's verdict:

* ``submission``: the Advisor is the proposal's author and is paid when its
  proposal is submitted, right or wrong (``V[w, submit] = 1``), the
  prosecutor of Kamenica and Gentzkow.  Persuasion binds whenever the
  Receiver would decline at the base rate but submit at some higher belief.
* ``decision``: the Advisor is paid for the right decision (submit a correct
  proposal, decline a wrong one); aligned with any Receiver that wants to
  be right, so full revelation is optimal (the control).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from persuasion.analysis.posteriors import checked_scheme
from persuasion.errors import InvalidArgumentError, is_integer

from .proposals import keyed_rng, wrong_code, wrong_math_answers
from llm_bridge.tasks.problems import Problem

STATES = ("correct", "wrong")
ACTIONS = ("submit", "decline")
TARGETS = {
    "submission": np.array([[1.0, 0.0], [1.0, 0.0]]),
    "decision": np.array([[1.0, 0.0], [0.0, 1.0]]),
}
RECOMMEND = {"submit": "I recommend submitting it.", "decline": "I recommend declining it."}
#: The Advisor's prompt: who reads its message, what about, what was checked, whom it writes to.
ROLE = ("a decision maker", "about a proposed solution to", "the proposal", "decision maker")


@dataclass(frozen=True)
class ReviewItem:
    """One problem with one proposal; ``state`` is the checker's verdict (0 correct, 1 wrong)."""

    problem: Problem
    proposal: str
    state: int

    @property
    def key(self) -> str:
        return f"{self.problem.id}#{STATES[self.state]}"


def proposals_for(problem: Problem, seed: int = 0) -> tuple[ReviewItem, ReviewItem] | None:
    """The correct and the wrong proposal for a problem (None if no wrong one could be made)."""
    if problem.task == "humaneval":
        import ast
        good = ast.unparse(ast.parse(problem.prompt + problem.meta["canonical_solution"]))
        bad = wrong_code(problem, seed)
        if bad is None:
            return None
    else:
        good = problem.answer.strip()
        try:
            bad = wrong_math_answers(problem, 1, seed)[0]
        except ValueError:
            return None
    return ReviewItem(problem, good, 0), ReviewItem(problem, bad, 1)


def proposal_pairs(problems: list[Problem], need: int, seed: int, split: str, caller: str,
                   make=None) -> list:
    """``need`` (correct item, wrong item) pairs from ``problems`` in a keyed random order (``split`` names
    the draw), skipping problems for which no wrong proposal can be made; too few is a ``ValueError``
    whose message starts with ``caller``.  ``make(problem, seed)`` builds a problem's pair (default
    :func:`proposals_for`; the draft game passes its own)."""
    if not is_integer(need, minimum=1):           # 0 never equalled the count: all came back
        raise ValueError(f"{caller} pairs cannot be drawn: need must be an integer >= 1; got {need!r}")
    make = make or proposals_for
    pairs = []
    for p in sorted(problems, key=lambda p: keyed_rng(seed, p.id, split).random()):
        pr = make(p, seed)
        if pr is not None:
            pairs.append(pr)
        if len(pairs) == need:
            break
    if len(pairs) < need:
        raise ValueError(f"{caller} {len(pairs)} problems with proposals; need {need}")
    return pairs


def junior_draw(problem: Problem, base_rate: float, seed: int) -> int:
    """Which proposal the junior solver sends (0 correct with probability ``base_rate``): a keyed draw."""
    return 0 if keyed_rng(seed, problem.id, "junior").random() < base_rate else 1


def letters(problem: Problem, seed: int) -> dict:
    """Action -> the word the Receiver replies with.

    A first format (letters A/B, swapped per problem by a keyed draw) left
    Qwen2.5-Coder-0.5B at P(A) = 0.50 +- 0.01 whatever the prompt said: it
    did not read it as a decision.  With one-word Yes/No replies the same
    model moved with a stated verdict (P(Yes) 0.54 vs 0.20) and a
    recommendation (0.47 vs 0.29) on 16 probe items, so Yes/No it is.
    """
    return {"submit": "Yes", "decline": "No"}


def head(item: ReviewItem) -> str:
    """What every condition shares: the problem and the proposal (ends with a newline)."""
    p = item.problem
    if p.task == "humaneval":
        # the proposal carries the task's signature and docstring, so the task is not repeated (it halves
        # the prompt, and the Receiver's time on CPU)
        return ("Task: implement the Python function below as its docstring describes. A junior programmer "
                f"proposes this implementation:\n```python\n{item.proposal}\n```\n")
    return f"Problem: {p.prompt.strip()}\nA junior solver proposes the final answer: {item.proposal}\n"


def question(problem: Problem, seed: int) -> str:
    what = "implementation" if problem.task == "humaneval" else "answer"
    return f"Submit the proposed {what}? Reply with one word: Yes or No."


def percent(x: float) -> str:
    """A probability as the Receiver is told it: whole percent, with as many decimals as it takes (up to
    three) not to round a probability strictly between 0 and 1 to "0%" or "100%", which would state a
    certainty the scheme does not have; within 5e-6 of 0 or 1 (half the last decimal: a solver's rounding)
    it is that end.

    >>> [percent(x) for x in (0.3, 0.25, 1.0, 0.996, 0.9996, 0.004, 2e-5, 1 - 1e-8)]
    ['30%', '25%', '100%', '99.6%', '99.96%', '0.4%', '0.002%', '100%']
    >>> percent(float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: percent(): a probability must be in [0, 1]; got nan
    """
    x = float(x)
    if not -5e-6 <= x <= 1 + 5e-6:          # NaN was told to the Receiver as "nan%", 1.5 as a certainty
        raise ValueError(f"percent(): a probability must be in [0, 1]; got {x}")
    if x <= 5e-6 or x >= 1 - 5e-6:
        return "0%" if x <= 5e-6 else "100%"
    for digits in range(3):
        text = f"{100 * x:.{digits}f}"
        if 0 < float(text) < 100:
            return f"{text}%"
    return f"{100 * x:.3f}%"        # beyond 5e-6 of either end, three decimals never round to one


def two_action_scheme(where: str, scheme) -> np.ndarray:
    """``scheme`` as a 2 x 2 float array (rows: verdict correct, wrong; columns: recommend submit, decline),
    refused unless it is one: a NaN once made every draw 'decline' and a 3-row table was read by its first
    two rows, silently."""
    pi = checked_scheme(where, scheme, 2)
    if pi.shape[1] != 2:
        raise InvalidArgumentError(where, "scheme", "must have two columns (recommend submit, decline)",
                                   f"shape {pi.shape}")
    return pi


def scheme_statement(scheme: np.ndarray, prior: np.ndarray, task: str) -> str:
    """The committed scheme in plain words: P(recommend submit | verdict), and the base rate."""
    what = "implementation" if task == "humaneval" else "answer"
    scheme = two_action_scheme("scheme_statement()", scheme)
    a, b = float(scheme[0, 0]), float(scheme[1, 0])
    base = f"Proposals like this one are correct {percent(prior[0])} of the time. "
    if abs(a - b) < 1e-9:
        how = (f"The advisor does not look at the proposal: it recommends submitting {percent(a)} of the time, "
               f"whatever the {what}.")
    else:
        how = (f"The advisor has checked the proposal against the reference. When the proposed {what} is correct, "
               f"it recommends submitting {percent(a)} of the time; when it is wrong, it recommends submitting "
               f"{percent(b)} of the time.")
    return base + how


def message_tail(problem: Problem, seed: int, message: str | None, statement: str | None = None,
                 fact: str | None = None, ask: str | None = None) -> str:
    """The part of the prompt after the head: scheme statement, signal or fact, then the question (``ask``,
    default :func:`question`)."""
    parts = []
    if statement:
        parts.append(f"About the advisor: {statement}")
    if message is not None:
        parts.append(f"Advisor's message: {message}")
    if fact:
        parts.append(fact)
    parts.append(ask or question(problem, seed))
    return "\n".join(parts)


def fact_text(item: ReviewItem) -> str:
    """The state stated as a verified fact (the oracle item, and the estimation prompts)."""
    return f"Verified by the reference check: the proposal is {STATES[item.state]}."


def belief_text(p: float) -> str:
    """A stated posterior (the graded-belief probe): the Receiver is told how likely the proposal is correct."""
    return f"Given everything the advisor has checked, the probability that the proposal is correct is {percent(p)}."


def draw_recommendation(scheme: np.ndarray, state: int, *key) -> str:
    """A recommendation drawn from ``scheme[state]`` with a keyed generator."""
    scheme = two_action_scheme("draw_recommendation()", scheme)
    if state not in (0, 1) or isinstance(state, bool):        # -1 read the wrong state's row
        raise InvalidArgumentError("draw_recommendation()", "state", "must be 0 (correct) or 1 (wrong)", state)
    return "submit" if keyed_rng(*key).random() < scheme[state, 0] else "decline"


def classify_message(text: str) -> str:
    """Which recommendation a free-text message makes: 'submit', 'decline' or 'other'."""
    t = text.lower()
    s, d = "submit" in t, "declin" in t or "reject" in t
    return "submit" if s and not d else "decline" if d and not s else "other"
