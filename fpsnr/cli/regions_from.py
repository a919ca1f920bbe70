"""``fpsnr regions from-fixations|from-coco|from-mask``: regions from annotations users have.

The commands are added to the ``regions`` group by :mod:`fpsnr.cli.regions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fpsnr.cli.options import F, NameList, inform, path_arg, radius_options, translate_errors
from fpsnr.errors import RegionsError
from fpsnr.images.io import read_image
from fpsnr.regions.annotations import (
    image_size,
    read_fixation_csv,
    read_fixation_map,
    read_salicon,
    regions_from_coco,
    regions_from_mask,
    regions_from_points,
    write_collection,
)
from fpsnr.regions.model import Regions

_MAP_ENDINGS = ("_fixPts", "_fixMap", "_fixations")


def _out_option(func: F) -> F:
    func = click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")(func)
    func = click.option("--max", "max_regions", type=click.IntRange(min=1), default=5, show_default=True,
                        help="At most this many regions per image.")(func)  # fmt: skip
    return click.option("--out", "-o", type=path_arg(dir_okay=False, path_type=Path), required=True,
                        help="Regions collection JSON to write.")(func)  # fmt: skip


def _refuse_existing(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise RegionsError(f"{out} exists; use --overwrite to replace it")


def _write(entries: list[Regions], out: Path) -> None:
    try:
        count = write_collection(entries, out)
    except OSError as err:
        raise RegionsError(f"{out}: cannot write ({err.strerror or err})") from err
    regions = sum(len(e.regions) for e in entries)
    inform(f"wrote {out}: {count} image(s), {regions} region(s)")


@click.command("from-fixations")
@click.argument("files", nargs=-1, required=True, type=path_arg(dir_okay=False, path_type=Path))
@click.option("--format", "kind", type=click.Choice(["auto", "csv", "salicon", "map"]), default="auto",
              show_default=True,
              help="auto: .csv is a fixation list, .json SALICON's, an image a fixation map.")  # fmt: skip
@click.option("--images", type=path_arg(file_okay=False, path_type=Path),
              help="Folder of the images, for their sizes when a CSV has no width and height "
              "columns.")  # fmt: skip
@click.option("--min-share", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Stop when a disc would add less than this share of an image's fixations.")  # fmt: skip
@_out_option
@radius_options
@translate_errors
def from_fixations_command(
    files: tuple[Path, ...], kind: str, images: Path | None, min_share: float, out: Path, max_regions: int,
    overwrite: bool, viewing_distance: float, foveal_angle: float,
) -> None:  # fmt: skip
    """Regions where people looked, from eye-tracking fixations (one disc per cluster).

    FILES are fixation lists — a CSV with columns image,x,y[,duration][,width,height]
    (0-based pixels; durations weight fixations), SALICON's JSON (1-based [row, col]) —
    or MIT1003-style fixation maps (images whose bright pixels are fixations). Each disc
    of the default radius is placed where it holds the most fixations not yet held; its
    strength is that share.

    \b
    Example:
      fpsnr regions from-fixations fixations.csv --images photos/ -o regions.json
    """
    _refuse_existing(out, overwrite)
    entries: list[Regions] = []

    def discs(points: Any, width: int, height: int, name: str, weights: Any = None) -> Regions:
        return regions_from_points(points, width, height, weights=weights, max_regions=max_regions,
                                   min_share=min_share, viewing_distance=viewing_distance,
                                   foveal_angle=foveal_angle, image_name=name)  # fmt: skip

    for path in files:
        form = kind if kind != "auto" else {".csv": "csv", ".json": "salicon"}.get(path.suffix.lower(), "map")
        if form == "map":
            points, (width, height) = read_fixation_map(path)
            stem = next((path.stem[: -len(e)] for e in _MAP_ENDINGS if path.stem.endswith(e)), path.stem)
            entries.append(discs(points, width, height, stem + path.suffix))
            continue
        found = read_fixation_csv(path) if form == "csv" else read_salicon(path)
        for name, (points, weights, size) in found.items():
            width, height = size or image_size(images, name)
            entries.append(discs(points, width, height, name, weights))
    _write(entries, out)


@click.command("from-coco")
@click.argument("instances", type=path_arg(dir_okay=False, path_type=Path))
@click.option("--categories", type=NameList(), help="Only these categories (comma-separated names).")
@_out_option
@radius_options
@translate_errors
def from_coco_command(
    instances: Path, categories: tuple[str, ...] | None, out: Path, max_regions: int, overwrite: bool,
    viewing_distance: float, foveal_angle: float,
) -> None:  # fmt: skip
    """Regions from COCO boxes: a disc at each box centre, the largest boxes first.

    The radius is half the side of a square of the box's area, kept between half and
    twice the default radius; crowd annotations are left out.

    \b
    Example:
      fpsnr regions from-coco instances_val2017.json --categories person,dog -o regions.json
    """
    _refuse_existing(out, overwrite)
    entries = regions_from_coco(instances, categories=categories or None, max_regions=max_regions,
                                viewing_distance=viewing_distance, foveal_angle=foveal_angle)  # fmt: skip
    if not entries:
        raise RegionsError(
            f"{instances}: no box is left (every annotation is a crowd or of another category)"
        )
    _write(entries, out)


@click.command("from-mask")
@click.argument("masks", nargs=-1, required=True, type=path_arg(dir_okay=False, path_type=Path))
@click.option("--connected", is_flag=True, help="Binary masks: each 8-connected blob is one segment.")
@_out_option
@translate_errors
def from_mask_command(
    masks: tuple[Path, ...], connected: bool, out: Path, max_regions: int, overwrite: bool
) -> None:
    """Regions from segmentation masks: one disc per segment at its deepest interior point.

    A mask is a label image (each non-zero value, or each non-black colour, one segment;
    with --connected each blob of non-zero pixels); the disc sits where the segment is
    farthest from its edge, so rings and L shapes get it inside. Default radius; the
    largest segments first. The image it belongs to has the mask's file name.

    \b
    Example:
      fpsnr regions from-mask masks/*.png -o regions.json
    """
    _refuse_existing(out, overwrite)
    entries = [regions_from_mask(read_image(path), connected=connected, max_regions=max_regions,
                                 image_name=path.name) for path in masks]  # fmt: skip
    _write(entries, out)
