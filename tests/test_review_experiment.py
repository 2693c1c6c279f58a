"""The proposal-review game with tiny models: prompts carry their signals, the Receiver's own output
decides, a resumed run equals a single run, and the shared-head cache changes nothing."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from llm_bridge.games import review_game as rg
from llm_bridge.models.language_model import LanguageModel, ModelConfig
from llm_bridge.models.choice_receiver import ChoiceReceiver
from llm_bridge.studies.review_experiment import CONDITIONS, ReviewConfig, run
from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2


def tiny(seed):
    tok = char_tokenizer()
    return LanguageModel(tok, tiny_gpt2(tok, seed=seed), ModelConfig(f"tiny-{seed}"))


def cfg(out):
    return ReviewConfig(out=str(out), n_estimation=4, n_evaluation=5, bootstrap=20, signals_per_problem=1,
                        advisor_epochs=1, probe_posteriors=(0.5,))


class Interrupt(Exception):
    pass


class Flaky:
    """A real ChoiceReceiver that is interrupted after ``budget`` choose() calls."""

    def __init__(self, inner, budget):
        self.inner, self.budget = inner, budget

    def choose(self, *a, **k):
        if self.budget == 0:
            raise Interrupt()
        self.budget -= 1
        return self.inner.choose(*a, **k)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    rep = run(ChoiceReceiver(tiny(1)), tiny(2), cfg(out))
    return out, rep


def records(out):
    return [json.loads(l) for l in (out / "generations.jsonl").read_text().splitlines()]


def test_every_prompt_holds_its_signal_and_alone_holds_none(single):
    out, _ = single
    ev = [r for r in records(out) if r["phase"] == "evaluation"]
    assert {r["condition"] for r in ev} == set(CONDITIONS) - {"modelled-br"}
    for r in ev:
        if r["condition"] == "alone":
            assert "Advisor's message" not in r["prompt"] and "About the advisor" not in r["prompt"]
            assert "Verified" not in r["prompt"]
        elif r["condition"] == "oracle-item":
            assert r["signal"] in r["prompt"]
        else:
            assert r["signal"] and f"Advisor's message: {r['signal']}" in r["prompt"]
            assert ("About the advisor" in r["prompt"]) == r["condition"].endswith("/informed")
    # the proposal is in every prompt, the verdict only where the condition reveals it as a fact
    for r in ev:
        assert "proposes the final answer" in r["prompt"]


def test_the_receivers_output_decides(single):
    out, rep = single
    for r in records(out):
        assert r["output"] in ("Yes", "No")
        assert r["action"] == ("submit" if r["output"] == "Yes" else "decline")
        assert r["correct"] == (r["action"] == "submit" and r["state"] == "correct")
    ev = [r for r in records(out) if r["phase"] == "evaluation"]
    for c in CONDITIONS:
        if c == "modelled-br":
            continue
        rows = [r for r in ev if r["condition"] == c]
        assert rep["conditions"][c]["value"] == pytest.approx(np.mean([r["action"] == "submit" for r in rows]))


def test_resumed_run_equals_single_run(single, tmp_path):
    out, rep = single
    for budget in (3, 7):
        with pytest.raises(Interrupt):
            run(Flaky(ChoiceReceiver(tiny(1)), budget), tiny(2), cfg(tmp_path))
    rep2 = run(ChoiceReceiver(tiny(1)), tiny(2), cfg(tmp_path))
    a = {r["key"]: (r["prompt"], r["output"], r["signal"]) for r in records(out)}
    b = {r["key"]: (r["prompt"], r["output"], r["signal"]) for r in records(tmp_path)}
    assert a == b
    assert rep2["conditions"] == rep["conditions"] and rep2["schemes"] == rep["schemes"]


def test_shared_head_cache_gives_the_full_prompts_logits():
    r = ChoiceReceiver(tiny(3))
    head = "Problem: what is 2+2?\nA junior solver proposes the final answer: 4\n"
    tails = ["Submit? Yes or No.", "Advisor's message: I recommend declining it.\nSubmit? Yes or No."]
    for tail, c in zip(tails, r.choose(head, tails, options=("Yes", "No"))):
        f = r.choose_full(head + tail, options=("Yes", "No"))
        assert c.prompt == f.prompt and c.letter == f.letter
        assert c.probs["Yes"] == pytest.approx(f.probs["Yes"], abs=1e-5)


def test_scheme_statement_says_the_numbers():
    s = rg.scheme_statement(np.array([[1.0, 0.0], [3 / 7, 4 / 7]]), np.array([0.3, 0.7]), "gsm_symbolic")
    assert "30%" in s and "100%" in s and "43%" in s
    assert "does not look" in rg.scheme_statement(np.full((2, 2), 0.5), np.array([0.3, 0.7]), "gsm_symbolic")


def test_keyed_draws_do_not_depend_on_order():
    from llm_bridge.games.proposals import keyed_rng
    a = [keyed_rng(0, f"p{i}", "lp-scheme", "signal").random() for i in range(5)]
    b = [keyed_rng(0, f"p{i}", "lp-scheme", "signal").random() for i in reversed(range(5))]
    assert a == b[::-1] and len(set(a)) == 5


def test_markdown_shows_every_condition_and_test(single):
    from llm_bridge.studies.review_markdown import review_markdown
    _, rep = single
    md = review_markdown(rep)
    for c in CONDITIONS:
        assert f"| {c} | {rep['conditions'][c]['n']} |" in md
    for t in rep["tests"]:
        assert f"| {t} |" in md
    assert "Persuasion claim: ex ante" in md and rep["receiver_models"]["chosen"] in md


def test_review_figure_from_a_saved_report(single, tmp_path):
    pytest.importorskip("matplotlib")
    from paper_figures import fig_llm_review
    out, _ = single
    paths = fig_llm_review.draw([out / "report.json"], tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)


def test_calibration_study_logs_and_reads_back(tmp_path):
    from llm_bridge.studies.calibration import CalibrationConfig, calibration_markdown, run_calibration
    cfg = CalibrationConfig(out=str(tmp_path), n_problems=3)
    rep = run_calibration(ChoiceReceiver(tiny(4)), cfg)
    recs = [json.loads(l) for l in (tmp_path / "generations.jsonl").read_text().splitlines()]
    assert len(recs) == 3 * (1 + 2 * len(cfg.qs))
    for r in recs:
        assert (r["recommended"] is None) == (r["condition"] == "alone")
        if r["recommended"]:
            assert f"Advisor's recommendation: {r['recommended']}" in r["prompt"]
            assert ("About the advisor" in r["prompt"]) == r["condition"].endswith("/stated")
    # q = 1 always recommends the gold option, q = 0 never does
    assert all(r["recommended"] == r["gold"] for r in recs if r["condition"].startswith("q=1/"))
    assert all(r["recommended"] != r["gold"] for r in recs if r["condition"].startswith("q=0/"))
    assert rep == run_calibration(ChoiceReceiver(tiny(4)), cfg)          # a second start reads the log back
    assert "| 0.5 | stated |" in calibration_markdown(rep)


def test_wrong_proposals_are_wrong_and_realistic():
    import os
    from llm_bridge.games.proposals import wrong_math_answers
    from llm_bridge.tasks.problems import gsm_symbolic
    for p in gsm_symbolic(10, seed=3):
        wrong = wrong_math_answers(p, 3)
        assert len(set(wrong)) == 3 and all(float(w) != float(p.answer) for w in wrong)
    if os.geteuid() != 0:
        pytest.skip("code mutants are checked in the sandbox, which needs a root parent")
    import ast
    from llm_bridge.tasks.checkers import check_program
    from llm_bridge.tasks.problems import humaneval
    for p in humaneval(4):
        good, bad = rg.proposals_for(p)
        assert check_program(p, good.proposal).correct and not check_program(p, bad.proposal).correct
        # one mutation: same tree shape, same number of nodes
        assert len(list(ast.walk(ast.parse(good.proposal)))) == len(list(ast.walk(ast.parse(bad.proposal))))


class Counting:
    """A real ChoiceReceiver that counts the prompts it is asked to decide."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def choose(self, head, tails, **k):
        self.calls += len(tails)
        return self.inner.choose(head, tails, **k)


