"""Image ↔ bytes with a trained model: real entropy coding through CompressAI.

The image is padded to a multiple of 64 (edge replication, which costs fewer bits
than zeros) and cropped back after decoding, so any H, W ≥ 1 works. 8-bit RGB is
coded as is; 8-bit grayscale is replicated to three channels and decoded back to
gray with BT.601 luma (recorded in the header); alpha must be dropped by the caller;
16-bit and float images are refused.

Desync detection: CompressAI decoders produce garbage when the encoder's and the
decoder's hyper-decoder arithmetic differ by a rounding (other hardware, other
library build; CompressAI issues #279, #309, #320). The encoder stores a CRC of the
scale indexes derived from ẑ; the decoder recomputes them and refuses to decode y
if they differ.
"""

from __future__ import annotations

import os
import time
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from fpsnr.codec._compressai import compress, decompress, downsampling_factor
from fpsnr.codec.bitstream import Z_STRIDE, Header, latent_shape, pack, unpack
from fpsnr.codec.weights import WeightsInfo, default_weights, load_weights
from fpsnr.errors import BitstreamError, CodecError, DesyncError, ImageError
from fpsnr.images.pairs import LUMA_WEIGHTS, has_alpha
from fpsnr.limits import check_codec_pixels

__all__ = ["Codec", "Decoded", "Encoded", "decode", "encode", "index_checksum", "load"]


@dataclass(frozen=True)
class Encoded:
    data: bytes
    payload_bytes: int
    height: int
    width: int
    seconds: float

    @property
    def bpp_payload(self) -> float:
        """Bits per pixel of the entropy-coded strings (comparable with the literature)."""
        return 8 * self.payload_bytes / (self.height * self.width)

    @property
    def bpp_file(self) -> float:
        """Bits per pixel of the whole file, header included."""
        return 8 * len(self.data) / (self.height * self.width)


@dataclass(frozen=True)
class Decoded:
    image: npt.NDArray[np.uint8]
    header: Header
    seconds: float


def _to_tensor(image: npt.NDArray[np.generic]) -> tuple[torch.Tensor, int]:
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ImageError(f"the codec takes 8-bit images; got {img.dtype} (convert it first)")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        channels = 1
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.ndim == 3 and img.shape[2] == 3:
        channels = 3
    elif has_alpha(img):
        raise ImageError("the codec does not code alpha; drop it first ({alpha_drop})")
    else:
        raise ImageError(f"the codec takes (H, W) or (H, W, 3) images; got shape {img.shape}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ImageError(f"image of shape {img.shape} holds no pixel")
    refusal = check_codec_pixels("image", img.shape[1], img.shape[0])
    if refusal is not None:
        raise ImageError(refusal)
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].to(torch.float32) / 255.0
    return x, channels


def _pad(x: torch.Tensor, stride: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (0, pw, 0, ph), mode="replicate")


def index_checksum(indexes: torch.Tensor) -> int:
    """CRC-32 of the Gaussian-conditional scale indexes (int32, C order)."""
    return zlib.crc32(indexes.detach().to("cpu", torch.int32).contiguous().numpy().tobytes())


def _check_stride(model: Any) -> int:
    stride = downsampling_factor(model)
    if stride != Z_STRIDE:
        raise CodecError(
            f"the model downsamples by {stride}; bitstream version 1 holds z for a stride of {Z_STRIDE}"
        )
    return stride


def encode(model: Any, info: WeightsInfo, image: npt.NDArray[np.generic], *, device: str = "cpu") -> Encoded:
    """Compress an 8-bit image into a self-describing bitstream."""
    start = time.perf_counter()
    x, channels = _to_tensor(image)
    height, width = x.shape[-2:]
    with torch.no_grad():
        z_string, y_string, indexes = compress(model, _pad(x, _check_stride(model)).to(device))
    header = Header(
        model=info.arch,
        weights_id=info.weights_id,
        lmbda=info.lmbda,
        height=int(height),
        width=int(width),
        channels=channels,
        z_shape=latent_shape(int(height), int(width)),
        index_crc=index_checksum(indexes),
        z_length=len(z_string),
        y_length=len(y_string),
    )
    data = pack(header, z_string, y_string)
    return Encoded(
        data=data,
        payload_bytes=header.payload_length,
        height=int(height),
        width=int(width),
        seconds=time.perf_counter() - start,
    )


