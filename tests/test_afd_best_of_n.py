"""Best-of-N from a pool, the Init-SFT rewards and the AfD runner.

The exact Best-of-N probabilities are checked against enumerating every
subset and every tie-break; the classifier against a planted signal; the
runner end to end with tiny models, resumed after an interruption.
"""
import itertools
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_bridge.studies import best_of_n as bon

pools = st.lists(st.integers(-3, 3), min_size=1, max_size=7)     # small integer rewards: ties are common


def brute_force(rewards, n):
    """Pick probabilities by enumerating every n-subset and, within it, every tied maximiser equally."""
    m = len(rewards)
    p = [Fraction(0)] * m
    subsets = list(itertools.combinations(range(m), n))
    for s in subsets:
        top = max(rewards[i] for i in s)
        best = [i for i in s if rewards[i] == top]
        for i in best:
            p[i] += Fraction(1, len(subsets) * len(best))
    return [float(x) for x in p]


@given(pools, st.data())
def test_pick_probabilities_equal_enumerating_every_subset(rewards, data):
    n = data.draw(st.integers(1, len(rewards)))
    p = bon.pick_probabilities(rewards, n)
    assert p == pytest.approx(brute_force(rewards, n), abs=1e-12)
    assert p.sum() == pytest.approx(1.0)


@given(st.lists(st.booleans(), min_size=1, max_size=8), st.data())
def test_oracle_is_pass_at_n_and_bounds_every_selector(gold, data):
    n = data.draw(st.integers(1, len(gold)))
    rewards = data.draw(st.lists(st.integers(-2, 2), min_size=len(gold), max_size=len(gold)))
    oracle = bon.oracle_best_of_n(gold, n)
    # pass@n by its definition: the share of n-subsets holding a correct sample
    subsets = list(itertools.combinations(range(len(gold)), n))
    assert oracle == pytest.approx(sum(any(gold[i] for i in s) for s in subsets) / len(subsets))
    assert bon.expected_best_of_n(np.asarray(gold, float), gold, n) == pytest.approx(oracle)
    assert bon.expected_best_of_n(rewards, gold, n) <= oracle + 1e-12
    assert bon.expected_best_of_n(np.zeros(len(gold)), gold, n) == pytest.approx(np.mean(gold))   # random pick


def test_draws_average_to_the_exact_probabilities():
    """Drawing orders and keeping the first n's best reproduces the exact pick probabilities (5,000 draws;
    each frequency is within 0.03 of its probability except with probability below 1e-6 by Hoeffding)."""
    rewards = np.array([0.0, 2.0, 2.0, 1.0, -1.0, 1.0])
    rng = np.random.default_rng(0)
    for n in (1, 2, 4):
        counts = np.zeros(rewards.size)
        for _ in range(5000):
            counts[bon.draw_pick(rewards, bon.draw_order(rewards.size, rng), n)] += 1
        assert counts / 5000 == pytest.approx(bon.pick_probabilities(rewards, n), abs=0.03)


def test_kl_estimate_and_bad_arguments():
    assert bon.kl_best_of_n(1) == 0.0
    assert all(bon.kl_best_of_n(n) < np.log(n) for n in (2, 4, 32))
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="n must be"):
            bon.kl_best_of_n(bad)
    with pytest.raises(ValueError, match="n must be an integer with 1 <= n <= pool size 3"):
        bon.pick_probabilities([1, 2, 3], 4)
    with pytest.raises(ValueError, match="finite"):
        bon.pick_probabilities([1, float("nan")], 1)
    with pytest.raises(ValueError, match="one value per reward"):
        bon.expected_best_of_n([1, 2], [1], 1)
    with pytest.raises(ValueError, match="gold must be finite"):         # the expectation came back NaN
        bon.expected_best_of_n([1, 2], [1, float("nan")], 1)
    with pytest.raises(ValueError, match=r"oracle_best_of_n\(\): gold must hold 0/1 verdicts"):   # 0.5 counted as correct
        bon.oracle_best_of_n([0.5, 0, 0], 1)


