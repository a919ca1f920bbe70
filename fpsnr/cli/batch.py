"""``fpsnr batch``: score folders into CSV, resumable and parallel."""

from __future__ import annotations

import os
from pathlib import Path

import click

from fpsnr.cli.options import (
    FLAGS,
    inform,
    inputs_record,
    path_arg,
    regions_or_fallback,
    score_options,
    translate_errors,
)
from fpsnr.options import BatchOptions
from fpsnr.runs.parallel import start_early


@click.command("batch")
@click.argument("ref_dir", type=path_arg(file_okay=False, path_type=Path))
@click.argument(
    "test_dirs", nargs=-1, required=True, type=path_arg(file_okay=False, path_type=Path)
)
@click.option(
    "--regions", "regions_path", type=path_arg(path_type=str), default=None,
    help="Folder of <stem>.json regions files, or a collection file [none: every image takes "
    "--missing-regions center|suggest].",
)  # fmt: skip
@click.option(
    "--out", "-o", type=path_arg(dir_okay=False, path_type=Path), required=True, help="Scores CSV."
)
@click.option("--regions-out", type=path_arg(dir_okay=False, path_type=Path), help="Per-region CSV.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
    help="Format of --out and --regions-out (parquet needs the parquet extra: pip install -e '.[parquet]').",
)  # fmt: skip
@click.option(
    "--label", "labels", multiple=True, help="Label of each TEST_DIR, in order (default: folder name)."
)
@click.option(
    "--workers", "-j", type=click.IntRange(min=1), default=None, help="Local processes [all cores]."
)
@click.option("--scheduler", metavar="ADDRESS", help="Run on this Dask distributed scheduler instead.")
@click.option("--resume", is_flag=True, help="Finish an interrupted run; finished pairs are kept.")
@click.option("--retry-errors", is_flag=True,
              help="With --resume: score again the pairs whose rows hold an error.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@score_options(batch=True)
@translate_errors
def batch_command(
    ref_dir: Path,
    test_dirs: tuple[Path, ...],
    regions_path: str | None,
    out: Path,
    regions_out: Path | None,
    labels: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    retry_errors: bool,
    overwrite: bool,
    fmt: str,
    options: BatchOptions,
) -> None:
    """Score every image of REF_DIR against the same-named image in each TEST_DIR.

    One CSV row per (label, pair, Fp). A pair that cannot be scored is a row with the
    error column filled; the run goes on and exits with status 1 at the end.

    \b
    Example:
      fpsnr batch kodak/ jpeg-q30/ webp-q50/ --regions kodak --out scores.csv
    """
    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite exclude each other")
    if retry_errors and not resume:
        raise click.UsageError("--retry-errors goes with --resume")
    if regions_out is not None and regions_out.resolve() == out.resolve():
        raise click.UsageError("--regions-out must differ from --out")
    index = regions_or_fallback(regions_path, options.missing_regions)
    settings = {
        "options": options.to_json(),
        **inputs_record({"ref_dir": ref_dir, "test_dirs": list(test_dirs)}, regions_path),
        "labels": list(labels),
    }
    if fmt != "csv":
        settings["format"] = fmt  # (absent for csv: outputs of earlier versions resume as before)
        _require_parquet()
    workers = workers or os.cpu_count() or 1
    if scheduler is None and workers > 1:
        # The workers' forkserver imports numpy, OpenCV and fpsnr while this process does the
        # same just below and plans the pairs, instead of after them (so these imports are here).
        start_early(("__main__", "fpsnr.runs.batch"))
    from fpsnr.runs.batch import REGION_COLUMNS, SCORE_COLUMNS, score_folders
    from fpsnr.runs.batch_files import BatchSinks
    from fpsnr.runs.progress import ProgressBar

    sinks = BatchSinks(out, regions_out, settings, score_columns=SCORE_COLUMNS, region_columns=REGION_COLUMNS,
                       fmt=fmt)  # fmt: skip
    sinks.prepare(resume=resume, overwrite=overwrite)  # from here on this run holds the outputs' locks
    try:
        sinks.start(fps=options.fps, resume=resume, retry_errors=retry_errors)
    except BaseException:
        sinks.close()
        raise
    if resume:
        again = f", {sinks.retried} failed pair(s) scored again" if retry_errors else ""
        inform(f"resuming: {len(sinks.done)} pair(s) already scored{again}")
    if sinks.dropped:
        click.echo(f"warning: {sinks.dropped} damaged row(s) of the earlier output are redone", err=True)
    try:
        with ProgressBar("scoring", "pair", dynamic_ncols=True) as bar:
            result = score_folders(
                ref_dir,
                test_dirs,
                index,
                labels=labels or None,
                options=options,
                workers=workers,
                scheduler=scheduler,
                progress=bar,
                skip=sinks.done,
                on_outcome=lambda o: sinks.write(o.key, o.rows, o.region_rows, o.error),
                keep_rows=False,  # every row goes to the files as it comes; none is kept
                words=FLAGS,
            )
    except KeyboardInterrupt:
        sinks.close()
        click.echo(
            f"\ninterrupted: finished pairs are kept in {sinks.scores.partial}; "
            "run the same command with --resume",
            err=True,
        )
        raise click.exceptions.Exit(130) from None
    except BaseException:
        sinks.abandon()  # a run refused before its first pair leaves nothing behind
        raise
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    written = sinks.finish()
    inform(f"wrote {out} ({written} rows)")
    if sinks.failed:
        raise click.ClickException(f"{len(sinks.failed)} pair(s) failed; see the error column of {out}")


def _require_parquet() -> None:
    """Refuse --format parquet up front, before any pair is scored, when pyarrow is missing."""
    try:
        import pyarrow  # noqa: F401  (optional: the parquet extra)
    except ImportError:
        raise click.ClickException(
            "--format parquet needs pyarrow: pip install -e '.[parquet]' in the fpsnr checkout"
        ) from None
