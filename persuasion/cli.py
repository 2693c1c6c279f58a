"""Command line: ``python -m persuasion {solve,examples} ...`` (the demo is ``python -m experiments.demo``:
the core imports no script).

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
    if args.game == "-":                     # a pipe: `python -m persuasion examples NAME | ... solve -`
        from .game import read_game_stream
        game = PersuasionGame.from_text(read_game_stream(sys.stdin.buffer, "<stdin>"), "<stdin>")
    else:
        game = PersuasionGame.from_json(args.game)
    sol = solve(game, exact=args.exact, method=args.method)
    print(json.dumps(sol.to_dict(), indent=2, allow_nan=False) if args.json else sol.report())
    return 0 if sol.certificate.valid else 4


def _cmd_examples(args) -> int:
    from . import examples
    if args.name:
        print(examples.load(args.name).to_json())
    else:
        for name in examples.names():
            print(f"{name}: {examples.description(name)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m persuasion",
                                description="Optimal, certified Bayesian persuasion schemes.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a game given as a JSON file")
    s.add_argument("game", help="path of a game JSON file, or - to read it from standard input "
                                "(see `examples NAME` for the format)")
    s.add_argument("--exact", action="store_true", help="rational value and scheme, exactly certified")
    s.add_argument("--json", action="store_true", help="print the solution as JSON")
    s.add_argument("--method", default=None, help="auto (default: a closed form where one applies, else row and column generation from "
                        "12 actions, else HiGHS), closed-form, highs-cg, highs, linprog, cvxpy[:SOLVER], "
                        "rational-simplex, rational-cg (the last two exact only)")
    s.set_defaults(func=_cmd_solve)
    e = sub.add_parser("examples", help="list the bundled games, or print one as JSON")
    e.add_argument("name", nargs="?")
    e.set_defaults(func=_cmd_examples)
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
