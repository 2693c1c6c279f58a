"""The draft game (issue 20): drafts are hints, not answer keys; the answer a slipped draft leads to is
computed exactly; the Receiver's written answer decides its action; the runner plays every condition,
the paper's baseline included, and reports accuracy with the information/strategy split."""
import json
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_bridge.games import draft_game as dg
from llm_bridge.games.hints import leaks_answer, numbers_in


def test_final_expression_reads_the_last_steps_arithmetic():
    expr, result = dg.final_expression("They ate a total of 3 + 8 + 13 = 24 slices.")
    assert expr == [3, "+", 8, "+", 13] and result == 24
    expr, result = dg.final_expression("In total there are 32 girls + 64 boys = 96 kids in the garden")
    assert expr == [32, "+", 64] and result == 96
    expr, result = dg.final_expression("So he makes 6750*$0.25=$1687.5 every week")
    assert expr == [6750, "*", Fraction(1, 4)] and result == Fraction(3375, 2)
    assert dg.final_expression("She has 12 apples.") is None
    assert dg.final_expression("That is 12 = 12") is None           # no operation: nothing to recompute


@given(st.lists(st.integers(1, 50), min_size=2, max_size=6), st.data())
@settings(max_examples=200, deadline=None)
def test_evaluate_agrees_with_python_on_integer_expressions(nums, data):
    ops = [data.draw(st.sampled_from("+-*/")) for _ in nums[1:]]
    text = str(nums[0]) + "".join(f" {o} {v}" for o, v in zip(ops, nums[1:]))
    expr = [Fraction(nums[0])] + [x for o, v in zip(ops, nums[1:]) for x in (o, Fraction(v))]
    # an independent evaluator: Python's own arithmetic on the same text, exactly (Fractions)
    reference = eval(re.sub(r"(\d+)", r"Fraction(\1)", text), {"Fraction": Fraction})
    assert dg.evaluate(expr) == reference


@pytest.fixture(scope="module")
def pairs():
    pytest.importorskip("reasoning_gym")
    from llm_bridge.tasks.problems import gsm_symbolic
    problems = gsm_symbolic(160, seed=7)
    return problems, [(p, dg.draft_pair(p)) for p in problems]


def test_most_problems_get_a_draft_pair(pairs):
    problems, made = pairs
    assert sum(pr is not None for _, pr in made) >= 0.6 * len(problems)


def test_drafts_are_hints_not_answer_keys(pairs):
    """Per problem: neither draft holds the gold answer, the answer marker or the last step; the two drafts
    differ in their last line only; the correct draft is the worked solution's steps but the last."""
    _, made = pairs
    for p, pr in made:
        if pr is None:
            continue
        good, bad = pr
        gold = Fraction(p.answer.replace(",", ""))
        lines = [ln.strip() for ln in p.items["worked_solution"].splitlines()
                 if ln.strip() and not ln.strip().startswith("####")]
        assert good.proposal == "\n".join(lines[:-1])
        for d in (good, bad):
            assert gold not in numbers_in(d.proposal) and "####" not in d.proposal
            assert lines[-1] not in d.proposal
        g, b = good.proposal.splitlines(), bad.proposal.splitlines()
        assert g[:-1] == b[:-1] and g[-1] != b[-1]
        assert (good.state, bad.state) == (0, 1)


def test_the_slipped_answer_is_the_last_step_recomputed(pairs):
    """The correct draft leads to the gold answer; the wrong one to the last step's arithmetic with the
    slipped value put in for the true one -- recomputed here with Python's arithmetic."""
    _, made = pairs
    for p, pr in made:
        if pr is None:
            continue
        good, bad = pr
        assert Fraction(good.draft_answer) == Fraction(p.answer.replace(",", ""))
        last = [ln for ln in p.items["worked_solution"].splitlines() if ln.strip()][-2]
        expr, _ = dg.final_expression(last)
        # the one number that differs between the two drafts' last lines, read position by position
        nums = [[Fraction(t.replace(",", "")) for t in re.findall(r"\d[\d,]*(?:\.\d+)?", d.proposal.splitlines()[-1])]
                for d in (good, bad)]
        assert len(nums[0]) == len(nums[1])
        (old, new), = [(a, b) for a, b in zip(*nums) if a != b]
        src = " ".join(str(new) if k % 2 == 0 and v == old else str(v) for k, v in enumerate(expr))
        recomputed = eval(re.sub(r"(\d+(?:/\d+)?)", r"Fraction('\1')", src), {"Fraction": Fraction})
        assert abs(float(recomputed) - float(Fraction(bad.draft_answer))) < 0.006   # drafts show 2 decimals


