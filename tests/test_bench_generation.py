"""The generation benchmark runs on CPU with the tiny shape and reports every column it promises."""
import json
import math

import pytest

pytest.importorskip("torch")

from benchmarks import bench_generation


@pytest.mark.slow
def test_cpu_tiny_run_reports_each_setting(tmp_path):
    out = tmp_path / "bench.json"
    paths = list(bench_generation.PATHS)
    assert bench_generation.main(["--device", "cpu", "--shapes", "tiny", "--batches", "1", "2", "--paths", *paths,
                                  "--new-tokens", "4", "--prompt-tokens", "8", "--repeats", "1",
                                  "--bandwidth-gbs", "100", "--peak-tflops", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = report["rows"]
    assert not [r for r in rows if "error" in r]
    assert {(r["path"], r["batch"], r["scored"]) for r in rows} == {(p, b, s) for p in paths
                                                                    for b in (1, 2) for s in (False, True)}
    for r in rows:
        assert math.isfinite(r["ms_per_step"]) and r["peak_mib"] >= 0
        # every path decodes greedily from the same fp32 model: the same ids as the first path
        assert r["same_ids"] == 1.0 and r["reference"] == "generate-dynamic"
        f = r["floors"]
        assert f["weight_bytes"] == 4 * f["params"] and f["weights_ms"] > 0 and f["flops_ms"] > 0
    assert report["versions"]["device"] == "cpu"


def test_floors_count_the_published_shape():
    """Qwen2.5-0.5B has about 494M parameters (tied embeddings); the floors must see that many."""
    f = bench_generation.floors("qwen05", "bfloat16", 1, 512, (4800.0, 989.0))
    assert 0.48e9 < f["params"] < 0.51e9
    assert f["weights_ms"] == pytest.approx(f["params"] * 2 / 4.8e12 * 1e3)


def test_new_tokens_below_two_is_refused(capsys):
    with pytest.raises(SystemExit):
        bench_generation.main(["--new-tokens", "1"])
    assert "--new-tokens must be at least 2" in capsys.readouterr().err
