"""The one progress helper: a bar only when asked for and when tqdm is there; otherwise the iterable itself,
or a bar that draws nothing, so library calls stay silent."""
import sys

from persuasion.progress import progress


def test_disabled_gives_back_the_iterable_and_a_silent_bar(capsys):
    items = [1, 2, 3]
    assert progress(items, "x", enabled=False) is items
    bar = progress(None, "x", total=3, enabled=False)
    bar.update(2)
    bar.set_postfix(loss="0.1")
    bar.close()
    assert capsys.readouterr() == ("", "")


def test_without_tqdm_it_falls_back_silently(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)       # import fails as if tqdm were not installed
    items = range(4)
    assert progress(items, "x") is items
    progress(None, "x", total=2).update(1)
    assert capsys.readouterr() == ("", "")


def test_with_tqdm_it_counts_what_it_was_given():
    import pytest
    pytest.importorskip("tqdm")
    import io
    sink = io.StringIO()                                      # a real tqdm bar, drawn into a buffer
    bar = progress(range(5), "x", file=sink)
    assert list(bar) == [0, 1, 2, 3, 4] and bar.n == 5 and "x" in sink.getvalue()
    manual = progress(None, "x", total=10, initial=3, file=sink)
    manual.update(2)
    assert manual.n == 5 and manual.total == 10
    manual.close()
