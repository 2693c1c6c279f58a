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
