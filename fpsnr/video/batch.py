"""Many sequences in one run: pair REF_DIR with each DIST_DIR by name, score in workers, resume.

Each reference sequence (a video file in REF_DIR) is paired with the file of the same
stem in each DIST_DIR (any video extension: ``foreman.y4m`` ↔ ``foreman.mp4``). A
sequence gives two rows, one per pooling rule (``mean_db``, ``pooled``), written
together when it is scored, through the crash-safe, resumable sink of the image batch
(:class:`fpsnr.runs.sink.CsvSink`). A sequence that cannot be scored — no such file in a
DIST_DIR, a mismatch, a damaged file — gives error rows; the run goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fpsnr.errors import FpsnrError, ParameterError, RegionsError, template
from fpsnr.files import check_path
from fpsnr.regions.tracks import load_video_regions
from fpsnr.runs.parallel import map_local
from fpsnr.runs.sink import CsvSink
from fpsnr.video.measure import VideoOptions
from fpsnr.video.pool import POOLINGS, value_names
from fpsnr.video.run import MissingRegions, score_video

__all__ = [
    "VIDEO_EXTENSIONS",
    "SequenceTask",
    "VideoBatch",
    "batch_columns",
    "plan_sequences",
    "run_sequence",
]

VIDEO_EXTENSIONS = (
    ".y4m",
    ".yuv",
    ".mp4",
    ".mkv",
    ".mov",
    ".avi",
    ".webm",
    ".ivf",
    ".obu",
    ".264",
    ".h264",
    ".265",
    ".h265",
    ".hevc",
    ".266",
    ".vvc",
    ".ts",
    ".m2ts",
    ".mxf",
    ".nut",
)
"""File names read as video sequences in a folder."""
REGION_SUFFIXES = (".json", ".csv", ".txt")


@dataclass(frozen=True)
class VideoBatch:
    """Everything a worker needs besides the pair: how to read and score, and the regions."""

    options: VideoOptions
    size: tuple[int, int] | None = None
    pix_fmt: str | None = None
    frames: int | None = None
    skip: int = 0
    missing_regions: MissingRegions = "error"
    regions: str | None = None
    """A folder of ``<stem>.json``/``.csv`` files, one file for every sequence, or None (centre)."""

    def settings(self) -> dict[str, Any]:
        record = asdict(self)
        record["options"]["fps"] = list(self.options.fps)
        record["size"] = list(self.size) if self.size else None
        return record


@dataclass(frozen=True)
class SequenceTask:
    """One reference sequence and one distorted version, or the reason it cannot be scored."""

    label: str
    ref: str
    test: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.label, self.ref)


def batch_columns(options: VideoOptions) -> list[str]:
    head = ["label", "ref", "test", "pooling", "frames", "width", "height", "pix_fmt", "rule", "peak"]
    return head + value_names(options.fps) + ["error"]


def find_sequences(folder: Path) -> dict[str, Path]:
    """The video files of a folder by stem, in name order (the first of a stem wins)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
            found.setdefault(path.stem, path)
    return found


def plan_sequences(
    ref_dir: Path, dist_dirs: Sequence[Path], labels: Sequence[str] | None
) -> list[SequenceTask]:
    """One task per (DIST_DIR, reference sequence), in folder then name order."""
    for folder in (ref_dir, *dist_dirs):
        if not folder.is_dir():
            raise ParameterError(f"{folder}: not a folder of video sequences")
    if labels is not None and len(labels) != len(dist_dirs):
        raise ParameterError(
            f"{len(labels)} labels for {len(dist_dirs)} DIST_DIRs; give one {{label}} for each"
        )
    names = list(labels) if labels is not None else [d.name for d in dist_dirs]
    if len(set(names)) != len(names):
        raise ParameterError(f"two DIST_DIRs share the label {names}; give each its own {{label}}")
    refs = find_sequences(ref_dir)
    if not refs:
        raise ParameterError(f"{ref_dir}: holds no video sequence ({', '.join(VIDEO_EXTENSIONS[:4])}, …)")
    tasks = []
    for label, folder in zip(names, dist_dirs, strict=True):
        dists = find_sequences(folder)
        for stem, ref in refs.items():
            test = dists.get(stem)
            tasks.append(SequenceTask(label, str(ref), None if test is None else str(test)))
    return tasks


def regions_for(batch: VideoBatch, ref: str) -> Any:
    """What ``score_video`` takes as the regions of sequence ``ref`` under the batch's setting."""
    if batch.regions is None:
        return "center"
    if batch.regions == "suggest":
        return "suggest"
    where = Path(batch.regions)
    if not where.is_dir():
        return load_video_regions(where, image=Path(ref).name)
    stem = Path(ref).stem
    for suffix in REGION_SUFFIXES:
        if (where / f"{stem}{suffix}").is_file():
            return load_video_regions(where / f"{stem}{suffix}", image=Path(ref).name)
    if batch.missing_regions == "center":
        return "center"
    raise RegionsError(
        f"{where}: no regions file for {stem} ({stem}.json or {stem}.csv); or choose {{missing_regions}}"
    )


