"""The DPO benchmark runs both training paths on the tiny model and finds them training the same policy."""
import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")

from benchmarks import bench_dpo  # noqa: E402


def test_tiny_run_times_both_paths_on_the_same_losses(tmp_path):
    out = tmp_path / "dpo.json"
    assert bench_dpo.main(["--model", "tiny", "--steps", "2", "--batch", "3", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert [p["fast"] for p in r["paths"]] == [False, True]
    assert all(p["steps"] == 2 and p["seconds"] > 0 for p in r["paths"])
    assert r["largest_loss_gap"] < 1e-6 and r["speedup"] > 0


def test_bad_sizes_are_refused():
    with pytest.raises(SystemExit):
        bench_dpo.main(["--steps", "0"])
