"""The pair game on HumanEval (llm_bridge.games.code_drafts and pair_game's code branch).

What defines a right answer here: the slip changes exactly one token of the line; run in the sandbox,
the reference passes, the reference with the slipped line fails, and neither partial draft passes on its
own (the item is a hint, not the implementation: checked here again, per problem, independently of the
function that promised it); the Receiver's action is read back from the line it wrote, and its accuracy is
the tests' verdict.
"""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_bridge.games import code_drafts as cd
from llm_bridge.games import pair_game as pg


@pytest.mark.parametrize("line, slipped", [
    ("        if balance < 0:", "        if balance <= 0:"),
    ("    while i <= n:", "    while i < n:"),
    ("        total += x", "        total -= x"),
    ("    return a + b", "    return a - b"),
    ("            return True", "            return False"),
    ("    for i in range(2, n):", "    for i in range(3, n):"),
    ("    if x == -1:", "    if x != -1:"),
])
def test_the_fixed_edit_of_a_line(line, slipped):
    assert cd.code_slip(line) == slipped


def test_lines_with_text_or_nothing_to_edit_are_left_alone():
    assert cd.code_slip("    return 'a < b'") is None
    assert cd.code_slip("    x = y  # 3 < 4") is None
    assert cd.code_slip("    return sorted(xs)") is None
    assert cd.code_slip("    def g(x) -> list:") is None          # a return annotation is not a comparison


COMPARISONS, ARITHMETIC = ["<", "<=", ">", ">=", "==", "!="], [" + ", " - "]


@given(st.sampled_from(["x", "total", "a_1"]), st.sampled_from(COMPARISONS + ARITHMETIC), st.integers(0, 999),
       st.integers(0, 3))
def test_a_slip_changes_one_token_and_the_reader_finds_that_line(name, op, k, depth):
    indent = "    " * (depth + 1)
    line = indent + (f"if {name}{op}{k}:" if op in COMPARISONS else f"y = {name}{op}{k}")
    got = cd.code_slip(line)
    assert got is not None and got != line
    a, b = line.split(), got.split()
    assert len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1
    own, other = "    s = 0\n" + line, "    s = 0\n" + got
    assert cd.differing_lines(own, other) == (line, got)
    assert cd.built_on(own, other, f"```python\ndef f():\n{own}\n    return s\n```") is True
    assert cd.built_on(own, other, f"```python\ndef f():\n{other}\n    return s\n```") is False
    assert cd.built_on(own, other, "```python\ndef f():\n    return 0\n```") is None
    # the line counts only where the drafts have it, after the line that precedes it there
    assert cd.built_on(own, other, f"```python\ndef f():\n{line}\n    s = 0\n```") is None


def test_drafts_that_differ_in_more_than_one_line_are_refused():
    with pytest.raises(ValueError, match="exactly one line"):
        cd.differing_lines("a = 1\nb = 2", "a = 2\nb = 3")


@pytest.fixture(scope="module")
def code_items():
    from llm_bridge.tasks.problems import humaneval
    made = [(p, pg.draft_pair(p)) for p in humaneval(40)]
    return [(p, pair) for p, pair in made if pair is not None]


def test_each_draft_is_what_it_claims_when_run(code_items):
    """Independently of code_drafts' own checks: the reference passes, Lee's completed slipped draft fails,
    and neither partial body passes on its own."""
    from llm_bridge.tasks.checkers import check_program
    assert len(code_items) >= 8                               # the game can be set up on a good share
    for p, (good, bad) in code_items[:8]:
        last = cd.body_lines(p)[-1]
        assert good.proposal == "\n".join(cd.body_lines(p)[:-1])
        assert check_program(p, cd.program(p, cd.body_lines(p))).correct
        assert not check_program(p, cd.program(p, bad.proposal.splitlines() + [last])).correct
        for partial in (good.proposal, bad.proposal):
            assert not check_program(p, cd.program(p, partial.splitlines())).correct
        assert (good.proposal, good.other) == (bad.other, bad.proposal)
        head = pg.head(good)
        assert good.proposal in head and bad.proposal in head and p.prompt.rstrip() in head
        assert p.meta["canonical_solution"].rstrip() not in head  # the whole reference body is never shown
        order = [m.group(1) for m in re.finditer(r"^(Lee|Kim)'s partial solution:$", head, re.M)]
        assert order == (["Lee", "Kim"] if pg.own_first(p) else ["Kim", "Lee"])
        assert pg.message_tail(p, 0, pg.RECOMMEND["submit"]).endswith(pg.CODE_QUESTION)


def test_the_action_is_the_draft_built_on_and_accuracy_the_tests_verdict(code_items):
    for p, (good, bad) in code_items[:4]:
        last = cd.body_lines(p)[-1]
        right = "```python\n" + cd.program(p, good.proposal.splitlines() + [last]) + "```"
        wrong = "```python\n" + cd.program(p, bad.proposal.splitlines() + [last]) + "```"
        # Lee holds the correct draft (state 0): finishing it is submitting, and right
        assert pg.read_action(good, right) == {"action": "submit", "correct": True, "extracted": "Lee"}
        assert pg.read_action(good, wrong) == {"action": "decline", "correct": False, "extracted": "Kim"}
        # Lee holds the slipped draft (state 1): finishing Lee's is submitting, and wrong
        assert pg.read_action(bad, wrong) == {"action": "submit", "correct": False, "extracted": "Lee"}
        assert pg.read_action(bad, "I cannot tell.")["action"] == "decline"


