"""Choose an AfD task a policy is neither at the floor nor at the ceiling of: per-sample accuracy on chain sums.

    python -m experiments.afd_pilot --model smollm2 --problems 16 --samples 4 \\
        --shape 3,2,1.0 --shape 4,2,1.0 --shape 3,1,1.0 --shape 2,2,1.0 --shape 2,2,0.7 --shape 3,1,0.7 --shape 2,1,1.0

Each ``--shape TERMS,DIGITS,TEMPERATURE`` samples ``--samples`` completions of ``--problems`` chain sums (up to
TERMS terms of up to DIGITS digits, drawn with ``--seed``, another seed than the run's) with the AfD prompt, and
prints the share right (math-verify on the last number), the mean length, the share cut at ``--max-new-tokens``
and the share in the ``####`` format.  docs/afd_results.md reports the pilot that chose the chain-sum run.
"""
from __future__ import annotations

import argparse
import sys


def pilot(lm, terms: int, digits: int, temperature: float, problems: int, samples: int, seed: int,
          max_new_tokens: int) -> dict:
    """One shape's per-sample figures for the LanguageModel ``lm``."""
    import numpy as np
    from llm_bridge.models.language_model import SamplingConfig
    from llm_bridge.studies.afd_experiment import AfdConfig, golden, prompt_of
    from llm_bridge.studies.demonstration_rewards import format_reward
    from llm_bridge.tasks.problems import chain_sum
    cfg = AfdConfig(task="chain_sum", chain_max_terms=terms, chain_max_digits=digits)
    probs = chain_sum(problems, seed=seed, max_terms=terms, max_digits=digits)
    prompts = [prompt_of(p, cfg) for p in probs for _ in range(samples)]
    gens = lm.generate_scored(prompts, SamplingConfig(max_new_tokens=max_new_tokens, temperature=temperature,
                                                      seed=1))
    right = [golden(probs[i // samples], g.text, "flexible") for i, g in enumerate(gens)]
    n_tokens = np.array([g.n_tokens for g in gens])
    return {"terms": terms, "digits": digits, "temperature": temperature, "n": len(gens),
            "right": int(sum(right)), "accuracy": float(np.mean(right)), "mean_tokens": float(n_tokens.mean()),
            "cut": float(np.mean(n_tokens >= max_new_tokens)),
            "format": float(format_reward([g.text for g in gens], "chain_sum").mean())}


def main(argv=None) -> int:
    from .config import positive_int
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--shape", action="append", required=True, metavar="TERMS,DIGITS,TEMPERATURE")
    ap.add_argument("--problems", type=positive_int, default=16)
    ap.add_argument("--samples", type=positive_int, default=4)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--max-new-tokens", type=positive_int, default=96)
    args = ap.parse_args(argv)
    shapes = []
    for text in args.shape:
        try:
            t, d, temp = text.split(",")
            shapes.append((int(t), int(d), float(temp)))
        except ValueError:
            ap.error(f"--shape must be TERMS,DIGITS,TEMPERATURE (e.g. 2,2,0.7); got {text!r}")
    from llm_bridge.models.language_model import load_by_name
    lm = load_by_name(args.model, device="cpu", dtype="float32", batch_size=64)
    for terms, digits, temp in shapes:
        r = pilot(lm, terms, digits, temp, args.problems, args.samples, args.seed, args.max_new_tokens)
        print(f"terms<={terms} digits<={digits} temperature {temp}: {r['right']}/{r['n']} right "
              f"({r['accuracy']:.0%}), mean {r['mean_tokens']:.1f} tokens, cut {r['cut']:.0%}, "
              f"format {r['format']:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
