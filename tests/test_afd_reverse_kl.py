"""The reverse-KL route of alignment from demonstrations, checked by what defines it.

RLOO with the KL penalty of weight beta in the reward maximises E_pi[r] - beta KL(pi || pi0), whose optimum is
pi0 exp(r / beta) / Z.  With one-token answers that optimum is known exactly from the initial model's own
next-token probabilities, so the trained policy is compared with it (and, with a smaller beta, with the
larger tilt that beta asks for).  The route also joins a finished AfD run like the DPO baseline.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from llm_bridge.models.language_model import LanguageModel, ModelConfig  # noqa: E402
from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2  # noqa: E402
from llm_bridge.studies import afd_experiment as afd  # noqa: E402
from llm_bridge.studies.afd_reverse_kl import classifier_reward, train_reverse_kl  # noqa: E402


def tiny_loader(path):
    tok = char_tokenizer()
    if path is None:
        return LanguageModel(tok, tiny_gpt2(tok, n_layer=1, n_embd=32), ModelConfig("tiny", batch_size=64))
    return LanguageModel.load(path, batch_size=64)


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_rloo_reaches_the_kl_regularised_optimum(tmp_path, beta, capsys, recwarn):
    prompts = [f"{a}+{b}=" for a in range(4) for b in range(4)]
    bonus = 3.0

    def reward(prompts, completions, **_):
        return [bonus if c.startswith("1") else 0.0 for c in completions]

    def p_one(lm):
        return np.exp(np.asarray(lm.log_likelihood(prompts, ["1"] * len(prompts), reduce="sum")))
    torch.manual_seed(0)
    lm = tiny_loader(None)
    q0 = p_one(lm)
    tilt = np.exp(bonus / beta)
    optimum = q0 * tilt / (1 - q0 + q0 * tilt)
    log = train_reverse_kl(lm, prompts, reward, steps=40, learning_rate=3e-2, generations=8, prompts_per_step=16,
                           max_new_tokens=1, temperature=1.0, seed=0, workdir=tmp_path, beta=beta)
    assert capsys.readouterr().out == ""                      # a library call prints nothing
    # nor passes on the libraries' notices about their own arguments (transformers 5 warns on trl's)
    assert not [str(w.message) for w in recwarn if issubclass(w.category, FutureWarning)]
    assert len(log) == 40 and all("kl" in h for h in log)
    # seeds 0-2 at beta = 1 gave 0.189, 0.209, 0.208 against an optimum of 0.180 (from 0.011 at the start)
    assert q0.mean() < 0.05 and abs(p_one(lm).mean() - optimum.mean()) < 0.06
    assert (tmp_path / "reference" / "config.json").exists()   # the reference is the initial weights


def test_classifier_reward_reads_text_and_chat_completions():
    class Longer:             # a stand-in classifier: the logit is the length in tokens
        def score(self, ids):
            return np.array([len(x) for x in ids], dtype=float)
    tok = char_tokenizer()
    reward = classifier_reward(Longer(), tok)
    assert reward(prompts=["a", "b"], completions=["12", "1234"]) == [2.0, 4.0]
    chat = [[{"role": "assistant", "content": "123"}]]
    assert reward(prompts=[[{"role": "user", "content": "q"}]], completions=chat) == [3.0]
    # the reward blind to the format: the '#### n' lines are gone before the classifier reads the text
    blind = classifier_reward(Longer(), tok, task="chain_sum")
    assert blind(prompts=["a", "b"], completions=["1 + 2 = 3\n#### 3", "1 + 2 = 3"]) == [9.0, 9.0]


def test_bad_settings_are_named(tmp_path):
    lm = tiny_loader(None)
    with pytest.raises(ValueError, match="generations must be >= 2"):
        train_reverse_kl(lm, ["1+1="], lambda **k: [0.0], steps=1, learning_rate=1e-3, generations=1,
                         prompts_per_step=1, max_new_tokens=2, temperature=1.0, seed=0, workdir=tmp_path)
    with pytest.raises(ValueError, match="rkl_generations >= 2"):
        afd.AfdConfig(rkl_generations=1)


def test_the_reverse_kl_route_joins_a_finished_run(tmp_path):
    """A run without it, then the same config with rkl_pool_size: the main stages are read back, the policy is
    trained on the demonstration prompts and sampled, and the report compares it with the initial and SFT
    policies; other settings on the saved policy are refused."""
    cfg = afd.AfdConfig(out=str(tmp_path / "run"), task="chain_sum", n_generated=60, n_demonstrations=6,
                        n_classifier_problems=4, n_test=3, pool_size=2, ns=[1, 2], max_new_tokens=6,
                        problems_per_call=2, sft_learning_rate=1e-3, sft_max_length=96)
    problems = afd.load_problems(cfg)
    assert "reverse_kl" not in afd.run(tiny_loader, cfg, problems)
    assert not (tmp_path / "run" / "sft_checkpoint.pt").exists()       # SFT's checkpoints are gone once it ends
    with_rkl = afd.AfdConfig(**{**cfg.__dict__, "rkl_pool_size": 2, "rkl_steps": 2, "rkl_generations": 2,
                                "rkl_prompts_per_step": 2, "rkl_learning_rate": 1e-3})
    rkl = afd.run(tiny_loader, with_rkl, problems)["reverse_kl"]
    assert set(rkl["policies"]) == {"init", "sft", "rkl"} and rkl["training"]["n_prompts"] == 6
    assert rkl["training"]["steps_logged"] == 2 and rkl["training"]["beta"] == 1.0
    assert all(v["pool_size"] == 2 for v in rkl["policies"].values()) and len(rkl["tests"]) == 3 * 3
    assert 0 <= rkl["rkl_pool"]["truncated"] <= 1
    rewards = rkl["reward_on_pools"]
    assert set(rewards) == {"init", "sft", "rkl"}
    assert all(v["interval"][0] <= v["mean"] <= v["interval"][1] for v in rewards.values())
    assert np.isfinite([rkl["training"][k] for k in ("reward_last_steps", "kl_per_token_last_steps")]).all()
    assert len((tmp_path / "run" / "rkl_pool.jsonl").read_text().splitlines()) == 3
    with pytest.raises(ValueError, match="was trained with"):
        afd.run(tiny_loader, afd.AfdConfig(**{**with_rkl.__dict__, "rkl_steps": 3}), problems)
    # the route on the reward blind to the format joins too, compared with the format-seeing one as well
    blind = afd.run(tiny_loader, afd.AfdConfig(**{**with_rkl.__dict__, "rkl_no_format": True}),
                    problems)["reverse_kl_no_format"]
    assert set(blind["policies"]) == {"init", "sft", "rkl", "rkl_nf"} and len(blind["tests"]) == 6 * 3
    assert blind["training"]["reward_without_format"] == "chain_sum" and "reward_without_format" not in rkl["training"]
    assert set(blind["reward_on_pools"]) == {"init", "sft", "rkl", "rkl_nf"}
    assert 0 <= blind["classifier_held_out"]["accuracy"] <= 1
    assert len((tmp_path / "run" / "rkl_nf_pool.jsonl").read_text().splitlines()) == 3
    # a replicate with another training seed: trained from the initial policy again, its own sampling seeds,
    # compared with the first format-blind policy as well; the saved ones are read back, not retrained
    first = (tmp_path / "run" / "rkl_nf" / "done.json").read_text()
    again = afd.run(tiny_loader, afd.AfdConfig(**{**with_rkl.__dict__, "rkl_no_format": True,
                                                  "rkl_no_format_seeds": [1]}), problems)
    rep = again["reverse_kl_no_format_replicates"]["1"]
    assert set(rep["policies"]) == {"init", "sft", "rkl", "rkl_nf", "rkl_nf_s1"} and len(rep["tests"]) == 10 * 3
    assert rep["training"]["training_seed"] == 1 and "training_seed" not in blind["training"]
    assert (tmp_path / "run" / "rkl_nf" / "done.json").read_text() == first
    assert again["reverse_kl_no_format"]["policies"] == blind["policies"]
    assert rep["policies"]["rkl_nf"] == blind["policies"]["rkl_nf"]
    assert len((tmp_path / "run" / "rkl_nf_s1_pool.jsonl").read_text().splitlines()) == 3
    # the seed reached RLOO: the same training with seed 0 gives rkl_nf's weights again (checked by making
    # the replicate train with the run's seed), seed 1 other ones
    w0, w1 = (LanguageModel.load(str(tmp_path / "run" / n)).model.state_dict() for n in ("rkl_nf", "rkl_nf_s1"))
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)
    # a second replicate joins later: compared with the first replicate too, which is read back, not retrained
    third = afd.run(tiny_loader, afd.AfdConfig(**{**with_rkl.__dict__, "rkl_no_format": True,
                                                  "rkl_no_format_seeds": [1, 2]}), problems)
    reps = third["reverse_kl_no_format_replicates"]
    assert reps["1"]["policies"] == rep["policies"] and reps["1"]["tests"] == rep["tests"]
    assert set(reps["2"]["policies"]) == {"init", "sft", "rkl", "rkl_nf", "rkl_nf_s1", "rkl_nf_s2"}
    assert len(reps["2"]["tests"]) == 15 * 3 and reps["2"]["policies"]["rkl_nf_s1"] == rep["policies"]["rkl_nf_s1"]
    assert {("rkl_nf_s1", "rkl_nf_s2"), ("rkl_nf", "rkl_nf_s2")} <= {(t["a"], t["b"]) for t in reps["2"]["tests"]}
    spread = third["reverse_kl_no_format_seed_spread"]["pass@1"]
    assert set(spread["per_training"]) == {"rkl_nf", "rkl_nf_s1", "rkl_nf_s2"}
    assert spread["per_training"]["rkl_nf_s1"] == rep["policies"]["rkl_nf_s1"]["pass_at"]["1"]
    assert spread["range"][0] <= spread["mean"] <= spread["range"][1]
    # a variant trained further (a larger learning rate, the first training's seed) joins as well: compared with
    # init, SFT and rkl_nf only; what ran before is read back unchanged
    further = afd.run(tiny_loader, afd.AfdConfig(**{**with_rkl.__dict__, "rkl_no_format": True,
                                                    "rkl_no_format_seeds": [1, 2],
                                                    "rkl_no_format_variants": [{"learning_rate": 3e-3}]}), problems)
    var = further["reverse_kl_no_format_variants"]["rkl_nf_lr0.003"]
    assert set(var["policies"]) == {"init", "sft", "rkl_nf", "rkl_nf_lr0.003"} and len(var["tests"]) == 6 * 3
    assert var["changes"] == "learning rate 0.003" and var["training"]["learning_rate"] == 3e-3
    assert var["training"]["steps"] == 2 and "training_seed" not in var["training"]
    assert var["policies"]["rkl_nf"] == blind["policies"]["rkl_nf"]
    assert all(further["reverse_kl_no_format_replicates"][k][part] == reps[k][part]
               for k in reps for part in ("policies", "tests"))
    assert len((tmp_path / "run" / "rkl_nf_lr0.003_pool.jsonl").read_text().splitlines()) == 3
    # the same seed with another learning rate gives other weights (the setting reached RLOO)
    w2 = LanguageModel.load(str(tmp_path / "run" / "rkl_nf_lr0.003")).model.state_dict()
    assert any(not torch.equal(w0[k], w2[k]) for k in w0)
    # a second variant (more steps) is compared with the first too, whose section stays as it was
    more = afd.run(tiny_loader, afd.AfdConfig(**{**with_rkl.__dict__, "rkl_no_format": True,
                                                 "rkl_no_format_seeds": [1, 2], "rkl_no_format_variants": [
                                                     {"learning_rate": 3e-3}, {"steps": 3}]}), problems)
    first_var, longer = more["reverse_kl_no_format_variants"].values()
    assert first_var["policies"] == var["policies"] and first_var["tests"] == var["tests"]
    assert set(longer["policies"]) == {"init", "sft", "rkl_nf", "rkl_nf_lr0.003", "rkl_nf_t3"}
    assert len(longer["tests"]) == 10 * 3 and longer["training"]["steps_logged"] == 3
    assert longer["changes"] == "3 steps" and longer["training"]["learning_rate"] == 1e-3
    # a variant with a replicate's seed: compared with that replicate too (its paired contrast), trained with
    # its seed (so other weights than the same setting with the run's seed)
    seeded = afd.run(tiny_loader, afd.AfdConfig(**{**with_rkl.__dict__, "rkl_no_format": True,
                                                   "rkl_no_format_seeds": [1, 2], "rkl_no_format_variants": [
                                                       {"learning_rate": 3e-3}, {"steps": 3},
                                                       {"learning_rate": 3e-3, "seed": 1}]}), problems)
    *earlier, same_rate = seeded["reverse_kl_no_format_variants"].values()
    assert [e["tests"] for e in earlier] == [var["tests"], longer["tests"]]
    assert list(same_rate["policies"]) == ["init", "sft", "rkl_nf", "rkl_nf_s1", "rkl_nf_lr0.003", "rkl_nf_t3",
                                           "rkl_nf_lr0.003_s1"]
    assert len(same_rate["tests"]) == 21 * 3 and same_rate["training"]["training_seed"] == 1
    assert same_rate["changes"] == "learning rate 0.003, training seed 1"
    assert same_rate["policies"]["rkl_nf_s1"] == rep["policies"]["rkl_nf_s1"]
    w3 = LanguageModel.load(str(tmp_path / "run" / "rkl_nf_lr0.003_s1")).model.state_dict()
    assert any(not torch.equal(w2[k], w3[k]) for k in w2)


def test_replicate_seeds_are_checked_and_get_their_own_sampling_seeds():
    base = {"rkl_pool_size": 2, "rkl_no_format": True}
    with pytest.raises(ValueError, match="rkl_no_format_seeds.*need"):
        afd.AfdConfig(rkl_no_format_seeds=[1])
    for bad in ([0], [1, 1], [-2]):             # the first training's seed, a repeat, a negative seed
        with pytest.raises(ValueError, match="rkl_no_format_seeds must be distinct"):
            afd.AfdConfig(**base, rkl_no_format_seeds=bad)
    variants = [afd.RklVariant(steps=80), afd.RklVariant(learning_rate=3e-5), afd.RklVariant(120, 2e-5),
                afd.RklVariant(learning_rate=3e-5, seed=1)]
    assert [v.name() for v in variants] == ["rkl_nf_t80", "rkl_nf_lr3e-05", "rkl_nf_t120_lr2e-05",
                                            "rkl_nf_lr3e-05_s1"]
    assert variants[2].changes() == "120 steps, learning rate 2e-05"
    assert variants[3].changes() == "learning rate 3e-05, training seed 1"
    indices = [afd.seed_index(p) for p in (*afd.SEED_INDEX, afd.replicate_name(1), afd.replicate_name(2),
                                           *(v.name() for v in variants))]
    assert len(set(indices)) == len(indices) and all(i >= 1000 for i in indices[-4:])
    for bad, rule in (([{"learning_rate": 3e-5}], "need"), ([{}], "must set steps or learning_rate"),
                      ([{"seed": 1}], "must set steps or learning_rate"),
                      ([{"steps": 0}], "steps must be >= 1"), ([{"steps": 50}], "trains as rkl_nf or its"),
                      ([{"steps": 50, "seed": 1}], "trains as rkl_nf or its"),
                      ([{"steps": 80, "seed": 2}], r"seed must be one of rkl_no_format_seeds=\[1\]"),
                      ([{"steps": 80}, {"steps": 80}], "must be distinct")):
        with pytest.raises(ValueError, match=rule):
            afd.AfdConfig(**({} if rule == "need" else {**base, "rkl_no_format_seeds": [1]}),
                          rkl_no_format_variants=bad)
    with pytest.raises(ValueError, match="no sampling seed for policy 'ppo'"):
        afd.seed_index("ppo")


def test_an_interrupted_training_resumes_from_its_checkpoint(tmp_path):
    """Interrupted during its third step, a training with a checkpoint after every step resumes from the
    second: the reward is asked only for the steps left, the log covers all four, and the weights equal an
    uninterrupted training's (the random generators' states travel with the checkpoint); a checkpoint of
    other settings is refused, and a finished training leaves no checkpoint behind."""
    prompts = [f"{a}+{b}=" for a in range(4) for b in range(4)]
    calls = []

    def reward(prompts, completions, **_):
        calls.append(len(completions))
        if len(calls) == 3 and stop_at_third:
            raise KeyboardInterrupt
        return [1.0 if c.startswith("1") else 0.0 for c in completions]
    kw = dict(steps=4, learning_rate=3e-2, generations=2, prompts_per_step=4, max_new_tokens=2, temperature=1.0,
              seed=0)
    torch.manual_seed(0)
    whole = tiny_loader(None)
    start = {k: v.clone() for k, v in whole.model.state_dict().items()}
    stop_at_third = False
    full_log = train_reverse_kl(whole, prompts, reward, workdir=tmp_path / "whole", checkpoint_every=1, **kw)
    assert len(calls) == 4 and not (tmp_path / "whole" / "trainer").exists()

    def fresh():
        lm = tiny_loader(None)
        lm.model.load_state_dict(start)
        return lm
    calls.clear()
    stop_at_third = True
    with pytest.raises(KeyboardInterrupt):
        train_reverse_kl(fresh(), prompts, reward, workdir=tmp_path / "cut", checkpoint_every=1, **kw)
    with pytest.raises(ValueError, match="checkpoint of a training with other settings"):
        train_reverse_kl(fresh(), prompts, reward, workdir=tmp_path / "cut", checkpoint_every=1,
                         **{**kw, "learning_rate": 1e-2})
    calls.clear()
    stop_at_third = False
    resumed = fresh()
    log = train_reverse_kl(resumed, prompts, reward, workdir=tmp_path / "cut", checkpoint_every=1, **kw)
    assert len(calls) == 2 and len(log) == 4
    assert [h["reward"] for h in log] == pytest.approx([h["reward"] for h in full_log])
    w, r = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.allclose(w[k], r[k], atol=1e-6) for k in w)
    assert any(not torch.equal(start[k], r[k]) for k in r)        # and it did train


def test_a_saved_run_without_its_weights_takes_a_new_training(tmp_path):
    """A saved run keeps pools, scores and each training's record (``<name>_training_log.json``) but no trained
    weights, as docs/results does: the same config reads it back to the same report without training or
    loading any trained policy, a new variant trains alone from the initial policy, and a stage that would
    need missing weights (an incomplete pool) says which policy and what to do."""
    import gzip
    import shutil
    run = tmp_path / "run"
    cfg = afd.AfdConfig(out=str(run), task="chain_sum", n_generated=60, n_demonstrations=6, n_classifier_problems=4,
                        n_test=3, pool_size=2, ns=[1, 2], max_new_tokens=6, problems_per_call=2,
                        sft_learning_rate=1e-3, sft_max_length=96, rkl_pool_size=2, rkl_steps=2, rkl_generations=2,
                        rkl_prompts_per_step=2, rkl_learning_rate=1e-3, rkl_no_format=True)
    problems = afd.load_problems(cfg)
    full = afd.run(tiny_loader, cfg, problems)
    saved = tmp_path / "saved"
    shutil.copytree(run, saved)
    for name in ("sft", "rkl", "rkl_nf"):                    # keep the record, drop the weights
        (saved / f"{name}_training_log.json").write_text((saved / name / "done.json").read_text())
        shutil.rmtree(saved / name)
    for path in saved.glob("*.jsonl"):                       # packed, as under docs/
        with open(path, "rb") as src, gzip.open(str(path) + ".gz", "wb") as dst:
            dst.write(src.read())
        path.unlink()
    loaded = []

    def counting_loader(path):
        loaded.append(path)
        return tiny_loader(path)
    again = afd.run(counting_loader, afd.AfdConfig(**{**cfg.__dict__, "out": str(saved)}), problems)
    assert loaded == [None]                                  # the initial policy (its tokenizer), nothing trained

    def timeless(section):                                   # a section less the seconds its call took
        if not isinstance(section, dict):
            return section
        return {k: v for k, v in section.items() if k != "seconds_this_call"}
    for part in ("sft", "classifier", "best_of_n", "tests", "reverse_kl", "reverse_kl_no_format"):
        assert timeless(again[part]) == timeless(full[part]), part
    # a new variant: trained from the initial policy alone, compared with rkl_nf read back from its pool
    loaded.clear()
    grown = afd.run(counting_loader, afd.AfdConfig(**{**cfg.__dict__, "out": str(saved),
                                                     "rkl_no_format_variants": [{"learning_rate": 3e-3}]}), problems)
    var = grown["reverse_kl_no_format_variants"]["rkl_nf_lr0.003"]
    assert list(var["policies"]) == ["init", "sft", "rkl_nf", "rkl_nf_lr0.003"]
    assert var["policies"]["rkl_nf"] == full["reverse_kl_no_format"]["policies"]["rkl_nf"]
    assert loaded == [None, None] and (saved / "rkl_nf_lr0.003" / "done.json").exists()
    # an incomplete pool of a policy whose weights are not kept: refused, naming the policy and the remedy
    with gzip.open(saved / "rkl_nf_pool.jsonl.gz", "rt") as fh:
        lines = fh.read().splitlines()
    with gzip.open(saved / "rkl_nf_pool.jsonl.gz", "wt") as fh:
        fh.write("\n".join(lines[:-1]) + "\n")
    with pytest.raises(RuntimeError,
                       match=r"policy 'rkl_nf' is needed .*rkl_nf_training_log.json.*remove the record"):
        afd.run(tiny_loader, afd.AfdConfig(**{**cfg.__dict__, "out": str(saved)}), problems)
