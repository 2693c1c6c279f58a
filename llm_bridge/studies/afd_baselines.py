"""A preference-optimisation baseline for alignment from demonstrations, and what each policy's pool holds.

**DPO on demonstrations** (SPIN's first iteration): the initial policy is
trained by DPO with each demonstration as the chosen answer and the initial
policy's own samples of the same prompt as the rejected ones
(``trl.DPOTrainer``, the reference model a frozen copy of the initial
policy).  It uses the demonstrations the Init-SFT classifier sees and the
initial samples it is trained on, so it needs no sampling of its own.

**Pool statistics** compare policies on the same held-out problems:
pass@1 (the share of right samples) against pass@k (a right sample among
k, exact over every k-subset), and answer diversity (the distinct final
answers per problem and the entropy of their distribution), the quantities
by which a mass-covering policy and a mode-seeking one differ.  Paired
sign-flip tests on the per-problem values compare the policies, Holm over
the family.
"""
from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

import numpy as np

from . import best_of_n as bon
from .stats import holm, paired_sign_flip


def dpo_pairs(lm, demos, samples: list[dict], prompt_of) -> list[dict]:
    """One (prompt, chosen, rejected) row per initial sample of a demonstration prompt: the demonstration is
    chosen, the sample rejected.  Rows are chat messages where ``lm`` formats prompts with a chat template
    (trl then applies the same template), plain text otherwise."""
    from .afd_experiment import demonstration
    by_id = {p.id: p for p in demos}
    chat = lm.format("x") != "x"
    rows = []
    for r in samples:
        if r["policy"] != "init" or r["problem"] not in by_id:
            continue
        p = by_id[r["problem"]]
        prompt, chosen, rejected = prompt_of(p), demonstration(p), r["text"]
        if chat:
            rows.append({"prompt": [{"role": "user", "content": prompt}],
                         "chosen": [{"role": "assistant", "content": chosen}],
                         "rejected": [{"role": "assistant", "content": rejected}]})
        else:
            rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    if not rows:
        raise ValueError("dpo_pairs: no initial samples of demonstration prompts to reject")
    return rows


