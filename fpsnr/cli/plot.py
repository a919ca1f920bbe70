"""``fpsnr plot``: RD curves (the paper's Figure 6) and the ratio table (Table 2)."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.options import metric_fp_option, path_arg, sweep_fp_option, translate_errors
from fpsnr.errors import ParameterError


@click.group("plot")
def plot_group() -> None:
    """RD curves and the M-FPSNR/PSNR ratio table.

    \b
    Example:
      fpsnr plot rd rd.csv --metric m_fpsnr --fp 0.5 -o rd.png
    """


@plot_group.command("rd")
@click.argument("rd_csv", type=path_arg(dir_okay=False, path_type=Path))
@click.option("--metric", type=click.Choice(["psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr", "ms_ssim"]),
              default="psnr", show_default=True)  # fmt: skip
@metric_fp_option
@click.option(
    "--out", "-o", type=path_arg(dir_okay=False, path_type=Path), required=True, help="PNG to write."
)
@click.option("--title", default=None)
@translate_errors
def plot_rd_command(rd_csv: Path, metric: str, fp: float, out: Path, title: str | None) -> None:
    """Draw one RD curve per codec (mean over images), like the paper's Figure 6.

    \b
    Example:
      fpsnr plot rd rd.csv --metric m_fpsnr --fp 0.5 -o rd.png
    """
    from fpsnr.plots import plot_rd
    from fpsnr.rd import read_rd_csv

    try:
        plot_rd(read_rd_csv(rd_csv), out, metric=metric, fp=fp, title=title)
    except OSError as err:
        raise ParameterError(f"{out}: cannot write ({err.strerror or err})") from err
    click.echo(f"wrote {out}", err=True)


@plot_group.command("ratio")
@click.argument("rd_csv", type=path_arg(dir_okay=False, path_type=Path))
@click.option("--codec", required=True)
@sweep_fp_option
@translate_errors
def plot_ratio_command(rd_csv: Path, codec: str, fps: tuple[float, ...]) -> None:
    """Print Table 2: 100·(M-FPSNR/PSNR − 1) % per rate point × Fp (markdown).

    \b
    Example:
      fpsnr plot ratio rd.csv --codec bmshj2018-hyperprior
    """
    from fpsnr.plots import ratio_table
    from fpsnr.rd import read_rd_csv

    table = ratio_table(read_rd_csv(rd_csv), codec, list(fps))
    cols = list(table.columns)
    click.echo("| rate point | " + " | ".join(cols) + " |")
    click.echo("|---" * (len(cols) + 1) + "|")
    for point, row in table.iterrows():
        click.echo(f"| {point} | " + " | ".join(f"{row[c]:.3f}%" for c in cols) + " |")
