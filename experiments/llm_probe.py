"""Probe: is SmolLM2-135M above zero on a task, with and without a hint?

    python -m experiments.llm_probe      # about 3 minutes on 2 cores

Greedy decoding, 160 new tokens, 12 problems per task; maths checked with
strict and flexible extraction, code with HumanEval's tests in the sandbox.
This is how docs/llm_results.md chose which information items the games use.
"""
from __future__ import annotations


def receiver_prompt(problem, sheet: str | None) -> str:
    """The prompt of the retired relevant-document game (the probe's record keeps it as it was run)."""
    head = f"{sheet}\n\n" if sheet else ""
    if problem.task == "humaneval":
        return head + problem.prompt
    return f"{head}Problem: {problem.prompt}\nSolve it and give the final answer after '####'."


def main() -> None:
    from llm_bridge.tasks.checkers import check
    from llm_bridge.models.language_model import LanguageModel, ModelConfig, SamplingConfig, smollm2_gguf
    from llm_bridge.tasks.problems import gsm_symbolic, humaneval
    lm = LanguageModel.load(ModelConfig(smollm2_gguf(), cache_dir="results/cache/smollm2", batch_size=6))
    cfg = SamplingConfig(max_new_tokens=160)
    g = gsm_symbolic(12, seed=0)
    for label, sheet in (("alone", lambda p: None), ("with first-step hint", lambda p: "Hint: " + p.items["first_step"])):
        outs = lm.generate([receiver_prompt(p, sheet(p)) for p in g], cfg)
        print(f"GSM-Symbolic {label}: strict {sum(check(p, o).correct for p, o in zip(g, outs))}/12, flexible "
              f"{sum(check(p, o, 'flexible').correct for p, o in zip(g, outs))}/12", flush=True)
    h = humaneval(12)
    for label, suffix in (("alone", lambda p: ""),
                          ("with a test example", lambda p: "\n    # For example: " + p.items["test_example"] + "\n")):
        outs = lm.generate([p.prompt + suffix(p) for p in h], cfg)
        print(f"HumanEval {label}: {sum(check(p, o).correct for p, o in zip(h, outs))}/12", flush=True)


if __name__ == "__main__":
    main()