def test_identical_inputs_are_decided_once_and_copied_exactly(single):
    out, _ = single
    recs = records(out)
    by_key = {r["key"]: r for r in recs}
    reused = [r for r in recs if "reused_from" in r]
    assert reused, "the placebo, pooled and scheme conditions share prompts on some problems"
    for r in reused:
        src = by_key[r["reused_from"]]
        assert "reused_from" not in src and src["input"] == r["input"]
        assert (src["prompt"], src["output"], src["p_submit"]) == (r["prompt"], r["output"], r["p_submit"])
    # one model call per distinct input, and distinct inputs never share a digest
    assert len({r["input"] for r in recs}) == len(recs) - len(reused)
    assert len({r["prompt"] for r in recs}) == len({r["input"] for r in recs})


def test_a_run_that_reuses_another_runs_decisions_equals_a_fresh_run(single, tmp_path):
    from dataclasses import replace
    out, _ = single
    c = replace(cfg(tmp_path / "fresh"), target="decision")
    fresh_rx = Counting(ChoiceReceiver(tiny(1)))
    fresh = run(fresh_rx, tiny(2), c)
    reuse_rx = Counting(ChoiceReceiver(tiny(1)))
    again = run(reuse_rx, tiny(2), replace(c, out=str(tmp_path / "reuse"), reuse_decisions_from=str(out)))
    a = {r["key"]: (r["prompt"], r["output"]) for r in records(tmp_path / "fresh")}
    b = {r["key"]: (r["prompt"], r["output"]) for r in records(tmp_path / "reuse")}
    assert a == b and again["conditions"] == fresh["conditions"]
    assert reuse_rx.calls < fresh_rx.calls                 # the estimation phase is shared outright
    with pytest.raises(ValueError, match="reuse_decisions_from"):
        run(ChoiceReceiver(tiny(1)), tiny(2), replace(c, out=str(tmp_path / "bad"), reuse_decisions_from=str(out)),
            receiver_name="another")


