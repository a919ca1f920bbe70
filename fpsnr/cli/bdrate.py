"""``fpsnr bdrate``: Bjøntegaard delta rates between codecs of an RD CSV."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.options import NameList, flat, metric_fp_option, path_arg, translate_errors
from fpsnr.rd.bdrate import METRICS, RATES


@click.command("bdrate")
@click.argument(
    "rd_csvs", metavar="RD_CSV...", nargs=-1, required=True, type=path_arg(dir_okay=False, path_type=Path)
)
@click.option("--anchor", required=True, help="Reference codec (the codec column).")
@click.option("--test", "test_groups", type=NameList(what="CODEC"), multiple=True, required=True,
              help="Codec(s) to compare (the codec column); comma list or repeat.")  # fmt: skip
@click.option("--metric", "metric_groups", multiple=True, default=("psnr",), show_default=True,
              type=NameList(METRICS, "METRIC"),
              help=f"{', '.join(METRICS)}; several (comma list or repeat): a Table-3-style "
                   "table.")  # fmt: skip
@metric_fp_option
@click.option("--method", type=click.Choice(["akima", "pchip", "cubic"]), default="akima", show_default=True,
              help="Interpolation of the curves (bjontegaard package).")  # fmt: skip
@click.option("--rate", type=click.Choice(RATES), default="bpp", show_default=True,
              help="Rate axis: bits per pixel, or kbit/s (video RD files).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True,
              help="table: one row per codec; csv or json: one record per codec and metric.")  # fmt: skip
@translate_errors
def bdrate_command(
    rd_csvs: tuple[Path, ...], anchor: str, test_groups: tuple[tuple[str, ...], ...],
    metric_groups: tuple[tuple[str, ...], ...], fp: float, method: str, rate: str, fmt: str,
) -> None:
    """Bjøntegaard delta rate (%) of each --test codec against --anchor.

    Negative: fewer bits for the same quality. Curves are averaged over images per
    rate point first (mean bpp, mean metric), on the images every curve covers (matched
    by file name; a note says when some are left out). Several RD CSVs are merged.

    \b
    Example:
      fpsnr bdrate rd.csv --anchor jpeg --test webp,avif --metric psnr,m_fpsnr
    """
    from fpsnr.rd.bdrate import bd_rate
    from fpsnr.rd.images import common_images
    from fpsnr.rd.rdfile import read_rd_csvs

    tests, metrics = flat(test_groups), flat(metric_groups)
    rd, note = common_images(read_rd_csvs(rd_csvs), [anchor, *tests])
    if note:
        click.echo(note, err=True)
    names = {"psnr": "PSNR", "mean_fpsnr": "mean F_PSNR", "periphery_psnr": "periphery PSNR",
             "ms_ssim": "MS-SSIM", "m_fpsnr": f"M-FPSNR (Fp={fp:g})"}  # fmt: skip
    # every BD-rate first: a failure must not leave half a table on stdout
    results = {(test, metric): bd_rate(rd, anchor, test, metric=metric, fp=fp, method=method, rate=rate)
               for test in tests for metric in metrics}  # fmt: skip
    for (test, _), result in results.items():
        if result.overlap < 0.75:
            click.echo(
                f"warning: {test} vs {anchor} under {result.metric}: the curves overlap on "
                f"{result.overlap:.0%} of their quality range; the BD-rate extrapolates",
                err=True,
            )
    if fmt != "table":
        records = [{"anchor": anchor, "test": test, "metric": r.metric, "method": r.method,
                    "bd_rate_percent": r.bd_rate, "overlap": r.overlap, "anchor_points": r.points[0],
                    "test_points": r.points[1]} for (test, _), r in results.items()]  # fmt: skip
        if fmt == "json":
            import json

            click.echo(json.dumps(records, indent=2))
        else:
            import csv
            import io

            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: repr(v) if isinstance(v, float) else v for k, v in rec.items()}
                             for rec in records)  # fmt: skip
            click.echo(buffer.getvalue(), nl=False)
        return
    header = [f"{'vs ' + anchor:28s}"] + [f"{names[m]:>20s}" for m in metrics]
    click.echo("".join(header))
    for test in tests:
        cells = [f"{results[(test, metric)].bd_rate:+19.2f}%" for metric in metrics]
        click.echo(f"{test:28s}" + "".join(cells))
