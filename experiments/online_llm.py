"""Online persuasion against a real Receiver model (llm_bridge.studies.online_play) from a TOML config.

    python -m experiments.online_llm experiments/configs/online_gsm_qwen05.toml [--out DIR] [--report-only]
        [--target decision]

Writes ``OUT/responses.jsonl`` (every Receiver decision, as it goes: starting
again resumes), ``OUT/report.json`` (curves, bands, the bound) and
``OUT/report.md``; prints the tables.  ``--report-only`` replays the learners
on the decisions already logged (it needs the whole table).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class RunnerSettings:
    """The keys of an online config that choose the model (the others are OnlineConfig's)."""

    name: str = "online"                 # results go to results/NAME unless --out is given
    receiver: str = "qwen05"             # qwen05, qwen15, tiny, a folder or .gguf, or openai:URL#MODEL
    engine: str = "llama.cpp"            # "llama.cpp" or "transformers"
    n_threads: int | None = None         # llama.cpp threads (None: every core)


def _progress(items, desc="problems"):
    from persuasion.progress import progress
    return progress(items, desc, mininterval=10)


class _NoReceiver:
    def choose(self, *a, **k):
        raise SystemExit("online_llm --report-only: the log lacks decisions; run without --report-only first")


def main(argv=None) -> int:
    from llm_bridge.studies.online_play import OnlineConfig, report_markdown, run
    from .config import ConfigError, load_split, output_folder
    ap = argparse.ArgumentParser(description="online persuasion against a real Receiver")
    ap.add_argument("config")
    ap.add_argument("--out", default=None)
    ap.add_argument("--report-only", action="store_true", help="no model: replay the learners on the logged table")
    ap.add_argument("--target", default=None, help="the Advisor's target instead of the config's (the table does not "
                    "depend on it); the report is then report_TARGET.json/.md")
    args = ap.parse_args(argv)
    try:
        run_on, cfg = load_split(args.config, RunnerSettings, OnlineConfig, args.out)
        if args.target is not None and args.target != cfg.target:
            from dataclasses import replace
            cfg = replace(cfg, target=args.target)
    except (ConfigError, ValueError) as e:
        print(f"online_llm: error: {e}", file=sys.stderr)
        return 2
    if args.report_only:
        receiver = _NoReceiver()
    else:   # in process, or served ("openai:BASE_URL#MODEL")
        output_folder(ap, cfg.out)
        from llm_bridge.models.language_model import load_by_spec
        from llm_bridge.models.choice_receiver import as_choice_receiver
        extra = {"n_threads": run_on.n_threads} if run_on.engine == "llama.cpp" else {}
        receiver = as_choice_receiver(load_by_spec(run_on.receiver, engine=run_on.engine, **extra))
    stem = "report" if args.target is None else f"report_{cfg.target}"
    summary = run(receiver, cfg, run_on.receiver, progress=_progress, stem=stem)
    print(report_markdown(summary, run_on.receiver))
    print(f"report in {cfg.out}/{stem}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
