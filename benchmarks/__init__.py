"""Benchmarks of the package's costs and speed-ups (docs/performance.md), and what they share."""
from __future__ import annotations

import json
from pathlib import Path


def write_json(report, path) -> None:
    """Write a benchmark's results to ``path`` as indented JSON (folders made as needed; numpy scalars as
    floats); nothing when ``path`` is empty or None (no ``--out`` given)."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(report, indent=1, default=float))
