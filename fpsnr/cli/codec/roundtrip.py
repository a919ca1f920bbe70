"""``fpsnr codec roundtrip``: encode, decode and score one image."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.codec.common import (
    codec_modules,
    device_option,
    load,
    model_option,
    weights_option,
    without_alpha,
)
from fpsnr.cli.options import FLAGS, alpha_option, fp_option, path_arg, radius_options, translate_errors


@click.command("roundtrip")
@click.argument("image", type=path_arg(dir_okay=False, path_type=Path))
@weights_option
@model_option
@click.option("--regions", "regions_path", type=path_arg(path_type=Path), help="Regions JSON for F_PSNR.")
@fp_option
@click.option(
    "--out", "-o", type=path_arg(dir_okay=False, path_type=Path), help="Also write the decoded image."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Report on stdout.")  # fmt: skip
@alpha_option
@radius_options
@device_option
@translate_errors
def roundtrip_command(
    image: Path,
    weights: Path | None,
    model: str | None,
    regions_path: Path | None,
    fps: tuple[float, ...],
    out: Path | None,
    fmt: str,
    alpha: str,
    viewing_distance: float,
    foveal_angle: float,
    device: str,
) -> None:
    """Encode and decode IMAGE, then score the 8-bit result with the core engine.

    The decoder runs on the CPU unless --device says otherwise.

    \b
    Example:
      fpsnr codec roundtrip kodim23.png --regions kodak --fp 0,0.5
    """
    from fpsnr.formatting import format_roundtrip, format_roundtrip_json
    from fpsnr.images.io import read_image, write_image
    from fpsnr.options import ScoreOptions
    from fpsnr.regions.regionfile import load_regions

    codec_modules()
    from fpsnr.codec.rd import roundtrip

    options = ScoreOptions(fps=fps, viewing_distance=viewing_distance, foveal_angle=foveal_angle)
    original = without_alpha(read_image(image), alpha)
    codec = load(weights, model, device)
    regions = None if regions_path is None else load_regions(regions_path, image=image.name)
    result, decoded = roundtrip(
        codec, original, name=str(image), regions=regions, options=options
    )
    if out is not None:
        write_image(out, decoded)
    click.echo(format_roundtrip(result, words=FLAGS) if fmt == "table" else format_roundtrip_json(result))
