"""``fpsnr score``: M-FPSNR of one image pair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from fpsnr.cli.options import (
    format_option,
    inform,
    no_clobber,
    note_scaled,
    note_shipped,
    path_arg,
    score_options,
    translate_errors,
)
from fpsnr.formatting import format_csv, format_table, json_value
from fpsnr.images.io import read_pair
from fpsnr.metrics import score_pair
from fpsnr.options import ScoreOptions
from fpsnr.regions.regionfile import load_regions


@click.command("score")
@click.argument("ref", type=path_arg(path_type=Path))
@click.argument("tests", metavar="TEST...", nargs=-1, required=True, type=path_arg(path_type=Path))
@click.option(
    "--regions", "regions_path", type=path_arg(path_type=str), default=None,
    help="Regions file, folder or 'kodak'; 'center' (one default-radius region at the centre) or "
    "'suggest' (saliency) [center, said on stderr].",
)  # fmt: skip
@click.option(
    "--regions-image", default=None, metavar="NAME",
    help="Whose regions to use from the file or folder [REF's file name].",
)  # fmt: skip
@format_option
@click.option(
    "--overlay", type=path_arg(dir_okay=False, path_type=Path), default=None,
    help="Also write a PNG that explains the score: each region with its F_PSNR, and the error map.",
)  # fmt: skip
@score_options()
@no_clobber("overlay")
@translate_errors
def score_command(
    ref: Path,
    tests: tuple[Path, ...],
    regions_path: str | None,
    regions_image: str | None,
    fmt: str,
    overlay: Path | None,
    options: ScoreOptions,
) -> None:
    """Score each TEST against REF: PSNR, F_PSNR per region, periphery PSNR and M-FPSNR.

    Several TEST images are scored against the one REF with the same regions: tables one
    after another, CSV rows under one header, JSON as an array of what each gives alone.
    JSON also holds each plane's PSNR (plane_psnr: R, G, B; the one luma plane for
    --channel y).

    \b
    Example:
      fpsnr score kodim23.png kodim23-q30.jpg --regions kodak --fp 0,0.5
      fpsnr score kodim23.png q10.jpg q30.jpg q50.jpg --regions kodak --format csv
    """
    if overlay is not None and len(tests) > 1:
        raise click.UsageError("--overlay explains one score: give one TEST with it")
    outputs: list[Any] = []
    regions: Any = None
    for n, test in enumerate(tests):
        # the images first: a missing file is said before a regions mismatch (each pair's
        # headers are compared before either is decoded, so the reference is read per pair)
        ref_image, test_image = read_pair(ref, test, exif=options.exif == "apply")
        if n == 0:
            warn_data_range(options.data_range, ref_image, ref)
            regions = regions_for(regions_path, regions_image or ref.name, ref_image, options)
        scores = score_pair(ref_image, test_image, regions, options, ref=str(ref), test=str(test))
        if n == 0:
            note_scaled(regions, ref_image)  # (after scoring: a size that cannot scale is the error alone)
        if overlay is not None:
            write_overlay(overlay, ref_image, test_image, scores[0])
        if fmt == "json":
            planes = json_value(_plane_psnrs(ref_image, test_image, options))
            items = [json_value(s.to_dict()) | {"plane_psnr": planes} for s in scores]
            outputs.append(items[0] if len(items) == 1 else items)
        else:
            outputs.append(scores)
    if fmt == "json":
        click.echo(json.dumps(outputs[0] if len(outputs) == 1 else outputs, indent=2, allow_nan=False))
    elif fmt == "csv":
        click.echo(format_csv([s for scores in outputs for s in scores]).rstrip("\n"))
    else:
        click.echo("\n\n".join(format_table(scores).rstrip("\n") for scores in outputs))


def _plane_psnrs(ref: Any, test: Any, options: ScoreOptions) -> list[float]:
    """Each plane's PSNR (eq. 2): R, G, B, or the one plane of a gray image or of --channel y."""
    from fpsnr.metrics import psnr

    if options.channel == "y" or ref.ndim == 2:
        return [psnr(ref, test, channel=options.channel, data_range=options.data_range,
                     max_db=options.max_db, alpha=options.alpha)]  # fmt: skip
    return [psnr(ref[:, :, c], test[:, :, c], data_range=options.data_range, max_db=options.max_db)
            for c in range(min(ref.shape[2], 3))]  # fmt: skip


def write_overlay(path: Path, ref: object, test: object, score: object) -> None:
    """Draw :func:`fpsnr.regions.overlay.draw_score` for a score (its first Fp) into ``path``."""
    from fpsnr.errors import ImageReadError
    from fpsnr.rd.plots import check_figure_format
    from fpsnr.regions.overlay import draw_score, regions_of

    check_figure_format(path)
    try:
        draw_score(ref, test, regions_of(score), score, path)  # type: ignore[arg-type]
    except OSError as err:
        raise ImageReadError(f"{path}: cannot write ({err.strerror or err})") from err
    inform(f"wrote {path}")


def warn_data_range(data_range: float | None, image: Any, path: Path) -> None:
    """Warn when --data-range exceeds what the file's integer depth can hold (PSNR would read high)."""
    import numpy as np

    if data_range is None or image.dtype.kind not in "ui":
        return
    top = np.iinfo(image.dtype).max
    if data_range > top:
        bits = image.dtype.itemsize * 8
        click.echo(
            f"warning: --data-range {data_range:g} is above the {bits}-bit range of {path} (0–{top}); "
            f"every PSNR reads {20 * np.log10(data_range / top):.2f} dB high unless the values span it",
            err=True,
        )


def regions_for(path: str | None, image: str, pixels: Any, options: ScoreOptions) -> Any:
    """The regions of ``image``: from a file/folder/shipped set, or the ``center``/``suggest`` policies.

    No ``--regions`` at all means ``center``, said on stderr; the bare names ``center``
    and ``suggest`` mean those policies and ``kodak`` the shipped set, always (a file of
    that name is reached as ``./center``).
    """
    from fpsnr.options import BatchOptions
    from fpsnr.regions.policy import fallback_regions

    note_shipped(path)
    name = path
    if name is None:
        inform("note: no --regions; scoring one default-radius region at the image centre "
             "(single-focus F_PSNR); pass --regions FILE, or --regions suggest")
        name = "center"
    if name in ("center", "suggest"):
        policy = BatchOptions(missing_regions=name, viewing_distance=options.viewing_distance,  # type: ignore[arg-type]
                              foveal_angle=options.foveal_angle)  # fmt: skip
        return fallback_regions(pixels, Path(image).stem, policy)
    return load_regions(name, image=image)
