"""Shared by the figure scripts: write a figure as PNG and PDF."""
from __future__ import annotations

from pathlib import Path


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
    for path in draw(args.reports, args.out, args.stem):
        print(path)
    return 0
