"""Shared by the figure scripts: read a saved report, write a figure as PNG and PDF."""
from __future__ import annotations

import json
from pathlib import Path


class ReportError(ValueError):
    """A report file a figure is drawn from cannot be read, or is another study's report."""


def read_report(path, needs: tuple[str, ...], kind: str) -> dict:
    """The JSON report at ``path``, which must hold the top-level keys ``needs`` (the report of ``kind``, e.g.
    "an online study"); :class:`ReportError` names the file and what is wrong, never a bare ``KeyError``."""
    try:
        with open(path) as fh:
            report = json.load(fh)
    except OSError as e:
        raise ReportError(f"cannot read report {str(path)!r}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ReportError(f"report {str(path)!r} is not JSON: {e}") from None
    missing = [k for k in needs if not isinstance(report, dict) or k not in report]
    if missing:
        raise ReportError(f"report {str(path)!r} is not the report of {kind}: it has no {missing[0]!r}")
    return report


def save_figure(fig, out_dir, stem: str) -> list[Path]:
    """Save ``fig`` to ``out_dir/stem.png`` and ``.pdf`` (folders created), close it, return the paths."""
    import matplotlib.pyplot as plt
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.{ext}" for ext in ("png", "pdf")]
    for p in paths:
        fig.savefig(p, dpi=150)
    plt.close(fig)
    return paths


def reports_main(draw, doc: str, stem: str, argv=None) -> int:
    """The command line of a figure drawn from saved reports: ``REPORT [REPORT ...] [--out DIR] [--stem NAME]``;
    prints the files written."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--out", default="figures")
    ap.add_argument("--stem", default=stem, help="file name without extension")
    args = ap.parse_args(argv)
    try:
        paths = draw(args.reports, args.out, args.stem)
    except ReportError as e:
        ap.error(str(e))
    for path in paths:
        print(path)
    return 0
