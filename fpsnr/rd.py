"""Rate–distortion tables: the tidy RD CSV of SPEC §5 and the loop that fills it.

One row per codec × rate point × image, with the rate from real bytes and every
quality number from the core engine on the decoded 8-bit image:

``codec, rate_point, quality, image, width, height, bytes, bpp, psnr, mean_fpsnr,
periphery_psnr, m_fpsnr_fp<Fp>… (one column per Fp of the sweep), ms_ssim,
encode_seconds, decode_seconds, error``

:func:`run_rd` is the one loop that makes those rows, over anything that follows the
small :class:`RDCodec` interface: the classical anchors (:mod:`fpsnr.anchors`) and the
learned codec (:mod:`fpsnr.codec.rd`, which needs torch) are two adapters of it. A
decoded image that holds NaN or inf, or any failure, is a row with ``error`` set and
the numbers empty — never a number.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from fpsnr.errors import FpsnrError, ParameterError
from fpsnr.fallback import regions_for_image
from fpsnr.images import find_images, read_image
from fpsnr.metrics import score_pair
from fpsnr.options import SWEEP_FPS, BatchOptions, ScoreOptions
from fpsnr.progress import ProgressCallback
from fpsnr.quality import ms_ssim
from fpsnr.regions import RegionIndex, Regions
from fpsnr.sink import CsvSink

__all__ = [
    "DEFAULT_FPS",
    "Coded",
    "RDCodec",
    "RatePoint",
    "fp_column",
    "rd_columns",
    "rd_row",
    "read_rd_csv",
    "read_rd_csvs",
    "run_rd",
    "write_rd_csv",
    "write_rd_run",
]

DEFAULT_FPS = SWEEP_FPS

_MOVED_TO_ANCHORS = ("ANCHORS", "Anchor", "avif_available", "run_anchors")


def __getattr__(name: str) -> Any:
    """Names that moved to :mod:`fpsnr.anchors` (which imports this module) stay importable."""
    if name in _MOVED_TO_ANCHORS:
        from fpsnr import anchors

        return getattr(anchors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fp_column(fp: float) -> str:
    """Column of M-FPSNR at one Fp: ``m_fpsnr_fp0.5``."""
    return f"m_fpsnr_fp{float(fp):g}"


def rd_columns(fps: Sequence[float]) -> list[str]:
    head = ["codec", "rate_point", "quality", "image", "width", "height", "bytes", "bpp"]
    metrics = ["psnr", "mean_fpsnr", "periphery_psnr", *[fp_column(fp) for fp in fps], "ms_ssim"]
    return [*head, *metrics, "encode_seconds", "decode_seconds", "error"]


@dataclass(frozen=True)
class RatePoint:
    """One point of a codec's RD curve: the ``codec``, ``rate_point`` and ``quality`` cells."""

    codec: str
    rate_point: str
    quality: float


@dataclass(frozen=True)
class Coded:
    """An image through a codec and back: the bytes it cost and what came out."""

    nbytes: int
    encode_seconds: float
    decoded: npt.NDArray[np.generic]
    decode_seconds: float


class RDCodec(Protocol):
    """What :func:`run_rd` needs of a codec."""

    def points(self) -> Sequence[RatePoint]:
        """The rate points, in the order their rows are written."""
        ...

    def check(self, reference: npt.NDArray[np.generic], image: str) -> None:
        """Raise :class:`~fpsnr.errors.FpsnrError` if this codec cannot code the image."""
        ...

    def code(self, reference: npt.NDArray[np.generic], point: RatePoint, image: str) -> Coded:
        """Encode and decode ``image`` at one rate point; failures are :class:`FpsnrError`."""
        ...