# ------------------------------------------------------------------ rewards
pytest.importorskip("sklearn")
from llm_bridge.studies.demonstration_rewards import InitSFTClassifier, held_out_accuracy, log_ratio  # noqa: E402


def planted(n_prompts, rng):
    """Token sequences where SFT samples use token 7 followed by 8 more often than initial ones do."""
    ids, labels, groups = [], [], []
    for g in range(n_prompts):
        for label in (0, 1):
            for _ in range(2):
                seq = rng.integers(10, 60, size=20).tolist()
                if label == 1 and rng.random() < 0.9:
                    seq[rng.integers(0, 19)] = 7
                    seq[seq.index(7) + 1] = 8
                ids.append(seq)
                labels.append(label)
                groups.append(g)
    return ids, labels, groups


def test_classifier_finds_a_planted_signal_on_unseen_prompts():
    ids, labels, groups = planted(60, np.random.default_rng(1))
    held = held_out_accuracy(ids, labels, groups, seed=0)
    assert held["n_test"] > 0
    assert held["accuracy"] > 0.85 and held["auc"] > 0.9
    test_groups = {groups[i] for i in held["test_index"]}
    train_groups = set(groups) - test_groups
    assert test_groups and train_groups               # split by prompt, no prompt on both sides


def test_classifier_rejects_bad_input():
    with pytest.raises(ValueError, match="both 0"):
        InitSFTClassifier().fit([[1], [2]], [1, 1])
    with pytest.raises(ValueError, match="2 completions but 3 labels"):
        InitSFTClassifier().fit([[1], [2]], [1, 0, 1])
    with pytest.raises(ValueError, match=r"^InitSFTClassifier.fit\(\): labels must hold 0 \(initial\) or 1 \(SFT\); "
                                         r"entry 0 is 0.7"):
        InitSFTClassifier().fit([[1], [2], [3]], [0.7, 0, 1])          # 0.7 was cast to 0 silently
    with pytest.raises(RuntimeError, match="fit"):
        InitSFTClassifier().score([[1]])
    assert log_ratio([1.0, -2.0], [0.5, -1.0]).tolist() == [0.5, -1.0]
    with pytest.raises(ValueError, match="shapes differ"):
        log_ratio([1.0], [1.0, 2.0])


def test_format_controls():
    from llm_bridge.studies.demonstration_rewards import format_reward, without_format
    texts = ["2 + 3 = 5\n#### 5", "the answer is 5", "#### five", "so \\boxed{5}"]
    assert format_reward(texts, "chain_sum").tolist() == [1.0, 0.0, 0.0, 1.0]
    assert [without_format(t, "gsm_symbolic") for t in texts] == ["2 + 3 = 5", "the answer is 5", "", "so \\boxed{5}"]
    code = "Here:\n```python\nreturn 1\n```"
    assert format_reward([code, "return 1"], "humaneval").tolist() == [1.0, 0.0]
    assert without_format(code, "humaneval") == "Here:\nreturn 1"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=1, max_size=10),
       st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=10, max_size=10))
def test_sign_flip_p_value_is_the_share_of_sign_flips_at_least_as_extreme(x, y):
    """With 2**n at most the resample count the test is exact: its p-value is the share of the 2**n sign
    patterns of the differences whose mean is at least as far from 0, counted here by enumeration."""
    from llm_bridge.studies.stats import paired_sign_flip
    y = y[:len(x)]
    d = np.subtract(x, y)
    res = paired_sign_flip(x, y)
    observed = abs(d.mean())
    flips = [abs(np.mean(np.multiply(signs, d))) for signs in itertools.product([1, -1], repeat=d.size)]
    expected = 1.0 if observed == 0 else np.mean([f >= observed - 1e-12 for f in flips])
    assert res["p"] == pytest.approx(expected) and res["diff"] == pytest.approx(d.mean())
    assert res["n_nonzero"] == np.count_nonzero(d)