def test_claim_rule_and_identical_prompts(single):
    _, rep = single
    n = rep["conditions"]["alone"]["n"]
    for name, t in rep["tests"].items():
        assert 0 <= t["identical_prompts"] <= n
        if t["identical_prompts"] == n:
            assert "p_holm" not in t and t["b"] == t["c"] == 0
    claim = rep["game"]["persuasion_claim"]
    for v, h in claim["held_out"].items():
        for who in ("lp-scheme", "advisor"):
            names = [f"{who}/{v} vs {b}/{v}" for b in ("full-revelation", h["best_pooling"], "placebo")]
            ok = all(rep["tests"][k].get("p_holm", 1) < 0.05 and rep["tests"][k]["diff"] > 0 for k in names)
            assert h[who] == ok
    assert rep["game"]["persuasion_claim_allowed"] == (claim["ex_ante"] and any(
        h["lp-scheme"] or h["advisor"] for h in claim["held_out"].values()))


def test_a_torn_line_is_cut_and_the_next_record_survives(tmp_path):
    from llm_bridge.studies.review_experiment import Log
    path = tmp_path / "g.jsonl"
    log = Log(path)
    log.add_many([{"key": "a", "x": 1}])
    with open(path, "a") as fh:
        fh.write('{"key": "b", "x"')                     # a write cut by a kill
    log = Log(path)
    assert set(log.done) == {"a"}
    log.add_many([{"key": "c", "x": 3}])
    assert set(Log(path).done) == {"a", "c"}