def rd_row(
    *,
    codec: str,
    rate_point: str,
    quality: float,
    image: str,
    reference: npt.NDArray[np.generic],
    decoded: npt.NDArray[np.generic] | None,
    nbytes: int,
    encode_seconds: float,
    decode_seconds: float,
    regions: Regions | None,
    fps: Sequence[float],
    error: str | None = None,
    options: ScoreOptions | None = None,
    with_ms_ssim: bool = True,
) -> dict[str, Any]:
    """One RD CSV row; the metrics come from :func:`fpsnr.score_pair` and :func:`ms_ssim`.

    ``options`` scores the pair (default: the default settings at the Fp of ``fps``);
    its Fp list must be ``fps``, the M-FPSNR columns of the file. ``with_ms_ssim=False``
    leaves the MS-SSIM cell empty (it is the slowest number of the row).
    """
    opts = options or ScoreOptions(fps=tuple(fps))
    if tuple(opts.fps) != tuple(float(fp) for fp in fps):
        raise ParameterError(f"the options score Fp {list(opts.fps)} but the RD columns are {list(fps)}")
    height, width = reference.shape[:2]
    row: dict[str, Any] = dict.fromkeys(rd_columns(fps))
    row.update(codec=codec, rate_point=rate_point, quality=quality, image=image, width=width, height=height)
    if error is None and decoded is not None and decoded.dtype.kind == "f" and not np.isfinite(decoded).all():
        error = "decoded image holds NaN or inf values"
    if error is None and regions is None:
        error = "no regions for this image"
    if error is None and decoded is not None and regions is not None:
        try:
            scores = score_pair(reference, decoded, regions, opts)
            row.update(
                bytes=nbytes,
                bpp=8 * nbytes / (width * height),
                psnr=scores[0].psnr,
                mean_fpsnr=scores[0].mean_fpsnr,
                periphery_psnr=scores[0].periphery_psnr,
                ms_ssim=ms_ssim(reference, decoded) if with_ms_ssim else None,
                encode_seconds=encode_seconds,
                decode_seconds=decode_seconds,
            )
            for fp, s in zip(fps, scores, strict=True):
                row[fp_column(fp)] = s.m_fpsnr
        except FpsnrError as err:
            error = str(err)
    row["error"] = error or ""
    return row


def failed_row(point: RatePoint, image: str, message: str, fps: Sequence[float]) -> dict[str, Any]:
    """A row for a rate point that could not even start (unreadable image, no regions)."""
    row: dict[str, Any] = dict.fromkeys(rd_columns(fps))
    row.update(codec=point.codec, rate_point=point.rate_point, quality=point.quality, image=image,
               error=message)  # fmt: skip
    return row


