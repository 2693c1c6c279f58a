"""Alignment from demonstrations: SFT, the Init-SFT reward and Best-of-N on maths or code, from a TOML config.

    python -m experiments.afd_best_of_n experiments/configs/afd_gsm_smollm2.toml [--out DIR]
    python -m experiments.afd_best_of_n --describe docs/results/afd_gsm_smollm2   # what a saved run's pools hold

Writes the SFT model, every sample, score and verdict as it goes and ``OUT/report.json`` at the end
(llm_bridge/studies/afd_experiment.py lists the files); starting it again resumes where it stopped.  Tables and
the figure: ``python -m paper_figures.fig_afd_best_of_n OUT/report.json``.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class AfdRunner:
    """The keys of an AfD config that choose the model and device (the others are AfdConfig's)."""

    name: str = "afd_gsm_smollm2"       # results go to results/NAME unless --out is given
    model: str = "smollm2"              # the initial policy: smollm2, qwen05, tiny, a folder or a .gguf
    device: str = "cpu"
    dtype: str = "float32"
    batch_size: int = 64                # sequences per forward pass
    decode: str = "generate"            # "generate", or "static" / "compiled": our decode loop in CUDA graphs
                                        # (Llama-family models; docs/llm_bridge.md, Inference)


def load_afd_config(path, out=None):
    """``(AfdRunner, AfdConfig)`` from a TOML config, strictly (:mod:`experiments.config`)."""
    from llm_bridge.studies.afd_experiment import AfdConfig
    from .config import load_split
    return load_split(path, AfdRunner, AfdConfig, out)


def main(argv=None) -> int:
    from llm_bridge.studies.afd_experiment import load_problems, run
    from llm_bridge.models.language_model import LanguageModel, load_by_name
    from .config import ConfigError, output_folder
    ap = argparse.ArgumentParser(description="alignment from demonstrations: SFT, Init-SFT reward, Best-of-N")
    ap.add_argument("config", nargs="?")
    ap.add_argument("--out", default=None)
    ap.add_argument("--describe", metavar="FOLDER", help="print what a finished run's pools hold (truncation, "
                    "format, the log-ratio's correlation with length) as JSON, and load no model")
    args = ap.parse_args(argv)
    if args.describe:
        import json
        from llm_bridge.studies.afd_experiment import describe_saved
        print(json.dumps(describe_saved(args.describe), indent=1))
        return 0
    if args.config is None:
        ap.error("a config is needed unless --describe is given")
    try:
        runner, cfg = load_afd_config(args.config, args.out)
    except (ConfigError, ValueError) as e:
        print(f"afd_best_of_n: error: {e}", file=sys.stderr)
        return 2
    from llm_bridge.models.static_decoder import DECODE_MODES
    if runner.decode not in DECODE_MODES:
        print(f"afd_best_of_n: error: {args.config}: decode must be one of {list(DECODE_MODES)}; "
              f"got {runner.decode!r}", file=sys.stderr)
        return 2
    output_folder(ap, cfg.out)
    settings = {"device": runner.device, "dtype": runner.dtype, "batch_size": runner.batch_size,
                "decode": runner.decode}

    def load_model(path):
        return load_by_name(runner.model, **settings) if path is None else LanguageModel.load(path, **settings)

    report = run(load_model, cfg, load_problems(cfg))
    print(f"classifier held-out accuracy {report['classifier']['held_out']['accuracy']:.3f}, "
          f"agreement with the log-ratio (Spearman) {report['agreement']['spearman_pooled']:.3f}")
    for row in report["best_of_n"]:
        print(f"{row['policy']:5s} {row['selector']:10s} N={row['n']:2d}  exact {row['exact']:.3f}  "
              f"drawn {row['drawn']:.3f} [{row['wilson'][0]:.3f}, {row['wilson'][1]:.3f}]")
    for t in report["power_check"]:
        print(f"power check: oracle vs random pick, {t['policy']} N={t['n']}: {t['diff_exact']:+.3f}, "
              f"Holm p {t['p_sign_flip_holm']:.3g}")
    for family in ("tests", "tests_vs_format"):
        for t in report[family]:
            if t["p_sign_flip_holm"] < 0.05:
                print(f"{t['policy']} {t['selector']} vs {t['against']} N={t['n']}: {t['diff_exact']:+.3f}, "
                      f"Holm p {t['p_sign_flip_holm']:.3g}")
    print(f"report in {cfg.out}/report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
