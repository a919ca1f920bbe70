"""``fpsnr plot``: RD curves (the paper's Figure 6)."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.options import OrderedGroup, inform, metric_fp_option, no_clobber, path_arg, translate_errors
from fpsnr.errors import ParameterError
from fpsnr.rd.bdrate import METRICS


@click.group("plot", cls=OrderedGroup)
def plot_group() -> None:
    """RD curves of one or several RD CSVs.

    \b
    Example:
      fpsnr plot rd rd.csv --metric m_fpsnr --fp 0.5 -o rd.png
    """


@plot_group.command("rd")
@click.argument(
    "rd_csvs", metavar="RD_CSV...", nargs=-1, required=True, type=path_arg(dir_okay=False, path_type=Path)
)
@click.option("--metric", type=click.Choice(METRICS),
              default="psnr", show_default=True, help="Quality axis (m_fpsnr at --fp).")  # fmt: skip
@metric_fp_option
@click.option(
    "--out", "-o", type=path_arg(dir_okay=False, path_type=Path), required=True, help="PNG to write."
)
@click.option("--rate", type=click.Choice(["bpp", "kbps"]), default="bpp", show_default=True,
              help="Rate axis: bits per pixel, or kbit/s (video RD files).")  # fmt: skip
@click.option("--title", default=None, help="Figure title [the metric and the number of images].")
@click.option("--codec", "codecs", multiple=True, help="Only this codec; repeat or comma list [all].")
@click.option("--xlim", type=(float, float), default=None, metavar="MIN MAX",
              help="Rate range [the learned codecs' rates when present, else all].")
@click.option("--ylim", type=(float, float), default=None, metavar="MIN MAX",
              help="Quality range.")  # fmt: skip
@no_clobber("out")
@translate_errors
def plot_rd_command(rd_csvs: tuple[Path, ...], metric: str, fp: float, out: Path, rate: str,
                    title: str | None, codecs: tuple[str, ...], xlim: tuple[float, float] | None,
                    ylim: tuple[float, float] | None) -> None:  # fmt: skip
    """Draw one RD curve per codec (mean over images), like the paper's Figure 6.

    Several RD CSVs are merged (say, anchors and the learned codecs from separate runs);
    the curves are drawn on the images they all cover (matched by file name; a note says
    when some are left out).

    \b
    Example:
      fpsnr plot rd rd.csv --metric m_fpsnr --fp 0.5 -o rd.png
    """
    from fpsnr.rd.images import common_images
    from fpsnr.rd.plots import plot_rd
    from fpsnr.rd.rdfile import read_rd_csvs

    chosen = [c.strip() for item in codecs for c in item.split(",") if c.strip()]
    rd = read_rd_csvs(rd_csvs)
    rd = rd[rd["error"].fillna("").astype(str) == ""]  # failed rows are not drawn
    if not chosen or set(chosen) <= set(rd["codec"]):  # (an unknown codec is plot_rd's error to say)
        rd, note = common_images(rd, chosen or sorted(set(rd["codec"])))
        if note:
            click.echo(note, err=True)
    try:
        plot_rd(rd, out, metric=metric, fp=fp, title=title, codecs=chosen or None,
                xlim=xlim, ylim=ylim, rate=rate)  # fmt: skip
    except OSError as err:
        raise ParameterError(f"{out}: cannot write ({err.strerror or err})") from err
    inform(f"wrote {out}")

