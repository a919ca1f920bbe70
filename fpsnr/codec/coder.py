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

import time
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from fpsnr.codec.bitstream import Header, latent_shape, pack, unpack
from fpsnr.codec.isolation import isolate_decoders
from fpsnr.codec.weights import WeightsInfo
from fpsnr.errors import BitstreamError, CodecError, DesyncError, ImageError
from fpsnr.images import LUMA_WEIGHTS, has_alpha
from fpsnr.limits import check_codec_pixels

__all__ = ["Decoded", "Encoded", "decode", "encode", "index_checksum"]

_STRIDE = 64


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
        raise ImageError("the codec does not code alpha; drop it first (--alpha drop)")
    else:
        raise ImageError(f"the codec takes (H, W) or (H, W, 3) images; got shape {img.shape}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ImageError(f"image of shape {img.shape} holds no pixel")
    refusal = check_codec_pixels("image", img.shape[1], img.shape[0])
    if refusal is not None:
        raise ImageError(refusal)
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].to(torch.float32) / 255.0
    return x, channels


def _pad(x: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % _STRIDE, (-w) % _STRIDE
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (0, pw, 0, ph), mode="replicate")


def index_checksum(indexes: torch.Tensor) -> int:
    """CRC-32 of the Gaussian-conditional scale indexes (int32, C order)."""
    return zlib.crc32(indexes.detach().to("cpu", torch.int32).contiguous().numpy().tobytes())


# The two functions below mirror CompressAI 1.2.8's ScaleHyperprior.compress and
# .decompress (compressai/models/google.py) step for step. They are copied rather than
# called because the desync check needs the scale indexes in the middle: the encoder
# stores their checksum, the decoder compares it before it decodes y. Keep them in step
# with the CompressAI version the ``codec`` extra pins.


def _compress_latents(model: Any, x: torch.Tensor) -> tuple[bytes, bytes, torch.Tensor]:
    """ScaleHyperprior.compress: the z and y strings of a padded batch of one, and the indexes."""
    with torch.no_grad():
        y = model.g_a(x)
        z = model.h_a(torch.abs(y))
        z_strings = model.entropy_bottleneck.compress(z)
        z_hat = model.entropy_bottleneck.decompress(z_strings, z.shape[-2:])
        scales = model.h_s(z_hat)
        indexes = model.gaussian_conditional.build_indexes(scales)
        y_strings = model.gaussian_conditional.compress(y, indexes)
    return z_strings[0], y_strings[0], indexes


def _decompress_latents(
    model: Any, header: Header, z_string: bytes, y_string: bytes, *, source: str, device: str
) -> torch.Tensor:
    """ScaleHyperprior.decompress, refusing to decode y when the indexes' checksum differs."""
    with torch.no_grad():
        z_hat = model.entropy_bottleneck.decompress([z_string], header.z_shape).to(device)
        scales = model.h_s(z_hat)
        indexes = model.gaussian_conditional.build_indexes(scales)
        if index_checksum(indexes) != header.index_crc:
            raise DesyncError(
                f"{source}: the scale indexes decoded here differ from the encoder's: the z string is "
                "corrupt (a file whose checksums were recomputed), or the file was encoded with other "
                "hardware or library arithmetic; in that case decode on the kind of machine that encoded it"
            )
        y_hat = model.gaussian_conditional.decompress([y_string], indexes, z_hat.dtype)
        x_hat: torch.Tensor = model.g_s(y_hat).clamp_(0, 1)
    return x_hat


def encode(model: Any, info: WeightsInfo, image: npt.NDArray[np.generic], *, device: str = "cpu") -> Encoded:
    """Compress an 8-bit image into a self-describing bitstream."""
    start = time.perf_counter()
    x, channels = _to_tensor(image)
    height, width = x.shape[-2:]
    z_string, y_string, indexes = _compress_latents(model, _pad(x).to(device))
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
    if header.weights_id != info.weights_id:
        raise BitstreamError(
            f"{source}: encoded with weights {header.weights_id.hex()}, not with {info.path} "
            f"({info.id_hex}); decode with the weights that encoded it"
        )
    isolate_decoders(model, source)  # a crafted string can crash the rANS decoder: not in this process
    try:
        x_hat = _decompress_latents(model, header, z_string, y_string, source=source, device=device)
    except BitstreamError:
        raise
    except (RuntimeError, ValueError, IndexError) as err:
        raise BitstreamError(f"{source}: cannot decode ({type(err).__name__}: {err})") from err
    x_hat = x_hat[0, :, : header.height, : header.width]
    if not torch.isfinite(x_hat).all():
        hint = "" if torch.device(device).type == "cpu" else "; decode on the CPU (--device cpu)"
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
