"""Figure: forward vs reverse KL fits of a unimodal family to two-mode targets (persuasion.afd).

Left: a target whose modes are separated by outcomes of zero probability; right: the same modes joined
by a little mass (2% of it in the gap).  Bars: the target; lines: the forward fit (SFT, mass-covering)
and the reverse fit (mode-seeking), each the exact optimum over unimodal distributions.  Each panel's
title gives the reverse fit's share on its heavier mode: 1.0 with the gap empty, much less once the gap
holds mass (the contrast fades as the gap fills; docs/afd.md).

    python -m paper_figures.fig_kl_fits --out docs/figures
"""
from __future__ import annotations

import argparse

import numpy as np

from ._save import save_figure

TARGETS = {
    "modes separated by zeros": np.array([2, 6, 3, 0, 0, 1, 4, 8, 2], float),
    "modes joined by a little mass": np.array([2, 6, 3, 0.3, 0.3, 1, 4, 8, 2], float),
}


def draw(out_dir, stem: str = "kl_fits"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from persuasion.afd import forward_fit, kl, reverse_fit
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, (title, w) in zip(axes, TARGETS.items()):
        p = w / w.sum()
        f, r = forward_fit(p), reverse_fit(p)
        x = np.arange(p.size)
        ax.bar(x, p, color="0.8", label="target p (demonstrations)")
        ax.plot(x, f.q, "o-", color="C0", label=f"forward KL fit (SFT): KL(p||q) = {f.objective:.3f}")
        ax.plot(x, r.q, "s-", color="C3", label=f"reverse KL fit: KL(q||p) = {r.objective:.3f}")
        left, right = p[:3].sum(), p[5:].sum()
        share = max(r.q[:3].sum(), r.q[5:].sum())
        ax.set_title(f"{title} ({1 - left - right:.0%} of the mass in the gap)\n"
                     f"reverse fit on one mode: {share:.0%}; forward fit's KL(q||p) = {kl(f.q, p):.3g}; "
                     f"reverse fit's KL(p||q) = {kl(p, r.q):.3g}", fontsize=8)
        ax.set_xlabel("outcome")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("probability")
    fig.tight_layout()
    return save_figure(fig, out_dir, stem)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="figures")
    args = ap.parse_args(argv)
    for p in draw(args.out):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
