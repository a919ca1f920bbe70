"""Writing an RD CSV from a command: the file, a line on stderr, exit 1 on failed rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click


def write_rd_rows(rows: Iterable[dict[str, Any]], out: Path, fps: Sequence[float]) -> None:
    """Write an RD CSV, say so on stderr, and fail (exit 1) if any row holds an error."""
    from fpsnr.rd import write_rd_csv

    table = list(rows)
    write_rd_csv(table, out, fps)
    failed = sum(1 for r in table if r["error"])
    click.echo(f"wrote {out} ({len(table)} rows)", err=True)
    if failed:
        raise click.ClickException(f"{failed} row(s) failed; see the error column of {out}")
