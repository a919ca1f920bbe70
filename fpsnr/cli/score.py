"""``fpsnr score``: M-FPSNR of one image pair."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.options import format_option, path_arg, score_options, translate_errors
from fpsnr.formatting import format_csv, format_json, format_table
from fpsnr.images import read_pair
from fpsnr.metrics import score_pair
from fpsnr.options import ScoreOptions
from fpsnr.regions import load_regions


@click.command("score")
@click.argument("ref", type=path_arg(path_type=Path))
@click.argument("test", type=path_arg(path_type=Path))
@click.option(
    "--regions", "regions_path", type=path_arg(path_type=Path), required=True,
    help="Regions JSON file (single image, or a collection holding REF's stem).",
)  # fmt: skip
@format_option
@score_options()
@translate_errors
def score_command(
    ref: Path,
    test: Path,
    regions_path: Path,
    fmt: str,
    options: ScoreOptions,
) -> None:
    """Score TEST against REF: PSNR, F_PSNR per region, periphery PSNR and M-FPSNR.

    \b
    Example:
      fpsnr score kodim23.png kodim23-q30.jpg --regions kodak --fp 0,0.5
    """
    regions = load_regions(regions_path, image=ref.name)
    scores = score_pair(*read_pair(ref, test), regions, options, ref=str(ref), test=str(test))
    formatter = {"table": format_table, "json": format_json, "csv": format_csv}[fmt]
    click.echo(formatter(scores).rstrip("\n"))
