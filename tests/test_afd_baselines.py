"""The DPO baseline of alignment from demonstrations and the comparison of policies' pools.

DPO is checked by what defines it: after training, the policy's log-probability margin of the chosen
answer over the rejected one has grown relative to the frozen reference; the pool comparison against
direct counts on hand-made pools.
"""
import json

import numpy as np
import pytest

from llm_bridge.studies.afd_baselines import answer_diversity, compare_pools

torch = pytest.importorskip("torch")
pytest.importorskip("trl")


def test_answer_diversity_counts_and_entropy():
    assert answer_diversity(["5"] * 4) == (1, 0.0)
    n, h = answer_diversity(["1", "2", "3", "4"])
    assert n == 4 and h == pytest.approx(np.log(4))


def test_compare_pools_against_direct_counts():
    pools = {("a", "p1"): {"texts": ["#### 1", "#### 1", "#### 2", "#### 1"], "correct": [1, 1, 0, 1]},
             ("a", "p2"): {"texts": ["#### 3"] * 4, "correct": [0, 0, 0, 0]},
             ("b", "p1"): {"texts": ["#### 1"] * 4, "correct": [1, 1, 1, 1]},
             ("b", "p2"): {"texts": ["#### 7", "#### 8", "#### 9", "#### 4"], "correct": [0, 0, 0, 1]}}
    res = compare_pools(pools, ("a", "b"), ["p1", "p2"], [1, 2, 4], "strict")
    a, b = res["policies"]["a"], res["policies"]["b"]
    assert a["pass_at"]["1"] == pytest.approx((3 / 4 + 0) / 2) and b["pass_at"]["1"] == pytest.approx((1 + 1 / 4) / 2)
    assert a["pass_at"]["4"] == pytest.approx(0.5) and b["pass_at"]["4"] == pytest.approx(1.0)
    # pass@2 of p2 under b: one right sample of four, P(drawn among 2) = 1 - C(3,2)/C(4,2) = 1/2
    assert b["pass_at"]["2"] == pytest.approx((1 + 0.5) / 2)
    assert a["distinct_answers"] == pytest.approx(1.5) and b["distinct_answers"] == pytest.approx(2.5)
    # every sample one line; a repeats "#### 1" three times and "#### 3" four, b "#### 1" four times
    assert a["single_line"] == b["single_line"] == 1.0
    assert a["repeated_text"] == pytest.approx(7 / 8) and b["repeated_text"] == pytest.approx(4 / 8)
    # t intervals over the two problems: a's pass@1 values 3/4 and 0 (mean 3/8, standard error 3/8, t 12.71);
    # a's pass@4 values 1 and 0; b's pass@4 is 1 on both (no spread: the interval is the point)
    t1 = 12.706204736
    assert a["pass_at_interval"]["1"] == pytest.approx([3 / 8 - t1 * 3 / 8, 3 / 8 + t1 * 3 / 8])
    assert a["pass_at_interval"]["4"] == pytest.approx([0.5 - t1 * 0.5, 0.5 + t1 * 0.5])
    assert b["pass_at_interval"]["4"] == [1.0, 1.0]
    assert b["distinct_answers_interval"] == pytest.approx([2.5 - t1 * 1.5, 2.5 + t1 * 1.5])
    assert len(res["tests"]) == 3 and all(t["p"] <= t["p_holm"] <= 1 for t in res["tests"])
    assert {t["measure"] for t in res["tests"]} == {"pass@1", "pass@4", "distinct answers"}


# ------------------------------------------------------------------ DPO on a tiny model
from llm_bridge.studies import afd_experiment as afd  # noqa: E402
from llm_bridge.studies.afd_baselines import dpo_pairs, train_dpo  # noqa: E402
from llm_bridge.models.language_model import LanguageModel, ModelConfig  # noqa: E402
from llm_bridge.models.tiny import char_tokenizer, tiny_gpt2  # noqa: E402


def tiny_loader(path):
    tok = char_tokenizer()
    if path is None:
        return LanguageModel(tok, tiny_gpt2(tok, n_layer=1, n_embd=32), ModelConfig("tiny", batch_size=16))
    return LanguageModel.load(path, batch_size=16)


