"""Regret study: learners x games x seeds, in parallel, resumable.

    python -m experiments.regret_study experiments/configs/regret_default.toml --out results/regret
    python -m paper_figures.fig_regret --results results/regret --out figures/

The config (TOML) names the games (bundled names or JSON paths), the learners,
``T``, the seeds and ``delta`` (see ``experiments/configs/``).  Every run
(game, learner, seed) is a task executed through joblib (processes by
default; ``backend = "dask"`` or ``"ray"`` sends tasks to a cluster when the
package and a client are available).  Each finished task is written at once
to ``OUT/results/<game>__<learner>__seed<k>.json`` (atomically); a task in
progress checkpoints its state to ``OUT/checkpoints/``.  Starting the study
again skips finished tasks and resumes unfinished ones from their
checkpoints, so an interruption loses and duplicates no rounds.
``OUT/study.json`` records the config, the package version and the start
time; ``OUT/summary.json`` the final regret and fitted log-log slope of every
(game, learner).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from persuasion.atomic import exit_now, write_atomic
from persuasion.errors import is_integer
from persuasion.online import (ActionInformedPersuader, ExploreThenCommit, FullRevelation, KnownPriorOracle,
                               RobustPersuader)

from .config import ConfigError, positive_int

#: Learner kinds a config may name, each with how it is built from its (filled-in) spec.
LEARNERS = {
    "robust": lambda s: RobustPersuader(delta=s["delta"]),
    "robust-unguarded": lambda s: RobustPersuader(delta=s["delta"], guard=False),
    "robust-every-round": lambda s: RobustPersuader(delta=s["delta"], schedule="every-round"),
    "action-informed": lambda s: ActionInformedPersuader(delta=s["delta"], shrink=s["shrink"], check=s["check"]),
    "explore-then-commit": lambda s: ExploreThenCommit(s["explore_rounds"]),
    "full-revelation": lambda s: FullRevelation(),
    "oracle": lambda s: KnownPriorOracle(),
}
LEARNER_KINDS = tuple(LEARNERS)
BACKENDS = ("loky", "threading", "sequential", "dask", "ray")


#: Longest horizon a study accepts: a run's trace keeps a few numbers per round (about 40 bytes).
MAX_T = 100_000_000


@dataclass(frozen=True)
class Task:
    game: str
    learner: "LearnerSpec"
    seed: int

    @property
    def key(self) -> str:
        return f"{Path(self.game).stem}__{self.learner.kind}__seed{self.seed}"


@dataclass(frozen=True)
class LearnerSpec:
    """One learner of a study (``kind`` from :data:`LEARNER_KINDS`; the other keys are its settings)."""

    kind: str
    delta: float | None = None           # the learner's delta (default: the study's)
    explore_rounds: int | None = None    # explore-then-commit
    shrink: float = 0.25                 # action-informed
    check: int = 64                      # action-informed

    def settings(self) -> dict:
        """The spec as the study's files write it: ``kind`` and the settings that are not None."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def __post_init__(self):
        if self.kind not in LEARNER_KINDS:
            raise ConfigError(f"config: kind must be one of {LEARNER_KINDS}; got {self.kind!r}")
        if self.delta is not None and not 0 < self.delta < 1:
            raise ConfigError(f"config: delta must be in (0, 1); got {self.delta!r}")
        if self.explore_rounds is not None and not is_integer(self.explore_rounds, minimum=1):
            raise ConfigError(f"config: explore_rounds must be a positive integer; got {self.explore_rounds!r}")
        if not 0 < self.shrink <= 1:                 # the learner's own domain: 1 keeps the whole box
            raise ConfigError(f"config: shrink must be in (0, 1]; got {self.shrink!r}")
        if not is_integer(self.check, minimum=1):
            raise ConfigError(f"config: check must be a positive integer; got {self.check!r}")


