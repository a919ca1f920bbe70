"""The compressed-file format, version 1 (documented in ``docs/bitstream.md``).

Pure Python (struct, zlib): parsing a file needs no torch, and every check runs
before any tensor is allocated, so a truncated, corrupted or hostile file costs
bounded memory and time.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from fpsnr.errors import BitstreamError
from fpsnr.limits import check_codec_pixels

__all__ = ["FORMAT_VERSION", "MAGIC", "MAX_PIXELS", "Z_STRIDE", "Header", "latent_shape", "pack", "unpack"]

MAGIC = b"FPSC"
FORMAT_VERSION = 1
MAX_PIXELS = 1 << 28
"""Largest image any version-1 header may describe; a decoder also applies the codec's
pixel budget (:func:`fpsnr.limits.codec_max_pixels`, 2²³ by default), which bounds the
memory the synthesis transform would take before any tensor is allocated."""
Z_STRIDE = 64
"""How much smaller than the padded image z is, in version 1 (the hyperprior's
downsampling; :mod:`fpsnr.codec.coder` checks the model's own against it)."""
_PREFIX = struct.Struct("<4sBH")  # magic, version, header length
_FIELDS = struct.Struct("<8sdIIBHHIII")  # weights id, λ, H, W, channels, z_h, z_w, index crc, z len, y len
_CRC = struct.Struct("<I")


@dataclass(frozen=True)
class Header:
    """Everything a decoder needs besides the weights, and the checks it must pass."""

    model: str
    weights_id: bytes
    lmbda: float
    height: int
    width: int
    channels: int
    z_shape: tuple[int, int]
    index_crc: int
    """CRC-32 of the scale indexes the encoder derived from ẑ (desync detection)."""
    z_length: int
    y_length: int

    @property
    def payload_length(self) -> int:
        return self.z_length + self.y_length


def latent_shape(height: int, width: int) -> tuple[int, int]:
    """Shape of z for an image padded to a multiple of 64."""
    return (-(-height // Z_STRIDE), -(-width // Z_STRIDE))


def pack(header: Header, z_string: bytes, y_string: bytes) -> bytes:
    """Serialise a header and the two entropy-coded strings."""
    name = header.model.encode("ascii")
    if not 1 <= len(name) <= 255:
        raise BitstreamError(f"model name {header.model!r} must be 1–255 ASCII characters")
    if len(header.weights_id) != 8:
        raise BitstreamError("weights id must be 8 bytes")
    body = (
        bytes([len(name)])
        + name
        + _FIELDS.pack(
            header.weights_id,
            header.lmbda,
            header.height,
            header.width,
            header.channels,
            header.z_shape[0],
            header.z_shape[1],
            header.index_crc,
            len(z_string),
            len(y_string),
        )
    )
    payload = z_string + y_string
    crc = zlib.crc32(payload, zlib.crc32(body))
    return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(body)) + body + _CRC.pack(crc) + payload


def unpack(
    data: bytes, *, source: str = "file", max_pixels: int | None = None
) -> tuple[Header, bytes, bytes]:
    """Parse and check a compressed file: header, z string, y string.

    Raises
    ------
    BitstreamError
        Wrong magic or version, truncated or over-long file, checksum mismatch, or a
        header asking for an impossible or absurd image.
    """
    if len(data) < _PREFIX.size:
        raise BitstreamError(f"{source}: {len(data)} bytes, too short for an fpsnr bitstream")
    magic, version, body_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise BitstreamError(f"{source}: not an fpsnr bitstream (magic {magic!r}, expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise BitstreamError(
            f"{source}: bitstream format version {version}; this fpsnr reads version {FORMAT_VERSION}"
        )
    start = _PREFIX.size
    if len(data) < start + body_len + _CRC.size or body_len < 1 + _FIELDS.size:
        raise BitstreamError(f"{source}: truncated header")
    body = data[start : start + body_len]
    name_len = body[0]
    if body_len != 1 + name_len + _FIELDS.size:
        raise BitstreamError(f"{source}: corrupted header (length {body_len} does not fit its fields)")
    try:
        model = body[1 : 1 + name_len].decode("ascii")
    except UnicodeDecodeError as err:
        raise BitstreamError(f"{source}: corrupted header (model name is not ASCII)") from err
    wid, lmbda, height, width, channels, z_h, z_w, index_crc, z_len, y_len = _FIELDS.unpack_from(
        body, 1 + name_len
    )
    if height < 1 or width < 1 or height * width > MAX_PIXELS:
        raise BitstreamError(
            f"{source}: header claims a {width}×{height} image; refusing (limit {MAX_PIXELS} pixels)"
        )
    if max_pixels is not None and height * width > max_pixels:
        raise BitstreamError(
            f"{source}: header claims a {width}×{height} image; refusing (limit {max_pixels} pixels)"
        )
    refusal = check_codec_pixels(source, width, height) if max_pixels is None else None
    if refusal is not None:
        raise BitstreamError(refusal)
    if channels not in (1, 3):
        raise BitstreamError(f"{source}: header claims {channels} channels; expected 1 or 3")
    if (z_h, z_w) != latent_shape(height, width):
        raise BitstreamError(
            f"{source}: corrupted header (latent {z_h}×{z_w} does not match {width}×{height})"
        )
    (crc,) = _CRC.unpack_from(data, start + body_len)
    payload = data[start + body_len + _CRC.size :]
    if len(payload) != z_len + y_len:
        kind = "truncated" if len(payload) < z_len + y_len else "has trailing bytes"
        raise BitstreamError(
            f"{source}: {kind}: the payload holds {len(payload)} byte(s), the header says {z_len + y_len}"
        )
    if zlib.crc32(payload, zlib.crc32(body)) != crc:
        raise BitstreamError(f"{source}: checksum mismatch: the file is corrupted")
    header = Header(
        model=model,
        weights_id=wid,
        lmbda=lmbda,
        height=height,
        width=width,
        channels=channels,
        z_shape=(z_h, z_w),
        index_crc=index_crc,
        z_length=z_len,
        y_length=y_len,
    )
    return header, payload[:z_len], payload[z_len:]
