"""Run the proposal-review persuasion experiment (docs/llm_bridge.md) from a TOML config.

    python -m experiments.llm_review experiments/configs/review_gsm_qwen05.toml [--out DIR]

Writes ``OUT/generations.jsonl`` (every Receiver decision, as it goes; gzip it
for the docs), the trained Advisor in ``OUT/advisor/``, its messages, and
``OUT/report.json``; prints a summary.  Starting it again resumes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from dataclasses import fields


def main(argv=None) -> int:
    from llm_bridge.models import load_by_name
    from llm_bridge.receiver import ChoiceReceiver
    from llm_bridge.review_experiment import ReviewConfig, run
    ap = argparse.ArgumentParser(description="proposal-review persuasion experiment")
    ap.add_argument("config")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    with open(args.config, "rb") as fh:
        cfg = tomllib.load(fh)
    known = {f.name for f in fields(ReviewConfig)} | {"receiver", "advisor", "device", "dtype", "kv_cache", "name"}
    unknown = sorted(set(cfg) - known)
    if unknown:
        print(f"llm_review: error: unknown config keys {unknown}; known: {sorted(known)}", file=sys.stderr)
        return 2
    out = args.out or os.path.join("results", cfg.get("name", "review"))
    rcfg = ReviewConfig(out=out, **{k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items()
                                    if k in {f.name for f in fields(ReviewConfig)} and k != "out"})
    run_on = {"device": cfg.get("device", "cpu"), "dtype": cfg.get("dtype", "float32"),
              "kv_cache": cfg.get("kv_cache", "auto")}
    rname = cfg.get("receiver", "qwen05")
    if rname.startswith("openai:"):           # a served Receiver: "openai:BASE_URL#MODEL", with log-probabilities
        from llm_bridge.openai_receiver import from_spec
        receiver = from_spec(rname)
    else:
        receiver = ChoiceReceiver(load_by_name(rname, **run_on))
    advisor = load_by_name(cfg.get("advisor", "smollm2"), **run_on)
    report = run(receiver, advisor, rcfg, receiver_name=rname)
    g = report["game"]
    print(f"Bayesian case {g['case']}, P(case) {g['case_probability']}; chosen-model case "
          f"{g['chosen_model_case']}, P(case) {g['chosen_model_case_probability']}; persuasion claim allowed: "
          f"{g['persuasion_claim_allowed']}")
    print(f"Receiver model chosen: {report['receiver_models']['chosen']} (CV Brier {report['receiver_models']['brier_cv']})")
    for c, r in report["conditions"].items():
        print(f"{c:32s} value {r['value']:.3f}  right decisions {r['right_decision']:.3f}  n {r['n']}")
    print(json.dumps(report["tests"], indent=1))
    print(f"report in {out}/report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
