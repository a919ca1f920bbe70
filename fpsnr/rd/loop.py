"""The one loop that fills an RD table, over anything that follows :class:`RDCodec`.

Images are the unit of work (each read once, scored at every rate point of every
codec), sent to worker processes in order and their rows given back in order.
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


def _image_rows(task: _ImageTask, job: _Job) -> Iterator[dict[str, Any]]:
    """The RD rows of one image, point by point."""
    image, todo = task
    fps = job.options.fps
    try:
        reference = read_image(Path(image))
        regions: Regions | None = regions_for_image(job.index, Path(image), reference, job.options)
    except FpsnrError as err:
        for _, points in todo:
            for point in points:
                yield failed_row(point, image, template(err), fps)
        return
    for position, points in todo:
        codec = job.codecs[position]
        try:
            codec.check(reference, image)
        except FpsnrError as err:
            for point in points:
                yield failed_row(point, image, template(err), fps)
            continue
        for point in points:
            coded: Coded | None = None
            error = None
            try:
                coded = codec.code(reference, point, image)
            except FpsnrError as err:
                error = template(err)
            yield rd_row(
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
                fps=fps,
                error=error,
                options=job.options,
                with_ms_ssim=job.ms_ssim,
            )


def _numbered_image_rows(task: tuple[int, _ImageTask], job: _Job) -> tuple[int, list[dict[str, Any]]]:
    """One image's rows in a worker process, with the task's number (to restore the order)."""
    number, image_task = task
    return number, list(_image_rows(image_task, job))


def _in_order(
    results: Iterable[tuple[int, list[dict[str, Any]]]],
) -> Iterator[list[dict[str, Any]]]:
    """Results that arrive in completion order, given back in task order."""
    waiting: dict[int, list[dict[str, Any]]] = {}
    following = 0
    for number, rows in results:
        waiting[number] = rows
        while following in waiting:
            yield waiting.pop(following)
            following += 1


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
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            for row in _image_rows(task, job):
                yield worded(row, words)
                done += 1
                if progress is not None:
                    progress(done, total)
        return
    from fpsnr.runs.parallel import map_local

    def lost(task: tuple[int, _ImageTask], why: str) -> tuple[int, list[dict[str, Any]]]:
        number, (image, todo) = task
        return number, [failed_row(p, image, why, options.fps) for _, points in todo for p in points]

    results = map_local(_numbered_image_rows, list(enumerate(tasks)), job, workers, preload=("fpsnr.rd",),
                        on_lost=lost)  # fmt: skip
    for rows in _in_order(results):
        yield from (worded(row, words) for row in rows)
        done += len(rows)
        if progress is not None:
            progress(done, total)