def train_dpo(lm, rows: list[dict], *, beta: float, learning_rate: float, epochs: int, batch_size: int,
              max_length: int, seed: int, workdir: Path, progress: bool = False, fast: bool = True,
              checkpoint_every: int = 0) -> list[float]:
    """Train ``lm`` (a LanguageModel on the transformers engine) in place by DPO on ``rows``; returns the loss
    logged at each step.  Prints nothing (:func:`~llm_bridge.models.training.trainer_quiet`) but, with
    ``progress``, a progress bar on stderr.

    ``fast`` (the default) computes the frozen reference's log-probabilities once, before training, instead
    of a reference forward pass at every step, and keeps activations rather than recomputing them in the
    backward pass (trl turns activation checkpointing on by default, which saves memory a small policy does
    not need); the reference is the same initial policy either way.  ``fast=False`` is trl's default path,
    kept for the side-by-side timing in ``benchmarks/bench_dpo.py``.

    With ``checkpoint_every`` > 0 the trainer's whole state is saved under ``workdir`` every that many steps,
    and a call that finds a checkpoint there (an interrupted call with the same settings and rows; anything
    else is refused) resumes from the last one; the checkpoints are removed when the training ends.  ``lm``
    must hold the initial weights on a resume as on a first call: they are the reference (trl computes the
    reference's log-probabilities when the trainer is built, before a checkpoint's weights are loaded; a
    test checks that a resumed training equals an unbroken one)."""
    import shutil
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer
    from llm_bridge.models.training import (_require_transformers, last_trainer_checkpoint,
                                            library_deprecations_silenced, trainer_quiet)
    _require_transformers(lm, "train_dpo")
    workdir = Path(workdir)
    trainer_dir = workdir / "trainer"
    recipe = {"beta": beta, "learning_rate": learning_rate, "epochs": epochs, "batch_size": batch_size,
              "max_length": max_length, "seed": seed, "fast": fast, "checkpoint_every": checkpoint_every,
              "rows": rows}
    last = last_trainer_checkpoint(workdir, recipe, "train_dpo", checkpoint_every)
    with library_deprecations_silenced():
        args = DPOConfig(output_dir=str(trainer_dir), per_device_train_batch_size=batch_size,
                         num_train_epochs=epochs, learning_rate=learning_rate, beta=beta, max_length=max_length,
                         logging_steps=1, report_to=[], save_strategy="steps" if checkpoint_every else "no",
                         save_steps=max(checkpoint_every, 1), save_total_limit=1, save_only_model=False,
                         use_cpu=lm.model.device.type == "cpu", seed=seed,
                         data_seed=seed, disable_tqdm=not progress, precompute_ref_log_probs=fast,
                         gradient_checkpointing=not fast)
    # trl drops a pair whose prompt alone fills max_length (and cuts longer answers); say so before it runs
    def prompt_tokens(prompt):
        text = lm.format(prompt if isinstance(prompt, str) else prompt[0]["content"])
        return len(lm.tokenizer(text, add_special_tokens=False)["input_ids"])
    dropped = sum(prompt_tokens(r["prompt"]) >= max_length for r in rows)
    if dropped:
        raise ValueError(f"train_dpo: {dropped} of {len(rows)} pairs have a prompt of max_length={max_length} "
                         f"tokens or more and would be dropped in tokenisation; raise max_length")
    # precomputed: trl scores the data with the policy itself before its first step, so no copy is kept
    reference = None if fast else copy.deepcopy(lm.model).eval()
    with library_deprecations_silenced():
        trainer = DPOTrainer(model=lm.model, ref_model=reference, args=args, train_dataset=Dataset.from_list(rows),
                             processing_class=lm.tokenizer)
        trainer_quiet(trainer)
        if len(trainer.train_dataset) < len(rows):
            raise ValueError(f"train_dpo: {len(rows) - len(trainer.train_dataset)} of {len(rows)} pairs were "
                             f"dropped in tokenisation (max_length={max_length} tokens); raise max_length")
        trainer.train(resume_from_checkpoint=last)
    lm.model.eval()
    if checkpoint_every:                # a finished training needs none (each holds the optimiser's state too)
        shutil.rmtree(trainer_dir, ignore_errors=True)
    return [float(h["loss"]) for h in trainer.state.log_history if "loss" in h]


