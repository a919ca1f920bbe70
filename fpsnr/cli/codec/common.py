"""What the codec commands share: their options and the lazy import of the codec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fpsnr.codec import MODEL_NAMES
from fpsnr.errors import BitstreamError, FpsnrError, ImageReadError
from fpsnr.images import drop_alpha, has_alpha


def codec_modules() -> Any:
    """The codec modules (coder, weights), imported on first use."""
    from fpsnr.codec import require_codec

    require_codec()
    from fpsnr.codec import coder, weights

    return coder, weights


def load(weights_path: Path, model: str | None, device: str) -> tuple[Any, Any]:
    """A model and its :class:`WeightsInfo` from a weights file, on ``device``."""
    _, weights = codec_modules()
    net, info = weights.load_weights(weights_path, model)
    return net.to(device), info


def without_alpha(image: Any, alpha: str) -> Any:
    """The image with alpha dropped when ``--alpha drop`` says so; refused otherwise."""
    if has_alpha(image):
        if alpha != "drop":
            raise FpsnrError("the image has an alpha channel; the codec does not code it: use --alpha drop")
        image = drop_alpha(image)
    return image


def read_bitstream(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > 1 << 30:
            raise BitstreamError(f"{path}: {size} bytes, larger than any fpsnr bitstream (1 GiB)")
        return path.read_bytes()
    except FileNotFoundError as err:
        raise ImageReadError(f"{path}: no such file") from err
    except IsADirectoryError as err:
        raise ImageReadError(f"{path}: is a folder") from err


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
    "--weights", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="fpsnr weights file (.safetensors) from 'fpsnr codec train' or 'fpsnr codec convert'.",
)  # fmt: skip
device_option = click.option(
    "--device", default="cpu", show_default=True, help="torch device; cuda is opt-in (decode on the CPU)."
)