@dataclass(frozen=True)
class ParallelSpec:
    backend: str = "loky"                # loky (processes), threading, sequential, dask or ray
    n_jobs: int = 1
    address: str | None = None           # dask scheduler ("tcp://host:8786") or ray cluster ("auto", "ray://...");
                                         # None starts a local cluster of n_jobs workers

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ConfigError(f"config: backend must be one of {BACKENDS}; got {self.backend!r}")
        if not is_integer(self.n_jobs, minimum=1):
            raise ConfigError(f"config: n_jobs must be a positive integer; got {self.n_jobs!r}")


@dataclass(frozen=True)
class StudyConfig:
    """A regret study: every (game, learner, seed) is one run of ``T`` rounds."""

    T: int
    seeds: list[int]
    games: list[str]                     # bundled example names or game JSON files
    learners: list[LearnerSpec]
    name: str = "regret_study"
    delta: float = 0.05                  # failure probability of the bound (and of the robust boxes)
    checkpoint_every: int = 262_144
    parallel: ParallelSpec = ParallelSpec()

    def __post_init__(self):
        if not is_integer(self.T, minimum=1) or self.T > MAX_T:
            raise ConfigError(f"config: T must be an integer from 1 to {MAX_T:,} (a run keeps about 40 bytes a "
                              f"round); got {self.T!r}")
        if not self.seeds:
            raise ConfigError(f"config: seeds must be a non-empty list of integers; got {self.seeds!r}")
        bad = [s for s in self.seeds if not is_integer(s, minimum=0)]
        if bad:
            raise ConfigError(f"config: seeds must be non-negative integers; got {bad[0]!r}")
        if len(set(self.seeds)) != len(self.seeds):
            twice = sorted({s for s in self.seeds if self.seeds.count(s) > 1})
            raise ConfigError(f"config: seeds must be distinct (a repeated seed repeats a run); got {twice[0]!r} twice")
        if not 0 < self.delta < 1:
            raise ConfigError(f"config: delta must be in (0, 1); got {self.delta!r}")
        if not is_integer(self.checkpoint_every, minimum=1):
            raise ConfigError(f"config: checkpoint_every must be a positive integer; got {self.checkpoint_every!r}")

    def manifest(self) -> dict:
        """The config as ``study.json`` records it (every default filled in; learners without unset keys)."""
        return {**dataclasses.asdict(self), "learners": [lr.settings() for lr in self.learners]}


def load_config(source) -> StudyConfig:
    """Read and validate a study config (a :class:`StudyConfig`, a path to TOML, or a dict) with the strict
    loader of :mod:`experiments.config`; every game is loaded once, so a bad name fails here."""
    from .config import from_dict, read_toml
    if isinstance(source, StudyConfig):
        cfg = source
    elif isinstance(source, dict):
        cfg = from_dict(dict(source), StudyConfig, where="config")
    else:
        cfg = from_dict(read_toml(source), StudyConfig, where=f"config {os.fspath(source)!r}")
    for g in cfg.games:
        _load_game(g)          # fail early on a bad game name or file
    return cfg


def _load_game(name: str):
    from persuasion import PersuasionGame, examples
    if name in examples.names():
        return examples.load(name)
    if not os.path.exists(name):
        raise ConfigError(f"config: game {name!r} is neither a bundled example {examples.names()} nor a file")
    return PersuasionGame.from_json(name)


def make_learner(spec: LearnerSpec, delta: float):
    """The learner a spec names (its ``kind`` looked up in :data:`LEARNERS`), at the study's ``delta`` where
    the spec sets none."""
    full = dataclasses.asdict(spec)
    if full["delta"] is None:
        full["delta"] = delta
    return LEARNERS[spec.kind](full)


def tasks_of(cfg: StudyConfig) -> list[Task]:
    return [Task(g, lr, s) for g in cfg.games for lr in cfg.learners for s in cfg.seeds]


def _write_json_atomic(path: Path, data) -> None:
    write_atomic(path, json.dumps(data).encode())


