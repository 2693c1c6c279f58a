"""``pytest --core``: the exact core's tests alone, on a machine without torch or the LLM stack.

Installed with ``pip install -e ".[test-core]"`` (no torch, transformers or llama.cpp), the core's
tests run as ``python3 -m pytest --core``.  A test file belongs to the core when its text names none of
the LLM half (:data:`BRIDGE`); the core package's doctests and the README's belong too.  Without the
option nothing changes: the whole suite is collected, so a missing LLM dependency fails loudly there
instead of being skipped here.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent
#: What marks a test file as part of the LLM half (or of the runners and figures above the core).
BRIDGE = re.compile(r"llm_bridge|torch|transformers|llama_cpp|experiments|paper_figures")


def pytest_addoption(parser):
    parser.addoption("--core", action="store_true",
                     help="run the exact core's tests only (they need no torch or LLM package)")


def is_core(path: Path) -> bool:
    """Whether ``path`` (a file or folder pytest is about to collect) is part of the core's test run."""
    path = Path(path).resolve()
    try:
        rel = path.relative_to(ROOT)
    except ValueError:
        return False
    parts = rel.parts
    if parts in ((), ("tests",), ("README.md",)) or parts[0] == "persuasion":
        return True
    if parts[0] == "tests" and len(parts) == 2:
        return rel.name == "conftest.py" or (rel.suffix == ".py" and not BRIDGE.search(path.read_text()))
    return False


def pytest_ignore_collect(collection_path, config):
    if config.getoption("--core") and not is_core(collection_path):
        return True
    return None