RDKey = tuple[str, str, str]
"""(codec, rate point, image): one row of an RD table."""


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
                yield failed_row(point, image, str(err), fps)
        return
    for position, points in todo:
        codec = job.codecs[position]
        try:
            codec.check(reference, image)
        except FpsnrError as err:
            for point in points:
                yield failed_row(point, image, str(err), fps)
            continue
        for point in points:
            coded: Coded | None = None
            error = None
            try:
                coded = codec.code(reference, point, image)
            except FpsnrError as err:
                error = str(err)
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
) -> Iterator[dict[str, Any]]:
    """RD rows of every image under ``data_dir`` × codec × rate point, as they are made.

    Images are taken in the order of their relative paths; for each, every codec's
    points in order — also with ``workers`` > 1 processes (each codes whole images; the
    rows are given back in that order). Regions come from ``index`` (keyed by file
    stem) or, for an image without, from ``options.missing_regions``. Rows whose
    (codec, rate point, image) is in ``skip`` are not made (a resumed run has them);
    ``with_ms_ssim=False`` leaves the MS-SSIM column empty. ``progress(done, total)``
    counts codings.
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
                yield row
                done += 1
                if progress is not None:
                    progress(done, total)
        return
    from fpsnr.parallel import map_local

    def lost(task: tuple[int, _ImageTask], why: str) -> tuple[int, list[dict[str, Any]]]:
        number, (image, todo) = task
        return number, [failed_row(p, image, why, options.fps) for _, points in todo for p in points]

    results = map_local(_numbered_image_rows, list(enumerate(tasks)), job, workers, preload=("fpsnr.rd",),
                        on_lost=lost)  # fmt: skip
    for rows in _in_order(results):
        yield from rows
        done += len(rows)
        if progress is not None:
            progress(done, total)


def write_rd_csv(
    rows: Iterable[dict[str, Any]], out: str | os.PathLike[str], fps: Sequence[float]
) -> list[dict[str, Any]]:
    """Write RD rows as they come, crash-safe, full-precision numbers; return them.

    Any earlier output is replaced; rows go to ``<out>.partial`` one by one and the
    final file replaces ``out`` atomically at the end (see :class:`fpsnr.sink.CsvSink`).
    No settings file is kept: :func:`write_rd_run` is the resumable form.
    """
    return write_rd_run(lambda done: rows, out, fps, settings={}, overwrite=True, record=False)


def write_rd_run(
    make_rows: Callable[[Collection[RDKey]], Iterable[dict[str, Any]]],
    out: str | os.PathLike[str],
    fps: Sequence[float],
    *,
    settings: dict[str, Any],
    resume: bool = False,
    overwrite: bool = False,
    record: bool = True,
) -> list[dict[str, Any]]:
    """An RD run into ``out`` the way ``batch`` writes: refused over an earlier output, resumable.

    ``make_rows(done)`` yields the rows still to make, given the (codec, rate point,
    image) keys an earlier, interrupted run of the same ``settings`` already wrote
    (``resume``; its rows are kept, error rows included). Without ``resume`` or
    ``overwrite`` an existing output is refused. Rows are written as they come; the
    settings are kept in ``<out>.settings`` (unless not ``record``) so a resume with other
    settings is refused. Returns every row of the output (those carried over as read
    back, as text).
    """
    columns = rd_columns(fps)
    sink = CsvSink(Path(out), columns, None, {"rd_columns": columns, **settings}, record=record,
                   numeric=[c for c in columns if c not in _TEXT_COLUMNS])  # fmt: skip
    sink.prepare(resume=resume, overwrite=overwrite)
    written: list[dict[str, Any]] = []
    try:
        carried = sink.previous_rows() if resume else []
        done = {(r["codec"], r["rate_point"], r["image"]) for r in carried}
        iterator = iter(make_rows(done))
        first = next(iterator, None)  # a run refused before any row (no images...) leaves no file
        sink.start(carried)
        written.extend(carried)
        for row in iterator if first is None else itertools.chain([first], iterator):
            sink.write([row])
            written.append(row)
    except BaseException:
        sink.abandon()  # removes the partial file only if it holds no rows
        raise
    sink.finish()
    return written


def read_rd_csv(path: str | os.PathLike[str]) -> Any:
    """An RD CSV as a DataFrame (``error`` as strings, empty when the row scored)."""
    import pandas as pd

    p = Path(path)
    try:
        # every cell as text: numbers are parsed and checked by _check_numbers, which can then
        # quote a bad cell exactly as it is written
        frame = pd.read_csv(p, keep_default_na=False, na_values=[""], dtype=str)
    except FileNotFoundError as err:
        raise ParameterError(f"{p}: no such RD file") from err
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ParameterError(f"{p}: not a readable CSV ({err})") from err
    missing = [c for c in ("codec", "rate_point", "image", "bpp", "psnr", "error") if c not in frame.columns]
    if missing:
        raise ParameterError(f"{p}: not an fpsnr RD file (missing columns {', '.join(missing)})")
    frame["error"] = frame["error"].fillna("").astype(str)
    _check_numbers(frame, p)
    return frame


def read_rd_csvs(paths: Sequence[str | os.PathLike[str]]) -> Any:
    """Several RD CSVs as one DataFrame (anchors from one run, learned codecs from another).

    Columns are the union (a metric a file lacks is empty in its rows). The same
    (codec, rate point, image) in two files is an error naming both, never a silent
    double count.
    """
    import pandas as pd

    if not paths:
        raise ParameterError("give at least one RD CSV")
    frames = [read_rd_csv(path) for path in paths]
    if len(frames) == 1:
        return frames[0]
    seen: dict[tuple[str, str, str], int] = {}
    for n, (path, frame) in enumerate(zip(paths, frames, strict=True)):
        for key in zip(frame["codec"], frame["rate_point"], frame["image"], strict=True):
            if seen.get(key, n) != n:
                raise ParameterError(
                    f"{path}: codec {key[0]!r} at rate point {key[1]!r} on {key[2]} is also in "
                    f"{paths[seen[key]]}; give each result once"
                )
            seen[key] = n
    return pd.concat(frames, ignore_index=True, sort=False)


_TEXT_COLUMNS = ("codec", "rate_point", "image", "error")


def _check_numbers(frame: Any, path: Path) -> None:
    """Every number cell parses; a row that scored has a finite bpp ≥ 0 and no NaN metric.

    A bad cell is named by line and column (the header is line 1), never met later as
    a pandas ``TypeError`` in the middle of a computation.
    """
    import pandas as pd

    scored = (frame["error"] == "").to_numpy()
    for column in frame.columns:
        if column in _TEXT_COLUMNS:
            continue
        raw = frame[column]
        numbers = pd.to_numeric(raw, errors="coerce")
        values = numbers.to_numpy(dtype=float, copy=True)
        present = raw.notna().to_numpy(copy=True)
        bad = np.isnan(values) & present
        if column == "bpp":
            bad |= scored & ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            shown = repr(raw.iloc[row]) if present[row] else "an empty cell"
            raise ParameterError(
                f"{path}: line {row + 2}, column {column}: {shown} is not "
                f"{'a finite number ≥ 0' if column == 'bpp' else 'a number'}; fix or remove that row"
            )
        frame[column] = numbers


COMPRESSAI_KEYS = {
    "bpp": "bpp",
    "psnr": "psnr-rgb",
    "ms_ssim": "ms-ssim-rgb",
    "encode_seconds": "encoding_time",
    "decode_seconds": "decoding_time",
}
"""fpsnr RD columns → the keys of CompressAI's ``results`` JSON; other metric columns keep
their names with ``_`` → ``-`` (``mean_fpsnr`` → ``mean-fpsnr``, ``m_fpsnr_fp0.5`` →
``m-fpsnr-fp0.5``)."""


def compressai_results(frame: Any, codec: str) -> tuple[dict[str, Any], list[str]]:
    """One codec's RD rows in CompressAI's ``results/image/<dataset>/<codec>.json`` layout.

    Each list holds one value per rate point, in increasing bpp: the mean over images,
    as CompressAI's own evaluation averages per-image numbers. A rate point where some
    image failed is left out (a mean over fewer images is another curve); its name is
    returned with the document so the caller can say so.
    """
    rows = frame[frame["codec"] == codec]
    if rows.empty:
        known = ", ".join(sorted(set(frame["codec"])))
        raise ParameterError(f"no rows for codec {codec!r}; the file has {known}")
    failed = sorted(set(rows.loc[rows["error"] != "", "rate_point"]))
    good = rows[(rows["error"] == "") & ~rows["rate_point"].isin(failed)]
    skip = {*_TEXT_COLUMNS, "quality", "width", "height", "bytes"}
    metrics = [c for c in good.columns if c not in skip and good[c].notna().any()]
    means = good.groupby("rate_point")[metrics].mean().sort_values("bpp")
    results = {
        COMPRESSAI_KEYS.get(column, column.replace("_", "-")): [float(v) for v in means[column]]
        for column in metrics
    }
    images = good["image"].nunique()
    document = {
        "name": codec,
        "description": f"fpsnr RD rows: mean over {images} image{'' if images == 1 else 's'} per rate point "
        f"({', '.join(str(p) for p in means.index)})",
        "results": results,
    }
    return document, failed
