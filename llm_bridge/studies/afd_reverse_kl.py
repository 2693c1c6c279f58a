"""The reverse-KL route of alignment from demonstrations: RL on a learned reward whose KL-regularised optimum is
the demonstrations' distribution.

Let ``d`` be the demonstrator's distribution of answers to a prompt and ``pi0`` the initial policy.  A
classifier of demonstrations (label 1) against samples of ``pi0`` (label 0) has, at its optimum, the logit
``r(y) = log d(y) / pi0(y) + c`` (``c`` the log of the class ratio).  For any policy ``pi``::

    E_pi[r] - KL(pi || pi0) = E_pi[log d - log pi] + c = -KL(pi || d) + c,

so maximising the reward with a KL penalty of weight **beta = 1** towards ``pi0`` minimises the *reverse* KL
to the demonstrations, the mode-seeking direction, where SFT (maximum likelihood on the demonstrations)
minimises the forward one, ``KL(d || pi)``, the mass-covering direction (docs/afd.md; the exact contrast
on discrete targets is :mod:`llm_bridge.studies.afd_kl`).  Over a restricted family (a language model's
weights) the two fits differ, and that difference is what the AfD report compares: pass@1 against pass@k
and the diversity of final answers.

The optimiser is trl's ``RLOOTrainer``: REINFORCE with a leave-one-out baseline over ``generations``
samples of each prompt, the KL penalty put in the reward as the summed log-ratio of the sample (so the
gradient is the score-function gradient of the objective above; GRPO's per-token k3 term would instead
follow the gradient of the forward KL to the reference), one update per batch of samples (on-policy, so
the ratio clip never binds), advantages not rescaled.  The reference is the initial policy, saved once and
loaded by trl; sampling uses the same temperature as the classifier's initial samples, so the reference's
tempered distribution is the one the classifier saw.
"""
from __future__ import annotations

from pathlib import Path


def classifier_reward(classifier, tokenizer, task: str | None = None):
    """trl's reward function from a fitted classifier (:class:`~.demonstration_rewards.InitSFTClassifier`
    trained with demonstrations as label 1): its logit of each completion, read with its format lines
    removed when ``task`` is given (:func:`~.demonstration_rewards.without_format`)."""
    from .demonstration_rewards import without_format

    def reward(prompts, completions, **_):
        texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
        if task is not None:
            texts = [without_format(t, task) for t in texts]
        ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        return [float(x) for x in classifier.score(ids)]
    return reward