def test_sign_flip_refuses_unpaired_input_and_is_reproducible():
    from llm_bridge.studies.stats import paired_sign_flip
    with pytest.raises(ValueError, match="paired"):
        paired_sign_flip([1.0, 2.0], [1.0])
    rng = np.random.default_rng(3)
    x, y = rng.random(40), rng.random(40)          # 2**40 patterns: sampled, from a fixed seed
    assert paired_sign_flip(x, y, seed=1) == paired_sign_flip(x, y, seed=1)
    assert paired_sign_flip(x + 0.5, y)["p"] < 1e-3


# ------------------------------------------------------------------ runner
torch = pytest.importorskip("torch")
from llm_bridge.studies import afd_experiment as afd  # noqa: E402
from llm_bridge.models.language_model import LanguageModel, ModelConfig  # noqa: E402
from llm_bridge.tasks.problems import gsm_symbolic  # noqa: E402
from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2  # noqa: E402


def tiny_loader(path):
    tok = char_tokenizer()
    if path is None:
        return LanguageModel(tok, tiny_gpt2(tok, n_layer=1, n_embd=32), ModelConfig("tiny", batch_size=16))
    return LanguageModel.load(path, batch_size=16)


def small(out):
    return afd.AfdConfig(out=str(out), n_generated=120, n_demonstrations=6, n_classifier_problems=6,
                         n_test=5, pool_size=4, ns=[1, 2, 4], max_new_tokens=12, problems_per_call=2,
                         sft_learning_rate=1e-3, sft_max_length=96)


@pytest.fixture(scope="module")
def problems():
    return gsm_symbolic(120, seed=0)


def test_held_out_problems_come_from_unseen_templates(problems):
    demos, test = afd.split_problems(problems, small("unused"))
    assert {p.meta["template"] for p in demos}.isdisjoint({p.meta["template"] for p in test})
    with pytest.raises(ValueError, match="raise n_generated"):
        afd.split_problems(problems[:10], afd.AfdConfig(n_test=50))


def test_config_rules_are_named():
    for ns in ([1, 8], [4, 4], [2.5], [], [0, 2]):      # [4, 4] evaluated best-of-4 twice; 2.5 failed after training
        with pytest.raises(ValueError, match=r"ns must be increasing integers, none repeated, between 1 and pool"):
            afd.AfdConfig(pool_size=4, ns=ns)
    with pytest.raises(ValueError, match="checker_mode"):
        afd.AfdConfig(checker_mode="loose")


class Interrupt(Exception):
    pass


