"""``fpsnr codec convert``: a CompressAI state dict into fpsnr weights."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.codec.common import codec_modules, weights_file
from fpsnr.cli.options import inform, no_clobber, path_arg, translate_errors
from fpsnr.codec import MODEL_NAMES


@click.command("convert")
@click.argument("source", type=path_arg(dir_okay=False, path_type=Path))
@click.option("--out", "-o", type=path_arg(dir_okay=False, path_type=Path), required=True,
              help="fpsnr weights file (.safetensors) to write.")
@click.option("--model", type=click.Choice(MODEL_NAMES), default=MODEL_NAMES[0], show_default=True,
              help="Model the weights go into (the attention model starts as the identity).")  # fmt: skip
@click.option(
    "--lmbda", type=float, default=None,
    help="λ the checkpoint was trained with [required, except for a pretrained name: its own λ].",
)  # fmt: skip
@click.option("--distortion", type=click.Choice(["mse", "ms-ssim"]), default="mse", show_default=True,
              help="What the checkpoint was trained for, for the record.")  # fmt: skip
@click.option("--steps", type=click.IntRange(min=0), default=0, help="Training steps, for the record.")
@click.option("--data", default="unknown", help="Training data, for the record.")
@click.option("--half", is_flag=True, help="Store floats as float16 (half the size).")
@no_clobber("out")
@translate_errors
def convert_command(
    source: Path, out: Path, model: str, lmbda: float | None, distortion: str, steps: int, data: str,
    half: bool,
) -> None:
    """Convert a CompressAI bmshj2018-hyperprior state dict into fpsnr weights.

    SOURCE is a .safetensors file, a .pth state dict (read with weights_only=True:
    no pickled code runs), or a pretrained name (fpsnr codec pretrained list). With
    --model bmshj2018-hyperprior-attn the attention blocks start as the identity
    (W1 = 0, the layers around them doubled), so the
    converted model computes exactly what the plain one does: a sound start for
    fine-tuning.

    \b
    Example:
      fpsnr codec convert checkpoint.pth --lmbda 0.013 -o weights.safetensors
      fpsnr codec convert compressai/bmshj2018-hyperprior-mse-q4 \\
          --model bmshj2018-hyperprior-attn -o attn.safetensors
    """
    _, _weights = codec_modules()
    from fpsnr.codec.pretrained import PREFIX, REGISTRY

    name = str(source)
    if name.startswith(PREFIX):
        entry = REGISTRY.get(name)
        lmbda = entry.lmbda if lmbda is None and entry is not None else lmbda
        data = f"{name} (CompressAI, trained on Vimeo-90k)" if data == "unknown" else data
        source = weights_file(name)
    if lmbda is None:
        raise click.UsageError("give --lmbda, the λ the checkpoint was trained with")
    from fpsnr.codec.convert import convert_compressai

    info = convert_compressai(
        source, out, arch=model, lmbda=lmbda, distortion=distortion, steps=steps, data=data, half=half
    )
    inform(
        f"wrote {out}: {info.arch}, N={info.n}, M={info.m}, λ={info.lmbda:g}, id {info.id_hex}"
    )
