"""The regret study: config validation, results files, and resumption.

Resumption is tested twice: inside one run (stop part-way, start again from
the checkpoint) and for a whole study process killed with SIGKILL while a run
is half done.  Both must give results identical to an uninterrupted run:
no round lost, none repeated.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from experiments.regret_study import ConfigError, load_config, run_study
from persuasion import examples
from persuasion.online import RobustPersuader, engine, run

ARRAYS = ("expected_utility", "state", "signal", "action", "utility", "obeyed", "bound")


def test_run_resumes_from_checkpoint_without_loss_or_duplication(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK", 1000)
    g = examples.load("investment_advice")
    full = run(g, RobustPersuader(0.05), T=10_000, seed=4)
    ckpt = tmp_path / "run.pkl"
    assert run(g, RobustPersuader(0.05), T=10_000, seed=4, checkpoint=ckpt, checkpoint_every=1000,
               stop_after=4321) is None
    assert ckpt.exists()
    resumed = run(g, RobustPersuader(0.05), T=10_000, seed=4, checkpoint=ckpt, checkpoint_every=1000)
    for name in ARRAYS:
        assert np.array_equal(getattr(resumed, name), getattr(full, name)), name
    assert resumed.resolves == full.resolves
    assert len(resumed.state) == 10_000


def test_checkpoints_append_the_new_rounds_and_cut_back_a_torn_append(tmp_path, monkeypatch):
    """Each checkpoint appends only the rounds since the last one to PATH.rows; rows written after the last
    state file (a crash between the two writes) are cut back on resume, and the run still equals a whole one."""
    monkeypatch.setattr(engine, "CHUNK", 1000)
    g = examples.load("investment_advice")
    full = run(g, RobustPersuader(0.05), T=6_000, seed=2)
    ckpt = tmp_path / "run.pkl"
    sizes, real_save = [], engine._save

    def spy(path, identity, rs, saved_rows):
        rows = real_save(path, identity, rs, saved_rows)
        sizes.append((saved_rows, rows, os.path.getsize(engine.rows_path(path)), os.path.getsize(path)))
        return rows
    monkeypatch.setattr(engine, "_save", spy)
    assert run(g, RobustPersuader(0.05), T=6_000, seed=2, checkpoint=ckpt, checkpoint_every=1000,
               stop_after=3000) is None
    assert [(a, b) for a, b, _, _ in sizes] == [(0, 1000), (1000, 2000), (2000, 3000)]
    assert all(size == b * engine.ROW.itemsize for _, b, size, _ in sizes)       # appended, nothing rewritten
    assert max(state for *_, state in sizes) < 20_000                              # the state file stays small
    with open(engine.rows_path(ckpt), "ab") as fh:                                 # a torn append after it
        fh.write(b"\x01" * (engine.ROW.itemsize * 7 + 3))
    monkeypatch.setattr(engine, "_save", real_save)
    resumed = run(g, RobustPersuader(0.05), T=6_000, seed=2, checkpoint=ckpt, checkpoint_every=1000)
    for name in ARRAYS:
        assert np.array_equal(getattr(resumed, name), getattr(full, name)), name
    assert os.path.getsize(engine.rows_path(ckpt)) == 6_000 * engine.ROW.itemsize


def test_checkpoint_of_another_run_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK", 100)
    g = examples.prosecutor_judge()
    ckpt = tmp_path / "c.pkl"
    run(g, RobustPersuader(), T=1000, seed=1, checkpoint=ckpt, checkpoint_every=100, stop_after=300)
    with pytest.raises(ValueError, match="belongs to another run"):
        run(g, RobustPersuader(), T=1000, seed=2, checkpoint=ckpt)


def test_checkpoint_of_another_learner_is_refused(tmp_path, monkeypatch):
    """Resuming with a different learner used to return the old learner's results silently."""
    monkeypatch.setattr(engine, "CHUNK", 100)
    g = examples.prosecutor_judge()
    ckpt = tmp_path / "c.pkl"
    run(g, RobustPersuader(0.05), T=1000, seed=1, checkpoint=ckpt, checkpoint_every=100, stop_after=300)
    with pytest.raises(ValueError, match="written by learner robust"):
        run(g, RobustPersuader(0.1), T=1000, seed=1, checkpoint=ckpt)
    from persuasion.online import ExploreThenCommit
    with pytest.raises(ValueError, match="not explore-then-commit"):
        run(g, ExploreThenCommit(), T=1000, seed=1, checkpoint=ckpt)