def test_runner_resumes_to_the_same_report(problems, tmp_path, monkeypatch):
    """A run stopped inside the pools stage, then resumed, gives the report of an uninterrupted run."""
    whole = afd.run(tiny_loader, small(tmp_path / "whole"), problems)
    calls = {"n": 0}
    original = LanguageModel.generate_scored

    def flaky(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 6:            # classifier samples take 4 calls; stop in the second pool call
            raise Interrupt()
        return original(self, *a, **k)

    monkeypatch.setattr(LanguageModel, "generate_scored", flaky)
    with pytest.raises(Interrupt):
        afd.run(tiny_loader, small(tmp_path / "resumed"), problems)
    with open(tmp_path / "resumed" / "pool.jsonl", "a") as fh:
        fh.write('{"policy": "init", "probl')                 # a line cut by the interruption
    monkeypatch.setattr(LanguageModel, "generate_scored", original)
    resumed = afd.run(tiny_loader, small(tmp_path / "resumed"), problems)
    def strip(r):
        return {**{k: v for k, v in r.items() if k not in ("timings", "config", "sft")},
                "sft": {k: v for k, v in r["sft"].items() if k != "seconds"}}
    assert strip(resumed) == strip(whole)
    lines = (tmp_path / "resumed" / "pool.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 5 and all(json.loads(x) for x in lines)    # the cut line was dropped, not kept
    with pytest.raises(ValueError, match="holds another run"):
        afd.run(tiny_loader, afd.AfdConfig(**{**small(tmp_path / "whole").__dict__, "temperature": 0.5}), problems)
    with pytest.raises(ValueError, match="may grow on a finished run, not shrink"):
        afd.run(tiny_loader, afd.AfdConfig(**{**small(tmp_path / "whole").__dict__, "pool_size": 3,
                                              "ns": [1, 3]}), problems)
    rows = {(r["policy"], r["selector"], r["n"]): r for r in whole["best_of_n"]}
    for pol in afd.POLICIES:
        assert rows[(pol, "oracle", 4)]["exact"] >= rows[(pol, "classifier", 4)]["exact"] - 1e-12
        for sel in afd.SELECTORS:           # one sample: every selector keeps it
            assert rows[(pol, sel, 1)]["exact"] == pytest.approx(rows[(pol, "random", 1)]["exact"])
        lo, hi = rows[(pol, "random", 2)]["wilson"]
        assert lo <= rows[(pol, "random", 2)]["drawn"] <= hi
    assert len(whole["tests"]) == len(whole["tests_vs_format"]) == 2 * 4 * 2    # policies x learned x N in {2, 4}
    assert {t["against"] for t in whole["tests_vs_format"]} == {"format"}
    assert {t["selector"] for t in whole["power_check"]} == {"oracle"} and len(whole["power_check"]) == 2 * 2
    assert sorted({t["n"] for t in whole["tests"]}) == [2, 4] and {t["n_problems"] for t in whole["tests"]} == {5}
    for t in whole["tests"] + whole["tests_vs_format"] + whole["power_check"]:
        assert t["p_sign_flip"] <= t["p_sign_flip_holm"] <= 1 and t["p"] <= t["p_holm"] <= 1
        mine = rows[(t["policy"], t["selector"], t["n"])]["exact"] - rows[(t["policy"], t["against"], t["n"])]["exact"]
        assert t["diff_exact"] == pytest.approx(mine)
    assert len(whole["trend_tests"]) == 2 * 4 * 2                     # policies x learned x (1->2, 2->4)
    for t in whole["trend_tests"]:
        mine = rows[(t["policy"], t["selector"], t["to_n"])]["exact"] - rows[(t["policy"], t["selector"], t["from_n"])]["exact"]
        assert t["diff"] == pytest.approx(mine) and t["p"] <= t["p_holm"] <= 1
    for pol in afd.POLICIES:
        assert 0 <= whole["truncated"][pol] <= 1 and 0 <= whole["format_rate"][pol] <= 1
        assert whole["accuracy_per_sample"][pol] == pytest.approx(rows[(pol, "random", 1)]["exact"])
        for sel in afd.SELECTORS:          # nothing kept from the pool beats the checker's own pick
            assert rows[(pol, "oracle", 4)]["exact"] >= rows[(pol, sel, 4)]["exact"] - 1e-12
    report = json.loads((tmp_path / "whole" / "report.json").read_text())
    assert report["classifier"]["n_train_samples"] == 2 * 6 * 2
    # the saved folder, read back by describe_saved, says what the run reported from memory
    saved = afd.describe_saved(tmp_path / "whole")
    for key in ("accuracy_per_sample", "truncated", "format_rate", "format_tells_source"):
        assert saved[key] == report[key]
    assert saved["length_correlation"]["log_ratio"] == report["length_correlation"]["log_ratio"]


def test_a_finished_run_grows_its_pools(problems, tmp_path, monkeypatch):
    """pool_size raised on a finished run draws only the missing samples: the first ones stay as they were,
    the new ones are checked and cross-scored like the first (the cross-scores equal a fresh scoring by the
    other policy), an interrupted growth resumes to the same pools, and Best-of-N reaches the new N."""
    import shutil
    afd.run(tiny_loader, small(tmp_path / "a"), problems)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    before = afd._joined(afd._read_jsonl(tmp_path / "a" / "pool.jsonl"))
    grown = {**small(tmp_path / "a").__dict__, "pool_size": 7, "ns": [1, 2, 4, 7]}
    report = afd.run(tiny_loader, afd.AfdConfig(**grown), problems)
    after = afd._joined(afd._read_jsonl(tmp_path / "a" / "pool.jsonl"))
    assert set(after) == set(before)
    for key, rec in after.items():
        assert len(rec["texts"]) == len(rec["correct"]) == len(rec[f"logp_{key[0]}"]) == 7
        assert rec["texts"][:4] == before[key]["texts"] and rec["correct"][:4] == before[key]["correct"]
    assert json.loads((tmp_path / "a" / "split.json").read_text())["grown_from"] == [4]
    # the new samples' scores under the other policy, against a fresh scoring of the whole pool
    cross = afd._joined(afd._read_jsonl(tmp_path / "a" / "cross_scores.jsonl"))
    demos, test = afd.split_problems(problems, small("unused"))
    sft = tiny_loader(str(tmp_path / "a" / "sft"))
    p = test[0]
    fresh = sft.log_likelihood([afd.prompt_of(p, small("unused"))] * 7, after[("init", p.id)]["texts"], reduce="sum")
    assert np.allclose(cross[("init", p.id)]["logp"], fresh, atol=1e-4)
    rows = {(r["policy"], r["selector"], r["n"]): r for r in report["best_of_n"]}
    for pol in afd.POLICIES:
        assert rows[(pol, "random", 1)]["exact"] == pytest.approx(np.mean([after[(pol, t.id)]["correct"] for t in test]))
        assert all(rows[(pol, "oracle", 7)]["exact"] >= rows[(pol, sel, 7)]["exact"] - 1e-12 for sel in afd.SELECTORS)
    # the same growth, interrupted in its second call and resumed, draws the same samples
    calls = {"n": 0}
    original = LanguageModel.generate_scored

    def flaky(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Interrupt()
        return original(self, *a, **k)
    monkeypatch.setattr(LanguageModel, "generate_scored", flaky)
    with pytest.raises(Interrupt):
        afd.run(tiny_loader, afd.AfdConfig(**{**grown, "out": str(tmp_path / "b")}), problems)
    monkeypatch.setattr(LanguageModel, "generate_scored", original)
    again = afd.run(tiny_loader, afd.AfdConfig(**{**grown, "out": str(tmp_path / "b")}), problems)
    assert afd._joined(afd._read_jsonl(tmp_path / "b" / "pool.jsonl")) == after
    assert again["best_of_n"] == report["best_of_n"]
    # a further call at the same size draws nothing
    monkeypatch.setattr(LanguageModel, "generate_scored", lambda *a, **k: pytest.fail("drew again"))
    afd.run(tiny_loader, afd.AfdConfig(**grown), problems)


def test_saved_logs_read_packed_then_plain(tmp_path):
    """A saved folder holds gzipped logs; a run resumed there appends to the plain file, and both are read,
    the packed records first, so a pool's samples keep their order."""
    import gzip
    first = {"policy": "init", "problem": "p", "texts": ["a", "b"], "correct": [True, False]}
    more = {"policy": "init", "problem": "p", "texts": ["c"], "correct": [True]}
    with gzip.open(tmp_path / "pool.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(first) + "\n")
    assert afd._read_jsonl(tmp_path / "pool.jsonl") == [first]
    afd._append(tmp_path / "pool.jsonl", [more])
    joined = afd._joined(afd._read_jsonl(tmp_path / "pool.jsonl"))
    assert joined[("init", "p")]["texts"] == ["a", "b", "c"] and joined[("init", "p")]["correct"] == [True, False, True]
    assert afd._read_jsonl(tmp_path / "nothing.jsonl") == []
    with open(tmp_path / "pool.jsonl", "a") as fh:          # a damaged whole line was a bare JSONDecodeError
        fh.write("{not json\n")
    with pytest.raises(ValueError, match=r"afd: .*pool\.jsonl record 2 \(its non-empty lines"):
        afd._read_jsonl(tmp_path / "pool.jsonl")


def test_every_demonstration_passes_the_golden_checker(problems):
    """What SFT imitates is right by the checker's own standard: worked solutions (both extractions) and
    reference implementations (run against the hidden tests in the sandbox)."""
    from llm_bridge.tasks.problems import humaneval
    for p in problems[:20]:
        assert afd.golden(p, afd.demonstration(p), "strict") and afd.golden(p, afd.demonstration(p), "flexible")
    for p in humaneval(5):
        assert afd.demonstration(p).startswith("```python\n") and afd.golden(p, afd.demonstration(p), "strict")
        assert not afd.golden(p, "```python\npass\n```", "strict")


def test_runner_on_chain_sums(tmp_path):
    """The pipeline on chain sums: exact worked solutions as demonstrations, the demonstrations-vs-initial
    classifier trained on them, and the strict extraction reported as the other checker."""
    cfg = afd.AfdConfig(out=str(tmp_path / "sums"), task="chain_sum", n_generated=60, n_demonstrations=8,
                        n_classifier_problems=4, n_test=4, pool_size=2, ns=[1, 2], max_new_tokens=8,
                        problems_per_call=2, sft_learning_rate=1e-3, sft_max_length=96)
    problems = afd.load_problems(cfg)
    assert all(p.task == "chain_sum" for p in problems)
    for p in problems[:10]:
        assert afd.golden(p, afd.demonstration(p), "strict")
    report = afd.run(tiny_loader, cfg, problems)
    assert report["other_checker"]["mode"] == "strict"
    assert report["demo_classifier"]["n_train_samples"] == 4 + 4 * 2   # one demonstration + 2 initial samples a prompt
    assert {r["selector"] for r in report["best_of_n"]} == set(afd.SELECTORS)
    with pytest.raises(ValueError, match="task must be one of"):
        afd.AfdConfig(task="chess")


def test_runner_on_code_demonstrations(tmp_path):
    """The same pipeline with HumanEval's reference implementations as demonstrations and its tests as the
    golden reward (tiny models: the pipeline, not the numbers)."""
    cfg = afd.AfdConfig(out=str(tmp_path / "code"), task="humaneval", n_demonstrations=6, n_classifier_problems=4,
                        n_test=3, pool_size=2, ns=[1, 2], max_new_tokens=8, problems_per_call=2,
                        sft_learning_rate=1e-3, sft_max_length=256, test_template_fraction=0.3)
    report = afd.run(tiny_loader, cfg, afd.load_problems(cfg))
    assert report["other_checker"] is None
    assert {r["n_problems"] for r in report["best_of_n"]} == {3}
    pools = [json.loads(x) for x in (tmp_path / "code" / "pool.jsonl").read_text().splitlines()]
    assert all(p["problem"].startswith("HumanEval/") and len(p["correct"]) == 2 for p in pools)


def test_command_line_runs_a_config_and_describes_the_saved_run(tmp_path, capsys):
    from experiments import afd_best_of_n as cli
    cfg = tmp_path / "tiny.toml"
    cfg.write_text('model = "tiny"\ntask = "chain_sum"\nn_generated = 60\nn_demonstrations = 6\n'
                   'n_classifier_problems = 4\nn_test = 3\npool_size = 2\nns = [1, 2]\nmax_new_tokens = 6\n'
                   'problems_per_call = 2\nsft_max_length = 256\n')
    out = tmp_path / "out"
    assert cli.main([str(cfg), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("power check: oracle vs random pick") == 2 and f"report in {out}/report.json" in printed
    assert cli.main(["--describe", str(out)]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["truncated"] == json.loads((out / "report.json").read_text())["truncated"]
    with pytest.raises(SystemExit):
        cli.main([])                                 # neither a config nor --describe


def test_pilot_reports_each_shape_and_names_a_bad_one(capsys):
    from experiments import afd_pilot
    assert afd_pilot.main(["--model", "tiny", "--shape", "2,1,1.0", "--problems", "2", "--samples", "2",
                           "--max-new-tokens", "4"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("terms<=2 digits<=1 temperature 1.0: ") and "/4 right" in line
    with pytest.raises(SystemExit):
        afd_pilot.main(["--shape", "2x2"])
    assert "TERMS,DIGITS,TEMPERATURE" in capsys.readouterr().err
