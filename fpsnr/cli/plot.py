"""``fpsnr plot``: RD curves (the paper's Figure 6) and the ratio table (Table 2)."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.options import OrderedGroup, metric_fp_option, path_arg, sweep_fp_option, translate_errors
from fpsnr.errors import ParameterError


@click.group("plot", cls=OrderedGroup)
def plot_group() -> None:
    """RD curves and the M-FPSNR/PSNR ratio table.

    \b
    Example:
      fpsnr plot rd rd.csv --metric m_fpsnr --fp 0.5 -o rd.png
    """


@plot_group.command("rd")
@click.argument(
    "rd_csvs", metavar="RD_CSV...", nargs=-1, required=True, type=path_arg(dir_okay=False, path_type=Path)
)
@click.option("--metric", type=click.Choice(["psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr", "ms_ssim"]),
              default="psnr", show_default=True, help="Quality axis (m_fpsnr at --fp).")  # fmt: skip
@metric_fp_option
@click.option(
    "--out", "-o", type=path_arg(dir_okay=False, path_type=Path), required=True, help="PNG to write."
)
@click.option("--title", default=None, help="Figure title [the metric and the number of images].")
@click.option("--codec", "codecs", multiple=True, help="Only this codec; repeat or comma list [all].")
@click.option("--xlim", type=(float, float), default=None, metavar="MIN MAX",
              help="bpp range [the learned codecs' rates when present, else all].")
@click.option("--ylim", type=(float, float), default=None, metavar="MIN MAX",
              help="Quality range.")  # fmt: skip
@translate_errors
def plot_rd_command(rd_csvs: tuple[Path, ...], metric: str, fp: float, out: Path, title: str | None,
                    codecs: tuple[str, ...], xlim: tuple[float, float] | None,
                    ylim: tuple[float, float] | None) -> None:  # fmt: skip
    """Draw one RD curve per codec (mean over images), like the paper's Figure 6.

    Several RD CSVs are merged (say, anchors and the learned codecs from separate runs).

    \b
    Example:
      fpsnr plot rd rd.csv --metric m_fpsnr --fp 0.5 -o rd.png
    """
    from fpsnr.plots import plot_rd
    from fpsnr.rd import read_rd_csvs

    chosen = [c.strip() for item in codecs for c in item.split(",") if c.strip()]
    try:
        plot_rd(read_rd_csvs(rd_csvs), out, metric=metric, fp=fp, title=title, codecs=chosen or None,
                xlim=xlim, ylim=ylim)  # fmt: skip
    except OSError as err:
        raise ParameterError(f"{out}: cannot write ({err.strerror or err})") from err
    click.echo(f"wrote {out}", err=True)


@plot_group.command("ratio")
@click.argument(
    "rd_csvs", metavar="RD_CSV...", nargs=-1, required=True, type=path_arg(dir_okay=False, path_type=Path)
)
@click.option("--codec", required=True, help="The codec whose table to print (the codec column).")
@sweep_fp_option
@translate_errors
def plot_ratio_command(rd_csvs: tuple[Path, ...], codec: str, fps: tuple[float, ...]) -> None:
    """Print (not plot) Table 2: 100·(M-FPSNR/PSNR − 1) % per rate point × Fp, markdown.

    One row per rate point with its mean bpp; several RD CSVs are merged.

    \b
    Example:
      fpsnr plot ratio rd.csv --codec bmshj2018-hyperprior
    """
    from fpsnr.plots import ratio_table
    from fpsnr.rd import read_rd_csvs

    table = ratio_table(read_rd_csvs(rd_csvs), codec, list(fps))
    cols = [c for c in table.columns if c != "bpp"]
    click.echo("| rate point | bpp | " + " | ".join(cols) + " |")
    click.echo("|---" * (len(cols) + 2) + "|")
    for point, row in table.iterrows():
        click.echo(f"| {point} | {row['bpp']:.4f} | " + " | ".join(f"{row[c]:.3f}%" for c in cols) + " |")
