"""Build the API reference (HTML) from the docstrings with pdoc.

    python3 -m pip install -e ".[docs]" && python3 docs/build_api.py          # writes docs/api/index.html

Every public module is listed here once; ``build(out)`` is what the test suite runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

MODULES = ["persuasion", "persuasion.online", "persuasion.bounds", "persuasion.approximate", "persuasion.afd",
           "persuasion.analysis", "persuasion.scaling", "persuasion.errors",
           "llm_bridge.models.language_model", "llm_bridge.models.training", "llm_bridge.tasks.problems", "llm_bridge.tasks.checkers",
           "llm_bridge.tasks.sandbox", "llm_bridge.games.review_game", "llm_bridge.games.receiver_models",
           "llm_bridge.models.openai_receiver", "llm_bridge.studies.best_of_n", "llm_bridge.studies.demonstration_rewards",
           "llm_bridge.studies.afd_experiment", "llm_bridge.studies.afd_power",
           "llm_bridge.studies.stats"]


def build(out) -> Path:
    import pdoc
    import pdoc.render
    pdoc.render.configure(docformat="numpy", search=True)
    out = Path(out)
    pdoc.pdoc(*MODULES, output_directory=out)
    return out / "index.html"


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "api"))
