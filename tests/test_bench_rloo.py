"""The RLOO step benchmark runs on the tiny model and reports a time for each step."""
import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")

from benchmarks import bench_rloo  # noqa: E402


def test_tiny_run_times_each_step(tmp_path):
    out = tmp_path / "rloo.json"
    assert bench_rloo.main(["--model", "tiny", "--steps", "2", "--prompts", "2", "--generations", "2",
                            "--new-tokens", "4", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["steps"] == 2 and len(r["step_seconds"]) == 2 and all(s > 0 for s in r["step_seconds"])
    assert r["seconds"] >= sum(r["step_seconds"])


def test_bad_sizes_are_refused():
    with pytest.raises(SystemExit):
        bench_rloo.main(["--generations", "1"])
