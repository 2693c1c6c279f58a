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
                                  "--bandwidth-gbs", "100", "--peak-tflops", "1", "--profile-batches", "2",
                                  "--json", str(out)]) == 0
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
    assert [(p["path"], p["batch"]) for p in report["profiles"]] == [(p, 2) for p in paths]


def test_floors_count_the_published_shape():
    """Qwen2.5-0.5B has about 494M parameters (tied embeddings); the floors must see that many."""
    f = bench_generation.floors("qwen05", "bfloat16", 1, 512, (4800.0, 989.0))
    assert 0.48e9 < f["params"] < 0.51e9
    assert f["weights_ms"] == pytest.approx(f["params"] * 2 / 4.8e12 * 1e3)


def test_new_tokens_below_two_is_refused(capsys):
    with pytest.raises(SystemExit):
        bench_generation.main(["--new-tokens", "1"])
    assert "--new-tokens must be at least 2" in capsys.readouterr().err


def test_profile_counts_the_fused_products_of_a_decode_step():
    """Our loop fuses the query/key/value and gate/up projections: a decode step multiplies 4 matrices per
    layer and one more for the output head, which the profile of the eager loop must count (operators on
    CPU), prefill excluded."""
    tok, model = bench_generation.build_model("tiny", "float32", "cpu")
    lm = bench_generation.wrap(tok, model, "tiny", "float32", "cpu", "static")
    lm.config.batch_size = 2
    prof = bench_generation.profile_step(lm, ["abcdefgh", "ijklmnop"], 5, "cpu", top=10_000)
    products = sum(t["per_step"] for t in prof["top"] if t["name"] in ("aten::mm", "aten::addmm"))
    assert products == 4 * bench_generation.SHAPES["tiny"]["num_hidden_layers"] + 1
    # the time is a difference of two measurements (its sign is not the code's to promise on a shared CPU)
    assert prof["kind"] == "cpu operators" and prof["events_per_step"] > products
    assert math.isfinite(prof["busy_ms_per_step"])
