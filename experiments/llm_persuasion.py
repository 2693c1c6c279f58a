"""Run the LLM persuasion experiment from a TOML config (see experiments/configs/llm_small.toml).

    python -m experiments.llm_persuasion experiments/configs/llm_small.toml [--out results/llm_small]

Writes ``OUT/generations.jsonl`` (every generation, as it goes), the trained
Advisor in ``OUT/advisor/``, and ``OUT/report.json``; prints the per-condition
table.  Starting it again resumes where it stopped.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

from .config import ConfigError, load


@dataclass(frozen=True)
class ModelSpec:
    """A model of the run: a short name for ``llm_bridge.models.load_by_name``, a folder, a .gguf file, or
    (receiver only) ``openai:URL#MODEL``."""

    model: str = "tiny"
    device: str = "cpu"
    dtype: str = "float32"
    batch_size: int = 8
    cache_dir: str | None = None          # where a dequantised GGUF copy is kept


@dataclass(frozen=True)
class RunConfig:
    """The documents / category persuasion experiment (docs/llm_bridge.md); defaults written once here."""

    name: str = "llm"
    task: str = "champ"                   # champ, gsm_symbolic or humaneval
    game: str = "category"                # "category" (task champ) or "documents" (any task)
    item: str | None = None               # the information item the documents game hides (documents game)
    documents: int = 3
    categories: list[str] | None = None   # CHAMP categories (category game)
    n_problems: int | None = None         # problems to load (None: all the task has; GSM-Symbolic: 100)
    n_estimation: int = 4
    n_evaluation: int = 20
    seed: int = 0
    max_new_tokens: int = 128
    signals_per_problem: int = 8
    sft_epochs: int = 20
    receiver: ModelSpec = ModelSpec()
    advisor: ModelSpec = ModelSpec()


def build_model(spec: ModelSpec, role: str):
    from llm_bridge.models import load_by_name
    if spec.model.startswith("openai:"):
        if role != "receiver":
            raise ConfigError("config: only the receiver can be an OpenAI-compatible endpoint")
        from llm_bridge.openai_receiver import from_spec
        # the estimate of U reads its log-probabilities: a server without them fails at the first request
        return from_spec(spec.model, concurrency=spec.batch_size)
    if spec.model == "tiny":
        return load_by_name("tiny", batch_size=spec.batch_size)
    return load_by_name(spec.model, device=spec.device, dtype=spec.dtype, batch_size=spec.batch_size,
                        cache_dir=spec.cache_dir)


def load_run_config(path) -> RunConfig:
    """The run's config, strictly (:mod:`experiments.config`), with the task/game combination checked."""
    from llm_bridge.tasks import LOADERS
    cfg = load(path, RunConfig)
    if cfg.task not in LOADERS or cfg.game not in ("category", "documents") or \
            (cfg.game == "category" and cfg.task != "champ"):
        raise ConfigError(f"config {os.fspath(path)!r}: game must be 'category' (task 'champ') or 'documents' "
                          f"(any task); got game {cfg.game!r} with task {cfg.task!r}")
    if cfg.game == "documents" and not cfg.item:
        raise ConfigError(f"config {os.fspath(path)!r}: the documents game needs item (the hidden document)")
    return cfg


def main(argv=None) -> int:
    from llm_bridge.experiment import DocumentSpec, ExperimentConfig, champ_spec, format_report, run_experiment
    from llm_bridge.tasks import LOADERS, champ
    ap = argparse.ArgumentParser(description="LLM persuasion experiment")
    ap.add_argument("config")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    try:
        cfg = load_run_config(args.config)
    except ConfigError as e:
        print(f"llm_persuasion: error: {e}", file=sys.stderr)
        return 2
    if cfg.task == "champ":
        problems = champ(categories=cfg.categories)
    elif cfg.task == "gsm_symbolic":
        problems = LOADERS[cfg.task](cfg.n_problems or 100, seed=cfg.seed)
    else:
        problems = LOADERS[cfg.task](cfg.n_problems)
    if cfg.game == "category":
        spec = champ_spec(problems)
    else:
        spec = DocumentSpec(problems, cfg.item, k=cfg.documents, seed=cfg.seed)
    out = args.out or os.path.join("results", cfg.name)
    ecfg = ExperimentConfig(out=out, n_estimation=cfg.n_estimation, n_evaluation=cfg.n_evaluation, seed=cfg.seed,
                            max_new_tokens=cfg.max_new_tokens, signals_per_problem=cfg.signals_per_problem,
                            sft_epochs=cfg.sft_epochs)
    receiver = build_model(cfg.receiver, "receiver")
    advisor = build_model(cfg.advisor, "advisor")
    report = run_experiment(problems, spec, receiver, advisor, ecfg, progress=True)
    print(format_report(report))
    print(f"generations in {out}/generations.jsonl, report in {out}/report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
