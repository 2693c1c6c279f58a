"""The solve benchmarks run end to end on tiny sizes (their numbers are not asserted: speed is reported by
the benchmarks, never tested as a wall-clock limit)."""
import subprocess
from pathlib import Path

import pytest

from benchmarks import bench_conditioning, bench_exact_fallback, bench_simplex_versions, bench_solve

ROOT = Path(__file__).resolve().parents[1]


def test_bench_solve_times_the_exact_simplex_beside_the_basis_resolve(tmp_path, capsys):
    rows = bench_solve.main(["--sizes", "3", "4", "--reps", "1", "--simplex-max", "3",
                             "--json", str(tmp_path / "rows.json")])
    assert [r["size"] for r in rows] == [3, 4] and all(r["valid"] for r in rows)   # valid: same exact value
    assert rows[0]["simplex_seconds"] > 0 and rows[1]["simplex_seconds"] is None
    assert "simplex/exact" in capsys.readouterr().out and (tmp_path / "rows.json").exists()


def test_bench_solve_times_exact_generation_on_mixed_games(capsys):
    rows = bench_solve.main(["--sizes", "3", "5", "--reps", "2", "--kind", "mixed", "--generation-max", "5"])
    assert all(r["valid"] and r["generation_seconds"] > 0 for r in rows)           # valid: same exact value
    assert sum(rows[0]["exact_routes"].values()) == 2
    assert "mixed games" in capsys.readouterr().out


def test_bench_simplex_versions_agrees_with_itself():
    inside_git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode == 0
    if not inside_git:
        pytest.skip("needs a git checkout to read an earlier commit")
    rows = bench_simplex_versions.main(["--old", "HEAD", "--sizes", "3", "4", "--kinds", "int", "uniform"])
    assert len(rows) == 4 and all(r["same_value"] for r in rows)


def test_bench_exact_fallback_times_both_pivot_rules_on_the_same_games(tmp_path, capsys):
    rows, summary = bench_exact_fallback.main(["--seeds", "0", "4", "--states", "2", "3", "--actions", "4", "6",
                                               "--rules", "dantzig", "bland", "--json", str(tmp_path / "r.json")])
    assert [r["seed"] for r in rows] == [0, 1, 2, 3] and summary["certified"] == 4 and summary["refused"] == 0
    assert summary["same_value"]                     # both rules gave solve()'s exact value on every game
    assert sum(summary["routes"].values()) == 4 and "rational-cg" in "".join(summary["routes"])
    assert "x the dantzig rule's" in capsys.readouterr().out and (tmp_path / "r.json").exists()


def test_bench_conditioning_counts_valid_answers_on_tiny_masses_beside_a_commit(capsys):
    inside_git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode == 0
    if not inside_git:
        pytest.skip("needs a git checkout to read an earlier commit")
    rows = bench_conditioning.main(["--tiny-masses", "9", "--reps", "2", "--old", "HEAD"])
    (row,) = rows
    assert row["games"] == 2 and row["new_valid"] == 2 and row["new_raised"] == 0 and 0 <= row["old_valid"] <= 2
    assert row["new_max_error"] <= 1e-6 and row["old_max_error"] <= 1e-6    # valid answers: the exact value
    assert "old valid" in capsys.readouterr().out
