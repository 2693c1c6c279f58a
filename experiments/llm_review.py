"""Run the proposal-review persuasion experiment (docs/llm_bridge.md) from a TOML config.

    python -m experiments.llm_review experiments/configs/review_gsm_qwen05.toml [--out DIR] [--engine llama.cpp]
    python -m experiments.llm_review CONFIG --report-so-far     # a run stopped during evaluation, no model

A config with ``game = "draft"`` plays the draft game instead (:mod:`llm_bridge.games.draft_game`: the Receiver
writes the answer, with a partial solution and the Advisor's message in its prompt), e.g.
``experiments/configs/draft_gsm_qwen05_llama.toml``; ``game = "pair"`` the pair game
(:mod:`llm_bridge.games.pair_game`: two partial solutions, one with a mistake, and a message about which
to build on), e.g. ``experiments/configs/pair_gsm_qwen15_llama.toml``.

Writes ``OUT/generations.jsonl`` (every Receiver decision, as it goes; gzip it
for the docs), the trained Advisor in ``OUT/advisor/``, its messages, and
``OUT/report.json``; prints a summary.  Starting it again resumes.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class RunnerSettings:
    """The keys of a review config that choose models and devices (the others are ReviewConfig's)."""

    name: str = "review"                 # results go to results/NAME unless --out is given
    receiver: str = "qwen05"             # qwen05, qwen15, smollm2, tiny, a folder or .gguf, or openai:URL#MODEL
    advisor: str = "smollm2"
    device: str = "cpu"
    dtype: str = "float32"
    kv_cache: str = "auto"
    engine: str = "transformers"         # the Receiver's engine: "transformers" or "llama.cpp" (the Advisor is
                                         # fine-tuned, so it runs on transformers)
    n_threads: int | None = None         # llama.cpp threads (None: every core)
    receiver_extra_body: dict | None = None  # server-specific request fields for an openai: Receiver, e.g.
                                         # {repeat_penalty = 1.0, top_k = 0, min_p = 0.0} for llama.cpp's server


def load_review_config(path, out=None):
    """``(RunnerSettings, ReviewConfig)`` from a TOML config, strictly (:mod:`experiments.config`)."""
    from llm_bridge.studies.review_experiment import ReviewConfig
    from .config import load_split
    return load_split(path, RunnerSettings, ReviewConfig, out)


def main(argv=None) -> int:
    from llm_bridge.models.language_model import load_by_name, load_by_spec
    from llm_bridge.models.choice_receiver import as_choice_receiver
    from llm_bridge.studies.review_experiment import run
    from .config import ConfigError, output_folder
    ap = argparse.ArgumentParser(description="proposal-review persuasion experiment")
    ap.add_argument("config")
    ap.add_argument("--out", default=None)
    ap.add_argument("--engine", default=None, choices=["transformers", "llama.cpp"],
                    help="the Receiver's engine, overriding the config's")
    ap.add_argument("--report-so-far", action="store_true",
                    help="no model: report a run stopped during evaluation, over the held-out problems that have "
                         "every condition logged")
    args = ap.parse_args(argv)
    try:
        run_on, rcfg = load_review_config(args.config, args.out)
    except ConfigError as e:
        print(f"llm_review: error: {e}", file=sys.stderr)
        return 2
    if args.engine:
        from dataclasses import replace
        run_on = replace(run_on, engine=args.engine)
    name = run_on.receiver if run_on.receiver.startswith("openai:") else f"{run_on.receiver} ({run_on.engine})"
    if args.report_so_far:
        from llm_bridge.studies.review_experiment import report_so_far
        try:
            report = report_so_far(rcfg, receiver_name=name)
        except (ValueError, FileNotFoundError) as e:
            print(f"llm_review: error: {e}", file=sys.stderr)
            return 2
        print(f"{report['conditions']['alone']['n']} of {report['planned_n']} held-out problems have every "
              "condition logged; the report covers those")
        return _summary(report, rcfg)
    output_folder(ap, rcfg.out)
    settings = {"device": run_on.device, "dtype": run_on.dtype, "kv_cache": run_on.kv_cache}
    # in process on either engine, or served ("openai:BASE_URL#MODEL", deciding from its log-probabilities)
    in_process = ({"engine": "llama.cpp", "n_threads": run_on.n_threads, "device": run_on.device}
                  if run_on.engine == "llama.cpp" else {"engine": run_on.engine, **settings})
    receiver = as_choice_receiver(load_by_spec(run_on.receiver, extra_body=run_on.receiver_extra_body, **in_process))
    advisor = load_by_name(run_on.advisor, **settings)
    # the name says which weights and which engine made the decisions (a decision is reused only between
    # runs with the same name)
    return _summary(run(receiver, advisor, rcfg, receiver_name=name), rcfg)


def _summary(report: dict, rcfg) -> int:
    g = report["game"]
    print(f"Bayesian case {g['case']}, P(case) {g['case_probability']}; chosen-model case "
          f"{g['chosen_model_case']}, P(case) {g['chosen_model_case_probability']}; persuasion claim allowed: "
          f"{g['persuasion_claim_allowed']}")
    print(f"Receiver model chosen: {report['receiver_models']['chosen']} (CV Brier {report['receiver_models']['brier_cv']})")
    for c, r in report["conditions"].items():
        acc = f"  accuracy {r['accuracy']:.3f}" if "accuracy" in r else ""
        print(f"{c:32s} value {r['value']:.3f}  right decisions {r['right_decision']:.3f}{acc}  n {r['n']}")
    print(json.dumps(report["tests"], indent=1))
    print(f"report in {rcfg.out}/report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
