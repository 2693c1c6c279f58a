"""Settings out of their domain stop a study when its settings are made, naming the field.

What defines a right answer here: each rule of :mod:`llm_bridge.models.field_rules` accepts exactly the values
its message describes (checked against the rule written independently, on values hypothesis draws);
every settings class refuses each bad value with its own name and the field's; the defaults and every
shipped config still load; a bad value in a runner's TOML config is reported before any model loads.
"""
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_bridge.models import field_rules
from llm_bridge.models.language_model import SamplingConfig
from llm_bridge.models.training import SFTConfig
from llm_bridge.studies.afd_experiment import AfdConfig
from llm_bridge.studies.belief_probe import BeliefProbeConfig
from llm_bridge.studies.calibration import CalibrationConfig
from llm_bridge.studies.online_play import OnlineConfig
from llm_bridge.studies.review_experiment import ReviewConfig


@dataclass
class Holder:
    value: object = 0


ANY = st.one_of(st.integers(-5, 5), st.booleans(), st.floats(allow_nan=True, allow_infinity=True), st.none(),
                st.text(max_size=3))


@given(ANY, st.integers(-2, 2))
def test_integers_at_least_accepts_exactly_the_integers_from_the_minimum(value, minimum):
    wanted = type(value) is int and value >= minimum
    try:
        field_rules.integers_at_least(Holder(value), minimum, "value")
        accepted = True
    except ValueError as e:
        accepted = False
        assert str(e).startswith(f"Holder: value must be an integer >= {minimum}; got ")
    assert accepted == wanted


INTERVALS = {"(0, 1)": (0.0, False, 1.0, False), "[0, 1]": (0.0, True, 1.0, True), "(0, 1]": (0.0, False, 1.0, True),
             "> 0": (0.0, False, math.inf, False), ">= 0": (0.0, True, math.inf, False)}


@given(ANY, st.sampled_from(sorted(INTERVALS)))
def test_numbers_in_accepts_exactly_the_real_numbers_of_the_interval(value, interval):
    lo, lo_in, hi, hi_in = INTERVALS[interval]
    real = type(value) in (int, float) and not math.isnan(value)
    wanted = real and (lo < value or (lo_in and value == lo)) and (value < hi or (hi_in and value == hi))
    try:
        field_rules.numbers_in(Holder(value), interval, "value")
        accepted = True
    except ValueError as e:
        accepted = False
        assert str(e).startswith("Holder: value must be ") and "; got " in str(e)
    assert accepted == wanted


@given(st.lists(st.one_of(st.floats(-0.5, 1.5), st.just(math.nan)), max_size=5), st.booleans())
def test_probabilities_are_floats_in_the_unit_interval(values, increasing):
    ok = (len(values) >= 2 and all(0 <= v <= 1 for v in values)
          and (not increasing or all(a < b for a, b in zip(values, values[1:]))))
    if ok:
        assert field_rules.probabilities(Holder(values), "value", 2, increasing) == tuple(values)
    else:
        with pytest.raises(ValueError, match="Holder: value must be"):
            field_rules.probabilities(Holder(values), "value", 2, increasing)


def test_probabilities_refuse_what_is_not_a_list_of_numbers():
    for bad in (0.5, "0.5", [True, 0.5], [None]):
        with pytest.raises(ValueError, match="value must be at least 1 probabilities"):
            field_rules.probabilities(Holder(bad), "value")


OUT = {"out": "unused"}
#: (settings class, required arguments, field, bad values): one row per field a rule guards.
BAD = [
    (SamplingConfig, {}, "max_new_tokens", [0, -1, 2.0]),
    (SamplingConfig, {}, "temperature", [-1.0, math.nan, math.inf]),
    (SamplingConfig, {}, "top_p", [0.0, 1.5, math.nan]),
    (SamplingConfig, {}, "seed", [-1, 0.5]),
    (SamplingConfig, {"max_new_tokens": 4}, "min_new_tokens", [-1, 5]),
    (SFTConfig, {}, "epochs", [0, 1.5, True]),
    (SFTConfig, {}, "batch_size", [0]),
    (SFTConfig, {}, "learning_rate", [0.0, -1e-3, math.nan, math.inf]),
    (SFTConfig, {}, "weight_decay", [-0.1, math.nan]),
    (OnlineConfig, OUT, "delta", [0.0, 1.0, math.nan]),
    (OnlineConfig, OUT, "smoothing", [-0.5, 0.0, math.nan, math.inf]),
    (OnlineConfig, OUT, "bootstrap", [0, -1]),
    (OnlineConfig, OUT, "seed", [-1]),
    (OnlineConfig, OUT, "rounds", [0, 2.5]),
    (OnlineConfig, OUT, "belief_levels", [(0.5,), (0.0, 1.5), (1.0, 0.0), (0.0, 0.5, 0.5)]),
    (OnlineConfig, OUT, "learners", [("robust", "robust"), (), "robust", ("magic",)]),   # twice, none, letters
    (OnlineConfig, OUT, "informed_grid", [(0.5, 0.5), (0.75, 0.25), (1.5,)]),        # the same scheme twice
    (ReviewConfig, OUT, "base_rate", [0.0, 1.5, math.nan]),
    (ReviewConfig, OUT, "n_estimation", [0]),
    (ReviewConfig, OUT, "bootstrap", [0]),
    (ReviewConfig, OUT, "advisor_lr", [0.0, math.inf]),
    (ReviewConfig, OUT, "advisor_temperature", [-1.0, math.nan]),
    (ReviewConfig, OUT, "max_new_tokens", [0]),
    (ReviewConfig, OUT, "probe_posteriors", [(), (0.5, -0.1), (0.7, 0.3)]),
    (ReviewConfig, OUT, "variants", [("informed", "informed"), (), "informed", ("told",)]),
    (AfdConfig, {}, "n_test", [0]),
    (AfdConfig, {}, "sft_learning_rate", [0.0, math.nan]),
    (AfdConfig, {}, "classifier_c", [0.0, -1.0]),
    (AfdConfig, {}, "temperature", [-0.5, math.nan]),
    (AfdConfig, {}, "dpo_beta", [math.nan, math.inf]),
    (AfdConfig, {}, "problems_per_call", [0]),
    (BeliefProbeConfig, OUT, "bootstrap", [0]),
    (BeliefProbeConfig, OUT, "n_problems", [1, 2.5, "3"]),
    (BeliefProbeConfig, OUT, "max_new_tokens", [15, 16.5]),
    (BeliefProbeConfig, OUT, "posteriors", [(0.6, 0.2), (0.0, 0.0), (0.0, 0.5), (0.5, 1.0)]),
    (CalibrationConfig, OUT, "n_problems", [0]),
    (CalibrationConfig, OUT, "qs", [(), (1.0, 0.5), (0.0, 2.0)]),
]