def _rows(
    task: SequenceTask, batch: VideoBatch, values: dict[str, Any] | None, error: str
) -> list[dict[str, Any]]:
    base = {"label": task.label, "ref": task.ref, "test": task.test or "", "error": error}
    if values is None:
        return [{**base, "pooling": pooling} for pooling in POOLINGS]
    return [{**base, **values["head"], "pooling": pooling, **values[pooling]} for pooling in POOLINGS]


def run_sequence(task: SequenceTask, batch: VideoBatch) -> list[dict[str, Any]]:
    """Score one pair of sequences into its rows; every failure becomes error rows, never an exception."""
    if task.test is None:
        return _rows(
            task, batch, None, f"{task.label}: no sequence named {Path(task.ref).stem} in that DIST_DIR"
        )
    try:
        summary = score_video(
            task.ref,
            task.test,
            regions_for(batch, task.ref),
            batch.options,
            size=batch.size,
            pix_fmt=batch.pix_fmt,
            frames=batch.frames,
            skip=batch.skip,
            missing_regions=batch.missing_regions,
        )
    except FpsnrError as err:
        return _rows(task, batch, None, template(err))
    except MemoryError:
        return _rows(task, batch, None, f"{task.test}: out of memory while scoring this sequence")
    except Exception as err:  # a bug or a decoder failure must not stop the batch
        return _rows(task, batch, None, f"unexpected {type(err).__name__}: {err}")
    fmt = summary.format
    head = {
        "frames": summary.frames,
        "width": fmt.width,
        "height": fmt.height,
        "pix_fmt": fmt.pix_fmt,
        "rule": batch.options.rule,
        "peak": summary.peak,
    }
    return _rows(task, batch, {"head": head, "mean_db": summary.mean_db, "pooled": summary.pooled}, "")


def _lost(batch: VideoBatch) -> Callable[[SequenceTask, str], list[dict[str, Any]]]:
    return lambda task, why: _rows(task, batch, None, why)


def run_sequences(
    tasks: Sequence[SequenceTask], batch: VideoBatch, workers: int
) -> Iterator[list[dict[str, Any]]]:
    """Each task's rows as it finishes: in this process with one worker, else in a pool."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield run_sequence(task, batch)
        return
    yield from map_local(
        run_sequence, tasks, batch, workers, preload=("fpsnr.video.batch",), chunk=1, on_lost=_lost(batch)
    )


def inputs_record(ref_dir: Path, dist_dirs: Sequence[Path], regions: str | None) -> dict[str, Any]:
    """Absolute folders and the SHA-256 of every regions file: what a resumed run must find again."""
    record: dict[str, Any] = {
        "ref_dir": str(ref_dir.absolute()),
        "dist_dirs": [str(d.absolute()) for d in dist_dirs],
    }
    if regions in (None, "suggest"):
        return record | {"regions": regions, "regions_sha256": None}
    where = Path(regions)
    files = (
        sorted(p for p in where.iterdir() if p.suffix.lower() in REGION_SUFFIXES)
        if where.is_dir()
        else [where]
    )
    digests = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}
    return record | {"regions": str(where.absolute()), "regions_sha256": digests}


def open_sink(
    out: Path,
    batch: VideoBatch,
    record: dict[str, Any],
    *,
    resume: bool,
    overwrite: bool,
    retry_errors: bool = False,
) -> tuple[CsvSink, set[tuple[str, str]]]:
    """The output, prepared and started; the sequences an earlier run finished (both rows in).

    With ``retry_errors``, sequences whose rows hold an error are not counted as finished.
    """
    check_path("out", out, ParameterError)
    columns = batch_columns(batch.options)
    numbers = [c for c in columns if c not in ("label", "ref", "test", "pooling", "pix_fmt", "rule", "error")]
    sink = CsvSink(
        out, columns, ["label", "ref", "pooling"], {"video": batch.settings(), **record}, numeric=numbers
    )
    sink.prepare(resume=resume, overwrite=overwrite)
    try:
        carried: list[dict[str, str]] = []
        done: set[tuple[str, str]] = set()
        if resume:
            previous = sink.previous_rows()
            seen: dict[tuple[str, str], set[str]] = {}
            for row in previous:
                seen.setdefault((row["label"], row["ref"]), set()).add(row["pooling"])
            done = {key for key, got in seen.items() if set(POOLINGS) <= got}
            if retry_errors:
                done -= {(row["label"], row["ref"]) for row in previous if row["error"]}
            carried = [row for row in previous if (row["label"], row["ref"]) in done]
        sink.start(carried)
    except BaseException:
        sink.close()
        raise
    return sink, done
