"""Training data: random crops with flips from photos held in memory, and their discs.

Every image under ``data`` is decoded once and kept on the training device; each step
draws random crops (one batched gather from all photos packed in one buffer, with the
same draws as per-crop slices), and for ``foveal-mse`` the regions of each crop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from fpsnr.errors import CodecError
from fpsnr.images.io import find_images, read_image

__all__ = ["CropSource"]


class CropSource:
    """Random crops with flips from images held in memory on the training device.

    All images are packed, channel-planar, into one uint8 buffer on the device; a batch
    is one gather from it. The random draws (image, y, x, flip for each crop, in that
    order, from ``generator`` on the CPU) are those of cutting each crop as a slice, so
    both give the same pixels (``gather=False`` cuts slices: the reference, and the
    path before the gather).

    With ``regions`` (an index by file stem, or ``"suggest"``) every image also keeps its
    foveal regions, resolved to its pixels; :meth:`batch` then returns each crop's
    regions too, moved into the crop (and mirrored with it). Discs left without a pixel
    in the crop are dropped; a crop left with none gets one default-radius region at
    its centre (the single-focus fallback of ``--missing-regions center``). The random
    draws are the same with or without regions, so the plain path is unchanged.
    """

    def __init__(
        self, folder: str, patch: int, device: str, *, regions: Any = None, gather: bool = True
    ) -> None:
        paths = [p for _, ps in sorted(find_images(folder).items()) for p in ps]
        if not paths:
            raise CodecError(f"{folder}: no training images found")
        planes: list[torch.Tensor] = []
        self.names: list[str] = []
        self.discs: list[torch.Tensor] = []
        self.sizes: list[tuple[int, int]] = []
        self.skipped = 0
        for path in paths:
            img = read_image(path)
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                self.skipped += 1
                continue
            if img.shape[0] < patch or img.shape[1] < patch:
                self.skipped += 1
                continue
            planes.append(torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).reshape(-1))
            self.sizes.append((img.shape[0], img.shape[1]))
            self.names.append(path.name)
            if regions is not None:
                self.discs.append(_image_discs(img, path, regions))
        if not planes:
            raise CodecError(f"{folder}: no 8-bit RGB image is at least {patch}×{patch} pixels")
        self.flat = torch.cat(planes).to(device)
        starts = np.cumsum([0] + [p.numel() for p in planes[:-1]])
        self.starts = [int(v) for v in starts]
        self.images: list[torch.Tensor] = [  # views of the buffer
            self.flat[s : s + 3 * h * w].view(3, h, w)
            for s, (h, w) in zip(self.starts, self.sizes, strict=True)
        ]
        self.patch = patch
        self.device = device
        self.gather = gather
        self._span = torch.arange(patch, device=device)
        self._channels = torch.arange(3, device=device)

    def batch(self, size: int, generator: torch.Generator) -> torch.Tensor:
        return self.batch_with_regions(size, generator)[0]

    def batch_with_regions(
        self, size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, list[list[Any]] | None]:
        picks = torch.randint(len(self.images), (size,), generator=generator).tolist()
        draws, regions = [], []
        for k in picks:
            h, w = self.sizes[k]
            y = int(torch.randint(h - self.patch + 1, (1,), generator=generator))
            x = int(torch.randint(w - self.patch + 1, (1,), generator=generator))
            flip = bool(torch.rand(1, generator=generator) < 0.5)
            draws.append((k, y, x, flip))
            if self.discs:
                regions.append(crop_discs(self.discs[k], x, y, self.patch, flip=flip))
        crops = self._gathered(draws) if self.gather else self._sliced(draws)
        return crops.to(torch.float32) / 255.0, (regions if self.discs else None)

    def _sliced(self, draws: list[tuple[int, int, int, bool]]) -> torch.Tensor:
        crops = []
        for k, y, x, flip in draws:
            crop = self.images[k][:, y : y + self.patch, x : x + self.patch]
            crops.append(crop.flip(-1) if flip else crop)
        return torch.stack(crops)

    def _gathered(self, draws: list[tuple[int, int, int, bool]]) -> torch.Tensor:
        """(B, 3, P, P) uint8: crop b's pixel (c, i, j) is flat[origin + c·h·w + i·w + j']."""
        rows = []
        for k, y, x, flip in draws:
            h, w = self.sizes[k]
            rows.append((self.starts[k] + y * w + x, w, h * w, int(flip)))
        origin, width, plane, flips = torch.tensor(rows, dtype=torch.int64).to(self.device).unbind(1)
        span = self._span
        cols = torch.where(flips[:, None].bool(), self.patch - 1 - span, span)  # (B, P), mirrored if flipped
        index = (
            origin[:, None, None, None]
            + self._channels[None, :, None, None] * plane[:, None, None, None]
            + span[None, None, :, None] * width[:, None, None, None]
            + cols[:, None, None, :]
        )
        return self.flat[index]


def _image_discs(img: npt.NDArray[np.generic], path: Path, regions: Any) -> torch.Tensor:
    """(K, 3) float64 (cx, cy, r) of an image: from the index by stem, else suggested."""
    from fpsnr.regions.proposals import suggest_regions

    height, width = img.shape[:2]
    entry = None if isinstance(regions, str) else regions.get(path.stem)
    if entry is None:
        entry = suggest_regions(img, image_name=path.name)
    discs = entry.resolve(width, height)
    return torch.tensor([[d.x, d.y, d.radius] for d in discs], dtype=torch.float64)


def crop_discs(
    discs: torch.Tensor, x: int, y: int, height: int, width: int | None = None, flip: bool = False
) -> list[Any]:
    """An image's discs in the pixels of the ``height`` × ``width`` crop at (x, y).

    Mirrored if the crop was; ``width`` defaults to ``height``. Discs left without a pixel
    are dropped; a crop left with none gets one default-radius region at its centre.
    """
    from fpsnr.regions.discs import disc_has_pixel
    from fpsnr.regions.model import Disc, default_radius

    width = height if width is None else width
    out = []
    for n, (cx, cy, r) in enumerate(discs.tolist(), start=1):
        cx, cy = cx - x, cy - y
        if flip:
            cx = (width - 1) - cx
        disc = Disc(cx, cy, r, f"region-{n}")
        if disc_has_pixel(disc, height, width):
            out.append(disc)
    return out or [Disc((width - 1) / 2, (height - 1) / 2, default_radius(width, height), "center")]
