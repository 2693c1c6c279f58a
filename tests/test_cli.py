"""The command line: reports, JSON, and one-line errors with non-zero exits."""
import json
import subprocess
import sys

import pytest

from persuasion import examples
from persuasion.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "persuasion", *args], capture_output=True, text=True, timeout=120)


def test_solve_report(tmp_path, capsys):
    path = tmp_path / "pj.json"
    examples.prosecutor_judge().to_json(path)
    assert main(["solve", str(path), "--exact"]) == 0
    out = capsys.readouterr().out
    assert "Optimal Advisor value: 3/5" in out and "3/7" in out and "VALID, exact" in out
    assert "innocent" in out and "convict" in out


@pytest.mark.parametrize("unit", [1e-15, 1e-7, 1e12])
def test_report_shows_a_value_in_small_or_large_units(tmp_path, capsys, unit):
    """The value was printed with six decimals, so 6e-16 read "Optimal Advisor value: 0"; a long exact
    fraction was cut to its first 12 characters ("3/5000000000" for 3/5000000000000000)."""
    from fractions import Fraction
    from persuasion import PersuasionGame
    pj = examples.prosecutor_judge()
    path = tmp_path / "small.json"
    PersuasionGame(pj.prior, [[0, unit], [0, unit]], pj.receiver).to_json(path)
    assert main(["solve", str(path)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Optimal Advisor value:"))
    assert float(line.split(":")[1]) == pytest.approx(0.6 * unit, rel=1e-6)
    assert main(["solve", str(path), "--exact"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Optimal Advisor value:"))
    assert Fraction(line.split(":")[1].split()[0]) == Fraction(3, 5) * Fraction(repr(unit))   # floats read as written


def test_solve_json(tmp_path, capsys):
    path = tmp_path / "pj.json"
    examples.prosecutor_judge().to_json(path)
    assert main(["solve", str(path), "--json", "--exact"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["value"] == "3/5" and d["certificate"]["valid"] and d["scheme"][0][1] == "3/7"


@pytest.mark.parametrize("content, fragment", [
    (None, "cannot read game file"),
    ("{oops", "not valid JSON"),
    ('{"prior": [0.5, 0.4], "sender": [[1], [1]], "receiver": [[1], [1]]}', "prior must sum to 1"),
    ('{"prior": [1], "sender": [[1]]}', "missing required field"),
])
def test_bad_files_one_line_nonzero_exit(tmp_path, content, fragment):
    path = tmp_path / "g.json"
    if content is not None:
        path.write_text(content)
    r = run("solve", str(path))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0]


def test_demo_runs_every_example_then_a_regret_study(tmp_path):
    r = subprocess.run([sys.executable, "-m", "experiments.demo", "--out", str(tmp_path / "study"), "--figures",
                        str(tmp_path / "fig")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("VALID, exact") == len(examples.names())
    assert "outside the theorem" in r.stdout and "within the theorem" in r.stdout
    assert (tmp_path / "fig" / "regret.png").stat().st_size > 1000
    assert len(list((tmp_path / "study" / "results").glob("*.json"))) == 18


def test_demo_and_study_name_an_output_path_that_cannot_be_a_folder(tmp_path):
    """A file given as --figures ended in a FileExistsError traceback after the whole study had run."""
    taken = tmp_path / "taken"
    taken.write_text("")
    r = subprocess.run([sys.executable, "-m", "experiments.demo", "--out", str(tmp_path / "study"), "--figures",
                        str(taken)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--figures" in r.stderr and str(taken) in r.stderr
    assert not (tmp_path / "study" / "results").exists()                 # refused before the study ran
    from experiments.regret_study import main as study
    assert study(["experiments/configs/regret_quick.toml", "--out", str(taken), "--no-progress"]) == 2


def test_examples_listing_and_json():
    assert main(["examples"]) == 0
    r = run("examples", "prosecutor_judge")
    assert json.loads(r.stdout)["actions"] == ["acquit", "convict"]


def test_solve_reads_a_game_piped_into_standard_input():
    """`solve -` reads the game from a pipe (/dev/stdin on a pipe is a FIFO, which the file reader refuses
    by type so that a named pipe with no writer cannot hang it); bad text there gets the same one line."""
    text = examples.load("investment_advice").to_json()
    piped = subprocess.run([sys.executable, "-m", "persuasion", "solve", "-", "--json"], input=text,
                           capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["game"] == json.loads(text)
    bad = subprocess.run([sys.executable, "-m", "persuasion", "solve", "-"], input="oops", capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr == "persuasion: error: game file '<stdin>' is not valid JSON: " \
                                                 "Expecting value at line 1\n"
