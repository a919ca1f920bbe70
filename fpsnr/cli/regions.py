"""``fpsnr regions``: validate regions files and draw them on images."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.options import (
    FLAGS,
    OrderedGroup,
    exif_option,
    inform,
    note_scaled,
    note_shipped,
    path_arg,
    radius_options,
    score_options,
    translate_errors,
)
from fpsnr.cli.regions_from import from_coco_command, from_fixations_command, from_mask_command
from fpsnr.errors import FpsnrError, RegionsError
from fpsnr.images.io import read_image, write_image
from fpsnr.options import ScoreOptions
from fpsnr.regions.discs import disc_has_pixel, require_pixels
from fpsnr.regions.overlay import draw_regions
from fpsnr.regions.proposals import DEFAULT_METHOD, DEFAULT_MIN_STRENGTH, METHODS, suggest_regions
from fpsnr.regions.regionfile import load_region_index, load_regions


@click.group("regions", cls=OrderedGroup)
def regions_group() -> None:
    """Check, draw and propose regions files.

    \b
    Example:
      fpsnr regions show kodim23.png kodak -o overlay.png
    """


def _check_one(path: Path, viewing_distance: float, foveal_angle: float) -> str:
    index = load_region_index(path)
    total = 0
    for entry in index.values():
        discs = entry.resolve(
            entry.width, entry.height, viewing_distance=viewing_distance, foveal_angle=foveal_angle
        )
        for disc in discs:
            if not disc_has_pixel(disc, entry.height, entry.width):  # never a frame-sized mask
                raise RegionsError(
                    f"{entry.source}: region {disc.label!r} (centre ({disc.x:g}, {disc.y:g}), radius "
                    f"{disc.radius:g}) lies outside the recorded {entry.width}×{entry.height} image"
                )
        total += len(discs)
    return f"ok  {path}: {len(index)} image(s), {total} region(s)"


@regions_group.command("check")
@click.argument("paths", nargs=-1, required=True, type=path_arg(path_type=Path))
@radius_options
def check_command(paths: tuple[Path, ...], viewing_distance: float, foveal_angle: float) -> None:
    """Validate regions files, folders of them, or collection files.

    Every file is checked (one line each); the exit status is 1 if any failed.

    \b
    Example:
      fpsnr regions check kodak my-regions/ photo.json
    """
    failed = 0
    for path in paths:
        targets = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if not targets:
            click.echo(f"error  {path}: folder holds no .json regions files", err=True)
            failed += 1
        for target in targets:
            try:
                click.echo(_check_one(target, viewing_distance, foveal_angle))
            except FpsnrError as err:
                click.echo(f"error  {err.say(FLAGS)}", err=True)
                failed += 1
    if failed:
        raise click.ClickException(f"{failed} regions file(s) failed validation")


@regions_group.command("show")
@click.argument("image", type=path_arg(path_type=Path))
@click.argument("regions_path", metavar="REGIONS", type=path_arg(path_type=str))
@click.option("--out", "-o", type=path_arg(path_type=Path), required=True, help="Overlay PNG to write.")
@click.option("--regions-image", default=None, metavar="NAME",
              help="Whose regions to use from the file or folder [IMAGE's file name].")  # fmt: skip
@click.option(
    "--test", "test", type=path_arg(dir_okay=False, path_type=Path), default=None,
    help="Score this test image against IMAGE and draw each region's F_PSNR and the error map.",
)  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
@score_options()
@translate_errors
def show_command(
    image: Path, regions_path: str, out: Path, regions_image: str | None, test: Path | None,
    overwrite: bool, options: ScoreOptions,
) -> None:
    """Draw the regions of REGIONS on IMAGE with the periphery dimmed, as in the paper's Figures 1 and 3.

    With --test, the picture explains a score instead: the test image with each circle,
    its label and F_PSNR, and the per-pixel error map (dB) beside or under it.

    \b
    Example:
      fpsnr regions show kodim23.png kodak -o overlay.png
      fpsnr regions show kodim23.png kodak --test kodim23-q30.jpg -o explained.png
    """
    if out.exists() and not overwrite:
        raise RegionsError(f"{out} exists; use --overwrite to replace it")
    viewing_distance, foveal_angle = options.viewing_distance, options.foveal_angle
    note_shipped(regions_path)
    if test is not None:
        from fpsnr.cli.score import write_overlay
        from fpsnr.images.io import read_pair
        from fpsnr.metrics import score_pair

        ref_image, test_image = read_pair(image, test, exif=options.exif == "apply")
        regions = load_regions(regions_path, image=regions_image or image.name)
        scores = score_pair(ref_image, test_image, regions, options, ref=str(image), test=str(test))
        note_scaled(regions, ref_image)
        write_overlay(out, ref_image, test_image, scores[0])
        return
    pixels = read_image(image, exif=options.exif == "apply")
    regions = load_regions(regions_path, image=regions_image or image.name)
    discs = regions.resolve(
        pixels.shape[1], pixels.shape[0], viewing_distance=viewing_distance, foveal_angle=foveal_angle
    )
    note_scaled(regions, pixels)
    require_pixels(discs, pixels.shape[0], pixels.shape[1])  # score refuses such a region: do not draw it
    write_image(out, draw_regions(pixels, discs))
    inform(f"wrote {out} ({len(discs)} region{'' if len(discs) == 1 else 's'})")


@regions_group.command("suggest")
@click.argument("image", type=path_arg(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=path_arg(dir_okay=False, path_type=Path),
    required=True,
    help="Regions JSON to write.",
)
@click.option(
    "--max",
    "max_regions",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="At most this many.",
)
@click.option(
    "--method", type=click.Choice(METHODS), default=DEFAULT_METHOD, show_default=True,
    help="signature: saliency times a centre prior learned from human fixations; "
    "spectral-residual: the method before December 2026.",
)
@click.option(
    "--min-strength", type=click.FloatRange(0, 1), default=DEFAULT_MIN_STRENGTH, show_default=True,
    help="signature: stop when a disc would add less than this share of the fixation map.",
)
@click.option(
    "--min-saliency", type=click.FloatRange(0, 1), default=None,
    help="spectral-residual: stop when the best remaining peak is below this share of the strongest [0.3].",
)  # fmt: skip
@click.option(
    "--overlay", type=path_arg(dir_okay=False, path_type=Path), help="Also draw them on the image."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
@exif_option
@radius_options
@translate_errors
def suggest_command(
    image: Path,
    out: Path,
    max_regions: int,
    method: str,
    min_strength: float,
    min_saliency: float | None,
    overlay: Path | None,
    overwrite: bool,
    exif: str,
    viewing_distance: float,
    foveal_angle: float,
) -> None:
    """Propose fixation regions for IMAGE: where free-viewing people are likely to look.

    The default method multiplies the image-signature saliency by a centre prior learned
    from human eye fixations and places the discs that hold the most of it; on 250
    eye-tracked scenes its first 3 discs hold about half of all fixations (a disc on the
    image centre: 22 %). The regions get the default radius, labels salient-1, salient-2,
    ... in order, and a strength: the share of the map each one adds. Review them
    (--overlay draws each with its strength) before relying on them. With --exif apply
    the centres are in the upright picture's coordinates, for scoring with --exif apply.

    \b
    Example:
      fpsnr regions suggest photo.png -o photo.json --overlay photo-regions.png
    """
    if out.exists() and not overwrite:
        raise RegionsError(f"{out} exists; use --overwrite to replace it")
    if min_saliency is not None and method != "spectral-residual":
        raise click.UsageError("--min-saliency applies to --method spectral-residual; use --min-strength")
    pixels = read_image(image, exif=exif == "apply")
    regions = suggest_regions(
        pixels,
        method=method,
        max_regions=max_regions,
        min_strength=min_strength,
        min_saliency=0.3 if min_saliency is None else min_saliency,
        viewing_distance=viewing_distance,
        foveal_angle=foveal_angle,
        image_name=image.name,
    )
    try:
        regions.dump(out)
    except OSError as err:
        raise RegionsError(f"{out}: cannot write ({err.strerror or err})") from err
    if overlay is not None:
        discs = regions.resolve(pixels.shape[1], pixels.shape[0], viewing_distance=viewing_distance,
                                foveal_angle=foveal_angle)  # fmt: skip
        texts = [f"{r.label} {r.strength:.0%}" for r in regions.regions]
        write_image(overlay, draw_regions(pixels, discs, texts=texts))
    where = ", ".join(f"({r.center[0]:g}, {r.center[1]:g})" for r in regions.regions)
    inform(f"wrote {out}: {len(regions.regions)} region(s) at {where}")

for _command in (from_fixations_command, from_coco_command, from_mask_command):
    regions_group.add_command(_command)