@given(st.floats(0, 1))
def test_a_stated_probability_is_never_rounded_to_a_certainty_it_does_not_have(x):
    """percent() states 0% or 100% only within 5e-6 of that end; elsewhere its number is 100 x to the last
    decimal shown, and a whole percent reads as before (the logged prompts of earlier runs stay the same)."""
    from llm_bridge.games.review_game import percent
    text = percent(x)
    assert text.endswith("%")
    if x <= 5e-6 or x >= 1 - 5e-6:
        assert text == ("0%" if x < 0.5 else "100%")
        return
    shown = text[:-1]
    decimals = len(shown.partition(".")[2])
    assert 0 < float(shown) < 100 and decimals <= 3
    assert abs(float(shown) - 100 * x) <= 0.5 * 10 ** -decimals + 1e-9
    if decimals:        # more decimals only where fewer would have said 0% or 100%
        assert float(f"{100 * x:.{decimals - 1}f}") in (0, 100)
    else:
        assert text == f"{100 * x:.0f}%"


@pytest.mark.parametrize("scheme, rule", [
    ([[np.nan, 0.5], [0.5, 0.5]], "entries must be finite"),       # every draw was 'decline'
    (np.full((3, 2), 0.5), "one row per state"),                     # read by its first two rows
    (np.full((2, 3), 1 / 3), "two columns"),
    ([[0.2, 0.2], [0.5, 0.5]], "rows must each sum to 1"),
])
def test_prompts_and_draws_refuse_what_is_not_a_scheme(scheme, rule):
    """The scheme stated in the Receiver's prompt and the one its recommendations are drawn from are one
    scheme, 2 x 2, in every game; anything else is named, never read in part."""
    from persuasion import InvalidArgumentError
    from llm_bridge.games import draft_game as dg, pair_game as pg
    for game in (rg, dg, pg):
        with pytest.raises(InvalidArgumentError, match=rf"scheme_statement\(\): scheme .*{rule}"):
            game.scheme_statement(scheme, np.array([0.3, 0.7]), "gsm_symbolic")
    with pytest.raises(InvalidArgumentError, match=rf"draw_recommendation\(\): scheme .*{rule}"):
        rg.draw_recommendation(scheme, 0, 0, "key")


def test_a_recommendation_is_drawn_for_a_state_of_the_game_only():
    """State -1 read row 1 (the wrong verdict's) silently."""
    from persuasion import InvalidArgumentError
    assert rg.draw_recommendation(np.eye(2), 1, 0, "key") == "decline"
    for state in (-1, 2, True, 0.5):
        with pytest.raises(InvalidArgumentError, match=r"state must be 0 \(correct\) or 1 \(wrong\)"):
            rg.draw_recommendation(np.eye(2), state, 0, "key")


def test_proposal_makers_take_counts_not_fractions_or_negatives():
    """wrong_math_answers(k=2.5) gave three answers and k=-1 none; code_mutants(limit=-1) sliced off the
    last mutant and kept the others; gsm_menus checked its item only at a problem that reached gsm_menu."""
    from llm_bridge.games.hints import gsm_menus
    from llm_bridge.games.proposals import code_mutants, wrong_math_answers
    from llm_bridge.tasks.problems import Problem
    p = Problem("x/0", "gsm_symbolic", "What is 2 + 3?", "5", {"worked_solution": "2 + 3 = 5\n#### 5"}, {})
    assert len(wrong_math_answers(p, 2)) == 2 and wrong_math_answers(p, 0) == []
    for k in (2.5, -1, True):
        with pytest.raises(ValueError, match=r"^wrong_math_answers\(\): k must be an integer >= 0"):
            wrong_math_answers(p, k)
    for limit in (-1, 1.5):
        with pytest.raises(ValueError, match=r"^code_mutants\(\): limit must be an integer >= 0"):
            code_mutants(p, 0, limit)
    with pytest.raises(ValueError, match=r"^gsm_menus\(\): item must be one of"):
        gsm_menus([p], 1, "answer_key")