def test_the_pair_game_is_the_only_written_game_on_code():
    from llm_bridge.studies.review_experiment import ReviewConfig
    ReviewConfig(out="x", game="pair", task="humaneval")
    with pytest.raises(ValueError, match="played on gsm_symbolic; got task='humaneval'"):
        ReviewConfig(out="x", game="draft", task="humaneval")


class ScriptedCoder:
    """A Receiver that finishes the draft a verified fact or the advisor's message names (the first listed
    draft otherwise) with the reference's last line; with no draft it returns None (a test double: the
    reading and the runner are under test)."""

    def __init__(self, items):
        self.items = items

    def generate_scored(self, prompts, sampling=None, progress=False):
        from llm_bridge.models.language_model import Generation
        out = []
        for text in prompts:
            good, bad = next(pair for pair in self.items if pair[0].problem.prompt.rstrip() in text)
            p = good.problem
            listed = re.findall(r"^(Lee|Kim)'s partial solution:$", text, re.M)
            named = re.search(r"(Lee|Kim)'s partial solution is correct|message: I recommend building on "
                              r"(Lee|Kim)'s", text)
            if not listed:
                code = cd.program(p, ["    return None"])
            else:
                who = next(g for g in named.groups() if g) if named else listed[0]
                after_lee = text.split(f"{pg.OWN}'s partial solution:\n```python\n", 1)[1]
                lee, kim = (good, bad) if after_lee.startswith(good.proposal + "\n") else (bad, good)
                chosen = lee if who == pg.OWN else kim
                code = cd.program(p, chosen.proposal.splitlines() + cd.body_lines(p)[-1:])
            out.append(Generation(f"```python\n{code}```", 0.0, 30))
        return out


def test_the_runner_plays_the_code_pair_game_end_to_end(tmp_path):
    pytest.importorskip("torch")
    from llm_bridge.models.language_model import LanguageModel, ModelConfig
    from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2
    from llm_bridge.studies.review_experiment import ReviewConfig, load_items, run
    cfg = ReviewConfig(out=str(tmp_path / "code"), game="pair", task="humaneval", n_estimation=8, n_evaluation=3,
                       bootstrap=20, signals_per_problem=1, advisor_epochs=1, probe_posteriors=(0.5,),
                       probes="lean", variants=("signal-only",), base_rate=0.5, max_new_tokens=64)
    est, ev = load_items(cfg)
    tok = char_tokenizer()
    rep = run(ScriptedCoder(est + ev), LanguageModel(tok, tiny_gpt2(tok, seed=2), ModelConfig("tiny-2")), cfg)
    recs = [json.loads(ln) for ln in (tmp_path / "code" / "generations.jsonl").read_text().splitlines()]
    assert recs and all(r["prompt"].count("'s partial solution:\n```python\n") == 2
                        for r in recs if r["condition"] != "no-item")
    for r in recs:
        if r.get("rec") in ("submit", "decline"):                          # it follows the message
            assert r["action"] == r["rec"]
            assert r["correct"] == ((r["rec"] == "submit") == (r["state"] == "correct"))
    conds = rep["conditions"]
    assert conds["full-revelation/signal-only"]["accuracy"] == conds["oracle-item"]["accuracy"] == 1
    assert conds["no-item"]["accuracy"] == 0


class LabelCoder:
    """Finishes partial solution A or B: the one a verified fact or a recommendation names, A otherwise."""

    def __init__(self, pairs):
        self.pairs, self.calls = pairs, 0

    def generate_scored(self, prompts, sampling=None, progress=False):
        from llm_bridge.models.language_model import Generation
        out = []
        for text in prompts:
            self.calls += 1
            good, bad = next(pr for pr in self.pairs if pr[0].problem.prompt.rstrip() in text)
            named = re.search(r"partial solution ([AB]) is correct|building on partial solution ([AB])", text)
            label = next(g for g in named.groups() if g) if named else "A"
            draft = text.split(f"Partial solution {label}:\n```python\n", 1)[1].split("\n```", 1)[0]
            p = good.problem
            out.append(Generation("```python\n" + cd.program(p, draft.splitlines() + cd.body_lines(p)[-1:]) + "```",
                                  0.0, 30))
        return out


def test_the_pair_probe_on_code_reads_the_tests_and_the_draft_built_on(tmp_path):
    from experiments import verdict_value as vv
    from llm_bridge.studies.review_experiment import ReviewConfig, load_items
    pairs, _ = load_items(ReviewConfig(out=str(tmp_path), game="pair", task="humaneval", n_estimation=6,
                                       n_evaluation=0))
    jobs = vv.prompts(pairs, vv.QUESTIONS["choose-code"], "pair")
    assert all(j["prompt"].count("```python\n") == 3 for j in jobs)       # the signature and both drafts
    settings = {"receiver": "scripted", "question": "choose-code", "max_new_tokens": 64, "item": "pair",
                "task": "humaneval"}
    rep = vv.run(LabelCoder(pairs), pairs, tmp_path, "choose-code", 64, settings, "pair")
    rows = rep["conditions"]
    labels = [vv.pair_labels(g)["correct"] for g, _ in pairs]
    assert rows["pair/told"]["accuracy"] == rows["pair/recommend-correct"]["accuracy"] == 1.0
    assert rows["pair/recommend-wrong"]["accuracy"] == 0.0
    assert rows["pair/recommend-wrong"]["wrong_drafts_answer"] == rows["pair/recommend-wrong"]["followed"] == 1.0
    assert rows["pair/alone"]["accuracy"] == labels.count("A") / len(pairs)
    with pytest.raises(SystemExit):
        vv.main(["--task", "humaneval", "--item", "verdict", "--out", str(tmp_path / "x")])
