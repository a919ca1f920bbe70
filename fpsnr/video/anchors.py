"""Video rate–distortion anchors: every sequence through a real ffmpeg encoder, scored by ``fpsnr video``.

One row per codec × rate point × sequence, in the RD table of images (SPEC §5) with the
columns a video needs: ``image`` is the sequence, ``settings`` the encoder's exact
arguments, ``frames``, ``fps`` and ``bit_depth`` describe it, ``bytes`` is the size of the
elementary stream ffmpeg wrote (Annex B H.264/HEVC; AV1 in IVF, whose 32-byte file and
12-byte frame headers count, as they do for every AV1 anchor written to a file),
``kbps`` = 8 · bytes / 1000 / (frames / fps) and ``bpp`` = 8 · bytes / (W · H · frames).

Quality columns, Y first under the image names so ``bdrate``, ``plot rd`` and ``ratio``
read them unchanged: ``psnr`` (PSNR-Y), ``mean_fpsnr``, ``periphery_psnr`` and
``m_fpsnr_fp<Fp>`` on Y; then ``psnr_u``, ``psnr_v``, ``psnr_yuv`` (the combined rule) and
the foveal metrics under that rule (``…_yuv``). Each is the **mean of per-frame dB** (HM's
and JVET's per-sequence figure, what video BD-rates are computed from); its twin with
``_pooled`` is the PSNR of the SSE pooled over all frames (ffmpeg's summary, libvmaf's
``apsnr``). ``ms_ssim`` stays empty.

The encoded stream is decoded by ffmpeg into a Y4M file beside it (``decode_seconds``,
the decode and the write) and scored against the source; a failed encode, decode or
score is an error row, and the run goes on.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from fpsnr.errors import FpsnrError, ParameterError, VideoError, template
from fpsnr.rd.schema import fp_column
from fpsnr.runs.parallel import map_local
from fpsnr.video.batch import VideoBatch, find_sequences, regions_for
from fpsnr.video.pool import fp_key, value_names
from fpsnr.video.run import score_video
from fpsnr.video.source import open_video

__all__ = [
    "ENCODERS",
    "AnchorJob",
    "available_encoders",
    "plan_anchors",
    "run_video_anchors",
    "video_rd_columns",
]


@dataclass(frozen=True)
class Encoder:
    """An ffmpeg encoder and the elementary-stream format it is written in."""

    library: str
    muxer: str
    suffix: str


ENCODERS = {
    "x264": Encoder("libx264", "h264", ".264"),
    "x265": Encoder("libx265", "hevc", ".hevc"),
    "svtav1": Encoder("libsvtav1", "ivf", ".ivf"),
}
"""The anchors by name: ``x264``, ``x265``, ``svtav1``."""


def available_encoders(ffmpeg: str) -> set[str]:
    """The anchor names whose encoder library the ``ffmpeg`` binary has."""
    try:
        listing = subprocess.run(
            [ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as err:
        raise VideoError(f"{ffmpeg}: cannot list its encoders ({err})") from err
    words = {part for line in listing.splitlines() for part in line.split()[1:2]}
    return {name for name, enc in ENCODERS.items() if enc.library in words}


def _metric_names(fps: Sequence[float]) -> list[tuple[str, str]]:
    """(RD column, value name of :func:`fpsnr.video.pool.value_names`), Y under the image names."""
    rename = {"psnr_y": "psnr", "mean_fpsnr_y": "mean_fpsnr", "periphery_psnr_y": "periphery_psnr"}
    rename |= {fp_key("m_fpsnr_y", fp): fp_column(fp) for fp in fps}
    return [(rename.get(name, name), name) for name in value_names(tuple(fps))]


def video_rd_columns(fps: Sequence[float]) -> list[str]:
    """The columns of a video RD table (see the module notes)."""
    head = [
        "codec",
        "rate_point",
        "quality",
        "image",
        "settings",
        "width",
        "height",
        "frames",
        "fps",
        "bit_depth",
        "bytes",
        "kbps",
        "bpp",
    ]
    metrics = [column for column, _ in _metric_names(fps)]
    return [
        *head,
        *metrics,
        *(f"{c}_pooled" for c in metrics),
        "ms_ssim",
        "encode_seconds",
        "decode_seconds",
        "error",
    ]


@dataclass(frozen=True)
class AnchorJob:
    """How every coding of a run is made and scored."""

    batch: VideoBatch
    ffmpeg: str
    preset: str = "medium"
    """x264 and x265 preset."""
    svtav1_preset: int = 8
    """SVT-AV1's preset, a number (0 slowest … 13 fastest)."""
    frame_rate: Fraction | None = None
    """The frame rate of raw ``.yuv`` sources (Y4M and containers carry theirs)."""
    lacking: frozenset[str] = frozenset()
    """Anchors the ffmpeg binary has no encoder for: their rows are error rows."""