def test_dpo_raises_the_chosen_answers_margin_over_the_reference(tmp_path, capsys, recwarn):
    lm = tiny_loader(None)
    prompts = [f"{a}+{b}=" for a in range(3) for b in range(3)]
    rows = [{"prompt": p, "chosen": str(eval(p[:-1])), "rejected": str(eval(p[:-1]) + 1)} for p in prompts]

    def margin():
        good = lm.log_likelihood(prompts, [r["chosen"] for r in rows], reduce="sum")
        bad = lm.log_likelihood(prompts, [r["rejected"] for r in rows], reduce="sum")
        return np.asarray(good) - np.asarray(bad)
    before = margin()
    losses = train_dpo(lm, rows, beta=1.0, learning_rate=1e-2, epochs=8, batch_size=3, max_length=32, seed=0,
                       workdir=tmp_path / "work")
    after = margin()
    assert capsys.readouterr().out == ""                     # a library call prints nothing
    assert not [str(w.message) for w in recwarn if issubclass(w.category, FutureWarning)]
    assert len(losses) == 8 * 3 and losses[0] == pytest.approx(np.log(2), abs=1e-4)   # reference = policy at start
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) and np.mean(after - before) > 0.3
    with pytest.raises(ValueError, match="raise max_length"):
        train_dpo(lm, rows, beta=1.0, learning_rate=1e-2, epochs=1, batch_size=3, max_length=3, seed=0,
                  workdir=tmp_path / "work")


def test_with_progress_the_bar_goes_to_stderr_and_the_step_records_nowhere(tmp_path, capsys):
    """transformers' progress callback writes each step's record to stdout beside its bar; train_dpo keeps
    the bar (stderr) and the records (its return value), and prints nothing."""
    rows = [{"prompt": f"{a}+1=", "chosen": str(a + 1), "rejected": str(a)} for a in range(4)]
    losses = train_dpo(tiny_loader(None), rows, beta=1.0, learning_rate=1e-2, epochs=1, batch_size=2,
                       max_length=32, seed=0, workdir=tmp_path / "work", progress=True)
    out, err = capsys.readouterr()
    assert out == "" and len(losses) == 2 and "2/2" in err


def test_the_fast_path_trains_the_same_policy_as_trls_default(tmp_path):
    """Precomputed reference log-probabilities and no activation checkpointing change the cost, not the
    training: from the same start, both paths log the same losses and end at the same weights."""
    prompts = [f"{a}+{b}=" for a in range(3) for b in range(2)]
    rows = [{"prompt": p, "chosen": str(eval(p[:-1])), "rejected": str(eval(p[:-1]) + 2)} for p in prompts]
    ends = []
    for fast in (False, True):
        torch.manual_seed(0)
        lm = tiny_loader(None)
        losses = train_dpo(lm, rows, beta=0.5, learning_rate=1e-2, epochs=3, batch_size=2, max_length=32, seed=0,
                           workdir=tmp_path / f"work{fast}", fast=fast)
        ends.append((losses, torch.cat([w.detach().flatten() for w in lm.model.parameters()])))
    (slow_losses, slow_w), (fast_losses, fast_w) = ends
    assert len(fast_losses) == 3 * 3 and np.allclose(fast_losses, slow_losses, atol=1e-6)
    assert not np.allclose(slow_losses[0], slow_losses[-1])          # it trained
    assert torch.allclose(fast_w, slow_w, atol=1e-6)