def test_corrupt_checkpoint_names_the_file_and_stale_temporaries_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK", 100)
    g = examples.prosecutor_judge()
    ckpt = tmp_path / "c.pkl"
    run(g, RobustPersuader(), T=1000, seed=1, checkpoint=ckpt, checkpoint_every=100, stop_after=300)
    ckpt.write_bytes(ckpt.read_bytes()[:200])                    # truncated, as by a full disk
    with pytest.raises(ValueError, match=r"checkpoint cannot be read .*delete it.*c\.pkl"):
        run(g, RobustPersuader(), T=1000, seed=1, checkpoint=ckpt)
    ckpt.unlink()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"c.pkl.tmp{int(dead.stdout)}"             # a writer that died mid-write
    stale.write_bytes(b"x" * 1000)
    run(g, RobustPersuader(), T=1000, seed=1, checkpoint=ckpt, checkpoint_every=100)
    assert not stale.exists()


QUICK = {"name": "t", "T": 3000, "seeds": [0, 1], "delta": 0.05, "games": ["prosecutor_judge"],
         "learners": [{"kind": "robust"}, {"kind": "oracle"}], "parallel": {"backend": "sequential", "n_jobs": 1}}


def test_study_writes_results_and_summary(tmp_path):
    summary = run_study(QUICK, tmp_path, progress=False)
    files = sorted(p.name for p in (tmp_path / "results").glob("*.json"))
    assert files == ["prosecutor_judge__oracle__seed0.json", "prosecutor_judge__oracle__seed1.json",
                     "prosecutor_judge__robust__seed0.json", "prosecutor_judge__robust__seed1.json"]
    rows = {r["learner"]: r for r in summary["rows"]}
    assert rows["oracle"]["median_final_regret"] == pytest.approx(0.0, abs=1e-9)
    assert rows["robust"]["median_final_regret"] <= rows["robust"]["bound"]
    assert json.loads((tmp_path / "study.json").read_text())["config"]["T"] == 3000
    # a second start finds everything done and changes nothing
    before = {p: p.read_text() for p in (tmp_path / "results").glob("*.json")}
    run_study(QUICK, tmp_path, progress=False)
    assert {p: p.read_text() for p in (tmp_path / "results").glob("*.json")} == before


def test_study_refuses_a_folder_with_another_config(tmp_path):
    run_study(QUICK, tmp_path, progress=False)
    with pytest.raises(ConfigError, match="another config"):
        run_study({**QUICK, "T": 10}, tmp_path, progress=False)


@pytest.mark.parametrize("change, fragment", [
    ({"T": 0}, "T must be an integer from 1 to 100,000,000"),
    ({"T": 10**12}, "T must be an integer from 1 to 100,000,000"),
    ({"seeds": [0, -1]}, "seeds must be non-negative integers; got -1"),
    ({"seeds": [3, 1, 3]}, "seeds must be distinct (a repeated seed repeats a run); got 3 twice"),
    ({"parallel": {"n_jobs": 0}}, "parallel.n_jobs must be a positive integer; got 0"),
    ({"learners": [{"kind": "robust", "delta": 7}]}, "learners[0].delta must be in (0, 1); got 7"),
    ({"learners": [{"kind": "explore-then-commit", "explore_rounds": 0}]}, "learners[0].explore_rounds must be"),
    ({"learners": [{"kind": "action-informed", "shrink": 1.5}]}, "learners[0].shrink must be in (0, 1]; got 1.5"),
    ({"seeds": []}, "seeds must be a non-empty list"),
    ({"delta": 2}, "delta must be in (0, 1)"),
    ({"learners": [{"kind": "magic"}]}, "learners[0].kind must be one of"),
    ({"games": ["no_such_game"]}, "neither a bundled example"),
    ({"parallel": {"backend": "mpi"}}, "parallel.backend must be one of"),
    ({"Tt": 5}, "unknown key 'Tt'"),                                    # a typo is an error, not ignored
    ({"T": "3000"}, "T must be an integer"),
    ({"T": True}, "T must be an integer"),
    ({"seeds": [0, "1"]}, "seeds[1] must be an integer"),
    ({"parallel": {"n_job": 2}}, "unknown key 'parallel.n_job'"),
    ({"learners": [{"kind": "robust", "detla": 0.1}]}, "unknown key 'learners[0].detla'"),
])
def test_bad_configs(change, fragment):
    with pytest.raises(ConfigError) as info:
        load_config({**QUICK, **change})
    assert fragment in str(info.value)


@pytest.mark.parametrize("change, fragment", [({"T": 2.5}, "T must be an integer"), ({"T": True}, "T must be an integer"),
                                              ({"seeds": [0, 1.5]}, "seeds must be non-negative integers; got 1.5"),
                                              ({"checkpoint_every": 0.5}, "checkpoint_every must be a positive")])
