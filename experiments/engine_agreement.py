"""Do llama.cpp and transformers make the same Receiver decisions?  (issue 19, item 3)

    python -m experiments.engine_agreement docs/results/review_gsm_qwen05 --receiver qwen05 \\
        --out docs/results/engine_agreement/review_gsm_qwen05.json

    python -m experiments.engine_agreement results/pair_value_code_qwen05 --written --limit 8 \
        --receiver openai:http://127.0.0.1:8765#qwen05 --out docs/results/engine_agreement/served_code_qwen05_counted.json

Replays every decision logged by a review run (its ``generations.jsonl.gz``:
the exact prompt text the transformers fp32 Receiver read, and its
P(submit)) through the llama.cpp engine on the same GGUF file, with the
prompt cache on (records of one problem share their head), and reports the
agreement rate of the decisions, the largest, typical and mean signed
difference in P(submit) (all pairs are kept in the report), and every disagreement with both probabilities (how close each
was to 1/2).  The prompt text is used as logged, so chat formatting is not
part of the comparison; tokenisation and arithmetic are.  Interrupted, it
starts again from the beginning (a few minutes for 2,300 decisions).

``--written`` replays written answers instead (a run whose log, ``generations.jsonl`` or ``.gz``, holds each
greedy answer's ``prompt`` and ``output``: the draft, pair and probe runs): each prompt is written again, greedy
and as long as the logged answer may have been, and the report gives how many texts are identical and where
each different one first departs.  ``--receiver openai:URL#MODEL`` replays through a served Receiver (with
llama.cpp's sampling defaults switched off, :data:`~llm_bridge.models.openai_receiver.LLAMA_CPP_PLAIN`), so a
served model can be checked against what the in-process engine logged before a run is trusted to it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from persuasion.atomic import write_atomic


def replay(lm, records: list[dict], progress: bool = True) -> list[dict]:
    """P(submit) under ``lm`` for each logged record, and whether it makes the logged choice, decided by
    the review game's own rule (:class:`~llm_bridge.models.choice_receiver.ChoiceReceiver`, options in the game's order)."""
    from llm_bridge.models.choice_receiver import ChoiceReceiver
    from llm_bridge.games.review_game import letters
    words = letters(None, 0)
    options = tuple(sorted(words.values()))
    receiver = ChoiceReceiver(lm)
    opt_ids, options = receiver._option_ids("replay()", options)
    from persuasion.progress import progress as progress_bar
    items = progress_bar(records, "replay", unit="decision", enabled=progress)
    out = []
    for r in items:
        choice = receiver._decide(r["prompt"], lm.next_logits(r["prompt"]), opt_ids, options)
        out.append({"key": r["key"], "p_logged": float(r["p_submit"]), "p_engine": choice.probs[words["submit"]],
                    "same": choice.letter == r["output"]})
    return out


def rewrite(model, records: list[dict], max_new_tokens: int) -> list[dict]:
    """Each logged written answer against ``model``'s greedy answer to the same prompt (``model`` has
    ``generate_scored``: an in-process model or a served Receiver, asked as the games ask it,
    :func:`~llm_bridge.models.language_model.written_answers`); one row per record, with the index of the
    first character where the two texts differ (None when they are identical)."""
    from llm_bridge.models.language_model import SamplingConfig, written_answers
    gens = written_answers(model, [r["prompt"] for r in records], SamplingConfig(max_new_tokens=max_new_tokens),
                           progress=True)
    rows = []
    for r, g in zip(records, gens):
        a, b = r["output"], g.text
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None if a == b else min(len(a), len(b)))
        rows.append({"key": r["key"], "same": a == b, "first_difference": first, "logged": a, "replayed": b})
    return rows


def summarise(rows: list[dict]) -> dict:
    import numpy as np
    from scipy.stats import binomtest
    diff = np.abs([r["p_engine"] - r["p_logged"] for r in rows])
    same = sum(r["same"] for r in rows)
    ci = binomtest(same, len(rows)).proportion_ci(method="wilson")
    lo, hi = float(ci.low), float(ci.high)
    signed = np.array([r["p_engine"] - r["p_logged"] for r in rows])
    half = 1.96 * signed.std(ddof=1) / np.sqrt(len(rows)) if len(rows) > 1 else float("nan")
    worst = sorted((r for r in rows if not r["same"]), key=lambda r: -abs(r["p_engine"] - r["p_logged"]))
    return {"n": len(rows), "agree": same, "agreement": same / len(rows), "agreement_wilson95": [lo, hi],
            "max_abs_diff": float(diff.max()), "median_abs_diff": float(np.median(diff)),
            "p95_abs_diff": float(np.quantile(diff, 0.95)),
            "mean_signed_diff": float(signed.mean()), "mean_signed_diff_95": [float(signed.mean() - half),
                                                                              float(signed.mean() + half)],
            "pairs": [[round(r["p_logged"], 6), round(r["p_engine"], 6)] for r in rows],
            "disagreements": [{**r, "logged_distance_from_half": abs(r["p_logged"] - 0.5),
                               "engine_distance_from_half": abs(r["p_engine"] - 0.5)} for r in worst]}


def main(argv=None) -> int:
    from .config import positive_int
    from llm_bridge.models.language_model import load_by_name
    ap = argparse.ArgumentParser(description="llama.cpp vs logged transformers decisions")
    ap.add_argument("run", help="a review run's folder (with generations.jsonl.gz)")
    ap.add_argument("--receiver", default="qwen05", help="the run's Receiver (a short name or a .gguf file)")
    ap.add_argument("--out", required=True, help="where to write the JSON report")
    ap.add_argument("--limit", type=positive_int, default=None, help="replay only the first N decisions")
    ap.add_argument("--written", action="store_true", help="replay written answers (prompt and output logged)")
    ap.add_argument("--max-new-tokens", type=positive_int, default=None,
                    help="--written: the run's token limit (default: the one in the log's header)")
    args = ap.parse_args(argv)
    logs = [Path(args.run) / n for n in (("generations.jsonl.gz", "generations.jsonl") if args.written
                                         else ("generations.jsonl.gz",))]
    log = next((p for p in logs if p.is_file()), None)
    if log is None:
        print(f"engine_agreement: error: {' or '.join(map(str, logs))} does not exist", file=sys.stderr)
        return 2
    from llm_bridge.studies.run_log import read_records
    try:            # another run's log: a torn last line (that run killed or still writing) is skipped
        records = read_records(log, "engine_agreement", cut=False)
    except ValueError as e:                             # a damaged log: one line, not a traceback
        print(f"engine_agreement: error: {e}", file=sys.stderr)
        return 2
    header = next((r for r in records if r.get("header")), {})
    records = [r for r in records if not r.get("header")]
    records = records[:args.limit] if args.limit else records
    if args.written:
        return _written_main(args, records, header)
    lm = load_by_name(args.receiver, engine="llama.cpp")
    t0 = time.perf_counter()
    rows = replay(lm, records)
    report = {"run": str(args.run), "receiver": args.receiver, "engine": "llama.cpp",
              "seconds": time.perf_counter() - t0, "cache_reuse_rate": lm.stats.reuse_rate, **summarise(rows)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(Path(args.out), json.dumps(report, indent=1).encode())
    print(f"{report['agree']}/{report['n']} decisions agree ({report['agreement']:.4f}, Wilson 95% "
          f"{report['agreement_wilson95'][0]:.4f}-{report['agreement_wilson95'][1]:.4f}); |dP| max "
          f"{report['max_abs_diff']:.4f}, median {report['median_abs_diff']:.4f}; {report['seconds']:.0f} s; "
          f"cache reuse {report['cache_reuse_rate']:.2f}")
    return 0


def _written_main(args, records: list[dict], header: dict) -> int:
    limit = args.max_new_tokens or header.get("config", {}).get("max_new_tokens")
    if not limit:
        print("engine_agreement: error: --written needs --max-new-tokens (the log's header has none)",
              file=sys.stderr)
        return 2
    if args.receiver.startswith("openai:"):
        from llm_bridge.models.openai_receiver import LLAMA_CPP_PLAIN, from_spec
        model = from_spec(args.receiver, extra_body=LLAMA_CPP_PLAIN)
    else:
        from llm_bridge.models.language_model import load_by_name
        model = load_by_name(args.receiver, engine="llama.cpp")
    t0 = time.perf_counter()
    rows = rewrite(model, records, limit)
    same = sum(r["same"] for r in rows)
    report = {"run": str(args.run), "receiver": args.receiver, "max_new_tokens": limit,
              "seconds": time.perf_counter() - t0, "n": len(rows), "identical": same, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(Path(args.out), json.dumps(report, indent=1).encode())
    print(f"{same}/{len(rows)} written answers identical; {report['seconds']:.0f} s")
    for r in rows:
        if not r["same"]:
            print(f"  {r['key']}: first differs at character {r['first_difference']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
