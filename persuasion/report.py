"""Plain-text reports of solutions (used by the CLI)."""
from __future__ import annotations

import unicodedata
from fractions import Fraction

import numpy as np


def safe_label(text: str) -> str:
    """``text`` for a terminal: control, format (bidirectional overrides, zero-width), line and paragraph
    separator characters written as escapes (``\\x1b``, ``\\u202e``), so a label can neither colour,
    move nor reverse what follows it, nor break a table's line.  JSON output keeps labels exactly."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def display_width(text: str) -> int:
    """Terminal columns: wide East Asian characters take two, combining marks none."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def fmt_number(x, exact: bool) -> str:
    if x is None:
        return "-"
    if isinstance(x, Fraction):
        return str(x) if x.denominator == 1 or len(str(x)) <= 9 else f"~{float(x):.6g}"   # --json has it whole
    x = float(x)
    return "-" if np.isnan(x) else f"{x:.6f}".rstrip("0").rstrip(".") if abs(x) >= 1e-12 else "0"


def fmt_value(x, exact: bool) -> str:
    """The Advisor's value, to seven significant digits: it is in the Advisor's units, which may be tiny, so
    the scheme's fixed six decimals (which print ``6e-16`` as 0) do not suit it."""
    if exact and isinstance(x, Fraction):
        whole = str(x)
        return f"{whole}  (= {float(x):.7g})" if len(whole) <= 80 else \
            f"~{float(x):.7g}  (a fraction of {len(whole)} characters: --json prints it)"
    return f"{float(x):.7g}"


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded by display width; every cell passed through :func:`safe_label`."""
    cells = [[safe_label(c) for c in r] for r in [header] + rows]
    widths = [max(display_width(r[i]) for r in cells) for i in range(len(header))]
    pad = lambda c, w: " " * (w - display_width(c))
    line = lambda r: "  ".join(pad(c, w) + c if i else c + pad(c, w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def format_solution(sol) -> str:
    g, ex = sol.game, sol.exact
    f = lambda x: fmt_number(x, ex)
    title = safe_label(g.name or "game")
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
            post = ", ".join(f"{safe_label(g.states[i])}={f(sol.posteriors[a][i])}" for i in range(g.num_states))
            rows.append([lab, f(p), g.actions[sol.receiver_actions[a]], post])
    out.append(table(["recommend", "P(signal)", "Receiver plays", "posterior"], rows))
    out.append("")
    out.append(f"Optimal Advisor value: {fmt_value(sol.value, ex)}")
    out.append(f"Certificate: {sol.certificate.summary()}")
    return "\n".join(out)
