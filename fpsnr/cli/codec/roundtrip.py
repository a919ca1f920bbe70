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
from fpsnr.cli.options import (
    FLAGS,
    alpha_option,
    fp_option,
    no_clobber,
    note_scaled,
    path_arg,
    radius_options,
    translate_errors,
)


@click.command("roundtrip")
@click.argument("image", type=path_arg(dir_okay=False, path_type=Path))
@weights_option
@model_option
@click.option(
    "--regions", "regions_path", type=path_arg(path_type=str), default=None,
    help="Regions file, folder, 'kodak', 'center' or 'suggest' [none: one region at the centre, as score].",
)  # fmt: skip
@fp_option
@click.option(
    "--out", "-o", type=path_arg(dir_okay=False, path_type=Path), help="Also write the decoded image."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Report on stdout.")  # fmt: skip
@alpha_option
@radius_options
@device_option
@no_clobber("out")
@translate_errors
def roundtrip_command(
    image: Path,
    weights: Path | None,
    model: str | None,
    regions_path: str | None,
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
    from fpsnr.cli.score import regions_for
    from fpsnr.formatting import format_roundtrip, format_roundtrip_json
    from fpsnr.images.io import read_image, write_image
    from fpsnr.options import ScoreOptions

    codec_modules()
    from fpsnr.codec.rd import roundtrip

    options = ScoreOptions(fps=fps, viewing_distance=viewing_distance, foveal_angle=foveal_angle)
    original = without_alpha(read_image(image), alpha)
    codec = load(weights, model, device)
    regions = regions_for(regions_path, image.name, original, options)  # as score: none is the centre
    result, decoded = roundtrip(
        codec, original, name=str(image), regions=regions, options=options
    )
    note_scaled(regions, original)
    if out is not None:
        write_image(out, decoded)
    click.echo(format_roundtrip(result, words=FLAGS) if fmt == "table" else format_roundtrip_json(result))
