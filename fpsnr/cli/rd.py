"""``fpsnr anchors``, ``fpsnr bdrate`` and ``fpsnr plot``: RD tables, BD-rates, curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from fpsnr.cli.options import metric_fp_option, missing_regions_option, sweep_fp_option, translate_errors
from fpsnr.errors import ParameterError


def write_rd_rows(rows: Sequence[dict[str, Any]], out: Path, fps: Sequence[float]) -> None:
    """Write an RD CSV, say so on stderr, and fail (exit 1) if any row holds an error."""
    from fpsnr.rd import write_rd_csv

    write_rd_csv(rows, out, fps)
    failed = sum(1 for r in rows if r["error"])
    click.echo(f"wrote {out} ({len(rows)} rows)", err=True)
    if failed:
        raise click.ClickException(f"{failed} row(s) failed; see the error column of {out}")


@click.command("anchors")
@click.option(
    "--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True
)
@click.option("--regions", "regions_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--codec", "codecs", default="jpeg,webp", show_default=True, help="Comma list of jpeg, webp, jp2, avif."
)
@click.option(
    "--quality",
    "qualities",
    type=int,
    multiple=True,
    help="Quality points for every codec [each codec's sweep].",
)
@sweep_fp_option
@missing_regions_option
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="RD CSV to write."
)
@translate_errors
def anchors_command(
    data_dir: Path,
    regions_path: Path,
    codecs: str,
    qualities: tuple[int, ...],
    fps: tuple[float, ...],
    missing_regions: str,
    out: Path,
) -> None:
    """Classical codecs (OpenCV/Pillow, in-process) over a quality sweep, as RD rows."""
    from fpsnr.rd import avif_available, run_anchors
    from fpsnr.regions import load_region_index

    names = [c.strip() for c in codecs.split(",") if c.strip()]
    if "avif" in names and not avif_available():
        click.echo("warning: this Pillow has no AVIF support; skipping avif", err=True)
        names.remove("avif")
    sweep: dict[str, Sequence[int]] | None = {n: list(qualities) for n in names} if qualities else None
    rows = run_anchors(
        data_dir, load_region_index(regions_path), names, fps=fps, qualities=sweep,
        missing_regions=missing_regions, progress=True,
    )  # fmt: skip
    write_rd_rows(rows, out, fps)


@click.command("bdrate")
@click.argument("rd_csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--anchor", required=True, help="Reference codec (the codec column).")
@click.option(
    "--test", "tests", multiple=True, required=True, help="Codec(s) to compare; repeat for several."
)
@click.option("--metric", "metrics", multiple=True, default=("psnr",), show_default=True,
              type=click.Choice(["psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr", "ms_ssim"]),
              help="Repeat for a Table-3-style table of several metrics.")  # fmt: skip
@metric_fp_option
@click.option("--method", type=click.Choice(["akima", "pchip", "cubic"]), default="akima", show_default=True)
@translate_errors
def bdrate_command(
    rd_csv: Path, anchor: str, tests: tuple[str, ...], metrics: tuple[str, ...], fp: float, method: str
) -> None:
    """Bjøntegaard delta rate (%) of each --test codec against --anchor.

    Negative: fewer bits for the same quality. Curves are averaged over images per
    rate point first (mean bpp, mean metric).
    """
    from fpsnr.bdrate import bd_rate
    from fpsnr.rd import read_rd_csv

    rd = read_rd_csv(rd_csv)
    names = {"psnr": "PSNR", "mean_fpsnr": "F_PSNR", "periphery_psnr": "periphery", "ms_ssim": "MS-SSIM",
             "m_fpsnr": f"M-FPSNR (Fp={fp:g})"}  # fmt: skip
    header = [f"{'vs ' + anchor:28s}"] + [f"{names[m]:>20s}" for m in metrics]
    click.echo("".join(header))
    for test in tests:
        cells = []
        for metric in metrics:
            result = bd_rate(rd, anchor, test, metric=metric, fp=fp, method=method)
            if result.overlap < 0.75:
                click.echo(
                    f"warning: {test} vs {anchor} under {result.metric}: the curves overlap on "
                    f"{result.overlap:.0%} of their quality range; the BD-rate extrapolates",
                    err=True,
                )
            cells.append(f"{result.bd_rate:+19.2f}%")
        click.echo(f"{test:28s}" + "".join(cells))


@click.group("plot")
def plot_group() -> None:
    """RD curves and the M-FPSNR/PSNR ratio table."""


@plot_group.command("rd")
@click.argument("rd_csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--metric", type=click.Choice(["psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr", "ms_ssim"]),
              default="psnr", show_default=True)  # fmt: skip
@metric_fp_option
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PNG to write."
)
@click.option("--title", default=None)
@translate_errors
def plot_rd_command(rd_csv: Path, metric: str, fp: float, out: Path, title: str | None) -> None:
    """Draw one RD curve per codec (mean over images), like the paper's Figure 6."""
    from fpsnr.plots import plot_rd
    from fpsnr.rd import read_rd_csv

    try:
        plot_rd(read_rd_csv(rd_csv), out, metric=metric, fp=fp, title=title)
    except OSError as err:
        raise ParameterError(f"{out}: cannot write ({err.strerror or err})") from err
    click.echo(f"wrote {out}", err=True)


@plot_group.command("ratio")
@click.argument("rd_csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--codec", required=True)
@sweep_fp_option
@translate_errors
def plot_ratio_command(rd_csv: Path, codec: str, fps: tuple[float, ...]) -> None:
    """Print Table 2: 100·(M-FPSNR/PSNR − 1) % per rate point × Fp (markdown)."""
    from fpsnr.plots import ratio_table
    from fpsnr.rd import read_rd_csv

    table = ratio_table(read_rd_csv(rd_csv), codec, list(fps))
    cols = list(table.columns)
    click.echo("| rate point | " + " | ".join(cols) + " |")
    click.echo("|---" * (len(cols) + 1) + "|")
    for point, row in table.iterrows():
        click.echo(f"| {point} | " + " | ".join(f"{row[c]:.3f}%" for c in cols) + " |")
