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
import tomllib


def build_model(spec: dict, role: str):
    from llm_bridge.models import load_by_name
    name = spec.get("model", "tiny")
    if name.startswith("openai:"):
        if role != "receiver":
            raise ValueError("config: only the receiver can be an OpenAI-compatible endpoint")
        from llm_bridge.openai_receiver import from_spec
        # the estimate of U reads its log-probabilities: a server without them fails at the first request
        return from_spec(name, concurrency=spec.get("batch_size", 8))
    if name == "tiny":
        return load_by_name(name, batch_size=spec.get("batch_size", 8))
    return load_by_name(name, device=spec.get("device", "cpu"), dtype=spec.get("dtype", "float32"),
                        batch_size=spec.get("batch_size", 8), cache_dir=spec.get("cache_dir"))


def main(argv=None) -> int:
    from llm_bridge.experiment import DocumentSpec, ExperimentConfig, champ_spec, format_report, run_experiment
    from llm_bridge.tasks import LOADERS, champ
    ap = argparse.ArgumentParser(description="LLM persuasion experiment")
    ap.add_argument("config")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    with open(args.config, "rb") as fh:
        cfg = tomllib.load(fh)
    task, game = cfg.get("task", "champ"), cfg.get("game", "category")
    if task not in LOADERS or game not in ("category", "documents") or (game == "category" and task != "champ"):
        print("llm_persuasion: error: game must be 'category' (task 'champ') or 'documents' (any task); got "
              f"game {game!r} with task {task!r}", file=sys.stderr)
        return 2
    if task == "champ":
        problems = champ(categories=cfg.get("categories"))
    elif task == "gsm_symbolic":
        problems = LOADERS[task](cfg.get("n_problems", 100), seed=cfg.get("seed", 0))
    else:
        problems = LOADERS[task](cfg.get("n_problems"))
    if game == "category":
        spec = champ_spec(problems)
    else:
        spec = DocumentSpec(problems, cfg["item"], k=cfg.get("documents", 3), seed=cfg.get("seed", 0))
    out = args.out or os.path.join("results", cfg.get("name", "llm"))
    ecfg = ExperimentConfig(out=out, n_estimation=cfg.get("n_estimation", 4), n_evaluation=cfg.get("n_evaluation", 20),
                            seed=cfg.get("seed", 0), max_new_tokens=cfg.get("max_new_tokens", 128),
                            signals_per_problem=cfg.get("signals_per_problem", 8), sft_epochs=cfg.get("sft_epochs", 20))
    receiver = build_model(cfg.get("receiver", {}), "receiver")
    advisor = build_model(cfg.get("advisor", {"model": "tiny"}), "advisor")
    report = run_experiment(problems, spec, receiver, advisor, ecfg, progress=True)
    print(format_report(report))
    print(f"generations in {out}/generations.jsonl, report in {out}/report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
