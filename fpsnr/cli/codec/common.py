"""What the codec commands share: their options and the lazy import of the codec."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

from fpsnr.cli.options import path_arg
from fpsnr.codec import MODEL_NAMES
from fpsnr.errors import BitstreamError, FpsnrError, ImageReadError
from fpsnr.images.pairs import drop_alpha, has_alpha
from fpsnr.limits import read_capped


def codec_modules() -> Any:
    """The codec modules (coder, weights), imported on first use.

    The command's own process imports only the part of CompressAI the codec uses (4 s
    instead of 10 s to start; :mod:`fpsnr.codec._compressai`).
    """
    from fpsnr.codec import CompressAIVersionWarning, require_codec

    try:
        from fpsnr.codec._compressai import import_for_command

        import_for_command()
    except ImportError:
        pass  # require_codec says what is missing
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompressAIVersionWarning)
        require_codec()
    for warning in caught:  # one line, not Python's two (file:line, then the source line)
        click.echo(f"warning: {warning.message}", err=True)
    from fpsnr.codec import coder, weights

    return coder, weights


def load(weights_path: Path | None, model: str | None, device: str) -> Any:
    """The :class:`~fpsnr.codec.coder.Codec` of a weights file (or name), on ``device``.

    Without a file: the default weights of ``model`` (of the plain hyperprior when
    ``model`` is not given either).
    """
    coder, _ = codec_modules()
    if weights_path is None:
        return coder.load(model or MODEL_NAMES[0], model=model, device=device)
    return coder.load(weights_file(weights_path), model=model, device=device)


def weights_file(value: Path | str) -> Path:
    """A --weights value as a file: a pretrained name is fetched (with a progress bar) first."""
    from fpsnr.codec.pretrained import PREFIX, cached, fetch

    text = str(value)
    if not text.startswith(PREFIX):
        return Path(value)
    if cached(text) is not None:
        return fetch(text)
    from fpsnr.runs.progress import ProgressBar

    with ProgressBar(text.removeprefix(PREFIX), "B", unit_scale=True, log_every=1 << 22) as bar:
        return fetch(text, progress=bar)


def load_for_bitstream(weights_path: Path | None, model: str | None, data: bytes, source: str,
                       device: str) -> Any:  # fmt: skip
    """The model that decodes ``data``: the given weights, or the default weights its header names.

    The header is checked first: a corrupt or hostile file is refused before seconds
    and a gigabyte go into loading a model.
    """
    from fpsnr.codec.bitstream import unpack

    header = unpack(data, source=source)[0]
    if weights_path is not None:
        return load(weights_path, model, device)
    codec_modules()
    if model is not None and model != header.model:
        raise BitstreamError(f"{source}: encoded with model {header.model!r}, not {model!r}")
    from fpsnr.codec.models import MODELS

    if header.model not in MODELS or MODELS[header.model].default_weights is None:
        raise BitstreamError(
            f"{source}: encoded with model {header.model!r}, which has no default weights here; "
            "pass the weights that encoded it with --weights"
        )
    codec = load(None, header.model, device)
    if not codec.info.accepts(header.weights_id):
        raise BitstreamError(
            f"{source}: encoded with weights {header.weights_id.hex()}, not with the default weights of "
            f"{header.model}; pass the weights that encoded it with --weights"
        )
    return codec


def without_alpha(image: Any, alpha: str) -> Any:
    """The image with alpha dropped when ``--alpha drop`` says so; refused otherwise."""
    if has_alpha(image):
        if alpha != "drop":
            raise FpsnrError("the image has an alpha channel; the codec does not code it: use --alpha drop")
        image = drop_alpha(image)
    return image


def read_bitstream(path: Path) -> bytes:
    """The bytes of a bitstream file, at most 1 GiB (counted while reading: pipes, devices)."""
    data = read_capped(path, 1 << 30, ImageReadError, expected="an .fpc bitstream")
    if data is None:
        raise BitstreamError(f"{path}: larger than any fpsnr bitstream (1 GiB)")
    return data


def check_device(ctx: click.Context | None, param: click.Parameter | None, value: str) -> str:
    """A torch device this machine has (``cpu``, ``cuda``, ``cuda:N``, ``mps``), else a usage error."""
    if value == "cpu":
        return value
    try:
        import torch
    except ImportError:
        return value  # the command itself says how to install the codec extra

    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        raise click.BadParameter(f"{value!r} is not a device; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cpu":
        return value
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise click.ClickException(f"--device {value}: this machine has no usable CUDA GPU; use cpu")
        if device.index is not None and device.index >= count:
            raise click.ClickException(
                f"--device {value}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"
            )
        return value
    if device.type == "mps" and torch.backends.mps.is_available():
        return value
    raise click.ClickException(f"--device {value}: not a device fpsnr can compute on here; use cpu or cuda")


def write_bitstream(path: Path, data: bytes) -> None:
    from fpsnr.files import write_bytes_atomic

    try:
        write_bytes_atomic(path, data)
    except OSError as err:
        raise ImageReadError(f"{path}: cannot write ({err.strerror or err})") from err


model_option = click.option(
    "--model", type=click.Choice(MODEL_NAMES), default=None,
    help="Model name; must match the weights (default: the weights' own).",
)  # fmt: skip
weights_option = click.option(
    "--weights", type=path_arg(dir_okay=False, path_type=Path), default=None,
    help="fpsnr weights file (.safetensors) from 'fpsnr codec train' or 'convert', or a pretrained "
    "name (compressai/bmshj2018-hyperprior-mse-q1…q8, see 'fpsnr codec pretrained list') "
    "[default: the model's shipped weights, see 'fpsnr codec models'].",
)  # fmt: skip
device_option = click.option(
    "--device", default="cpu", show_default=True, callback=check_device,
    help="torch device: cpu, cuda, cuda:N or mps. cpu unless asked: GPU decoding of these models "
    "has returned NaN images.",
)  # fmt: skip
train_device_option = click.option(
    "--device", default="cpu", show_default=True, callback=check_device,
    help="torch device: cpu, cuda, cuda:N or mps; under torchrun, cuda is each process's own GPU.",
)  # fmt: skip