def test_a_config_built_in_python_is_checked_as_a_file_is(change, fragment):
    """load_config takes a StudyConfig as it is: built in Python, T = 2.5 passed 1 <= T and the study
    started, to fail in every run's own check."""
    from experiments.regret_study import LearnerSpec, StudyConfig
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        StudyConfig(**{"T": 100, "seeds": [0], "games": ["prosecutor_judge"], "learners": [LearnerSpec("robust")],
                       **change})


def test_a_config_takes_what_the_learner_takes():
    """shrink = 1 (the whole box) is the action-informed learner's own limit; the config refused it."""
    cfg = load_config({**QUICK, "learners": [{"kind": "action-informed", "shrink": 1.0}]})
    assert cfg.learners[0].shrink == 1.0


def test_a_bad_value_in_a_file_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text('T = 100\nseeds = [0]\ngames = ["prosecutor_judge"]\n[[learners]]\nkind = "robust"\n'
                    '[parallel]\nn_jobs = 0\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "parallel.n_jobs must be a positive integer; got 0" in str(info.value)


def test_missing_config_field_and_file(tmp_path):
    with pytest.raises(ConfigError, match="missing required key 'learners'"):
        load_config({k: v for k, v in QUICK.items() if k != "learners"})
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.toml")


KILL_CONFIG = """
name = "kill"
T = 600000
seeds = [0, 1]
delta = 0.05
checkpoint_every = 32768
games = ["investment_advice"]
[[learners]]
kind = "robust"
[parallel]
backend = "sequential"
n_jobs = 1
"""


def _results(folder: Path) -> dict:
    out = {}
    for p in sorted((folder / "results").glob("*.json")):
        d = json.loads(p.read_text())
        d.pop("seconds")
        out[p.name] = d
    return out


def test_killed_study_resumes_to_identical_results(tmp_path):
    cfg = tmp_path / "kill.toml"
    cfg.write_text(KILL_CONFIG)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    cmd = [sys.executable, "-m", "experiments.regret_study", str(cfg), "--no-progress", "--out"]
    subprocess.run(cmd + [str(clean)], check=True, capture_output=True, timeout=600)
    proc = subprocess.Popen(cmd + [str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    saw_checkpoint = False
    deadline = time.time() + 300
    while proc.poll() is None and time.time() < deadline:
        if list((killed / "checkpoints").glob("*.pkl")) if (killed / "checkpoints").exists() else []:
            saw_checkpoint = True
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=60)
    assert saw_checkpoint, "the study finished before a checkpoint could be interrupted"
    assert len(list((killed / "results").glob("*.json"))) < 2
    subprocess.run(cmd + [str(killed)], check=True, capture_output=True, timeout=600)
    assert _results(killed) == _results(clean)
    assert not list((killed / "checkpoints").glob("*"))          # state files, rows files and temporaries
    for d in _results(killed).values():
        assert d["T"] == 600000


def test_config_errors_name_the_file(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text('T = 100\nseeds = [0]\ngames = ["prosecutor_judge"]\nlerners = []\n')
    with pytest.raises(ConfigError, match=r"config '.*study.toml': unknown key 'lerners'"):
        load_config(path)


def test_every_shipped_study_config_loads():
    for path in sorted(Path("experiments/configs").glob("regret_*.toml")):
        cfg = load_config(path)
        assert cfg.T >= 1 and cfg.learners


def test_every_shipped_review_config_loads_strictly(tmp_path):
    from experiments.llm_review import load_review_config
    from llm_bridge.models.language_model import ENGINES
    shipped = Path("experiments/configs")
    for path in [p for kind in ("review", "draft", "pair") for p in sorted(shipped.glob(f"{kind}_*.toml"))]:
        run_on, cfg = load_review_config(path)
        assert cfg.n_evaluation >= 1 and run_on.receiver
        assert run_on.engine in ENGINES
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nn_evalution = 10\n')
    with pytest.raises(ConfigError, match="unknown key 'n_evalution'"):
        load_review_config(bad)
    bad.write_text('n_evaluation = "ten"\n')
    with pytest.raises(ConfigError, match="n_evaluation must be an integer"):
        load_review_config(bad)


def _descendants(pid: int) -> set[int]:
    """Processes below ``pid`` (from /proc), found while it runs."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_stop_when_the_study_is_killed(tmp_path):
    """After SIGKILL of a loky study's main process its workers used to run on, writing checkpoints."""
    cfg = tmp_path / "kill.toml"
    long_runs = KILL_CONFIG.replace("T = 600000", "T = 8000000")          # each run takes well over 10 s
    cfg.write_text(long_runs.replace('backend = "sequential"\nn_jobs = 1', 'backend = "loky"\nn_jobs = 2'))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "experiments.regret_study", str(cfg), "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    workers = set()
    while proc.poll() is None and time.time() < deadline:
        workers |= _descendants(proc.pid)
        if (out / "checkpoints").exists() and list((out / "checkpoints").glob("*.pkl")):
            workers |= _descendants(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=60)
    assert workers, "the study started no worker process"
    for _ in range(100):                           # the watchdog polls every 0.5 s
        alive = {p for p in workers if _alive(p)}
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, f"worker processes {sorted(alive)} outlived the killed study"
    leftovers = [p.name for d in ("checkpoints", "results") for p in (out / d).glob("*.tmp*")]
    assert not leftovers, f"temporary files left behind: {leftovers}"

    def state():
        files = list((out / "checkpoints").glob("*")) + list((out / "results").glob("*"))
        return sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.exists())

    time.sleep(3)                                  # the watchdog polls every 0.5 s
    before = state()
    time.sleep(4)
    assert state() == before, "a worker kept writing after the study was killed"


def test_every_shipped_afd_config_loads_strictly(tmp_path):
    from experiments.afd_best_of_n import load_afd_config
    for path in sorted(Path("experiments/configs").glob("afd_*.toml")):
        runner, cfg = load_afd_config(path)
        assert cfg.n_test >= (100 if cfg.task == "gsm_symbolic" else 50) and cfg.ns[-1] <= cfg.pool_size
        assert runner.model
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\npool_sise = 8\n')
    with pytest.raises(ConfigError, match="unknown key 'pool_sise'"):
        load_afd_config(bad)
    bad.write_text('pool_size = 4\nns = [1, 8]\n')
    r = subprocess.run([sys.executable, "-m", "experiments.afd_best_of_n", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "ns must be increasing" in r.stderr and "Traceback" not in r.stderr
    # the format-blind route's variants: a list of tables, each read strictly
    bad.write_text('rkl_pool_size = 2\nrkl_no_format = true\nrkl_no_format_variants = [{learning_rate = 3e-5}]\n')
    (variant,) = load_afd_config(bad)[1].rkl_no_format_variants
    assert variant.learning_rate == 3e-5 and variant.steps is None and variant.name() == "rkl_nf_lr3e-05"
    bad.write_text('rkl_pool_size = 2\nrkl_no_format = true\nrkl_no_format_variants = [{step = 80}]\n')
    with pytest.raises(ConfigError, match="unknown key 'rkl_no_format_variants\\[0\\].step'"):
        load_afd_config(bad)
    bad.write_text('decode = "fast"\n')
    r = subprocess.run([sys.executable, "-m", "experiments.afd_best_of_n", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "decode must be one of" in r.stderr and "'fast'" in r.stderr and str(bad) in r.stderr


@pytest.mark.parametrize("backend", ["dask", "ray"])
def test_study_on_a_real_cluster_equals_the_sequential_run(tmp_path, backend):
    """The study runs on a local dask.distributed cluster / a local ray cluster (two worker processes) and
    writes the same results as a sequential run of the same config."""
    pytest.importorskip("dask.distributed" if backend == "dask" else "ray")
    run_study(QUICK, tmp_path / "seq", progress=False)
    cfg = {**QUICK, "parallel": {"backend": backend, "n_jobs": 2}}
    run_study(cfg, tmp_path / backend, progress=False)
    def result(path):
        return {k: v for k, v in json.loads(path.read_text()).items() if k != "seconds"}
    files = sorted((tmp_path / "seq" / "results").glob("*.json"))
    assert len(files) == 4
    for p in files:
        assert result(tmp_path / backend / "results" / p.name) == result(p)


def test_a_failed_atomic_write_leaves_no_temporary_file(tmp_path):
    from persuasion.atomic import _IN_FLIGHT, write_atomic
    target = tmp_path / "x.json"
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")                 # fails inside the write
    assert list(tmp_path.iterdir()) == [] and not _IN_FLIGHT
    write_atomic(target, b"ok")
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"] and not _IN_FLIGHT


EXIT_DURING_A_WRITE = """
import os, sys, threading, time
from persuasion import atomic
slow_fsync = os.fsync
def fsync(fd):                      # the write in progress is still in flight for a second
    time.sleep(1.0)
    slow_fsync(fd)
os.fsync = fsync
target = sys.argv[1]
threading.Thread(target=atomic.write_atomic, args=(target, b"done")).start()
while not atomic._IN_FLIGHT:        # the writer has begun
    time.sleep(0.001)
atomic.exit_now(3)
"""


def test_exit_now_lets_a_write_in_progress_finish_and_leaves_no_temporary_file(tmp_path):
    """A worker's watchdog ends the process from another thread while the main thread writes a checkpoint:
    the write finishes (the file holds it whole) and no temporary file is left (removing the temporaries
    and then exiting left a window for one to be created, a CI run found one)."""
    target = tmp_path / "ckpt.pkl"
    r = subprocess.run([sys.executable, "-c", EXIT_DURING_A_WRITE, str(target)], capture_output=True, text=True,
                       timeout=60, cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 3, r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pkl"] and target.read_bytes() == b"done"


def test_a_count_below_one_on_a_command_line_is_refused_as_it_is_read(capsys, tmp_path):
    """Counts on the study scripts' command lines are read by one argparse type: ``--n 0`` or ``--T 2.5``
    stops with exit 2 naming the flag, before a model loads or a study runs (they used to end in an
    IndexError or a ValueError traceback, some after the model had loaded)."""
    import importlib

    from experiments.config import positive_int
    assert positive_int("3") == 3 and positive_int(" 12 ") == 12
    out = str(tmp_path / "o")
    for module, argv, flag in (("belief_probe", ["--out", out, "--n", "0"], "--n"),
                               ("llm_calibration", ["--out", out, "--n", "-3"], "--n"),
                               ("delta_robust", ["--out", out, "--T", "0"], "--T"),
                               ("regret_random_games", ["--games", "0"], "--games"),
                               ("regret_random_games", ["--T", "2.5"], "--T"),
                               ("hint_values", ["--out", out, "--max-new-tokens", "0"], "--max-new-tokens"),
                               ("afd_pilot", ["--shape", "2,1,1.0", "--samples", "0"], "--samples")):
        with pytest.raises(SystemExit) as stop:
            importlib.import_module(f"experiments.{module}").main(argv)
        err = capsys.readouterr().err
        assert stop.value.code == 2 and f"argument {flag}: must be an integer >= 1" in err, (module, err)
    with pytest.raises(SystemExit) as stop:                      # the config's own rule, before the model loads
        importlib.import_module("experiments.belief_probe").main(["--out", out, "--n", "1", "--receiver", "none"])
    assert stop.value.code == 2 and "n_problems must be an integer >= 2" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_tiny_model_has_no_gguf_for_the_llama_engine():
    from llm_bridge.models.language_model import load_by_name
    with pytest.raises(ValueError, match="'tiny' is built in memory for the transformers engine"):
        load_by_name("tiny", engine="llama.cpp")


@pytest.mark.parametrize("argv", [
    ["belief_probe", "--receiver", "no-such-model", "--out", "{taken}"],
    ["hint_values", "--receiver", "no-such-model", "--n", "2", "--pool", "30", "--out", "{taken}"],
    ["verdict_value", "--receiver", "no-such-model", "--n", "2", "--out", "{taken}"],
    ["llm_calibration", "--receiver", "no-such-model", "--out", "{taken}"],
    ["llm_review", "experiments/configs/review_gsm_smollm2.toml", "--out", "{taken}"],
    ["online_llm", "experiments/configs/online_smoke.toml", "--out", "{taken}"],
    ["afd_best_of_n", "experiments/configs/afd_gsm_smollm2.toml", "--out", "{taken}"],
    ["delta_robust", "--T", "10", "--out", "{taken}"],
], ids=lambda argv: argv[0])
def test_a_study_refuses_an_output_path_that_is_a_file_before_any_model_loads(tmp_path, capsys, argv):
    """It ended in FileExistsError or NotADirectoryError tracebacks, some after the model had loaded and run
    (a model named 'no-such-model' would fail to load first if loading came before the check)."""
    import importlib
    taken = tmp_path / "taken"
    taken.write_text("")
    module = importlib.import_module(f"experiments.{argv[0]}")
    with pytest.raises(SystemExit) as stop:
        module.main([a.replace("{taken}", str(taken)) for a in argv[1:]])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--out" in err and "cannot be used as a folder" in err and str(taken) in err


def test_engine_agreement_names_a_damaged_log_in_one_line(tmp_path, capsys):
    """A whole line of the replayed log that is not a record ended in a JSONDecodeError traceback."""
    import gzip

    from experiments.engine_agreement import main
    with gzip.open(tmp_path / "generations.jsonl.gz", "wt") as fh:
        fh.write('{"key": "a"}\n{"key": \n')
    assert main([str(tmp_path), "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "generations.jsonl.gz record 2 (its non-empty lines, from 1) is not JSON" in err
