"""``fpsnr ratio``: the M-FPSNR/PSNR ratio table of an RD CSV (the paper's Table 2)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from fpsnr.cli.options import path_arg, sweep_fp_option, translate_errors


@click.command("ratio")
@click.argument(
    "rd_csvs", metavar="RD_CSV...", nargs=-1, required=True, type=path_arg(dir_okay=False, path_type=Path)
)
@click.option("--codec", required=True, help="The codec whose table to print (the codec column).")
@sweep_fp_option
@translate_errors
def ratio_command(rd_csvs: tuple[Path, ...], codec: str, fps: tuple[float, ...]) -> None:
    """The paper's Table 2: 100·(M-FPSNR/PSNR − 1) % per rate point × Fp, as markdown.

    One row per rate point with its mean bpp; several RD CSVs are merged.

    \b
    Example:
      fpsnr ratio rd.csv --codec bmshj2018-hyperprior
    """
    from fpsnr.rd.images import common_images
    from fpsnr.rd.plots import ratio_table
    from fpsnr.rd.rdfile import read_rd_csvs

    rd = read_rd_csvs(rd_csvs)
    rd = rd[rd["error"].fillna("").astype(str) == ""]
    if codec in set(rd["codec"]):  # (an unknown codec is ratio_table's error to say)
        rd, note = common_images(rd, [codec])
        if note:
            click.echo(note, err=True)
    table = ratio_table(rd, codec, list(fps))
    cols = [c for c in table.columns if c != "bpp"]
    click.echo("| rate point | bpp | " + " | ".join(cols) + " |")
    click.echo("|---" * (len(cols) + 2) + "|")
    for point, row in table.iterrows():
        cells = ("n/a" if math.isnan(row[c]) else f"{row[c]:.3f}%" for c in cols)  # lossless: no ratio
        click.echo(f"| {point} | {row['bpp']:.4f} | " + " | ".join(cells) + " |")
