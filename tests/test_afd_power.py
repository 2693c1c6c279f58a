"""Detectable sizes and sample shapes of saved AfD pools, checked by what defines them.

The detectable size is the mean paired difference that a test at Holm's smallest level rejects with the stated
power: a simulation of that test says whether it does.  The per-problem differences are cross-checked against
the study's own comparison (compare_pools) on the same pools, the comparison rule against the saved run's
report, and the equation reader against arithmetic done here.
"""
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_bridge.studies import afd_experiment as afd
from llm_bridge.studies.afd_baselines import compare_pools
from llm_bridge.studies.afd_power import (detectable_difference, equation_shape, load_pools, pair_detectable,
                                          sample_shapes)

SAVED = Path(__file__).resolve().parents[1] / "docs" / "results" / "afd_chain_sum_smollm2"
CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "afd_chain_sum_smollm2.toml"


@pytest.mark.parametrize("n_tests, power", [(1, 0.8), (135, 0.8), (20, 0.5)])
def test_a_difference_of_the_detectable_size_is_found_with_the_stated_power(n_tests, power):
    # 4,000 simulated studies of 200 pairs; the z-test with the sample SD, two-sided at 0.05 / n_tests.  The
    # rejection rate's sampling SD is at most 0.008, so a 0.04 band fails by chance with probability < 1e-6
    # (and the seed is fixed); the t-versus-z gap at n = 200 is far inside it.
    from scipy.stats import norm
    rng = np.random.default_rng(0)
    n, sd = 200, 0.35
    d = detectable_difference(sd, n, n_tests, power)
    x = rng.normal(d, sd, size=(4000, n))
    z = x.mean(axis=1) / (x.std(axis=1, ddof=1) / np.sqrt(n))
    rejected = np.abs(z) > norm.ppf(1 - 0.05 / (2 * n_tests))
    assert abs(rejected.mean() - power) < 0.04
    # and half that difference is found far less often
    x = rng.normal(d / 2, sd, size=(4000, n))
    z = x.mean(axis=1) / (x.std(axis=1, ddof=1) / np.sqrt(n))
    assert (np.abs(z) > norm.ppf(1 - 0.05 / (2 * n_tests))).mean() < power - 0.2


@settings(max_examples=60, deadline=None)
@given(sd=st.floats(0.01, 5), n=st.integers(2, 10_000), n_tests=st.integers(1, 500), k=st.integers(2, 9))
def test_the_detectable_size_scales_as_the_normal_approximation_says(sd, n, n_tests, k):
    d = detectable_difference(sd, n, n_tests)
    assert detectable_difference(k * sd, n, n_tests) == pytest.approx(k * d)
    assert detectable_difference(sd, k * k * n, n_tests) == pytest.approx(d / k)
    assert detectable_difference(sd, n, n_tests + 1) > d                  # a larger family: a stricter level
    assert detectable_difference(sd, n, n_tests, power=0.9) > d


@pytest.mark.parametrize("kwargs, named", [({"sd": -1.0}, "sd"), ({"n": 1}, "n must"), ({"n_tests": 0}, "n_tests"),
                                           ({"power": 1.0}, "power"), ({"n": 2.5}, "n must")])
def test_bad_arguments_are_named(kwargs, named):
    args = {"sd": 0.3, "n": 200, "n_tests": 10, **kwargs}
    with pytest.raises(ValueError, match=named):
        detectable_difference(**args)


@settings(max_examples=200, deadline=None)
@given(a=st.integers(-999, 999), b=st.integers(-999, 999), c=st.integers(-2000, 2000), plus=st.booleans(),
       spaces=st.sampled_from(["", " ", "  "]), tail=st.sampled_from(["", "\n#### 5", ". So it is 5."]))
def test_the_opening_equation_is_read_and_its_arithmetic_checked(a, b, c, plus, spaces, tail):
    op = "+" if plus else "-"
    text = f"{a}{spaces}{op}{spaces}{b}{spaces}={spaces}{c}{tail}"
    assert equation_shape(text) == ((a + b if plus else a - b) == c)
    assert equation_shape("So " + text) is None                      # an equation later on does not open it


def _write_run(folder: Path, pools: dict, max_new_tokens: int = 6):
    folder.mkdir()
    (folder / "split.json").write_text(json.dumps({"config": {"checker_mode": "flexible", "task": "chain_sum",
                                                              "max_new_tokens": max_new_tokens}}))
    by_file = {}
    for (pol, pid), rec in pools.items():
        name = "pool.jsonl" if pol in afd.POLICIES else f"{pol}_pool.jsonl"
        by_file.setdefault(name, []).append({"policy": pol, "problem": pid, **rec})
    for name, recs in by_file.items():
        with gzip.open(folder / (name + ".gz"), "wt") as fh:     # saved as under docs/
            fh.writelines(json.dumps(r) + "\n" for r in recs)


def _random_pools(rng, policies, n_problems=12, size=10):
    pools = {}
    for pol in policies:
        for i in range(n_problems):
            answers = rng.integers(0, 4, size=size)
            pools[(pol, f"p{i}")] = {"texts": [f"1 + 1 = {a}" for a in answers], "correct": (answers == 2).tolist(),
                                     "n_tokens": rng.integers(3, 8, size=size).tolist()}
    return pools