def test_an_interrupted_dpo_training_resumes_against_the_initial_reference(tmp_path):
    """Interrupted during its third step, a DPO training with a checkpoint after every step resumes from the
    second: only the two steps left run, and its losses and weights equal an unbroken training's.  So the
    reference's log-probabilities on the resume come from the initial weights, not the checkpoint's (with
    them every resumed loss would differ); a checkpoint of other settings is refused, and a finished
    training leaves none behind."""
    prompts = [f"{a}+{b}=" for a in range(4) for b in range(2)]
    rows = [{"prompt": p, "chosen": str(eval(p[:-1])), "rejected": str(eval(p[:-1]) + 2)} for p in prompts]
    kw = dict(beta=0.5, learning_rate=3e-2, epochs=1, batch_size=2, max_length=32, seed=0, checkpoint_every=1)

    def counted(stop_at=None):
        """The initial policy, its training forward passes (with gradients) counted and interruptible."""
        torch.manual_seed(0)
        lm = tiny_loader(None)
        calls = []

        def step(module, args):         # a hook on the embeddings: trl wraps the model's forward itself
            if torch.is_grad_enabled():
                calls.append(1)
                if len(calls) == stop_at:
                    raise KeyboardInterrupt
        lm.model.get_input_embeddings().register_forward_pre_hook(step)
        return lm, calls
    whole, calls = counted()
    full = train_dpo(whole, rows, workdir=tmp_path / "whole", **kw)
    assert len(full) == len(calls) == 4 and not (tmp_path / "whole" / "trainer").exists()
    with pytest.raises(KeyboardInterrupt):
        train_dpo(counted(stop_at=3)[0], rows, workdir=tmp_path / "cut", **kw)
    with pytest.raises(ValueError, match="checkpoint of a training with other settings or data"):
        train_dpo(counted()[0], rows, workdir=tmp_path / "cut", **{**kw, "beta": 0.1})
    resumed, calls = counted()
    losses = train_dpo(resumed, rows, workdir=tmp_path / "cut", **kw)
    assert len(calls) == 2 and losses == pytest.approx(full, abs=1e-6)
    assert not np.allclose(full[0], full[-1])                           # it trained
    w, r = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.allclose(w[k], r[k], atol=1e-6) for k in w)


def test_dpo_pairs_reject_the_initial_samples_of_demonstration_prompts():
    lm = tiny_loader(None)
    demos = afd.load_problems(afd.AfdConfig(task="chain_sum", n_generated=4))
    samples = [{"policy": pol, "problem": p.id, "k": k, "text": f"{pol}{k}"}
               for p in demos[:2] for pol in ("init", "sft") for k in range(2)]
    rows = dpo_pairs(lm, demos, samples, lambda p: p.prompt)
    assert len(rows) == 4 and {r["rejected"] for r in rows} == {"init0", "init1"}
    assert all(r["chosen"] == demos[0].items["worked_solution"] for r in rows[:2])
    with pytest.raises(ValueError, match="no initial samples"):
        dpo_pairs(lm, demos, [s for s in samples if s["policy"] == "sft"], lambda p: p.prompt)


def test_the_dpo_baseline_joins_a_finished_run(tmp_path):
    """A run without the baseline, then the same config with dpo_pool_size: the main stages are read back,
    the DPO policy is trained and sampled, and its report compares the three policies; other DPO settings on
    the same folder are refused."""
    cfg = afd.AfdConfig(out=str(tmp_path / "run"), task="chain_sum", n_generated=60, n_demonstrations=8,
                        n_classifier_problems=4, n_test=4, pool_size=4, ns=[1, 2, 4], max_new_tokens=6,
                        problems_per_call=2, sft_learning_rate=1e-3, sft_max_length=256)
    problems = afd.load_problems(cfg)
    first = afd.run(tiny_loader, cfg, problems)
    assert "dpo" not in first
    with_dpo = afd.AfdConfig(**{**cfg.__dict__, "dpo_pool_size": 2, "dpo_learning_rate": 1e-3})
    report = afd.run(tiny_loader, with_dpo, problems)
    assert report["best_of_n"] == first["best_of_n"]              # the main stages were read back
    dpo = report["dpo"]
    assert set(dpo["policies"]) == {"init", "sft", "dpo"} and dpo["training"]["n_pairs"] == 4 * 2
    assert all(v["pool_size"] == 2 and set(v["pass_at"]) == {"1", "2"} for v in dpo["policies"].values())
    assert len(dpo["tests"]) == 3 * 3 and 0 <= dpo["dpo_pool"]["truncated"] <= 1
    assert not (tmp_path / "run" / "dpo.work" / "trainer").exists()     # its checkpoints are gone once it ends
    lines = (tmp_path / "run" / "dpo_pool.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(len(json.loads(x)["texts"]) == 2 for x in lines)
    with pytest.raises(ValueError, match="trained with"):
        afd.run(tiny_loader, afd.AfdConfig(**{**with_dpo.__dict__, "dpo_beta": 0.5}), problems)
