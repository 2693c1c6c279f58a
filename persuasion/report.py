"""Plain-text reports of solutions (used by the CLI)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np


def fmt_number(x, exact: bool) -> str:
    if x is None:
        return "-"
    if isinstance(x, Fraction):
        return str(x) if x.denominator == 1 or len(str(x)) <= 9 else f"{str(x)[:12]}~{float(x):.6f}"
    x = float(x)
    return "-" if np.isnan(x) else f"{x:.6f}".rstrip("0").rstrip(".") if abs(x) >= 1e-12 else "0"


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def format_solution(sol) -> str:
    g, ex = sol.game, sol.exact
    f = lambda x: fmt_number(x, ex)
    title = g.name or "game"
    out = [f"{title}: {g.num_states} states x {g.num_actions} actions; method {sol.method}, "
           f"{'exact' if ex else 'float'}; ties broken in the Advisor's favour"]
    out.append("")
    out.append("Signaling scheme  P(recommend action | state):")
    out.append(table(["state \\ action"] + list(g.actions),
                     [[s] + [f(sol.scheme[i, a]) for a in range(g.num_actions)] for i, s in enumerate(g.states)]))
    out.append("")
    out.append("Signals:")
    rows = []
    for a, lab in enumerate(g.actions):
        p = sol.signal_probabilities[a]
        if p > 0:
            post = ", ".join(f"{g.states[i]}={f(sol.posteriors[a][i])}" for i in range(g.num_states))
            rows.append([lab, f(p), g.actions[sol.receiver_actions[a]], post])
    out.append(table(["recommend", "P(signal)", "Receiver plays", "posterior"], rows))
    out.append("")
    out.append(f"Optimal Advisor value: {f(sol.value)}" + (f"  (= {float(sol.value):.6f})" if ex else ""))
    out.append(f"Certificate: {sol.certificate.summary()}")
    return "\n".join(out)
