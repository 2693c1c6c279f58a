"""Supervised fine-tuning of an Advisor on (prompt, target) pairs.

The loss is the next-token cross-entropy on the target tokens only (prompt
tokens are masked), plus the model's end-of-turn token
(:attr:`~llm_bridge.models.language_model.LanguageModel.end_token_id`, from its chat
template and generation config) so generation stops where it should.  It
is the Advisor's training in the simplest form the issue asks for: SFT on
signals sampled from the optimal scheme.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from persuasion.atomic import write_atomic


@dataclass
class SFTConfig:
    epochs: int = 3              # passes over the data
    batch_size: int = 16         # pairs per optimiser step
    learning_rate: float = 3e-3  # AdamW learning rate
    weight_decay: float = 0.0    # AdamW weight decay
    seed: int = 0                # data order and initialisation of the optimiser state
    max_length: int = 256        # tokens per example (prompt + target), truncated from the left

    def __post_init__(self):
        from .field_rules import integers_at_least, numbers_in
        integers_at_least(self, 1, "epochs", "batch_size", "max_length")
        integers_at_least(self, 0, "seed")
        numbers_in(self, "> 0", "learning_rate")
        numbers_in(self, ">= 0", "weight_decay")


def _require_transformers(lm, where: str) -> None:
    if getattr(lm.config, "engine", "transformers") != "transformers":
        raise TypeError(f"{where}: fine-tuning runs on the transformers engine; got a model on "
                        f"{lm.config.engine!r} (load it with engine='transformers', then export it with "
                        f"llm_bridge.models.gguf_export.export_gguf to run it on llama.cpp)")


@contextlib.contextmanager
def library_deprecations_silenced():
    """Keep transformers' and trl's FutureWarnings off stderr while one of their trainers runs: they name
    arguments those libraries pass to each other (``gradient_checkpointing`` and its new name in transformers
    5), which the caller of our training functions cannot act on.  Other warnings still show."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def trainer_quiet(trainer) -> None:
    """Keep a transformers ``Trainer`` (trl's trainers included) off stdout: its printer callback goes, and
    its progress callback, which writes each step's logged record to stdout beside the bar, is replaced by
    one that draws only the bar (on stderr).  The records stay in ``trainer.state.log_history``."""
    from transformers import PrinterCallback, ProgressCallback

    class BarOnly(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            pass
    trainer.remove_callback(PrinterCallback)
    if trainer.pop_callback(ProgressCallback) is not None:
        trainer.add_callback(BarOnly)


def last_trainer_checkpoint(workdir: Path, recipe: dict, where: str, checkpoint_every: int) -> str | None:
    """The checkpoint a transformers ``Trainer`` (trl's included) writing to ``workdir / "trainer"`` should
    resume from: its last one, where ``workdir / "recipe.json"`` says it was made with ``recipe`` (the
    settings and data a resume must share; any other is refused, naming the folder), else None.  With
    ``checkpoint_every`` > 0 the recipe is written for the checkpoints to come; with 0 nothing is read or
    written."""
    from transformers.trainer_utils import get_last_checkpoint
    if checkpoint_every < 0:
        raise ValueError(f"{where}: checkpoint_every must be >= 0 (0: no checkpoints); got {checkpoint_every}")
    if not checkpoint_every:
        return None
    workdir, trainer_dir = Path(workdir), Path(workdir) / "trainer"
    last = get_last_checkpoint(str(trainer_dir)) if trainer_dir.is_dir() else None
    saved = workdir / "recipe.json"
    if last is not None and (not saved.exists() or json.loads(saved.read_text()) != recipe):
        raise ValueError(f"{where}: {trainer_dir} holds a checkpoint of a training with other settings or data "
                         f"(its recipe: {saved}); remove {trainer_dir} to start again")
    workdir.mkdir(parents=True, exist_ok=True)
    write_atomic(saved, json.dumps(recipe).encode())
    return last


def sft_examples(lm, pairs: list[tuple[str, str]], max_length: int = 256) -> list[tuple[list[int], list[int]]]:
    """Token ids and labels of each (prompt, target) pair: the prompt is masked (-100), the target ends
    with the model's end-of-turn token, and both are truncated from the left to ``max_length``."""
    _require_transformers(lm, "sft_examples")
    pairs = list(pairs)
    bad = next((p for p in pairs if not (isinstance(p, (tuple, list)) and len(p) == 2
                                         and all(isinstance(x, str) for x in p))), None)
    if not pairs or bad is not None:     # none was a training of no step, returned as if it had run
        raise ValueError("sft: pairs must be a non-empty list of (prompt, target) strings; "
                         + (f"one is {bad!r:.80}" if bad is not None else "got none"))
    tok, examples = lm.tokenizer, []
    for prompt, target in pairs:
        p = tok(lm._format(prompt), add_special_tokens=False)["input_ids"]
        t = tok(target, add_special_tokens=False)["input_ids"] + [lm.end_token_id]
        examples.append(((p + t)[-max_length:], ([-100] * len(p) + t)[-max_length:]))
    return examples


def sft(lm, pairs: list[tuple[str, str]], config: SFTConfig | None = None, progress: bool = False,
        checkpoint: str | Path | None = None, checkpoint_every: int = 0) -> list[float]:
    """Fine-tune ``lm`` (a :class:`~llm_bridge.models.language_model.LanguageModel`) in place; returns the loss per step.

    With ``checkpoint`` (a file path) and ``checkpoint_every`` > 0, the training's whole state (weights,
    optimiser, the data-order and global random generators, the losses so far) is written to that file
    every that many steps, replacing the last; a call that finds the file (an interrupted call with the same
    config and pairs: anything else is refused) resumes after its last saved step instead of starting
    again, and the file is removed when the training ends."""
    import torch
    _require_transformers(lm, "sft")
    config = config or SFTConfig()
    if checkpoint_every < 0 or (checkpoint_every and checkpoint is None):
        raise ValueError(f"sft: checkpoint_every must be >= 0 (0: no checkpoints), and > 0 only with a checkpoint "
                         f"path; got checkpoint_every={checkpoint_every}, checkpoint={checkpoint!r}")
    model = lm.model
    g = torch.Generator().manual_seed(config.seed)
    examples = sft_examples(lm, pairs, config.max_length)
    opt = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    per_epoch = -(-len(examples) // config.batch_size)
    total = config.epochs * per_epoch
    done, losses, epoch_rng = 0, [], g.get_state()     # epoch_rng: the order generator before this epoch's draw
    path = Path(checkpoint) if checkpoint_every else None
    if path is not None:    # what a checkpoint must have been made with to be resumed: settings, tokenised data
        recipe = {**asdict(config), "data": hashlib.sha256(json.dumps(examples).encode()).hexdigest()}
    if path is not None and path.exists():
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state["recipe"] != recipe:
            raise ValueError(f"sft: {path} is a checkpoint of a training with another config or other pairs "
                             f"(its recipe: {state['recipe']}); remove it to start again")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        done, losses, epoch_rng = state["done"], list(state["losses"]), state["epoch_rng"]
        torch.set_rng_state(state["global_rng"])
        if "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"])
    model.train()
    from persuasion.progress import progress as progress_bar
    # one tick per optimiser step: an epoch of a real model takes minutes on a CPU
    bar = progress_bar(None, "sft", unit="step", total=total, enabled=progress)
    bar.update(done)
    while done < total:
        g.set_state(epoch_rng)
        order = torch.randperm(len(examples), generator=g).tolist()
        batches = range(done % per_epoch * config.batch_size, len(order), config.batch_size)
        for s in batches:
            batch = [examples[i] for i in order[s:s + config.batch_size]]
            width = max(len(ids) for ids, _ in batch)
            ids = torch.full((len(batch), width), lm.pad_id)
            lab = torch.full((len(batch), width), -100)
            att = torch.zeros((len(batch), width), dtype=torch.long)
            for r, (x, y) in enumerate(batch):
                ids[r, :len(x)], lab[r, :len(y)], att[r, :len(x)] = torch.tensor(x), torch.tensor(y), 1
            out = model(input_ids=ids.to(lm.config.device), attention_mask=att.to(lm.config.device),
                        labels=lab.to(lm.config.device))
            opt.zero_grad()
            out.loss.backward()
            opt.step()
            losses.append(float(out.loss.detach()))
            done += 1
            if done % per_epoch == 0:
                epoch_rng = g.get_state()               # the next epoch draws its order from here
            if path is not None and done % checkpoint_every == 0 and done < total:
                _save_atomically({"recipe": recipe, "done": done, "losses": losses, "epoch_rng": epoch_rng,
                                  "global_rng": torch.get_rng_state(), "model": model.state_dict(),
                                  "optimizer": opt.state_dict(),   # dropout on a card draws from its own
                                  **({"cuda_rng": torch.cuda.get_rng_state()} if model.device.type == "cuda"
                                     else {})}, path)
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    bar.close()
    model.eval()
    if path is not None:                # a finished training needs none (it holds the optimiser's state too)
        path.unlink(missing_ok=True)
    return losses


def _save_atomically(state: dict, path: Path) -> None:
    """``torch.save`` to a file beside ``path``, then renamed over it: an interruption mid-write leaves the
    last whole checkpoint."""
    import torch
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