def decode(
    model: Any, info: WeightsInfo, data: bytes, *, source: str = "file", device: str = "cpu"
) -> Decoded:
    """Decompress a bitstream made by :func:`encode` with the same weights."""
    start = time.perf_counter()
    header, z_string, y_string = unpack(data, source=source)
    if header.model != info.arch:
        raise BitstreamError(
            f"{source}: encoded with model {header.model!r}; these weights are {info.arch!r}"
        )
    if not info.accepts(header.weights_id):
        raise BitstreamError(
            f"{source}: encoded with weights {header.weights_id.hex()}, not with {info.path} "
            f"({info.id_hex}); decode with the weights that encoded it"
        )
    _check_stride(model)

    def check(indexes: torch.Tensor) -> None:
        if index_checksum(indexes) != header.index_crc:
            raise DesyncError(
                f"{source}: the scale indexes decoded here differ from the encoder's: the z string is "
                "corrupt (a file whose checksums were recomputed), or the file was encoded with other "
                "hardware or library arithmetic; in that case decode on the kind of machine that encoded it"
            )

    try:
        with torch.no_grad():
            x_hat = decompress(model, z_string, y_string, header.z_shape, check)
    except DesyncError:
        raise
    except BitstreamError as err:  # from the isolated rANS decoder, which does not know the file
        raise BitstreamError(f"{source}: {err}") from err
    except (RuntimeError, ValueError, IndexError) as err:
        raise BitstreamError(f"{source}: cannot decode ({type(err).__name__}: {err})") from err
    x_hat = x_hat[0, :, : header.height, : header.width]
    if not torch.isfinite(x_hat).all():
        hint = "" if torch.device(device).type == "cpu" else "; decode on the CPU ({device_cpu})"
        raise CodecError(
            f"{source}: the decoder produced NaN or inf values (a corrupt or crafted y string){hint}"
        )
    rgb = (x_hat.permute(1, 2, 0).cpu().numpy() * 255.0).round().astype(np.uint8)
    if header.channels == 1:
        # a matrix product, not images.luma's sum term by term: the two round differently
        # in the last bit, and decoded pixels of existing bitstreams must not change
        luma = rgb.astype(np.float64) @ np.array(LUMA_WEIGHTS)
        image: npt.NDArray[np.uint8] = np.clip(luma.round(), 0, 255).astype(np.uint8)
    else:
        image = np.ascontiguousarray(rgb)
    return Decoded(image=image, header=header, seconds=time.perf_counter() - start)


@dataclass(frozen=True)
class Codec:
    """A trained model ready to code images; :func:`load` (``fpsnr.codec.load``) makes one.

    ``info`` is what the weights file says about itself (model, λ, N, M, its id, which
    every bitstream records); ``model`` the torch module on ``device``.
    """

    model: Any
    info: WeightsInfo
    device: str = "cpu"

    def encode(self, image: npt.NDArray[np.generic]) -> Encoded:
        """Compress an 8-bit image (H, W) or (H, W, 3) into a self-describing bitstream."""
        return encode(self.model, self.info, image, device=self.device)

    def decode(self, data: bytes, *, source: str = "bitstream") -> Decoded:
        """Decompress a bitstream made with these weights; ``source`` names it in errors."""
        return decode(self.model, self.info, data, source=source, device=self.device)


def load(name_or_path: str | os.PathLike[str], *, model: str | None = None, device: str = "cpu") -> Codec:
    """The codec of a weights file, a model name's shipped weights, or pretrained weights.

    Parameters
    ----------
    name_or_path : str or path-like
        A registry model name (``"bmshj2018-hyperprior"``: its shipped default weights,
        see ``fpsnr codec models``), a pretrained name (``"compressai/bmshj2018-hyperprior-mse-q4"``,
        fetched once into the cache, see :mod:`fpsnr.codec.pretrained`), or an fpsnr
        weights file.
    model : str, optional
        The model the weights must be of.
    device : str
        torch device to code on (decoding on a GPU has returned NaN images: CPU by default).
    """
    from fpsnr.codec.models import MODELS
    from fpsnr.codec.pretrained import resolve

    text = os.fspath(name_or_path)
    path = default_weights(text) if text in MODELS else resolve(text)
    net, info = load_weights(path, model)
    return Codec(net.to(device), info, device)