@pytest.mark.parametrize("schema, required, name, values", BAD,
                         ids=[f"{s.__name__}.{n}" for s, _, n, _ in BAD])
def test_each_settings_class_refuses_a_bad_value_naming_itself_and_the_field(schema, required, name, values):
    schema(**required)                                   # the defaults are in the domain
    for value in values:
        with pytest.raises(ValueError, match=rf"^{schema.__name__}: {name} must "):
            schema(**required, **{name: value})


@pytest.mark.parametrize("game, task", [("review", "code"), ("review", "chain_sum"), ("draft", "humaneval"),
                                        ("pair", "gsm")])
def test_a_review_run_is_played_on_a_task_its_game_has(game, task):
    """The review game read any task but "humaneval" as GSM-Symbolic and ran it, silently."""
    with pytest.raises(ValueError, match=rf"^ReviewConfig: the {game} game is played on .*; got task='{task}'"):
        ReviewConfig(out="unused", game=game, task=task)
    assert ReviewConfig(out="unused", game=game, task="gsm_symbolic").task == "gsm_symbolic"


def test_the_afd_route_variants_need_a_finite_learning_rate():
    from llm_bridge.studies.afd_experiment import RklVariant
    for lr in (math.nan, math.inf, 0.0):
        with pytest.raises(ValueError, match="learning_rate a finite number > 0"):
            AfdConfig(rkl_pool_size=4, rkl_no_format=True, rkl_no_format_variants=[RklVariant(learning_rate=lr)])


def test_every_shipped_llm_config_still_loads():
    from experiments.afd_best_of_n import load_afd_config
    from experiments.config import load_split
    from experiments.llm_review import load_review_config
    from experiments.online_llm import RunnerSettings
    shipped = sorted(Path("experiments/configs").glob("*.toml"))
    loaders = {"afd": load_afd_config, "review": load_review_config, "draft": load_review_config,
               "pair": load_review_config, "online": lambda p: load_split(p, RunnerSettings, OnlineConfig)}
    loaded = [loaders[p.name.split("_")[0]](p) for p in shipped if p.name.split("_")[0] in loaders]
    assert len(loaded) == sum(not p.name.startswith("regret_") for p in shipped)


def test_a_bad_value_in_a_runner_config_stops_it_before_any_model_loads(tmp_path):
    config = tmp_path / "online.toml"
    config.write_text('name = "x"\nreceiver = "no-such-model"\nsmoothing = -0.5\n')
    r = subprocess.run([sys.executable, "-m", "experiments.online_llm", str(config), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "OnlineConfig: smoothing must be a finite number > 0; got -0.5" in r.stderr
    assert not (tmp_path / "o").exists()


def test_a_review_run_needs_held_out_problems(tmp_path):
    from llm_bridge.studies.review_experiment import run
    cfg = ReviewConfig(out=str(tmp_path / "r"), n_evaluation=0)          # items alone: what verdict_value reads
    with pytest.raises(ValueError, match="n_evaluation must be at least 1"):
        run(None, None, cfg)
    assert not (tmp_path / "r").exists()


def test_problem_loaders_refuse_a_count_or_category_they_cannot_give():
    """champ(0) and humaneval(0) used to give one problem, and an unknown CHAMP category none."""
    from llm_bridge.tasks.problems import chain_sum, champ, gsm_symbolic, humaneval
    for loader, bad in ((gsm_symbolic, 0), (chain_sum, 1.5), (champ, 0), (humaneval, -1), (gsm_symbolic, True)):
        with pytest.raises(ValueError, match=rf"^{loader.__name__}: n must be a positive integer"):
            loader(bad)
    with pytest.raises(ValueError, match=r"champ: categories must be among \[.*'Polynomial'.*\]; got \['Numbers'\]"):
        champ(categories=["Numbers"])
    assert len(champ(2)) == len(humaneval(2)) == 2
    assert {p.meta["category"] for p in champ(categories=["Polynomial"])} == {"Polynomial"}
