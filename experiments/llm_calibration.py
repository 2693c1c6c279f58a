"""The calibration study: how a Receiver model responds to a stated scheme (llm_bridge/studies/calibration.py).

    python -m experiments.llm_calibration --receiver qwen05 --out results/calibration_qwen05 [--n 60]
"""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    from llm_bridge.models.language_model import ModelConfig, load_by_name
    from llm_bridge.studies.calibration import CalibrationConfig, run_calibration
    from llm_bridge.models.choice_receiver import ChoiceReceiver

    from .config import output_folder, positive_int
    ap = argparse.ArgumentParser(description="Receiver calibration study")
    ap.add_argument("--receiver", default="qwen05", help="qwen05, smollm2, tiny, or a folder / .gguf")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=positive_int, default=60, help="problems")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    try:                                                               # both checked before the model loads
        cfg = CalibrationConfig(out=args.out, n_problems=args.n)
        ModelConfig(args.receiver, device=args.device)
    except ValueError as e:
        ap.error(str(e))
    output_folder(ap, args.out)
    rep = run_calibration(ChoiceReceiver(load_by_name(args.receiver, device=args.device)), cfg,
                          receiver_name=args.receiver)
    print(f"{args.receiver}: accuracy alone {rep['accuracy_alone']:.2f}; reading: {rep['reading']}")
    for r in rep["rows"]:
        print(f"q={r['q']:<5g} {r['variant']:7s} follow|right {r['follow_when_right']['rate']}  "
              f"follow|wrong {r['follow_when_wrong']['rate']}  acc {r['accuracy']:.2f}  "
              f"bayes follow {r['bayesian_follow']:.2f} acc {r['bayesian_accuracy']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
