"""Every figure of the docs from one command, from the results saved under ``docs/results``.

    python -m paper_figures                      # into figures/ (PNG and PDF)
    python -m paper_figures --out docs/figures   # what the docs show

Each figure is drawn from saved results, never by re-running a study; a figure whose results are not
saved is listed as skipped with the command that makes them, and the exit status is 1 if any figure
failed or was skipped.  The results are read from this checkout's ``docs/results`` wherever the command
is run from (read relative to the working folder, every figure was skipped outside the checkout's root).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
RESULTS = CHECKOUT / "docs" / "results"
REVIEWS = ("review_gsm_qwen05", "review_gsm_qwen15_gpu", "review_gsm_smollm2", "review_humaneval_qwen05",
           "review_gsm_qwen05_llama", "review_gsm_qwen05_llama_decision", "draft_gsm_qwen15_llama",
           "pair_gsm_qwen15_llama", "pair_humaneval_qwen05_served", "review_gsm_qwen15_llama",
           "review_gsm_qwen15_llama_decision", "review_humaneval_qwen05_llama", "review_humaneval_qwen15_llama",
           "review_gsm_qwen15_llama_300")


def _concave_closure(out):
    from . import fig_concave_closure
    game, sol = fig_concave_closure.load_solution(None, None)
    return fig_concave_closure.draw(game, sol, out)


def _kl_fits(out):
    from . import fig_kl_fits
    return fig_kl_fits.draw(out)


def _regret(name):
    def make(out):
        from . import fig_regret
        return fig_regret.draw(RESULTS / name, out, stem=name)
    make.needs = RESULTS / name / "results"
    make.how = f"python -m experiments.regret_study experiments/configs/{name}.toml --out docs/results/{name}"
    return make


def _delta_robust(out):
    from . import fig_delta_robust
    return fig_delta_robust.draw(RESULTS / "delta_robust", out)


_delta_robust.needs = RESULTS / "delta_robust" / "delta_robust.json"
_delta_robust.how = "python -m experiments.delta_robust --out docs/results/delta_robust"


def _review(name):
    def make(out):
        from . import fig_llm_review
        return fig_llm_review.draw([RESULTS / name / "report.json"], out, stem=f"llm_{name}")
    make.needs = RESULTS / name / "report.json"
    make.how = f"python -m experiments.llm_review experiments/configs/{name}.toml --out docs/results/{name}"
    return make


def _afd(name, stem):
    def make(out):
        from . import fig_afd_best_of_n
        return fig_afd_best_of_n.draw(json.loads(make.needs.read_text()), out, stem=stem)
    make.needs = RESULTS / name / "report.json"
    make.how = f"python -m experiments.afd_best_of_n experiments/configs/{name}.toml --out docs/results/{name}"
    return make

def _online(name):
    def make(out):
        from . import fig_online_llm
        return fig_online_llm.draw([RESULTS / "online" / name / "report.json"], out, stem=f"online_{name}")
    make.needs = RESULTS / "online" / name / "report.json"
    make.how = f"python -m experiments.online_llm experiments/configs/online_{name}.toml --out docs/results/online/{name}"
    return make


ONLINE = ("gsm_qwen05", "gsm_qwen15")
BELIEF_PROBES = ("belief_probe_qwen05", "belief_probe_qwen15")


def _belief_probe(out):
    from . import fig_belief_probe
    saved = [RESULTS / n / "report.json" for n in BELIEF_PROBES if (RESULTS / n / "report.json").exists()]
    return fig_belief_probe.draw(saved, out)


_belief_probe.needs = RESULTS / BELIEF_PROBES[0] / "report.json"
_belief_probe.how = "python -m experiments.belief_probe --receiver qwen05 --out docs/results/belief_probe_qwen05"

FIGURES = {"concave_closure": _concave_closure, "kl_fits": _kl_fits,
           "regret_default": _regret("regret_default"), "regret_actions": _regret("regret_actions"),
           "delta_robust": _delta_robust, **{f"llm_{n}": _review(n) for n in REVIEWS},
           "afd_best_of_n": _afd("afd_gsm_smollm2", "afd_best_of_n"),
           "afd_chain_sum_smollm2": _afd("afd_chain_sum_smollm2", "afd_chain_sum_smollm2"),
           **{f"online_{n}": _online(n) for n in ONLINE}, "belief_probe": _belief_probe}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="draw every figure of the docs from saved results")
    ap.add_argument("--out", default="figures", help="output folder (default: figures/)")
    ap.add_argument("--only", nargs="*", choices=sorted(FIGURES), help="draw only these figures")
    args = ap.parse_args(argv)
    bad = 0
    for name in args.only or FIGURES:
        make = FIGURES[name]
        needs = getattr(make, "needs", None)
        if needs is not None and not needs.exists():
            print(f"{name}: skipped, {needs} is not saved; make it with (in {CHECKOUT}): {make.how}")
            bad += 1
            continue
        try:
            paths = make(Path(args.out))
        except Exception as e:                  # one broken figure must not hide the others
            print(f"{name}: failed: {type(e).__name__}: {e}")
            bad += 1
            continue
        print(f"{name}: " + ", ".join(str(p) for p in paths))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