AnchorTask = tuple[int, str, str, int]
"""Its number in the plan, the sequence, the anchor name, the CRF."""


def plan_anchors(
    data_dir: Path, codecs: Sequence[str], crfs: Sequence[int], skip: Collection[tuple[str, str, str]] = ()
) -> list[AnchorTask]:
    """Every (sequence, codec, CRF) not in ``skip``: sequences by name, codecs as given, CRFs in order."""
    if not data_dir.is_dir():
        raise ParameterError(f"{data_dir}: not a folder of video sequences")
    unknown = [c for c in codecs if c not in ENCODERS]
    if unknown:
        raise ParameterError(f"unknown anchor {', '.join(unknown)}; the anchors are {', '.join(ENCODERS)}")
    sequences = [str(path) for path in find_sequences(data_dir).values()]
    if not sequences:
        raise ParameterError(f"{data_dir}: holds no video sequence (.y4m, .yuv, .mp4, …)")
    tasks: list[AnchorTask] = []
    for sequence in sequences:
        for codec in codecs:
            for crf in crfs:
                if (codec, f"crf{crf}", sequence) not in skip:
                    tasks.append((len(tasks), sequence, codec, crf))
    return tasks


def _raw_format(sequence: str, job: AnchorJob) -> tuple[tuple[int, int] | None, str | None]:
    """``size`` and ``pix_fmt`` for a raw ``.yuv`` source; Y4M and containers carry their own."""
    if Path(sequence).suffix.lower() == ".yuv":
        return job.batch.size, job.batch.pix_fmt
    return None, None


@functools.lru_cache(maxsize=64)
def _source_format(sequence: str, size: tuple[int, int] | None, pix_fmt: str | None) -> tuple[Any, str]:
    """A source's format and reader kind, read once per process (a container costs an ffmpeg start)."""
    with open_video(sequence, size=size, pix_fmt=pix_fmt) as reader:
        return reader.format, reader.kind


def source_args(sequence: str, job: AnchorJob) -> tuple[list[str], Any]:
    """The input arguments of ffmpeg for the source, and its format (size, chroma, depth, rate)."""
    fmt, kind = _source_format(sequence, *_raw_format(sequence, job))
    rate: Fraction | None
    if kind == "raw":
        if job.frame_rate is None:
            raise VideoError(f"{sequence}: a raw sequence has no frame rate; give it with {{frame_rate}}")
        rate = job.frame_rate
        args = [
            "-f",
            "rawvideo",
            "-pix_fmt",
            fmt.pix_fmt,
            "-s",
            f"{fmt.width}x{fmt.height}",
            "-framerate",
            f"{rate.numerator}/{rate.denominator}",
            "-i",
            sequence,
        ]
    else:
        rate = fmt.fps
        args = ["-i", sequence]
    if rate is None:
        raise VideoError(f"{sequence}: its header gives no frame rate, so no bitrate can be given")
    return args, (fmt, rate)


def _encoder_args(codec: str, crf: int, job: AnchorJob, pix_fmt: str) -> list[str]:
    enc = ENCODERS[codec]
    args = ["-c:v", enc.library]
    if codec == "svtav1":
        args += ["-preset", str(job.svtav1_preset), "-crf", str(crf), "-svtav1-params", "lp=1"]
    else:
        args += ["-preset", job.preset, "-crf", str(crf)]
        if codec == "x265":
            args += ["-x265-params", "log-level=error:pools=1"]
        else:
            args += ["-threads", "1"]
    return [*args, "-pix_fmt", pix_fmt]