def train_reverse_kl(lm, prompts: list[str], reward, *, steps: int, learning_rate: float, generations: int,
                     prompts_per_step: int, max_new_tokens: int, temperature: float, seed: int, workdir: Path,
                     beta: float = 1.0, progress: bool = False, checkpoint_every: int = 0) -> list[dict]:
    """Train ``lm`` (a LanguageModel on the transformers engine) in place by RLOO on ``reward`` with a KL
    penalty ``beta`` towards its initial weights, for ``steps`` updates of ``prompts_per_step`` prompts x
    ``generations`` samples; returns each step's logged record (mean reward, KL to the reference, ...).
    Prints nothing but, with ``progress``, a progress bar on stderr.

    With ``checkpoint_every`` > 0 the trainer's whole state (weights, optimiser, random generators, log) is
    saved under ``workdir`` every that many steps, and a call that finds a checkpoint there (an earlier call
    that was interrupted, with the same settings and prompts: anything else is refused) resumes from the
    last one instead of starting again; the checkpoints are removed when the training ends."""
    import shutil
    import torch
    from datasets import Dataset
    from trl import RLOOConfig, RLOOTrainer
    from llm_bridge.models.training import (_require_transformers, last_trainer_checkpoint,
                                            library_deprecations_silenced, trainer_quiet)
    _require_transformers(lm, "train_reverse_kl")
    if generations < 2:
        raise ValueError(f"train_reverse_kl: generations must be >= 2 (the leave-one-out baseline); got {generations}")
    if steps < 1 or prompts_per_step < 1 or beta < 0:
        raise ValueError(f"train_reverse_kl: steps and prompts_per_step must be >= 1 and beta >= 0; got {steps}, "
                         f"{prompts_per_step}, {beta}")
    workdir = Path(workdir)
    trainer_dir = workdir / "trainer"
    # what a checkpoint must have been made with to be resumed (the reward function cannot be compared)
    recipe = {"steps": steps, "learning_rate": learning_rate, "generations": generations,
              "prompts_per_step": prompts_per_step, "max_new_tokens": max_new_tokens, "temperature": temperature,
              "seed": seed, "beta": beta, "checkpoint_every": checkpoint_every, "prompts": prompts}
    last = last_trainer_checkpoint(workdir, recipe, "train_reverse_kl", checkpoint_every)
    reference = workdir / "reference"
    lm.save(reference)                  # trl builds the frozen reference from a path: the initial weights
    chat = lm.format("x") != "x"
    rows = [{"prompt": [{"role": "user", "content": p}]} if chat else {"prompt": p} for p in prompts]
    with library_deprecations_silenced():
        args = RLOOConfig(output_dir=str(trainer_dir),
                          per_device_train_batch_size=prompts_per_step * generations,
                          num_generations=generations, max_completion_length=max_new_tokens, temperature=temperature,
                          beta=beta, learning_rate=learning_rate, max_steps=steps, num_iterations=1,
                          normalize_advantages=False, gradient_checkpointing=False, logging_steps=1, report_to=[],
                          save_strategy="steps" if checkpoint_every else "no", save_steps=max(checkpoint_every, 1),
                          save_total_limit=1, save_only_model=False, use_cpu=lm.model.device.type == "cpu",
                          seed=seed, data_seed=seed,
                          bf16=lm.model.dtype == torch.bfloat16, disable_tqdm=not progress)
    name = lm.model.config._name_or_path
    lm.model.config._name_or_path = str(reference)
    try:
        with library_deprecations_silenced():
            trainer = RLOOTrainer(model=lm.model, reward_funcs=reward, args=args,
                                  train_dataset=Dataset.from_list(rows), processing_class=lm.tokenizer)
            trainer_quiet(trainer)
            trainer.train(resume_from_checkpoint=last)
    finally:
        lm.model.config._name_or_path = name
    lm.model.eval()
    if checkpoint_every:                # a finished training needs none (each holds the optimiser's state too)
        shutil.rmtree(trainer_dir, ignore_errors=True)
    return [h for h in trainer.state.log_history if "reward" in h]


def reverse_kl_policy(load_model, demo_classifier, tokenizer, prompts: list[str], cfg, out: Path, name: str = "rkl",
                      task: str | None = None, training_seed: int | None = None):
    """The reverse-KL policy, trained once from the initial policy and saved in ``out/<name>`` (read back on
    a resume, refused if trained with other settings), and its training record.  With ``task`` the reward
    reads completions without their format lines (:func:`classifier_reward`).  RLOO's sampling and prompt
    order follow ``training_seed`` (default: the run's ``cfg.seed``).  The training saves a checkpoint
    eight times along its way, so an interrupted run resumes from the last one."""
    from .afd_experiment import save_interval, trained_once
    settings = {"steps": cfg.rkl_steps, "learning_rate": cfg.rkl_learning_rate, "generations": cfg.rkl_generations,
                "prompts_per_step": cfg.rkl_prompts_per_step, "beta": 1.0}
    if task is not None:
        settings["reward_without_format"] = task
    if training_seed is None:
        training_seed = cfg.seed
    else:                               # on record only where it is not the run's seed, as saved runs have it
        settings["training_seed"] = training_seed

    def train(lm):
        log = train_reverse_kl(lm, prompts, classifier_reward(demo_classifier, tokenizer, task), steps=cfg.rkl_steps,
                               learning_rate=cfg.rkl_learning_rate, generations=cfg.rkl_generations,
                               prompts_per_step=cfg.rkl_prompts_per_step, max_new_tokens=cfg.max_new_tokens,
                               temperature=cfg.temperature, seed=training_seed, workdir=out / f"{name}.work",
                               progress=True, checkpoint_every=save_interval(cfg.rkl_steps))
        return {"log": log, "n_prompts": len(prompts)}
    return trained_once(load_model, out, name, train, settings)
