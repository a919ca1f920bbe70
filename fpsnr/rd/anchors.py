"""The classical anchors of an RD study, run in-process: JPEG, WebP, JPEG 2000, AVIF.

JPEG, WebP and JPEG 2000 go through OpenCV, AVIF through Pillow where the installed
Pillow has it. Each anchor is an :class:`~fpsnr.rd.schema.RDCodec` adapter of the one RD
loop, :func:`fpsnr.rd.loop.run_rd`.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import FpsnrError, ParameterError
from fpsnr.options import BatchOptions
from fpsnr.rd.loop import run_rd
from fpsnr.rd.schema import DEFAULT_FPS, Coded, RatePoint
from fpsnr.regions.model import RegionIndex
from fpsnr.runs.progress import reporting

__all__ = ["ANCHORS", "Anchor", "AnchorCodec", "avif_available", "run_anchors"]


@dataclass(frozen=True)
class Anchor:
    """A classical codec run in-process: encode to bytes and decode back."""

    name: str
    qualities: tuple[int, ...]
    code: Callable[[npt.NDArray[np.uint8], int], tuple[bytes, float, npt.NDArray[np.uint8], float]]


def _opencv(ext: str, flag: int) -> Callable[[npt.NDArray[np.uint8], int], tuple[bytes, float, Any, float]]:
    def code(rgb: npt.NDArray[np.uint8], q: int) -> tuple[bytes, float, Any, float]:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        start = time.perf_counter()
        ok, buf = cv2.imencode(ext, bgr, [flag, int(q)])
        enc = time.perf_counter() - start
        if not ok:
            raise FpsnrError(f"OpenCV could not encode {ext} at quality {q}")
        start = time.perf_counter()
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        dec = time.perf_counter() - start
        if out is None:
            raise FpsnrError(f"OpenCV could not decode its own {ext}")
        return buf.tobytes(), enc, cv2.cvtColor(out, cv2.COLOR_BGR2RGB), dec

    return code


def _pillow_avif(rgb: npt.NDArray[np.uint8], q: int) -> tuple[bytes, float, Any, float]:
    from PIL import Image

    start = time.perf_counter()
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="AVIF", quality=int(q))
    enc = time.perf_counter() - start
    data = out.getvalue()
    start = time.perf_counter()
    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return data, enc, back, time.perf_counter() - start


def avif_available() -> bool:
    """Whether the installed Pillow encodes and decodes AVIF."""
    try:
        from PIL import features

        return bool(features.check("avif"))
    except (ImportError, ValueError):
        return False


ANCHORS: dict[str, Anchor] = {
    "jpeg": Anchor(
        "jpeg", (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95), _opencv(".jpg", cv2.IMWRITE_JPEG_QUALITY)
    ),
    "webp": Anchor(
        "webp", (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95), _opencv(".webp", cv2.IMWRITE_WEBP_QUALITY)
    ),
    # OpenCV's JPEG 2000 quality is the compression ratio × 1000 (1000 = lossless)
    "jp2": Anchor(
        "jp2",
        (10, 20, 30, 50, 75, 100, 150, 200, 300),
        _opencv(".jp2", cv2.IMWRITE_JPEG2000_COMPRESSION_X1000),
    ),
    "avif": Anchor("avif", (10, 20, 30, 40, 50, 60, 70, 80, 90), _pillow_avif),
}


class AnchorCodec:
    """An :class:`Anchor` over a quality sweep, as an :class:`~fpsnr.rd.schema.RDCodec`."""

    def __init__(self, anchor: Anchor, qualities: Sequence[int] | None = None) -> None:
        self.anchor = anchor
        self.qualities = tuple(anchor.qualities if qualities is None else qualities)

    def points(self) -> list[RatePoint]:
        return [RatePoint(self.anchor.name, f"q{q}", q) for q in self.qualities]

    def __reduce__(self) -> tuple[Any, ...]:
        """Sent to a worker process by name (the coding functions are closures)."""
        return _anchor_codec, (self.anchor.name, self.qualities)

    def check(self, reference: npt.NDArray[np.generic], image: str) -> None:
        if reference.dtype != np.uint8 or reference.ndim != 3 or reference.shape[2] != 3:
            raise FpsnrError(
                f"{image}: anchors take 8-bit RGB images, got {reference.dtype} {reference.shape}"
            )

    def code(self, reference: npt.NDArray[np.generic], point: RatePoint, image: str) -> Coded:
        try:
            data, enc, decoded, dec = self.anchor.code(reference, int(point.quality))  # type: ignore[arg-type]
        except (FpsnrError, cv2.error, OSError, ValueError) as err:
            raise FpsnrError(f"{type(err).__name__}: {err}") from err
        return Coded(nbytes=len(data), encode_seconds=enc, decoded=decoded, decode_seconds=dec)


def _anchor_codec(name: str, qualities: tuple[int, ...]) -> AnchorCodec:
    return AnchorCodec(ANCHORS[name], qualities)


def anchor_codecs(
    names: Iterable[str], qualities: dict[str, Sequence[int]] | None = None
) -> list[AnchorCodec]:
    """The anchors called ``names``, each over its own sweep or ``qualities[name]``."""
    codecs = []
    for name in names:
        if name not in ANCHORS:
            raise ParameterError(f"unknown anchor codec {name!r}; choose from {', '.join(ANCHORS)}")
        if name == "avif" and not avif_available():
            raise ParameterError(
                "this Pillow cannot write AVIF; drop 'avif' or install a Pillow built with it"
            )
        codecs.append(AnchorCodec(ANCHORS[name], (qualities or {}).get(name)))
    return codecs


def run_anchors(
    data_dir: str | os.PathLike[str],
    regions: RegionIndex,
    codecs: Iterable[str],
    *,
    fps: Sequence[float] = DEFAULT_FPS,
    qualities: dict[str, Sequence[int]] | None = None,
    missing_regions: str = "error",
    progress: bool = False,
) -> list[dict[str, Any]]:
    """RD rows of classical codecs over a quality sweep, one per image × codec × quality."""
    adapters = anchor_codecs(codecs, qualities)
    options = BatchOptions(fps=tuple(fps), missing_regions=missing_regions)  # type: ignore[arg-type]
    with reporting(progress, "anchors", "code") as report:
        return list(run_rd(data_dir, regions, adapters, options, progress=report))