def test_pair_differences_agree_with_the_studys_comparison(tmp_path):
    rng = np.random.default_rng(3)
    pools = _random_pools(rng, ("init", "sft", "rkl_nf"))
    _write_run(tmp_path / "run", pools)
    loaded, cfg = load_pools(tmp_path / "run", ["rkl_nf", "init"])
    got = pair_detectable(loaded, "rkl_nf", "init", n_tests=3, size=8, mode=cfg["checker_mode"])
    cut = {k: {**v, "texts": v["texts"][:8], "correct": v["correct"][:8]} for k, v in pools.items()}
    ids = [f"p{i}" for i in range(12)]
    ref = compare_pools(cut, ("rkl_nf", "init"), ids, [1, 8], "flexible")
    for t in ref["tests"]:
        measure = {"pass@1": "pass@1", "pass@8": "pass@k", "distinct answers": "distinct answers"}[t["measure"]]
        assert got[measure]["diff"] == pytest.approx(t["diff"])
        assert got[measure]["n"] == 12
        assert got[measure]["detectable"] == pytest.approx(
            detectable_difference(got[measure]["sd"], 12, 3))
    for size in (0, True):                                   # True was one sample per problem
        with pytest.raises(ValueError, match="size must be an integer >= 1"):
            pair_detectable(loaded, "rkl_nf", "init", n_tests=3, size=size, mode="flexible")
    with pytest.raises(ValueError, match="size=11 is more than"):
        pair_detectable(loaded, "rkl_nf", "init", n_tests=3, size=11, mode="flexible")
    with pytest.raises(FileNotFoundError, match="no pool of policy 'dpo'"):
        load_pools(tmp_path / "run", ["dpo"])


def test_sample_shapes_count_what_they_say():
    texts = ["1 + 1 = 2", "1 + 1 = 3\n#### 3", "", "The sum is 2", "5-3=2 so\n#### 2", "x" * 40]
    pools = {("p", "a"): {"texts": texts[:3], "n_tokens": [5, 9, 0]},
             ("p", "b"): {"texts": texts[3:], "n_tokens": [4, 9, 12]}}
    s = sample_shapes(pools, "p", size=3, max_new_tokens=9, task="chain_sum")
    assert (s["n_samples"], s["n_problems"], s["empty"], s["truncated"]) == (6, 2, 1, 3)
    assert s["opens_with_equation"] == pytest.approx(3 / 6) and s["equation_right"] == pytest.approx(2 / 3)
    assert s["single_line"] == pytest.approx(3 / 6) and s["format_rate"] == pytest.approx(2 / 6)
    assert s["mean_tokens"] == pytest.approx(39 / 6)


def test_the_comparison_rule_gives_the_saved_runs_families():
    from experiments.afd_best_of_n import load_afd_config
    cfg = load_afd_config(CONFIG)[1]
    report = json.loads((SAVED / "report.json").read_text())
    sections = {"rkl": report["reverse_kl"], "rkl_nf": report["reverse_kl_no_format"],
                **{afd.replicate_name(int(k)): v for k, v in report["reverse_kl_no_format_replicates"].items()},
                **report["reverse_kl_no_format_variants"]}
    families = afd.compared_with(cfg)
    assert list(families)[:len(sections)] == list(sections)      # the config may list a training still to run
    for name in sections:
        assert list(sections[name]["policies"]) == ["init", "sft", *families[name], name]
        assert len(sections[name]["tests"]) == afd.family_size(cfg, name)
    assert afd.family_size(cfg, "rkl_nf_lr3e-05_s1") == 108 and afd.family_size(cfg, "rkl_nf_lr5e-05_s1") == 135
    with pytest.raises(ValueError, match="'dpo' is not a route this config trains"):
        afd.family_size(cfg, "dpo")


def test_command_line_on_the_saved_run(capsys):
    from experiments import afd_power as cli
    pair = "rkl_nf_lr5e-05_s1:rkl_nf_lr3e-05_s1"
    assert cli.main([str(SAVED), "--config", str(CONFIG), "--family-of", "rkl_nf_lr5e-05_s1", "--pair", pair,
                     "--shapes", "rkl_nf_lr5e-05_s1", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["n_tests"] == 135
    row = got["pairs"][0]
    saved = next(t for t in json.loads((SAVED / "report.json").read_text())
                 ["reverse_kl_no_format_variants"]["rkl_nf_lr5e-05_s1"]["tests"]
                 if t["a"] == "rkl_nf_lr3e-05_s1" and t["b"] == "rkl_nf_lr5e-05_s1" and t["measure"] == "pass@1")
    assert row["pass@1"]["diff"] == pytest.approx(-saved["diff"]) and row["pass@1"]["n"] == 200
    assert got["shapes"]["rkl_nf_lr5e-05_s1"]["n_samples"] == 1600
    assert cli.main([str(SAVED), "--tests", "135", "--pair", pair]) == 0
    assert "detectable at Holm's smallest level 0.05/135" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main([str(SAVED), "--pair", "rkl_nf"])                     # not A:B
    with pytest.raises(SystemExit):
        cli.main([str(SAVED), "--pair", pair])                         # no family size
    assert cli.main([str(SAVED), "--tests", "3", "--pair", "rkl_nf:nobody"]) == 2
    assert "no pool of policy 'nobody'" in capsys.readouterr().err


@pytest.mark.parametrize("n, n_tests, rule", [(True, 1, "n must be an integer >= 2"), (2.0, 1, "n must be an integer"),
                                              (10, True, "n_tests must be an integer >= 1"), (10, 0, "n_tests")])
def test_the_detectable_size_takes_counts_not_flags(n, n_tests, rule):
    """n_tests=True was read as a family of one test (Holm's smallest level 0.05, not 0.05 over the family
    meant); the counts go through the package's one is_integer."""
    with pytest.raises(ValueError, match=rf"^detectable_difference: {rule}"):
        detectable_difference(0.5, n, n_tests)