def _run(cmd: list[str], what: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise VideoError(f"{what} failed: {last}")
    return seconds


def blank_row(
    job: AnchorJob, codec: str, rate_point: str, quality: Any, sequence: str, error: str = ""
) -> dict[str, Any]:
    """A video RD row with its key cells set and every number empty (an error row as it is)."""
    row: dict[str, Any] = dict.fromkeys(video_rd_columns(job.batch.options.fps))
    row.update(codec=codec, rate_point=rate_point, quality=quality, image=sequence, error=error)
    return row


def describe_source(row: dict[str, Any], fmt: Any, rate: Fraction) -> None:
    """Fill the source's cells of ``row``: size, frame rate, bit depth."""
    row.update(width=fmt.width, height=fmt.height, fps=float(rate), bit_depth=fmt.bit_depth)


def _anchor_row(task: AnchorTask, job: AnchorJob) -> tuple[int, dict[str, Any]]:
    """One coding's row (an error row on any failure), with its number in the plan."""
    number, sequence, codec, crf = task
    row = blank_row(job, codec, f"crf{crf}", crf, sequence)
    if codec in job.lacking:
        row["error"] = f"{job.ffmpeg} has no {ENCODERS[codec].library} encoder"
        return number, row
    try:
        source, (fmt, rate) = source_args(sequence, job)
        encoder = _encoder_args(codec, crf, job, fmt.pix_fmt)
        row["settings"] = " ".join(encoder)
        describe_source(row, fmt, rate)
        with tempfile.TemporaryDirectory(prefix="fpsnr-anchor-") as work:
            stream = Path(work) / f"coded{ENCODERS[codec].suffix}"
            decoded = Path(work) / "decoded.y4m"
            quiet = [job.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
            row["encode_seconds"] = _run(
                [*quiet, *source, *encoder, "-f", ENCODERS[codec].muxer, str(stream)],
                f"{ENCODERS[codec].library} at CRF {crf}",
            )
            nbytes = stream.stat().st_size
            row["decode_seconds"] = _run(
                [
                    *quiet,
                    "-i",
                    str(stream),
                    "-pix_fmt",
                    fmt.pix_fmt,
                    "-strict",
                    "-1",
                    "-f",
                    "yuv4mpegpipe",
                    str(decoded),
                ],
                "decoding the stream",
            )
            score_into(row, sequence, decoded, nbytes, job)
    except FpsnrError as err:
        row["error"] = template(err)
    except OSError as err:
        row["error"] = f"{sequence}: {err.strerror or err}"
    return number, row


def score_into(
    row: dict[str, Any], sequence: str, decoded: str | os.PathLike[str], nbytes: int, job: AnchorJob
) -> None:
    """Score ``decoded`` against ``sequence`` and fill ``row``'s size, rate and quality cells.

    ``row`` already holds ``width``, ``height`` and ``fps`` (the source's); failures raise.
    """
    size, pix_fmt = _raw_format(sequence, job)
    summary = score_video(
        sequence,
        decoded,
        regions_for(job.batch, sequence),
        job.batch.options,
        size=size,
        pix_fmt=pix_fmt,
        missing_regions=job.batch.missing_regions,
    )
    frames = summary.frames
    row.update(
        frames=frames,
        bytes=nbytes,
        kbps=8 * nbytes / 1000 / (frames / row["fps"]),
        bpp=8 * nbytes / (row["width"] * row["height"] * frames),
    )
    for column, name in _metric_names(job.batch.options.fps):
        row[column] = summary.mean_db[name]
        row[f"{column}_pooled"] = summary.pooled[name]


def run_video_anchors(
    tasks: Sequence[AnchorTask], job: AnchorJob, workers: int = 1
) -> Iterator[dict[str, Any]]:
    """The rows of ``tasks`` in plan order (also with ``workers`` processes), each as soon as it can be."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield _anchor_row(task, job)[1]
        return
    from fpsnr.rd.loop import in_order

    def lost(task: AnchorTask, why: str) -> tuple[int, dict[str, Any]]:
        number, sequence, codec, crf = task
        return number, blank_row(job, codec, f"crf{crf}", crf, sequence, why)

    results = map_local(
        _anchor_row, tasks, job, workers, preload=("fpsnr.video.anchors",), on_lost=lost, chunk=1
    )
    yield from in_order(results)


def ffmpeg_for_anchors() -> str:
    """The ffmpeg binary that encodes (the one ``fpsnr video`` decodes with), or a one-line error."""
    from fpsnr.video.ffmpeg import find_ffmpeg

    found = find_ffmpeg()
    if found is None or not os.access(found, os.X_OK):
        raise VideoError("no ffmpeg to encode with: install one (apt-get install ffmpeg) or set FPSNR_FFMPEG")
    return found
