"""The pair game (issue 20): both drafts in every prompt, named and ordered independently of the state;
neither shows the answer; the Receiver's action is which draft it built on; the runner plays it end to end
and a Receiver that follows what it is told is read back as doing so."""
import json
import re

import numpy as np
import pytest

from llm_bridge.games import pair_game as pg
from llm_bridge.games.hints import leaks_answer


@pytest.fixture(scope="module")
def items():
    pytest.importorskip("reasoning_gym")
    from llm_bridge.tasks.problems import gsm_symbolic
    made = [pg.draft_pair(p) for p in gsm_symbolic(80, seed=7)]
    return [pr for pr in made if pr is not None]


def test_the_two_states_swap_the_drafts_and_keep_names_and_order(items):
    for good, bad in items:
        assert (good.state, bad.state) == (0, 1)
        assert (good.proposal, good.other) == (bad.other, bad.proposal)
        hg, hb = pg.head(good), pg.head(bad)
        order = [m.group(1) for m in re.finditer(r"^(Lee|Kim)'s partial solution:$", hg, re.M)]
        assert order == [m.group(1) for m in re.finditer(r"^(Lee|Kim)'s partial solution:$", hb, re.M)]
        assert order == (["Lee", "Kim"] if pg.own_first(good.problem) else ["Kim", "Lee"])
        assert good.proposal in hg and bad.proposal in hg and good.proposal in hb and bad.proposal in hb
        drafts = hg.split("one of them has a mistake.\n", 1)[1]
        assert not leaks_answer(good.problem, drafts)            # a hint: neither draft shows the answer
    firsts = [pg.own_first(g.problem) for g, _ in items]
    assert 0.2 < np.mean(firsts) < 0.8                          # the order is not always the same


def test_texts_name_the_right_draft():
    assert pg.classify_message(pg.RECOMMEND["submit"]) == "submit"
    assert pg.classify_message(pg.RECOMMEND["decline"]) == "decline"
    assert pg.classify_message("Both look fine to me.") == "other"
    assert pg.classify_message("Lee or Kim, either one.") == "other"
    prior = np.array([0.5, 0.5])
    said = pg.scheme_statement(np.array([[1.0, 0.0], [0.25, 0.75]]), prior, "gsm_symbolic")
    assert "100% of the time" in said and "25% of the time" in said and "50% of the time" in said
    assert "does not look" in pg.scheme_statement(np.full((2, 2), 0.5), prior, "gsm_symbolic")


class ScriptedPicker:
    """A Receiver that builds on the draft a verified fact or the advisor's message names, and on the
    first listed draft otherwise; with no draft it writes 0 (a test double: the reading is under test)."""

    def __init__(self, items):
        self.by_problem = {good.problem.prompt.strip(): (good, bad) for good, bad in items}
        self.calls = 0

    def generate_scored(self, prompts, sampling=None, progress=False):
        from llm_bridge.models.language_model import Generation
        out = []
        for text in prompts:
            self.calls += 1
            good, bad = self.by_problem[text.split("\n")[0].removeprefix("Problem: ").strip()]
            listed = re.findall(r"^(Lee|Kim)'s partial solution:$", text, re.M)
            named = re.search(r"(Lee|Kim)'s partial solution is correct|message: I recommend building on (Lee|Kim)'s",
                              text)
            if not listed:
                ans = "0"
            else:
                who = next(g for g in named.groups() if g) if named else listed[0]
                after_lee = text.split(f"{pg.OWN}'s partial solution:\n", 1)[1]
                lee, kim = (good, bad) if after_lee.startswith(good.proposal + "\n") else (bad, good)
                ans = (lee if who == pg.OWN else kim).draft_answer
            out.append(Generation(f"Building on {ans}.\n#### {ans}", 0.0, 8))
        return out


def _items(cfg):
    from llm_bridge.studies.review_experiment import load_items
    est, ev = load_items(cfg)
    return est + ev


@pytest.fixture(scope="module")
def scripted_run(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("reasoning_gym")
    from llm_bridge.models.language_model import LanguageModel, ModelConfig
    from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2
    from llm_bridge.studies.review_experiment import ReviewConfig, load_items, run
    out = tmp_path_factory.mktemp("pair")
    cfg = ReviewConfig(out=str(out), game="pair", n_estimation=8, n_evaluation=6, bootstrap=20,
                       signals_per_problem=1, advisor_epochs=1, probe_posteriors=(0.5,), probes="lean",
                       variants=("signal-only", "informed"), pool=40, base_rate=0.5)
    est, ev = load_items(cfg)
    tok = char_tokenizer()
    solver = ScriptedPicker(est + ev)
    rep = run(solver, LanguageModel(tok, tiny_gpt2(tok, seed=2), ModelConfig("tiny-2")), cfg)
    return out, rep, cfg


def test_the_runner_reads_which_draft_was_built_on(scripted_run):
    out, rep, cfg = scripted_run
    recs = [json.loads(ln) for ln in (out / "generations.jsonl").read_text().splitlines()]
    assert {r["condition"] for r in recs if r["phase"] == "evaluation"} >= {"alone", "no-item",
                                                                          "full-revelation/informed"}
    for r in recs:
        if r["condition"] == "no-item":
            assert "partial solution" not in r["prompt"] and not r["correct"]
            continue
        assert r["prompt"].count("'s partial solution:\n") == 2            # both drafts, every prompt
        if r.get("rec") in ("submit", "decline"):                          # it follows the message
            assert r["action"] == r["rec"]
            assert r["correct"] == ((r["rec"] == "submit") == (r["state"] == "correct"))
        elif "Verified" in r["prompt"]:
            assert r["correct"]
    conds = rep["conditions"]
    assert conds["full-revelation/signal-only"]["accuracy"] == conds["oracle-item"]["accuracy"] == 1
    assert conds["no-item"]["accuracy"] == 0
    alone = [r for r in recs if r["phase"] == "evaluation" and r["condition"] == "alone"]
    first_is_right = [pg.own_first(next(g.problem for g, _ in _items(cfg) if g.problem.id == r["problem_id"]))
                      == (r["state"] == "correct") for r in alone]
    assert conds["alone"]["accuracy"] == np.mean(first_is_right)      # with no advice: the first listed
    assert rep["accuracy"]["baseline"] == "no-item"