def dpo_policy(load_model, demos, samples, cfg, out: Path):
    """The DPO policy, trained once and saved in ``out/dpo`` (read back on a resume, refused if trained with
    other settings), and its training record; an interrupted training resumes from the last of its eight
    checkpoints (``out/dpo.work``)."""
    from .afd_experiment import prompt_of, save_interval, trained_once
    settings = {"beta": cfg.dpo_beta, "learning_rate": cfg.dpo_learning_rate, "epochs": cfg.dpo_epochs}

    def train(lm):
        rows = dpo_pairs(lm, demos, samples, lambda p: prompt_of(p, cfg))
        steps = cfg.dpo_epochs * -(-len(rows) // cfg.sft_batch_size)
        losses = train_dpo(lm, rows, beta=cfg.dpo_beta, learning_rate=cfg.dpo_learning_rate,
                           epochs=cfg.dpo_epochs, batch_size=cfg.sft_batch_size, max_length=cfg.sft_max_length,
                           seed=cfg.seed, workdir=out / "dpo.work", progress=True,
                           checkpoint_every=save_interval(steps))
        return {"losses": losses, "n_pairs": len(rows)}
    return trained_once(load_model, out, "dpo", train, settings)


def answer_diversity(answers: list[str]) -> tuple[int, float]:
    """(distinct answers, entropy in nats of their empirical distribution); an empty answer counts as one
    more answer ("none found").

    >>> answer_diversity(["3", "3", "4", ""])
    (3, 1.0397207708399179)
    """
    counts = np.array(list(Counter(answers).values()), dtype=float)
    p = counts / counts.sum()
    return len(counts), float(-(p * np.log(p)).sum())


def text_shapes(texts: list[str]) -> tuple[int, int]:
    """Of one problem's samples: (how many are a single non-empty line once stripped, how many repeat
    another sample's text exactly).

    >>> text_shapes(["7 + 5 = 12", "7 + 5 = 12", "First, 7 + 5.\\n#### 12", " 13 "])
    (3, 2)
    """
    counts = Counter(texts)
    single = sum(1 for t in texts if t.strip() and "\n" not in t.strip())
    return single, sum(c for c in counts.values() if c > 1)


def mean_interval(values: np.ndarray, level: float = 0.95) -> list[float]:
    """Student's t interval for the mean over problems of a per-problem value (pass@k, distinct answers)."""
    from scipy import stats
    if len(values) < 2 or np.ptp(values) == 0:
        return [float(values.mean())] * 2
    lo, hi = stats.t.interval(level, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    return [float(lo), float(hi)]


def per_problem_values(rows: list[dict], ks: list[int], mode: str) -> dict:
    """One policy's per-problem values on its pool ``rows`` (one record of ``texts`` and ``correct`` per
    problem): ``pass`` (pass@k for each k, exact over k-subsets), ``distinct`` answers and their ``entropy``,
    each an array over problems, and ``shapes``, the shares of all samples that are one line of text and
    that repeat another sample of their problem."""
    from llm_bridge.tasks.checkers import extract_answer
    div = [answer_diversity([extract_answer(t, mode) for t in r["texts"]]) for r in rows]
    return {"pass": {k: np.array([bon.oracle_best_of_n(np.asarray(r["correct"], float), k) for r in rows])
                     for k in ks},
            "distinct": np.array([d[0] for d in div], dtype=float),
            "entropy": np.array([d[1] for d in div]),
            "shapes": (np.array([text_shapes(list(r["texts"])) for r in rows], dtype=float).sum(axis=0)
                       / sum(len(r["texts"]) for r in rows))}


def compare_pools(pools: dict, policies, test_ids: list[str], ks: list[int], mode: str, seed: int = 0) -> dict:
    """Per policy: pass@1, pass@k for each k (exact over k-subsets), answer diversity, each mean over problems
    with its 95% t interval; and paired sign-flip tests of every pair of policies on pass@1, on pass@k at the
    largest k, and on distinct answers (Holm over all of them).  ``pools[(policy, problem)]`` holds
    ``texts`` and ``correct``."""
    per = {pol: per_problem_values([pools[(pol, pid)] for pid in test_ids], ks, mode) for pol in policies}
    summary = {pol: {"pass_at": {str(k): float(v["pass"][k].mean()) for k in ks},
                     "pass_at_interval": {str(k): mean_interval(v["pass"][k]) for k in ks},
                     "distinct_answers": float(v["distinct"].mean()),
                     "distinct_answers_interval": mean_interval(v["distinct"]),
                     "answer_entropy": float(v["entropy"].mean()),
                     "single_line": float(v["shapes"][0]), "repeated_text": float(v["shapes"][1]),
                     "n_problems": len(test_ids), "pool_size": len(pools[(pol, test_ids[0])]["texts"])}
               for pol, v in per.items()}
    tests = []
    for i, a in enumerate(policies):
        for b in policies[i + 1:]:
            for what, x, y in (("pass@1", per[a]["pass"][1], per[b]["pass"][1]),
                               (f"pass@{ks[-1]}", per[a]["pass"][ks[-1]], per[b]["pass"][ks[-1]]),
                               ("distinct answers", per[a]["distinct"], per[b]["distinct"])):
                t = paired_sign_flip(x, y, seed=seed)
                tests.append({"a": a, "b": b, "measure": what, "diff": t["diff"], "p": t["p"],
                              "n_problems_differing": t["n_nonzero"]})
    for t, p in zip(tests, holm([t["p"] for t in tests])):
        t["p_holm"] = p
    return {"policies": summary, "tests": tests}
