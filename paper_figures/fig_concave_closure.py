"""Figure: the Advisor's value function and its concave closure (two states).

Reads the solver's output: either a solution JSON written by
``python -m persuasion solve GAME.json --exact --json > sol.json`` (``--solution``),
or a game file that it solves (``--game``); by default the bundled
prosecutor-judge game.  Writes PNG and PDF.

    python -m paper_figures.fig_concave_closure --out figures/
"""
from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import numpy as np

from ._save import ReportError, read_report, save_figure


def _num(x):
    return float(Fraction(x)) if isinstance(x, str) else float(x)


def load_solution(solution: str | None, game_path: str | None):
    """Return (game, solution dict) from a saved solution or by solving a game."""
    from persuasion import PersuasionGame, examples, solve
    if solution:
        data = read_report(solution, ("game", "value", "posteriors", "signal_probabilities"),
                           "a solution (python -m persuasion solve GAME --json)")
        return PersuasionGame.from_dict(data["game"]), data
    game = PersuasionGame.from_json(game_path) if game_path else examples.prosecutor_judge()
    return game, solve(game, exact=True).to_dict()


def draw(game, sol: dict, out_dir: Path, stem: str = "concave_closure") -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from persuasion import best_response, concave_closure_two_states

    if game.num_states != 2:
        raise ValueError(f"fig_concave_closure: the game must have 2 states; got {game.num_states}")
    closure = concave_closure_two_states(game)
    bps = list(closure.breakpoints)
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for lo, hi in zip(bps, bps[1:]):          # v is linear between breakpoints
        a = best_response(game, [1 - (lo + hi) / 2, (lo + hi) / 2])
        ps = np.array([lo, hi])
        ax.plot(ps, (1 - ps) * game.sender[0, a] + ps * game.sender[1, a], color=colours[a % len(colours)],
                lw=2, label=f"v(p), Receiver plays {game.actions[a]}")
    ax.scatter(bps, closure.values, color="black", s=18, zorder=3, label="v at breakpoints (Advisor-favoured ties)")
    hp, hv = zip(*closure.hull)
    ax.plot(hp, hv, "k--", lw=1.2, label="concave closure")
    p0 = game.prior[1]
    value = _num(sol["value"])
    post = [[_num(x) for x in p] for p in sol["posteriors"] if p is not None]
    probs = [_num(x) for x in sol["signal_probabilities"] if _num(x) > 0]
    for q in post:
        ax.axvline(q[1], color="grey", lw=0.6, ls=":")
    ax.plot([p0], [value], "r*", ms=12, label=f"optimum at prior: {sol['value']}")
    ax.set_xlabel(f"belief P({game.states[1]})")
    ax.set_ylabel("Advisor's expected utility")
    ax.set_title(f"{game.name or 'game'}: posteriors {', '.join(f'{q[1]:.3g}' for q in post)}"
                 f" w.p. {', '.join(f'{w:.3g}' for w in probs)}", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return save_figure(fig, out_dir, stem)


def main(argv=None) -> list[Path]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--solution", help="solution JSON from `python -m persuasion solve --json`")
    ap.add_argument("--game", help="game JSON to solve (ignored with --solution)")
    ap.add_argument("--out", default="figures", help="output folder (default: figures/)")
    args = ap.parse_args(argv)
    from persuasion import PersuasionError
    try:
        game, sol = load_solution(args.solution, args.game)
    except (ReportError, PersuasionError) as e:      # a file that is not a solution or not a game
        ap.error(str(e))
    try:
        paths = draw(game, sol, Path(args.out))
    except ValueError as e:
        raise SystemExit(str(e)) from None
    for p in paths:
        print(f"wrote {p}")
    return paths


if __name__ == "__main__":
    main()
