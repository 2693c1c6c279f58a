"""Answer checkers: maths with math-verify, code by running the tests in the sandbox.

Answer extraction follows the GSM8K conventions of lm-evaluation-harness:
*strict* takes the number after ``####``; *flexible* takes the last number
in the text; a ``\\boxed{...}`` answer is taken first when present.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .problems import Problem, first_code_block
from .verdict import run_tests

_NUMBER = r"-?[\d,]*\.?\d+"


@dataclass(frozen=True)
class Verdict:
    correct: bool
    reason: str
    extracted: str = ""


def last_boxed(text: str) -> str | None:
    """The contents of the last ``\\boxed{...}`` in ``text`` whose braces close, at any depth of nesting
    (``\\boxed{\\frac{\\sqrt{2}}{2}}`` gives ``\\frac{\\sqrt{2}}{2}``); ``None`` if there is none."""
    found = None
    for start in (m.end() for m in re.finditer(r"\\boxed\s*\{", text)):
        depth, i = 1, start
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found = text[start:i - 1]
    return found


#: How :func:`extract_answer` reads an answer: "strict" takes only a boxed or ``####`` answer, "flexible"
#: falls back to the last number in the text.
EXTRACTION_MODES = ("flexible", "strict")


def extract_answer(text: str, mode: str = "flexible") -> str:
    """The answer in a model's output ('' if none): boxed, then ``####``, then (flexible) the last number.

    >>> extract_answer("so 12 apples", "strict"), extract_answer("so 12 apples", "flexible")
    ('', '12')
    """
    if mode not in EXTRACTION_MODES:          # "Strict" or a typo was read as flexible, changing the score
        raise ValueError(f"extract_answer(): mode must be one of {EXTRACTION_MODES}; got {mode!r}")
    if not isinstance(text, str):
        raise ValueError(f"extract_answer(): text must be a str (the model's output); got {type(text).__name__}")
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        return boxed.strip()
    strict = re.findall(r"####\s*(" + _NUMBER + ")", text)
    if strict:
        return strict[-1].replace(",", "")
    if mode == "strict":
        return ""
    nums = re.findall(_NUMBER, text)
    return nums[-1].replace(",", "") if nums else ""


#: Words that may appear in a plain-text formula ("sqrt(2)"); any other word of three letters or more
#: makes an answer prose.  LaTeX commands (``\frac``) are not words here.
_FORMULA_WORDS = {"and", "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "log", "exp", "max", "min", "gcd",
                  "lcm", "mod", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "det", "inf", "floor",
                  "ceil"}

#: How reference answers (CHAMP's) give a second form of the same answer, or a remark after it.
_ALTERNATIVES = r",?\s+or (?:equivalently|an equivalent form such as|approximately)\s+"
_REMARK = r"\s*\((?:i\.e\.,?|no |none )[^()]*\)\s*$"
#: Sentences around one value ("The limit exists and is equal to 2/3", "3 is the only possible value",
#: "98 values"): the value alone is an answer too.
_VALUE_IN_WORDS = (r"^the limit exists and is equal to (.+)$", r"^the only possible value for the limit is (.+)$",
                   r"^(.+) is the only possible value$", r"^(-?\d+) [a-z]+$")


def is_prose(answer: str) -> bool:
    """Is an answer words rather than a formula ("No", "Yes", "No integer solutions", "n times")?  Such
    answers are compared as text: math-verify reads "No" as the product ``n*o``, which "on" equals."""
    words = [w.lower() for w in re.findall(r"(?<![\\A-Za-z])[A-Za-z]+", answer)]
    return words in (["yes"], ["no"]) or any(len(w) >= 3 and w not in _FORMULA_WORDS for w in words)


def gold_forms(gold: str) -> list[str]:
    """The forms a reference answer accepts: "C(10, 5), or equivalently 252" gives both, a closing
    remark such as "(i.e., no such values)" is dropped ("0 (i.e., no such values)" gives "0"), and a
    sentence around one value also gives the value ("The limit exists and is equal to 2/3" gives 2/3)."""
    forms = [re.sub(_REMARK, "", f.strip()).strip() or f.strip() for f in re.split(_ALTERNATIVES, gold) if f.strip()]
    values = [m.group(1) for f in forms for rule in _VALUE_IN_WORDS for m in [re.match(rule, f, re.IGNORECASE)] if m]
    return forms + values


def normalised_text(answer: str) -> str:
    """An answer as text to compare: ``\\text{...}`` and ``$`` removed, lower case, single spaces, no
    comma, full stop or semicolon at either end ("n!" keeps its factorial)."""
    text = re.sub(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}", r"\1", answer).replace("$", "")
    return re.sub(r"\s+", " ", text).strip().strip(".,;").strip().lower()


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> tuple:
    """math-verify's reading of an answer, as the contents of a ``\\boxed{}``.  Read bare it can take a
    formula's first number ("2^(n-1)" as 2, so that the answer "2" would match); boxed, it reads
    ``2^{n-1}``, or keeps the text where it cannot read it.  Cached: an answer is compared with each of
    a reference's forms, and one reference with many sampled answers."""
    from math_verify import parse
    return tuple(parse("\\boxed{" + text + "}"))


def _matches(form: str, ans: str) -> bool:
    if is_prose(form):
        want, got = normalised_text(form), normalised_text(ans)
        return got == want or (want in ("yes", "no") and re.split(r"[^a-z]+", got)[0] == want)
    from math_verify import verify
    reference = _parsed(form)
    if not reference:
        raise ValueError(f"check_math(): gold must be an answer math-verify can read; got {form!r}")
    return bool(verify(list(reference), list(_parsed(ans))))


def check_math(gold: str, output: str, mode: str = "flexible") -> Verdict:
    """Is the answer in ``output`` equal to ``gold``?

    A formula is compared by math-verify (gold first); an answer in words (:func:`is_prose`) as text
    (:func:`normalised_text`), where "No" also accepts an answer whose first word is "no" ("No, since
    ...").  A gold with two forms ("C(10, 5), or equivalently 252") accepts either, or the whole text
    (:func:`gold_forms`)."""
    if not isinstance(gold, str):
        raise ValueError(f"check_math(): gold must be a str (the reference answer); got {type(gold).__name__}")
    ans = extract_answer(output, mode)
    if not ans:
        return Verdict(False, "no answer found", "")
    ok = ans == gold.strip() or any(_matches(form, ans) for form in gold_forms(gold))
    return Verdict(ok, "equal to the reference" if ok else f"{ans!r} differs from {gold!r}", ans)


def check_program(problem: Problem, program: str, timeout: float = 5.0) -> Verdict:
    """Run HumanEval's tests on a whole ``program`` (imports, helpers and the entry point).

    The program runs in the sandbox and only answers calls; the tests run in
    a trusted process of their own and decide (:mod:`llm_bridge.tasks.verdict`).
    """
    passed, reason = run_tests(problem.prompt, problem.meta["test"], problem.meta["entry_point"], program,
                               timeout=timeout)
    return Verdict(passed, reason, "")


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
