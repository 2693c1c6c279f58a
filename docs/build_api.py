"""Build the API reference (HTML) from the docstrings with pdoc.

    python3 -m pip install -e ".[docs]" && python3 docs/build_api.py          # writes docs/api/index.html

Every public module is listed here once; ``build(out)`` is what the test suite runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

MODULES = ["persuasion", "persuasion.online", "persuasion.bounds", "persuasion.approximate", "persuasion.afd",
           "persuasion.analysis", "persuasion.scaling", "persuasion.errors",
           "llm_bridge.models", "llm_bridge.training", "llm_bridge.tasks", "llm_bridge.checkers",
           "llm_bridge.sandbox", "llm_bridge.review_game", "llm_bridge.receiver_models",
           "llm_bridge.openai_receiver", "llm_bridge.best_of_n", "llm_bridge.demonstration_rewards",
           "llm_bridge.afd_experiment", "llm_bridge.stats"]


def build(out) -> Path:
    import pdoc
    import pdoc.render
    pdoc.render.configure(docformat="numpy", search=True)
    out = Path(out)
    pdoc.pdoc(*MODULES, output_directory=out)
    return out / "index.html"


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "api"))