def _exit_with(owner_pid: int, poll: float = 0.5) -> None:
    """In a worker process: exit at once when the study's main process ``owner_pid`` is gone, removing the
    temporary file it may be writing, so a study killed with SIGKILL leaves no worker and no temporary file
    behind it (the next start resumes from the last complete checkpoints)."""
    import threading

    def watch():
        while True:
            try:
                os.kill(owner_pid, 0)
            except ProcessLookupError:
                exit_now(3)                  # no half-written checkpoint left behind
            except PermissionError:
                pass
            time.sleep(poll)

    threading.Thread(target=watch, daemon=True, name="owner-watchdog").start()


def run_task(task: Task, cfg: StudyConfig, out: str, stop_after: int | None = None,
             owner_pid: int | None = None) -> str | None:
    """Run one task (resuming from its checkpoint) and write its result file; returns the key.

    ``owner_pid``: the study's main process; a worker in another local process exits when it dies.
    """
    from persuasion.online import run
    from persuasion.online.engine import remove_checkpoint
    if owner_pid is not None and owner_pid != os.getpid():
        _exit_with(owner_pid)
    out = Path(out)
    result = out / "results" / f"{task.key}.json"
    if result.exists():
        return task.key
    ckpt = out / "checkpoints" / f"{task.key}.pkl"
    game = _load_game(task.game)
    t0 = time.perf_counter()
    trace = run(game, make_learner(task.learner, cfg.delta), cfg.T, task.seed, delta=cfg.delta,
                checkpoint=ckpt, checkpoint_every=cfg.checkpoint_every, stop_after=stop_after)
    if trace is None:          # stopped on purpose (tests of resumption)
        return None
    summary = trace.summary()
    summary.update(game_file=task.game, learner_spec=task.learner.settings(), seconds=time.perf_counter() - t0,
                   final_regret=float(trace.cumulative_regret[-1]),
                   final_realised_regret=float(trace.cumulative_realised_regret[-1]),
                   final_bound=float(trace.bound[-1]))
    _write_json_atomic(result, summary)
    remove_checkpoint(ckpt)
    return task.key


@contextlib.contextmanager
def _parallel(backend: str, n_jobs: int, address: str | None = None):
    """A joblib ``Parallel`` for the backend; dask and ray get a client (to ``address``, or a local cluster of
    ``n_jobs`` workers) that is closed when the study ends.  Workers write results themselves, so on a
    multi-machine cluster ``--out`` must be a folder every machine sees (a shared filesystem)."""
    import joblib
    if backend == "dask":
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("config: parallel.backend 'dask' needs dask[distributed] (pip install 'dask[distributed]')") from None
        cluster = None if address else LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                                    dashboard_address=None)
        client = Client(address or cluster)
        try:
            with joblib.parallel_config(backend="dask"):      # registers joblib's dask backend
                yield joblib.Parallel(return_as="generator")
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    if backend == "ray":
        try:
            import ray
            from ray.util.joblib import register_ray
        except ImportError:
            raise ConfigError("config: parallel.backend 'ray' needs ray installed (pip install ray)") from None
        started = not ray.is_initialized()
        if started:
            ray.init(address=address, num_cpus=None if address else n_jobs, include_dashboard=False,
                     log_to_driver=False)
        register_ray()
        try:
            yield joblib.Parallel(n_jobs=n_jobs, backend="ray")      # ray's backend returns lists only
        finally:
            if started:
                ray.shutdown()
        return
    if backend == "sequential":
        yield joblib.Parallel(n_jobs=1, return_as="generator_unordered")
    else:
        yield joblib.Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered")


