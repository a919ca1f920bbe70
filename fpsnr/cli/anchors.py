"""``fpsnr anchors``: classical codecs over a quality sweep, as RD rows."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click

from fpsnr.cli.options import (
    FLAGS,
    IntList,
    flat,
    inputs_record,
    rd_run_options,
    rd_source_options,
    regions_or_fallback,
    translate_errors,
)
from fpsnr.cli.output import write_rd_command
from fpsnr.options import BatchOptions

COMPRESSAI_JPEG_QUALITIES = tuple(range(5, 100, 5))
"""The JPEG qualities of CompressAI's published Kodak curve (results/image/kodak/jpeg.json)."""


@click.command("anchors")
@rd_source_options
@click.option(
    "--codec", "codecs", default="jpeg,webp", show_default=True, help="Comma list of jpeg, webp, jp2, avif."
)
@click.option(
    "--quality",
    "qualities",
    type=IntList(),
    multiple=True,
    help="Quality points for every codec, comma-separated or repeated [each codec's sweep].",
)
@click.option(
    "--preset", type=click.Choice(["compressai"]), default=None,
    help="compressai: JPEG at q5, q10, …, q95 (19 points), the sweep of CompressAI's published "
    "JPEG curve (its decoder differs: see the README's conventions).",
)  # fmt: skip
@rd_run_options("all cores")
@translate_errors
def anchors_command(
    data_dir: Path,
    regions_path: str | None,
    codecs: str,
    qualities: tuple[tuple[int, ...], ...],
    preset: str | None,
    fps: tuple[float, ...],
    missing_regions: str,
    out: Path,
    overwrite: bool,
    resume: bool,
    workers: int | None,
    no_ms_ssim: bool,
) -> None:
    """Classical codecs (OpenCV/Pillow, in-process) over a quality sweep, as RD rows.

    Rows are written as they are made; an existing output is refused unless --overwrite,
    and an interrupted run (Ctrl-C, a kill) finishes with the same command plus --resume.

    \b
    Example:
      fpsnr anchors --data kodak/ --regions kodak --codec jpeg,webp -o anchors.csv
    """
    from fpsnr.rd.anchors import anchor_codecs, avif_available
    from fpsnr.rd.loop import run_rd

    points = flat(qualities)
    if preset == "compressai":
        if points:
            raise click.UsageError("--preset compressai sets the qualities; leave out --quality")
        codec_source = click.get_current_context().get_parameter_source("codecs")
        if codec_source is not None and codec_source.name != "DEFAULT" and codecs.strip() != "jpeg":
            raise click.UsageError("--preset compressai is the JPEG sweep; leave out --codec")
        codecs, points = "jpeg", COMPRESSAI_JPEG_QUALITIES
    names = [c.strip() for c in codecs.split(",") if c.strip()]
    if "avif" in names and not avif_available():
        click.echo("warning: this Pillow has no AVIF support; skipping avif", err=True)
        names.remove("avif")
    sweep: dict[str, Sequence[int]] | None = {n: list(points) for n in names} if points else None
    index = regions_or_fallback(regions_path, missing_regions)
    adapters = anchor_codecs(names, sweep)
    options = BatchOptions(fps=fps, missing_regions=missing_regions)  # type: ignore[arg-type]
    settings = {
        **inputs_record({"data": data_dir}, regions_path),
        "points": [[p.codec, p.rate_point] for a in adapters for p in a.points()],
        "missing_regions": missing_regions, "ms_ssim": not no_ms_ssim,
    }  # fmt: skip
    processes = workers or os.cpu_count() or 1
    write_rd_command(
        "anchors",
        lambda done, bar: run_rd(data_dir, index, adapters, options, progress=bar, skip=done,
                                 workers=processes, with_ms_ssim=not no_ms_ssim, words=FLAGS),
        out, fps, settings, resume=resume, overwrite=overwrite,
    )  # fmt: skip