def test_read_action_submits_the_drafts_answer_only():
    from llm_bridge.tasks.problems import Problem
    p = Problem("x/1", "gsm_symbolic", "q", "57")
    good = dg.DraftItem(p, "draft", 0, "57")
    bad = dg.DraftItem(p, "draft'", 1, "43")
    assert dg.read_action(good, "so 33 + 24 = 57\n#### 57") == {"action": "submit", "correct": True,
                                                               "extracted": "57"}
    assert dg.read_action(bad, "#### 43") == {"action": "submit", "correct": False, "extracted": "43"}
    assert dg.read_action(bad, "#### 57") == {"action": "decline", "correct": True, "extracted": "57"}
    assert dg.read_action(bad, "#### The total is 43 + 14 = 57.") == {"action": "decline", "correct": True,
                                                                      "extracted": "57"}
    assert dg.read_action(bad, "no answer") == {"action": "decline", "correct": False, "extracted": ""}
    # A boxed LaTeX answer is compared as such (read back after '####' it was no answer at all).
    assert dg.read_action(good, "so \\boxed{\\frac{114}{2}}") == {"action": "submit", "correct": True,
                                                                  "extracted": "\\frac{114}{2}"}


@pytest.mark.parametrize("text, answer", [
    ("#### Ray takes 425 minutes longer to swim 5 miles on a hot day", "425"),   # the harness's rule read 5
    ("#### The friends found 96 - 20 = 76 coins.", "76"),
    ("#### Total eaten in one month (assuming 30 days):\n28 a day x 30 days = 840\n\nFinal answer: 840 eggs", "840"),
    ("#### In a month (30 days):\n14 * 30 = 420\nThe final answer is $420.", "420"),
    ("#### 12 apples\nso the final answer is 12", "12"),
    ("#### $0.25 \\times 6750 = 1687.50$", "1687.50"),
    ("x = 3\n#### 1,234\nthen 9 more words", "1234"),
    ("The total is 130 + 130 = 260 insects.", "260"),
    ("so \\boxed{42}, not 7", "42"),
    ("no number at all", ""),
])
def test_final_answer_reads_the_answer_not_a_number_after_it(text, answer):
    assert dg.final_answer(text) == answer


def test_messages_are_classified_by_what_they_recommend():
    assert dg.classify_message(dg.RECOMMEND["submit"]) == "submit"
    assert dg.classify_message(dg.RECOMMEND["decline"]) == "decline"
    assert dg.classify_message("Good luck!") == "other"


# ------------------------------------------------------------------ the runner, end to end
WRONG = "Verified by the reference check: the partial solution is wrong"


class ScriptedSolver:
    """A Receiver that writes an answer by rule, so what the runner reads off is known: told the draft is
    wrong, or advised to redo it, it writes the gold answer; given a draft otherwise, the draft's answer;
    with no draft, 0.  (A test double for the model: the runner's reading is what is under test.)"""

    def __init__(self, items):
        self.by_prompt = {pair[0].problem.prompt.strip(): pair for pair in items}
        self.calls = 0

    def generate_scored(self, prompts, sampling=None, progress=False):
        from llm_bridge.models.language_model import Generation
        out = []
        for text in prompts:
            self.calls += 1
            q = text.split("\n")[0].removeprefix("Problem: ").strip()
            pair = self.by_prompt[q]
            item = pair[0]
            draft = next((it for it in pair if it.proposal in text), None)
            told_wrong = WRONG in text
            if draft is None:
                ans = "0"
            elif told_wrong or dg.RECOMMEND["decline"] in text:
                ans = item.problem.answer
            else:
                ans = draft.draft_answer
            out.append(Generation(f"The last step gives it.\n#### {ans}", 0.0, 8))
        return out


def _tiny_advisor():
    from llm_bridge.models.language_model import LanguageModel, ModelConfig
    from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2
    tok = char_tokenizer()
    return LanguageModel(tok, tiny_gpt2(tok, seed=2), ModelConfig("tiny-2"))


