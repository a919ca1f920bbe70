"""``fpsnr codec decode``: an .fpc bitstream back into an image."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.codec.common import (
    codec_modules,
    device_option,
    load_for_bitstream,
    model_option,
    read_bitstream,
    weights_option,
)
from fpsnr.cli.options import inform, no_clobber, path_arg, translate_errors


@click.command("decode")
@click.argument("bitstream", type=path_arg(dir_okay=False, path_type=Path))
@click.option(
    "--out", "-o", type=path_arg(dir_okay=False, path_type=Path), required=True, help="Image to write."
)
@weights_option
@model_option
@device_option
@no_clobber("out")
@translate_errors
def decode_command(bitstream: Path, out: Path, weights: Path | None, model: str | None, device: str) -> None:
    """Decompress BITSTREAM into an image (PNG recommended: lossless).

    Without --weights the model's shipped weights decode it, chosen from the bitstream's
    header (which records the model and the weights that encoded it).

    \b
    Example:
      fpsnr codec decode kodim23.fpc -o kodim23-decoded.png
    """
    from fpsnr.codec.bitstream import unpack
    from fpsnr.images.io import write_image

    data = read_bitstream(bitstream)
    unpack(data, source=str(bitstream))  # a hostile header is refused before torch is even imported
    _coder, _ = codec_modules()
    codec = load_for_bitstream(weights, model, data, str(bitstream), device)
    decoded = codec.decode(data, source=str(bitstream))
    write_image(out, decoded.image)
    inform(
        f"wrote {out}: {decoded.header.width}×{decoded.header.height}, {decoded.seconds:.2f} s"
    )
