"""The learned codec measured: one image through and back, and RD rows over a folder.

:class:`LearnedCodec` is the learned codec as an :class:`~fpsnr.rd.schema.RDCodec`, one rate
point per weights file.

Every image is really encoded and decoded; the rate is the bitstream's payload bytes
(comparable with the literature), the codec column the model name, the rate point its
λ. The RD loop itself is the core's :func:`fpsnr.rd.loop.run_rd`, shared with the anchors.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fpsnr.codec import coder
from fpsnr.errors import REMEDIES, CodecError
from fpsnr.metrics import psnr, score_pair
from fpsnr.options import BatchOptions, ScoreOptions
from fpsnr.rd.loop import run_rd
from fpsnr.rd.schema import Coded, RatePoint, RDKey
from fpsnr.regions.model import RegionIndex, Regions
from fpsnr.results import RoundtripResult, Score
from fpsnr.runs.progress import ProgressCallback

__all__ = ["LearnedCodec", "roundtrip", "run_eval"]


class LearnedCodec:
    """Loaded weights files, each one rate point of the learned codec."""

    def __init__(self, weights: Sequence[str | os.PathLike[str]], *, device: str = "cpu") -> None:
        self.weights = [str(w) for w in weights]
        self.device = device
        self._by_point: dict[RatePoint, coder.Codec] = {}
        for path in weights:
            codec = coder.load(Path(path), device=device)
            info = codec.info
            # the codec column: the model, or the weights' own name for it (CompressAI's pretrained)
            point = RatePoint(info.metadata.get("codec", info.arch), f"{info.lmbda:g}", info.lmbda)
            if point in self._by_point:
                raise CodecError("two weights files share model and λ; give each rate point once")
            self._by_point[point] = codec

    def points(self) -> list[RatePoint]:
        return list(self._by_point)

    def __reduce__(self) -> tuple[Any, ...]:
        """Sent to a worker process as its weights files, loaded there once per process."""
        return _loaded, (tuple(self.weights), self.device)

    def check(self, reference: npt.NDArray[np.generic], image: str) -> None:
        """Nothing to check up front: the coder refuses what it cannot code, per point."""

    def code(self, reference: npt.NDArray[np.generic], point: RatePoint, image: str) -> Coded:
        codec = self._by_point[point]
        enc = codec.encode(reference)
        dec = codec.decode(enc.data, source=image)
        return Coded(
            nbytes=enc.payload_bytes,
            encode_seconds=enc.seconds,
            decoded=dec.image,
            decode_seconds=dec.seconds,
        )


_LOADED: dict[tuple[tuple[str, ...], str], LearnedCodec] = {}


def _loaded(weights: tuple[str, ...], device: str) -> LearnedCodec:
    """The codec of these weights files, loaded once per process."""
    key = (weights, device)
    if key not in _LOADED:
        _LOADED[key] = LearnedCodec(weights, device=device)
    return _LOADED[key]


def run_eval(
    data_dir: str | os.PathLike[str],
    index: RegionIndex,
    weights: Sequence[str | os.PathLike[str]],
    options: BatchOptions,
    *,
    device: str = "cpu",
    progress: ProgressCallback | None = None,
    skip: Collection[RDKey] = frozenset(),
    workers: int = 1,
    with_ms_ssim: bool = True,
    words: Mapping[str, str] = REMEDIES,
) -> Iterator[dict[str, Any]]:
    """RD rows of the learned codec at each weights file, image by image (:func:`~fpsnr.rd.loop.run_rd`)."""
    return run_rd(data_dir, index, [LearnedCodec(weights, device=device)], options, progress=progress,
                  skip=skip, workers=workers, with_ms_ssim=with_ms_ssim, words=words)  # fmt: skip


def roundtrip(
    codec: coder.Codec,
    image: npt.NDArray[np.generic],
    *,
    name: str,
    regions: Regions | None = None,
    options: ScoreOptions | None = None,
) -> tuple[RoundtripResult, npt.NDArray[np.uint8]]:
    """Encode and decode one image, then score the 8-bit result with the core engine.

    ``name`` is the image's name in the result; with ``regions`` the scores hold F_PSNR
    and M-FPSNR at every Fp of ``options``, without them only the frame PSNR is
    computed. Returns the result and the decoded image.
    """
    info = codec.info
    encoded = codec.encode(image)
    decoded = codec.decode(encoded.data, source=name)
    height, width = image.shape[:2]
    scores: tuple[Score, ...] = ()
    if regions is not None:
        scores = tuple(score_pair(image, decoded.image, regions, options, ref=name))
    result = RoundtripResult(
        image=name,
        model=info.arch,
        weights=f"{Path(info.path).name} ({info.id_hex})",
        lmbda=info.lmbda,
        width=width,
        height=height,
        bytes=len(encoded.data),
        payload_bytes=encoded.payload_bytes,
        bpp_payload=encoded.bpp_payload,
        bpp_file=encoded.bpp_file,
        encode_seconds=encoded.seconds,
        decode_seconds=decoded.seconds,
        # score_pair already has the frame PSNR when regions were given
        psnr=scores[0].psnr if scores else psnr(image, decoded.image),
        scores=scores,
    )
    return result, decoded.image
