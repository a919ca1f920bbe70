"""The one loop that fills an RD table, over anything that follows :class:`RDCodec`.

In one process, images are the unit of work: each read once, then coded at every rate
point of every codec, each row given back as soon as it is made. With worker processes
the unit is one coding (image, codec, rate point), sent one at a time, so a finished
coding's row is written at once and Ctrl-C loses none (newcomer 2026-12 finding 10:
chunks of 3 images, 66 codings, were kept or lost together); each worker keeps the
last image it read, so an image is read about once per worker. Rows are given back in
the order of the plan (images by relative path, codecs as given, their points in
order), so tables made with 1 or N workers are the same.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpsnr.errors import REMEDIES, FpsnrError, ParameterError, template, worded
from fpsnr.images.io import find_images, read_image
from fpsnr.options import BatchOptions
from fpsnr.rd.schema import Coded, RatePoint, RDCodec, RDKey, failed_row, rd_row
from fpsnr.regions.model import RegionIndex, Regions
from fpsnr.regions.policy import regions_for_image
from fpsnr.runs.progress import ProgressCallback

__all__ = ["run_rd"]


@dataclass(frozen=True)
class _Job:
    """What every image's task shares (sent to each worker once per chunk)."""

    index: RegionIndex
    codecs: tuple[RDCodec, ...]
    options: BatchOptions
    ms_ssim: bool


_ImageTask = tuple[str, tuple[tuple[int, tuple[RatePoint, ...]], ...]]
"""An image and, per codec (its position in the job), the rate points still to do."""


class _Prepared:
    """One image read once: its pixels, its regions, and each codec's check of it."""

    def __init__(self, image: str, job: _Job) -> None:
        self.image = image
        self.reference: Any = None
        self.regions: Regions | None = None
        self.error: str | None = None
        self._checked: dict[int, str | None] = {}
        try:
            self.reference = read_image(Path(image))
            self.regions = regions_for_image(job.index, Path(image), self.reference, job.options)
        except FpsnrError as err:
            self.error = template(err)

    def row(self, job: _Job, position: int, point: RatePoint) -> dict[str, Any]:
        """The RD row of ``point`` of codec ``position`` (an error row if the image or codec refused)."""
        if self.error is None and position not in self._checked:
            try:
                job.codecs[position].check(self.reference, self.image)
                self._checked[position] = None
            except FpsnrError as err:
                self._checked[position] = template(err)
        error = self.error if self.error is not None else self._checked[position]
        if error is not None:
            return failed_row(point, self.image, error, job.options.fps)
        return _row(job, job.codecs[position], point, self.image, self.reference, self.regions)


def _image_rows(task: _ImageTask, job: _Job) -> Iterator[dict[str, Any]]:
    """The RD rows of one image, point by point."""
    image, todo = task
    prepared = _Prepared(image, job)
    for position, points in todo:
        for point in points:
            yield prepared.row(job, position, point)


def _row(
    job: _Job, codec: RDCodec, point: RatePoint, image: str, reference: Any, regions: Regions | None
) -> dict[str, Any]:
    """Code ``reference`` at ``point`` and score the decoded image: one RD row."""
    coded: Coded | None = None
    error = None
    try:
        coded = codec.code(reference, point, image)
    except FpsnrError as err:
        error = template(err)
    return rd_row(
        codec=point.codec,
        rate_point=point.rate_point,
        quality=point.quality,
        image=image,
        reference=reference,
        decoded=None if coded is None else coded.decoded,
        nbytes=0 if coded is None else coded.nbytes,
        encode_seconds=0.0 if coded is None else coded.encode_seconds,
        decode_seconds=0.0 if coded is None else coded.decode_seconds,
        regions=regions,
        fps=job.options.fps,
        error=error,
        options=job.options,
        with_ms_ssim=job.ms_ssim,
    )


_CodeTask = tuple[int, str, int, RatePoint]
"""One coding in a worker: its number in the plan, the image, the codec's position, the point."""

_LAST: dict[str, _Prepared] = {}
"""A worker's last image, prepared (consecutive codings of one image read it once)."""


def _coded_row(task: _CodeTask, job: _Job) -> tuple[int, dict[str, Any]]:
    """One coding's row in a worker process, with its number (to restore the order)."""
    number, image, position, point = task
    prepared = _LAST.get(image)
    if prepared is None:
        _LAST.clear()
        prepared = _LAST[image] = _Prepared(image, job)
    return number, prepared.row(job, position, point)


def in_order(results: Iterable[tuple[int, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Results that arrive in completion order, given back in task order.

    Interrupted (Ctrl-C), the finished rows still waiting for an earlier one are given
    back first, out of order, so the caller keeps them; then the interrupt goes on.
    """
    waiting: dict[int, dict[str, Any]] = {}
    following = 0
    try:
        for number, row in results:
            waiting[number] = row
            while following in waiting:
                yield waiting.pop(following)
                following += 1
    except KeyboardInterrupt:
        for number in sorted(waiting):
            yield waiting.pop(number)
        raise


def run_rd(
    data_dir: str | os.PathLike[str],
    index: RegionIndex,
    codecs: Sequence[RDCodec],
    options: BatchOptions,
    *,
    progress: ProgressCallback | None = None,
    skip: Collection[RDKey] = frozenset(),
    workers: int = 1,
    with_ms_ssim: bool = True,
    words: Mapping[str, str] = REMEDIES,
) -> Iterator[dict[str, Any]]:
    """RD rows of every image under ``data_dir`` × codec × rate point, as they are made.

    Images are taken in the order of their relative paths; for each, every codec's
    points in order — also with ``workers`` > 1 processes (each codes whole images; the
    rows are given back in that order). Regions come from ``index`` (keyed by file
    stem) or, for an image without, from ``options.missing_regions``. Rows whose
    (codec, rate point, image) is in ``skip`` are not made (a resumed run has them);
    ``with_ms_ssim=False`` leaves the MS-SSIM column empty. ``progress(done, total)``
    counts codings. An error row's remedies are worded as ``words`` says (the command
    line passes its flags).
    """
    images = find_images(data_dir)
    if not images:
        raise ParameterError(f"{data_dir}: no images found")
    paths = [path for _, found in sorted(images.items()) for path in found]
    plan = [codec.points() for codec in codecs]
    tasks: list[_ImageTask] = []
    for path in paths:
        image = str(path)
        todo = tuple(
            (n, kept) for n, points in enumerate(plan)
            if (kept := tuple(p for p in points if (p.codec, p.rate_point, image) not in skip))
        )  # fmt: skip
        if todo:
            tasks.append((image, todo))
    total = sum(len(points) for _, todo in tasks for _, points in todo)
    job = _Job(index, tuple(codecs), options, with_ms_ssim)
    done = 0
    if progress is not None:
        progress(done, total)
    if workers <= 1 or total <= 1:
        for task in tasks:
            for row in _image_rows(task, job):
                yield worded(row, words)
                done += 1
                if progress is not None:
                    progress(done, total)
        return
    from fpsnr.runs.parallel import map_local

    codings: list[_CodeTask] = []
    for image, todo in tasks:
        for position, points in todo:
            codings.extend((len(codings), image, position, point) for point in points)

    def lost(task: _CodeTask, why: str) -> tuple[int, dict[str, Any]]:
        number, image, _, point = task
        return number, failed_row(point, image, why, options.fps)

    results = map_local(_coded_row, codings, job, workers, preload=("fpsnr.rd",), on_lost=lost, chunk=1)
    for row in in_order(results):
        yield worded(row, words)
        done += 1
        if progress is not None:
            progress(done, total)
