"""Figure scripts run end to end and write non-empty PNG and PDF files."""
import json

from paper_figures import fig_concave_closure
from persuasion import examples, solve


def test_concave_closure_figure_default(tmp_path):
    paths = fig_concave_closure.main(["--out", str(tmp_path)])
    assert {p.suffix for p in paths} == {".png", ".pdf"}
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_concave_closure_figure_from_saved_solution(tmp_path):
    sol = solve(examples.load("single_belief_middle"), exact=True)
    path = tmp_path / "sol.json"
    path.write_text(json.dumps(sol.to_dict()))
    paths = fig_concave_closure.main(["--solution", str(path), "--out", str(tmp_path / "f")])
    assert all(p.exists() for p in paths)


def test_regret_figure_from_a_saved_study(tmp_path):
    from experiments.regret_study import run_study
    from paper_figures import fig_regret
    cfg = {"name": "fig", "T": 2000, "seeds": [0, 1], "games": ["prosecutor_judge", "single_belief_middle"],
           "learners": [{"kind": "robust"}, {"kind": "oracle"}], "parallel": {"backend": "sequential"}}
    run_study(cfg, tmp_path / "study", progress=False)
    paths = fig_regret.main(["--results", str(tmp_path / "study"), "--out", str(tmp_path / "fig")])
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)


def _pngs_written(paths):
    paths = list(paths)
    return [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)


def test_kl_fits_figure(tmp_path):
    import pytest
    pytest.importorskip("cvxpy")
    from paper_figures import fig_kl_fits
    assert _pngs_written(fig_kl_fits.draw(tmp_path))


def test_delta_robust_figure_from_saved_results(tmp_path):
    from experiments.delta_robust import compute
    from paper_figures import fig_delta_robust
    (tmp_path / "delta_robust.json").write_text(json.dumps(compute(T=2000, seeds=(0,))))
    assert _pngs_written(fig_delta_robust.draw(tmp_path, tmp_path / "fig"))
