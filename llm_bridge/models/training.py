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
import warnings
from dataclasses import dataclass


@dataclass
class SFTConfig:
    epochs: int = 3              # passes over the data
    batch_size: int = 16         # pairs per optimiser step
    learning_rate: float = 3e-3  # AdamW learning rate
    weight_decay: float = 0.0    # AdamW weight decay
    seed: int = 0                # data order and initialisation of the optimiser state
    max_length: int = 256        # tokens per example (prompt + target), truncated from the left


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


def sft_examples(lm, pairs: list[tuple[str, str]], max_length: int = 256) -> list[tuple[list[int], list[int]]]:
    """Token ids and labels of each (prompt, target) pair: the prompt is masked (-100), the target ends
    with the model's end-of-turn token, and both are truncated from the left to ``max_length``."""
    _require_transformers(lm, "sft_examples")
    tok, examples = lm.tokenizer, []
    for prompt, target in pairs:
        p = tok(lm._format(prompt), add_special_tokens=False)["input_ids"]
        t = tok(target, add_special_tokens=False)["input_ids"] + [lm.end_token_id]
        examples.append(((p + t)[-max_length:], ([-100] * len(p) + t)[-max_length:]))
    return examples


def sft(lm, pairs: list[tuple[str, str]], config: SFTConfig | None = None, progress: bool = False) -> list[float]:
    """Fine-tune ``lm`` (a :class:`~llm_bridge.models.language_model.LanguageModel`) in place; returns the loss per step."""
    import torch
    _require_transformers(lm, "sft")
    config = config or SFTConfig()
    model = lm.model
    g = torch.Generator().manual_seed(config.seed)
    examples = sft_examples(lm, pairs, config.max_length)
    opt = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    model.train()
    losses = []
    per_epoch = -(-len(examples) // config.batch_size)
    from persuasion.progress import progress as progress_bar
    # one tick per optimiser step: an epoch of a real model takes minutes on a CPU
    bar = progress_bar(None, "sft", unit="step", total=config.epochs * per_epoch, enabled=progress)
    for _ in range(config.epochs):
        order = torch.randperm(len(examples), generator=g).tolist()
        for s in range(0, len(order), config.batch_size):
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
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    bar.close()
    model.eval()
    return losses
