"""``fpsnr codec encode``: an image into an .fpc bitstream."""

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
    write_bitstream,
)
from fpsnr.cli.options import alpha_option, inform, no_clobber, path_arg, translate_errors
from fpsnr.errors import ImageError


@click.command("encode")
@click.argument("image", type=path_arg(dir_okay=False, path_type=Path))
@click.option(
    "--out", "-o", type=path_arg(dir_okay=False, path_type=Path), required=True, help=".fpc file."
)
@weights_option
@model_option
@alpha_option
@device_option
@no_clobber("out")
@translate_errors
def encode_command(
    image: Path, out: Path, weights: Path | None, model: str | None, alpha: str, device: str
) -> None:
    """Compress IMAGE (8-bit RGB or gray) into an .fpc bitstream.

    \b
    Example:
      fpsnr codec encode kodim23.png -o kodim23.fpc
    """
    from fpsnr.images.io import read_image
    from fpsnr.limits import check_codec_pixels

    _coder, _ = codec_modules()
    pixels = without_alpha(read_image(image), alpha)  # a bad image is refused before the model loads
    refusal = check_codec_pixels(str(image), pixels.shape[1], pixels.shape[0])
    if refusal is not None:
        raise ImageError(refusal)
    encoded = load(weights, model, device).encode(pixels)
    write_bitstream(out, encoded.data)
    inform(
        f"wrote {out}: {len(encoded.data)} bytes, {encoded.bpp_payload:.4f} bpp payload, "
        f"{encoded.bpp_file:.4f} bpp file, {encoded.seconds:.2f} s"
    )