def run_study(config, out: str | os.PathLike, *, n_jobs: int | None = None, backend: str | None = None,
              address: str | None = None, progress: bool = True) -> dict:
    """Run (or resume) a study (``config``: a :class:`StudyConfig`, a TOML path or a dict); returns the summary
    written to ``OUT/summary.json``."""
    import joblib
    cfg = load_config(config)
    out = Path(out)
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    import persuasion
    manifest = out / "study.json"
    if manifest.exists():
        old = json.loads(manifest.read_text())["config"]
        keys = ("T", "seeds", "games", "learners", "delta")
        if any(old.get(k) != cfg.manifest().get(k) for k in keys):
            raise ConfigError(f"{out}: holds a study with another config; use another --out or delete it")
    else:
        _write_json_atomic(manifest, {"config": cfg.manifest(), "version": persuasion.__version__,
                                      "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "python": sys.version})
    tasks = tasks_of(cfg)
    todo = [t for t in tasks if not (out / "results" / f"{t.key}.json").exists()]
    backend = backend or cfg.parallel.backend
    n_jobs = n_jobs or cfg.parallel.n_jobs
    address = address or cfg.parallel.address
    from persuasion.progress import progress as progress_bar
    bar = progress_bar(None, cfg.name, unit="run", total=len(tasks), initial=len(tasks) - len(todo),
                       enabled=progress)
    if todo:
        owner = os.getpid() if backend == "loky" else None      # local worker processes watch the study
        with _parallel(backend, n_jobs, address) as parallel:
            for _ in parallel(joblib.delayed(run_task)(t, cfg, str(out), None, owner) for t in todo):
                bar.update(1)
    bar.close()
    summary = summarise(out)
    _write_json_atomic(out / "summary.json", summary)
    return summary


def fitted_slope(rounds, regret, lo: int = 1000) -> float:
    """Log-log slope of regret against rounds for rounds >= lo (NaN if too few points)."""
    r, y = np.asarray(rounds, float), np.asarray(regret, float)
    keep = (r >= lo) & (y > 0)
    if keep.sum() < 3:
        return float("nan")
    return float(np.polyfit(np.log(r[keep]), np.log(y[keep]), 1)[0])


def summarise(out) -> dict:
    """Per (game, learner): median final regret, bound, the fitted slope of the median curve, and the
    fraction of rounds the Receiver obeyed the recommendation (median over seeds)."""
    groups: dict[tuple, list[dict]] = {}
    from paper_figures.fig_regret import load_results
    for res in load_results(out):
        groups.setdefault((res["game"], res["learner"]), []).append(res)
    rows = []
    for (game, learner), runs in sorted(groups.items()):
        curves = np.array([r["cumulative_regret"] for r in runs])
        med = np.median(curves, axis=0)
        rows.append({"game": game, "learner": learner, "seeds": len(runs), "T": runs[0]["T"],
                     "median_final_regret": float(med[-1]), "bound": runs[0]["final_bound"],
                     "within_theorem": runs[0]["within_theorem"],
                     "slope_from_1e3": fitted_slope(runs[0]["rounds"], med),
                     "median_obedience": float(np.median([r["obedience_rate"] for r in runs]))})
    return {"rows": rows}


def format_summary(summary: dict) -> str:
    from persuasion.report import table
    return table(["game", "learner", "seeds", "T", "median regret", "bound", "slope (T>=1e3)", "obeyed"],
                 [[r["game"], r["learner"], r["seeds"], r["T"], f"{r['median_final_regret']:.1f}",
                   f"{r['bound']:.1f}" if np.isfinite(r["bound"]) else "outside theorem",
                   f"{r['slope_from_1e3']:.3f}", f"{r['median_obedience']:.3f}"] for r in summary["rows"]])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Run or resume a regret study.")
    ap.add_argument("config", help="study config (TOML), e.g. experiments/configs/regret_default.toml")
    ap.add_argument("--out", default=None, help="output folder (default: results/<name>)")
    ap.add_argument("--n-jobs", type=positive_int, default=None)
    ap.add_argument("--backend", choices=BACKENDS, default=None)
    ap.add_argument("--address", default=None,
                    help="dask scheduler (tcp://HOST:8786) or ray cluster (auto, ray://HOST:10001) to send runs to")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.config)
        out = args.out or os.path.join("results", cfg.name)
        summary = run_study(cfg, out, n_jobs=args.n_jobs, backend=args.backend, address=args.address,
                            progress=not args.no_progress)
    except ValueError as e:
        print(f"regret_study: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:                     # e.g. --out names a file: one line, not a traceback
        print(f"regret_study: error: {e.strerror}: {e.filename!r}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    print(f"results in {out}/results, summary in {out}/summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
