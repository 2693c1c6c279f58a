"""Command line: ``python -m persuasion {solve,demo,examples} ...``.

Bad input (a missing file, invalid JSON, a game that breaks a rule) prints one
line on stderr and exits with status 2; a solver failure exits with status 3.
"""
from __future__ import annotations

import argparse
import json
import sys

from .errors import PersuasionError, SolverError


def _cmd_solve(args) -> int:
    from .game import PersuasionGame
    from .solve import solve
    game = PersuasionGame.from_json(args.game)
    sol = solve(game, exact=args.exact, method=args.method)
    print(json.dumps(sol.to_dict(), indent=2) if args.json else sol.report())
    return 0 if sol.certificate.valid else 4


def _cmd_examples(args) -> int:
    from . import examples
    if args.name:
        print(examples.load(args.name).to_json())
    else:
        for name in examples.names():
            print(f"{name}: {examples.description(name)}")
    return 0


def _cmd_demo(args) -> int:
    from . import examples
    from .analysis import first_best_value, full_revelation_value, no_information_value
    from .bounds import regret_bound
    from .solve import solve
    for name in examples.names():
        game = examples.load(name)
        sol = solve(game, exact=True)
        print("=" * 78)
        print(sol.report())
        print(f"Benchmarks: no information {no_information_value(game, exact=True)}, full revelation "
              f"{full_revelation_value(game, exact=True)}, first best {first_best_value(game, exact=True)}")
        print(f"Online learning: {regret_bound(game, 1, 0.05).reason}")
    print("=" * 78)
    if args.no_study:
        return 0
    try:
        from experiments.regret_study import format_summary, run_study
        from paper_figures.fig_regret import draw
    except ImportError as e:
        print(f"persuasion: error: the regret study needs the experiments extra "
              f"(pip install -e '.[experiments]'): {e}", file=sys.stderr)
        return 2
    from importlib import resources
    import experiments
    config = resources.files(experiments) / "configs" / "regret_quick.toml"
    print(f"Short regret study ({config.name}) -> {args.out}")
    summary = run_study(str(config), args.out, progress=True)
    print(format_summary(summary))
    for path in draw(args.out, args.figures):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m persuasion",
                                description="Optimal, certified Bayesian persuasion schemes.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a game given as a JSON file")
    s.add_argument("game", help="path of a game JSON file (see `examples NAME` for the format)")
    s.add_argument("--exact", action="store_true", help="rational value and scheme, exactly certified")
    s.add_argument("--json", action="store_true", help="print the solution as JSON")
    s.add_argument("--method", default=None, help="auto (default: a closed form where one applies, else row and column generation from "
                        "12 actions, else HiGHS), closed-form, highs-cg, highs, linprog, cvxpy[:SOLVER], "
                        "rational-simplex")
    s.set_defaults(func=_cmd_solve)
    e = sub.add_parser("examples", help="list the bundled games, or print one as JSON")
    e.add_argument("name", nargs="?")
    e.set_defaults(func=_cmd_examples)
    d = sub.add_parser("demo", help="the main job on the bundled defaults: certified schemes, then a short "
                                    "regret study and its figure")
    d.add_argument("--out", default="results/demo", help="folder of the regret study (resumed if present)")
    d.add_argument("--figures", default="figures", help="folder for the regret figure")
    d.add_argument("--no-study", action="store_true", help="only solve the bundled games")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SolverError as e:
        print(f"persuasion: solver failure: {e}", file=sys.stderr)
        return 3
    except PersuasionError as e:
        print(f"persuasion: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