@pytest.fixture(scope="module")
def scripted_run(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("reasoning_gym")
    from llm_bridge.studies.review_experiment import ReviewConfig, load_items, run
    out = tmp_path_factory.mktemp("draft")
    cfg = ReviewConfig(out=str(out), game="draft", n_estimation=8, n_evaluation=6, bootstrap=20,
                       signals_per_problem=1, advisor_epochs=1, probe_posteriors=(0.5,), probes="lean",
                       variants=("signal-only",), pool=40, base_rate=0.5)
    est, ev = load_items(cfg)
    solver = ScriptedSolver(est + ev)
    rep = run(solver, _tiny_advisor(), cfg)
    return out, rep, solver, cfg


def _copy_of_run(out, cfg, tmp_path):
    """A copy of the scripted run's folder, and its config pointed at the copy (the original stays intact
    for the other tests of the module)."""
    import dataclasses
    import shutil
    old = tmp_path / "old"
    shutil.copytree(out, old)
    return old, dataclasses.replace(cfg, out=str(old))


def _records(out):
    return [json.loads(line) for line in (out / "generations.jsonl").read_text().splitlines()]


def test_the_draft_game_reads_each_written_answer(scripted_run):
    out, rep, _, cfg = scripted_run
    from llm_bridge.studies.review_experiment import conditions
    ev = [r for r in _records(out) if r["phase"] == "evaluation"]
    assert {r["condition"] for r in ev} == set(conditions(cfg)) - {"modelled-br"}
    for r in _records(out):
        # the rule the solver follows, read back from the log: the action is its answer against the draft's
        if r["condition"] == "no-item":
            assert "partial solution" not in r["prompt"] and r["action"] == "decline" and not r["correct"]
        elif r["state"] == "wrong" and (WRONG in r["prompt"] or r.get("rec") == "decline"):
            assert r["correct"] and r["action"] == "decline"
        elif "Verified" not in r["prompt"] and r.get("rec") != "decline":
            assert r["action"] == "submit" and r["correct"] == (r["state"] == "correct")


def test_the_report_splits_information_from_strategy(scripted_run):
    _, rep, _, _ = scripted_run
    acc = rep["accuracy"]
    assert acc["baseline"] == "no-item"
    # the solver never answers right without the draft, so every relative gain over it is undefined
    assert rep["conditions"]["no-item"]["accuracy"] == 0
    assert all(g["relative_gain"] is None for g in acc["gains"].values())
    # full revelation: right on every problem (builds on a correct draft, redoes a wrong one)
    assert rep["conditions"]["full-revelation/signal-only"]["accuracy"] == 1
    names = set(acc["tests"])
    assert "full-revelation/signal-only vs no-item (value of information)" in names
    assert "lp-scheme/signal-only vs full-revelation/signal-only (value of strategy)" in names


def test_lean_probes_cover_both_recommendations_so_the_fitted_model_is_identified(scripted_run):
    out, rep, _, _ = scripted_run
    est = [r for r in _records(out) if r["phase"] == "estimation" and r["condition"].endswith("@0.5")]
    assert {(r["condition"], r["rec"]) for r in est} == {("probe/submit@0.5", "submit"),
                                                          ("probe/decline@0.5", "decline")}
    assert all(r["stated_posterior"] == pytest.approx(0.5) for r in est)
    rm = rep["receiver_models"]
    assert rm["brier_cv"]["fitted"] is not None and None not in rm["fitted_coef"].values()


def test_a_fitted_model_without_decline_probes_is_not_chosen(scripted_run, tmp_path):
    """The log of an older lean run (no decline probe): the fitted model is reported unidentified, never
    chosen, and the scheme comes from a model that has data on both recommendations."""
    import shutil
    from llm_bridge.studies.review_experiment import Log, estimation_prior, fit_game, load_items
    out, _, _, cfg = scripted_run
    old = tmp_path / "old"
    shutil.copytree(out, old)
    lines = [ln for ln in (old / "generations.jsonl").read_text().splitlines()
             if json.loads(ln)["condition"] != "probe/decline@0.5"]
    (old / "generations.jsonl").write_text("\n".join(lines) + "\n")
    est, _ = load_items(cfg)
    game = fit_game(Log(old / "generations.jsonl"), est, estimation_prior(est, cfg), cfg)
    assert game.brier["fitted"] is None and not game.models["fitted"].identified
    assert game.chosen in ("bayesian", "credulous")


def test_a_condition_whose_text_changed_is_decided_again(scripted_run, tmp_path):
    """Done means logged on the text shown now: a record made on other text (as after a refit changed the
    scheme) is redone on resume and superseded, the old line kept; report_so_far() never counts it."""
    from llm_bridge.studies.review_experiment import load_items, report_so_far, run
    out, rep, _, cfg = scripted_run
    old, cfg = _copy_of_run(out, cfg, tmp_path)
    recs = _records(old)
    target = next(r for r in recs if r["phase"] == "evaluation" and r["condition"] == "lp-scheme/signal-only")
    with open(old / "generations.jsonl", "a") as f:
        f.write(json.dumps({**target, "input": "0" * 24, "action": "decline"}) + "\n")
    assert report_so_far(cfg)["conditions"]["alone"]["n"] == cfg.n_evaluation - 1
    est, ev = load_items(cfg)
    again = ScriptedSolver(est + ev)
    rep2 = run(again, _tiny_advisor(), cfg)
    assert again.calls <= 1 and rep2["conditions"] == rep["conditions"]
    assert len(_records(old)) == len(recs) + 2


def test_an_advisor_taught_another_scheme_is_set_aside_and_retrained(scripted_run, tmp_path):
    from llm_bridge.studies.review_experiment import held_out_items, load_items, report_so_far, run
    out, rep, _, cfg = scripted_run
    old, cfg = _copy_of_run(out, cfg, tmp_path)
    (old / "advisor_scheme.json").write_text(json.dumps([[0.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="taught another scheme"):
        report_so_far(cfg)
    est, ev = load_items(cfg)
    rep2 = run(ScriptedSolver(est + ev), _tiny_advisor(), cfg)
    kept = old / "superseded" / "0"
    assert (kept / "advisor_messages.json").exists() and (kept / "advisor" / "config.json").exists()
    assert np.allclose(json.loads((old / "advisor_scheme.json").read_text()), rep2["schemes"]["chosen"])
    assert (old / "advisor" / "config.json").exists()
    assert set(json.loads((old / "advisor_messages.json").read_text())) == {it.key for it in held_out_items(ev, cfg)}
    assert rep2["conditions"]["full-revelation/signal-only"] == rep["conditions"]["full-revelation/signal-only"]


def test_resuming_with_another_receiver_or_token_budget_is_refused(scripted_run, tmp_path):
    import dataclasses
    from llm_bridge.studies.review_experiment import run
    out, _, _, cfg = scripted_run
    old, cfg = _copy_of_run(out, cfg, tmp_path)
    assert json.loads((old / "receiver.json").read_text()) == {"receiver": "receiver",
                                                              "max_new_tokens": cfg.max_new_tokens}
    with pytest.raises(ValueError, match="max_new_tokens=160; this run has max_new_tokens=64"):
        run(None, None, dataclasses.replace(cfg, max_new_tokens=64))
    with pytest.raises(ValueError, match="receiver='receiver'; this run has receiver='other'"):
        run(None, None, cfg, receiver_name="other")


def test_one_written_answer_per_distinct_prompt(scripted_run):
    out, _, solver, _ = scripted_run
    recs = _records(out)
    assert solver.calls == len({r["input"] for r in recs})
    assert all(("reused_from" in r) == (r["key"] != next(q["key"] for q in recs if q["input"] == r["input"]))
               for r in recs)


def test_a_resumed_run_asks_nothing_new(scripted_run):
    out, rep, _, cfg = scripted_run
    from llm_bridge.studies.review_experiment import load_items, run
    est, ev = load_items(cfg)
    again = ScriptedSolver(est + ev)
    rep2 = run(again, _tiny_advisor(), cfg)
    assert again.calls == 0
    assert rep2["conditions"] == rep["conditions"] and rep2["accuracy"] == rep["accuracy"]


def test_the_markdown_shows_accuracy_against_the_papers_baseline(scripted_run):
    from llm_bridge.studies.review_markdown import review_markdown
    _, rep, _, _ = scripted_run
    md = review_markdown(rep)
    assert "against **no-item**" in md and "| accuracy test (exact McNemar) |" in md
    row = next(line for line in md.splitlines() if line.startswith("| full-revelation/signal-only | 1.00"))
    assert row.endswith("| 0.00 |")            # accuracy 1, no truncation (every scripted answer is short)


def test_a_run_stopped_during_evaluation_reports_its_complete_problems(scripted_run, tmp_path):
    """report_so_far() calls no model: on the whole log it gives the run's own numbers; on a log cut after
    some evaluation answers it reports the problems that have every condition, and says it stopped early."""
    import dataclasses
    import shutil
    from llm_bridge.studies.review_experiment import report_so_far
    out, rep, _, cfg = scripted_run
    whole = report_so_far(cfg)
    assert not whole["stopped_early"] and whole["conditions"] == rep["conditions"]
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    lines = (cut / "generations.jsonl").read_text().splitlines()
    ev = [i for i, line in enumerate(lines) if json.loads(line)["phase"] == "evaluation"]
    (cut / "generations.jsonl").write_text("\n".join(lines[:ev[len(ev) // 2]]) + "\n")
    part = report_so_far(dataclasses.replace(cfg, out=str(cut)))
    n = part["conditions"]["alone"]["n"]
    assert part["stopped_early"] and part["planned_n"] == cfg.n_evaluation and 1 <= n < cfg.n_evaluation
    with pytest.raises(ValueError, match="estimation decisions"):
        (cut / "generations.jsonl").write_text("\n".join(lines[:3]) + "\n")
        report_so_far(dataclasses.replace(cfg, out=str(cut)))


def test_the_figure_draws_accuracy_beside_the_advisors_value(scripted_run, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    from paper_figures import fig_llm_review
    out, _, _, _ = scripted_run
    captured = {}
    real_save = fig_llm_review.save_figure

    def keep(fig, out_dir, stem):
        captured["labels"] = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        return real_save(fig, out_dir, stem)

    fig_llm_review.save_figure = keep
    try:
        paths = fig_llm_review.draw([out / "report.json"], tmp_path, stem="draft")
    finally:
        fig_llm_review.save_figure = real_save
        plt.close("all")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)
    assert "accuracy (the final answer right)" in captured["labels"]


def test_the_verdict_value_probe_reads_what_the_receiver_does_with_the_verdict(tmp_path):
    """experiments.verdict_value on the scripted solver (told a draft is wrong it answers right, else it
    carries the draft's answer): wrong drafts are right only when told, correct drafts always; a resumed
    run asks nothing new, and another question in the same folder is refused."""
    pytest.importorskip("reasoning_gym")
    from experiments import verdict_value as vv
    from llm_bridge.studies.review_experiment import ReviewConfig, load_items
    pairs, _ = load_items(ReviewConfig(out=str(tmp_path), game="draft", pool=700, n_estimation=6, n_evaluation=0))
    first, _ = load_items(ReviewConfig(out=str(tmp_path), game="draft", pool=700, n_estimation=20, n_evaluation=50))
    assert [p[0].problem.id for p in pairs] == [p[0].problem.id for p in first[:6]]   # the draft runs' problems
    solver = ScriptedSolver(pairs)
    settings = {"receiver": "scripted", "question": "fix", "max_new_tokens": 64}
    rep = vv.run(solver, pairs, tmp_path, "fix", 64, settings)
    acc = {c: v["accuracy"] for c, v in rep["conditions"].items()}
    assert acc == {"wrong/told": 1.0, "wrong/alone": 0.0, "correct/told": 1.0, "correct/alone": 1.0}
    assert rep["tests"]["wrong/told vs wrong/alone"]["b"] == 6 and solver.calls == 24
    assert all(QUESTION_FIX in j["prompt"] for j in vv.prompts(pairs, vv.QUESTIONS["fix"]))
    again = ScriptedSolver(pairs)
    assert vv.run(again, pairs, tmp_path, "fix", 64, settings) == rep and again.calls == 0
    with pytest.raises(ValueError, match="another configuration"):
        vv.run(again, pairs, tmp_path, "complete", 64, {**settings, "question": "complete"})


QUESTION_FIX = "keep the steps of the partial solution that are right and fix any that are wrong"


def test_a_record_from_before_inputs_were_digested_still_counts_as_logged(scripted_run, tmp_path):
    """Older saved logs have no input digest: their records cannot be checked, so they count as done (a
    resume writes nothing new) rather than being redone wholesale."""
    from llm_bridge.studies.review_experiment import load_items, report_so_far, run
    out, rep, _, cfg = scripted_run
    old, cfg = _copy_of_run(out, cfg, tmp_path)
    lines = [json.loads(ln) for ln in (old / "generations.jsonl").read_text().splitlines()]
    (old / "generations.jsonl").write_text("".join(json.dumps({k: v for k, v in r.items() if k != "input"}) + "\n"
                                                   for r in lines))
    assert report_so_far(cfg)["conditions"] == rep["conditions"]
    est, ev = load_items(cfg)
    again = ScriptedSolver(est + ev)
    assert run(again, _tiny_advisor(), cfg)["conditions"] == rep["conditions"] and again.calls == 0


class ScriptedPicker:
    """A Receiver shown two drafts that builds on the one a verified fact or a recommendation names, and on
    draft A otherwise (a test double: what the probe reads off is under test)."""

    def __init__(self, pairs):
        self.by_prompt = {good.problem.prompt.strip(): (good, bad) for good, bad in pairs}
        self.calls = 0

    def generate_scored(self, prompts, sampling=None, progress=False):
        from llm_bridge.models.language_model import Generation
        out = []
        for text in prompts:
            self.calls += 1
            good, bad = self.by_prompt[text.split("\n")[0].removeprefix("Problem: ").strip()]
            named = re.search(r"partial solution ([AB]) is correct|building on partial solution ([AB])", text)
            label = next(g for g in named.groups() if g) if named else "A"
            a_is_good = text.index(good.proposal) < text.index(bad.proposal)
            pick = good if (label == "A") == a_is_good else bad
            out.append(Generation(f"Building on {label}.\n#### {pick.draft_answer}", 0.0, 8))
        return out


def test_the_pair_probe_reads_which_draft_the_receiver_built_on(tmp_path):
    """experiments.verdict_value --item pair: both drafts in every prompt, labels fixed per problem and not
    always the same; a solver that follows what it is told is right when told or recommended the correct
    draft, wrong when recommended the wrong one, and right alone exactly where the correct draft is A."""
    pytest.importorskip("reasoning_gym")
    from experiments import verdict_value as vv
    from llm_bridge.studies.review_experiment import ReviewConfig, load_items
    pairs, _ = load_items(ReviewConfig(out=str(tmp_path), game="draft", pool=700, n_estimation=8, n_evaluation=0))
    jobs = vv.prompts(pairs, vv.QUESTIONS["choose"], "pair")
    assert len(jobs) == 4 * len(pairs)
    assert all(g.proposal in j["prompt"] and b.proposal in j["prompt"]
               for j, (g, b) in zip(jobs, [p for p in pairs for _ in range(4)]))
    assert not any(leaks_answer(g.problem, vv.pair_head(g, b).split("Partial solution A:")[1])
                   for g, b in pairs)                   # a hint: neither draft shows the answer
    labels = [vv.pair_labels(g)["correct"] for g, _ in pairs]
    assert set(labels) == {"A", "B"} and labels == [vv.pair_labels(g)["correct"] for g, _ in pairs]
    solver = ScriptedPicker(pairs)
    settings = {"receiver": "scripted", "question": "choose", "max_new_tokens": 64, "item": "pair"}
    rep = vv.run(solver, pairs, tmp_path, "choose", 64, settings, "pair")
    rows = rep["conditions"]
    assert rows["pair/told"]["accuracy"] == rows["pair/recommend-correct"]["accuracy"] == 1.0
    assert rows["pair/recommend-wrong"]["accuracy"] == 0.0 and rows["pair/recommend-wrong"]["wrong_drafts_answer"] == 1.0
    assert rows["pair/recommend-correct"]["followed"] == rows["pair/recommend-wrong"]["followed"] == 1.0
    assert rows["pair/alone"]["accuracy"] == labels.count("A") / len(pairs) and rows["pair/alone"]["followed"] is None
    assert rep["tests"]["pair/recommend-correct vs pair/recommend-wrong"]["b"] == len(pairs)
    again = ScriptedPicker(pairs)
    assert vv.run(again, pairs, tmp_path, "choose", 64, settings, "pair") == rep and again.calls == 0
    with pytest.raises(ValueError, match="question must be one of"):
        vv.run(again, pairs, tmp_path, "fix", 64, settings, "pair")


def test_the_fitted_game_compares_by_value(scripted_run):
    """FittedGame holds arrays and fitted models: the dataclass default == raised on the arrays."""
    from llm_bridge.studies.review_experiment import Log, estimation_prior, fit_game, load_items
    out, _, _, cfg = scripted_run
    est, _ = load_items(cfg)
    fit = lambda: fit_game(Log(out / "generations.jsonl"), est, estimation_prior(est, cfg), cfg)  # noqa: E731
    assert fit() == fit()
