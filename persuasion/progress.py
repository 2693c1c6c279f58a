"""Progress bars for long work, in one place: every study, solver batch and model call that reports
progress goes through :func:`progress`.

It draws a ``tqdm`` bar (``tqdm.auto``) when asked to and when tqdm is installed (the ``experiments`` and
``test`` extras install it; the core does not need it), and otherwise gives back what it was handed, so a
library call prints nothing unless its caller asked for a bar.

>>> list(progress(range(3), "work", enabled=False))
[0, 1, 2]
>>> bar = progress(None, "work", total=3, enabled=False)
>>> bar.update(1); bar.close()
"""
from __future__ import annotations


class _Silent:
    """A bar that draws nothing (progress off, or tqdm not installed)."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass


def progress(iterable=None, desc: str = "", *, unit: str = "it", total: int | None = None, initial: int = 0,
             enabled: bool = True, **options):
    """``iterable`` wrapped in a progress bar, or, with ``iterable=None``, a bar to ``update`` by hand
    (``total`` steps, ``initial`` of them already done).  With ``enabled=False``, or without tqdm, the
    iterable itself (or a bar that draws nothing).  ``options`` go to tqdm (``mininterval``, ...)."""
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            enabled = False
    if not enabled:
        return _Silent() if iterable is None else iterable
    return tqdm(iterable, desc=desc, unit=unit, total=total, initial=initial, **options)
