"""fpsnr.runs.progress: callbacks, and the bar the command line draws."""

from __future__ import annotations


def test_nothing_to_do_draws_no_progress_bar():
    """Finding 27: a resumed batch with every pair scored drew 'scoring: 0pair' twice."""
    import io

    from fpsnr.runs.progress import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream in (Terminal(), io.StringIO()):
        with ProgressBar("scoring", "pair", stream=stream) as bar:
            bar(0, 0)
        assert stream.getvalue() == ""
    drawn = Terminal()
    with ProgressBar("scoring", "pair", stream=drawn) as bar:
        bar(0, 2)
        bar(2, 2)
    assert "2/2" in drawn.getvalue()
