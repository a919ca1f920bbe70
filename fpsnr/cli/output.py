"""Reporting an RD CSV a command wrote: a line on stderr, exit 1 if any row failed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click


def report_rd_rows(rows: Sequence[dict[str, Any]], out: Path) -> None:
    """Say what was written to stderr, and fail (exit 1) if any row holds an error."""
    failed = sum(1 for r in rows if r["error"])
    click.echo(f"wrote {out} ({len(rows)} rows)", err=True)
    if failed:
        raise click.ClickException(f"{failed} row(s) failed; see the error column of {out}")
