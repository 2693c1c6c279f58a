"""Proposed solutions a junior solver could send: correct ones and plausible wrong ones.

* Maths: the wrong answer is an intermediate number of the reference
  worked solution (the classic "stopped a step early" or "used the wrong
  quantity" error), else a near miss of the gold answer.
* Code: the wrong implementation is a mutant of the canonical solution (a
  flipped comparison or membership test, an off-by-one constant, a swapped arithmetic or
  boolean operator), kept only if the sandboxed tests reject it and the
  canonical solution passes them.

Every choice is a keyed draw (:func:`keyed_rng`), so the same problem gets
the same proposal in any run, resumed or not.
"""
from __future__ import annotations

import ast
import random
import re

from persuasion.errors import is_integer
from llm_bridge.tasks.problems import Problem

_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def keyed_rng(*key) -> random.Random:
    """A generator seeded by a tuple key (seed, problem, condition, purpose): stable across runs and processes."""
    return random.Random("|".join(map(str, key)))


def _same_number(a: str, b: str) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-9
    except ValueError:
        return a.strip() == b.strip()


def wrong_math_answers(problem: Problem, k: int, seed: int = 0) -> list[str]:
    """``k`` distinct wrong answers for a maths problem, intermediate results first."""
    if not is_integer(k, minimum=0):                 # 2.5 gave three answers, -1 none, silently
        raise ValueError(f"wrong_math_answers(): k must be an integer >= 0; got {k!r}")
    gold = problem.answer.strip()
    rng = keyed_rng(seed, problem.id, "wrong-answers")
    cot = problem.items.get("worked_solution", "")
    seen, out = {gold}, []
    inter = [n for n in _NUM.findall(cot) if not any(_same_number(n, s) for s in seen)]
    rng.shuffle(inter)
    for n in inter:
        n = n.rstrip("0").rstrip(".") if "." in n else n
        if len(out) < k and not any(_same_number(n, s) for s in seen) and not n.startswith("-"):
            out.append(n)
            seen.add(n)
    try:
        g = float(gold)
        near = [g + 1, g - 1, g + 2, g * 2, g + 10, g - 10, g / 2, g + 5]
    except ValueError:
        near = []
    rng.shuffle(near)
    for x in near:
        s = str(int(x)) if float(x).is_integer() else f"{x:g}"
        if len(out) < k and x >= 0 and not any(_same_number(s, t) for t in seen):
            out.append(s)
            seen.add(s)
    if len(out) < k:
        raise ValueError(f"wrong_math_answers(): could not make {k} wrong answers for {problem.id}")
    return out


# ---------------------------------------------------------------- code mutants
_CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
             ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
             ast.Mod: ast.FloorDiv}


def _mutation_sites(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    sites = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and type(node.ops[0]) in _CMP_SWAP:
            sites.append((node, "compare"))
        elif isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAP:
            sites.append((node, "binop"))
        elif isinstance(node, ast.BoolOp):
            sites.append((node, "boolop"))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            sites.append((node, "constant"))
    return sites


def _apply(node: ast.AST, kind: str) -> None:
    if kind == "compare":
        node.ops[0] = _CMP_SWAP[type(node.ops[0])]()
    elif kind == "binop":
        node.op = _BIN_SWAP[type(node.op)]()
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    else:
        node.value = node.value + 1


def code_mutants(problem: Problem, seed: int = 0, limit: int = 12) -> list[str]:
    """Bodies that differ from the canonical solution by one mutation (in a keyed random order), at most
    ``limit`` of them."""
    if not is_integer(limit, minimum=0):             # -1 sliced off the last one and kept all the others
        raise ValueError(f"code_mutants(): limit must be an integer >= 0; got {limit!r}")
    prompt, body = problem.prompt, problem.meta["canonical_solution"]
    base = ast.parse(prompt + body)
    n_sites = len(_mutation_sites(base))
    order = list(range(n_sites))
    keyed_rng(seed, problem.id, "mutants").shuffle(order)
    out = []
    for i in order[:limit]:
        tree = ast.parse(prompt + body)
        node, kind = _mutation_sites(tree)[i]
        # only mutate inside the entry point's body, never the prompt's signature or docstring
        fn = next((f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                   and f.name == problem.meta["entry_point"]), None)
        if fn is None or not any(node is n for n in ast.walk(fn)):
            continue
        _apply(node, kind)
        src = ast.unparse(tree)
        if src not in out:
            out.append(src)
    return out


def wrong_code(problem: Problem, seed: int = 0, timeout: float = 5.0) -> str | None:
    """The first mutant that the sandboxed tests reject (a full program), or None."""
    from llm_bridge.tasks.checkers import check_program
    for src in code_mutants(problem, seed):
        if not check_program(problem, src, timeout=timeout).correct:
            return src
    return None
