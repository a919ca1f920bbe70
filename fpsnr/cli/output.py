"""Writing and reporting an RD CSV: rows as they come, a line on stderr, exit 1 if any row failed."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import click

from fpsnr.cli.options import inform


def report_rd_rows(rows: Sequence[dict[str, Any]], out: Path) -> None:
    """Say what was written to stderr, and fail (exit 1) if any row holds an error."""
    failed = sum(1 for r in rows if r["error"])
    inform(f"wrote {out} ({len(rows)} rows)")
    if failed:
        raise click.ClickException(f"{failed} row(s) failed; see the error column of {out}")


def write_rd_command(
    name: str,
    make_rows: Callable[[Collection[Any], Any], Iterable[dict[str, Any]]],
    out: Path,
    fps: Sequence[float],
    settings: dict[str, Any],
    *,
    resume: bool,
    overwrite: bool,
    columns: Sequence[str] | None = None,
) -> None:
    """Run an RD command into ``out`` (:func:`fpsnr.rd.rdfile.write_rd_run`) with a progress bar, then report.

    ``make_rows(done, progress)`` yields the rows not in ``done``; ``settings`` (with the
    command's ``name``) must match on ``--resume``. Ctrl-C says how to resume, as ``batch``
    does, and exits 130.
    """
    from fpsnr.rd.rdfile import write_rd_run
    from fpsnr.runs.progress import ProgressBar

    try:
        with ProgressBar(name, "code") as bar:
            settings = {"command": name, **settings}
            rows = write_rd_run(lambda done: make_rows(done, bar), out, fps, settings=settings, resume=resume,
                                overwrite=overwrite, columns=columns)  # fmt: skip
    except KeyboardInterrupt:
        partial = out.with_name(out.name + ".partial")
        kept = f"the rows so far are kept in {partial}; " if partial.exists() else ""
        click.echo(f"\ninterrupted: {kept}run the same command with --resume", err=True)
        raise click.exceptions.Exit(130) from None
    report_rd_rows(rows, out)
