"""``fpsnr video anchors``: x264, x265 and SVT-AV1 over a CRF sweep, every sequence, as video RD rows."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fpsnr.cli.options import (
    F,
    IntList,
    NameList,
    flat,
    fp_option,
    frame_size,
    max_db_option,
    path_arg,
    radius_options,
    translate_errors,
)

if TYPE_CHECKING:
    from fractions import Fraction


def _rate(ctx: click.Context, param: click.Parameter, value: str | None) -> Fraction | None:
    if value is None:
        return None
    from fractions import Fraction  # (2 ms with decimal: only when a rate is given)

    try:
        rate = Fraction(value.strip())
    except (ValueError, ZeroDivisionError):
        raise click.BadParameter(
            f"expected frames per second (25, 29.97 or 30000/1001), got {value!r}"
        ) from None
    if rate <= 0:
        raise click.BadParameter(f"a frame rate is positive, got {value!r}")
    return rate


rule_option = click.option(
    "--rule",
    type=click.Choice(["6:1:1", "4:1:1-db", "4:1:1-mse"]),  # fpsnr.video.measure.RULES
    default="6:1:1",
    show_default=True,
    help="Combined YUV PSNR: 6:1:1 or 4:1:1 of per-plane dB (JVET, CompressAI), or PSNR of the "
    "plane-area-weighted MSE (ffmpeg's average, HM).",
)
peak_option = click.option(
    "--peak",
    type=click.Choice(["full", "hm"]),  # fpsnr.video.measure.PEAKS
    default="full",
    show_default=True,
    help="MAX: 2^b - 1 (ffmpeg, libvmaf) or 255·2^(b-8) (HM, VTM).",
)

_SCORING_OPTIONS = [
    click.option("--size", callback=frame_size, metavar="WxH", help="Frame size of raw .yuv sources."),
    click.option("--pix-fmt", metavar="FMT", help="Pixel format of raw sources [yuv420p]."),
    click.option(
        "--frame-rate", callback=_rate, metavar="FPS", help="Frame rate of raw sources (25, 30000/1001)."
    ),
    click.option(
        "--regions",
        "regions_path",
        type=path_arg(path_type=str),
        default=None,
        help="A folder of <stem>.json/.csv regions or track files, one file for all, 'suggest', "
        "or 'center' [center].",
    ),
    click.option(
        "--missing-regions",
        type=click.Choice(["error", "center", "suggest"]),
        default="error",
        show_default=True,
        help="A sequence or frame without regions.",
    ),
    rule_option,
    peak_option,
    fp_option,
    max_db_option,
    radius_options,
    click.option(
        "--out", "-o", type=path_arg(dir_okay=False, path_type=Path), required=True, help="RD CSV to write."
    ),
    click.option("--overwrite", is_flag=True, help="Replace an existing --out."),
    click.option("--resume", is_flag=True, help="Finish an interrupted run with the same settings."),
]


def _scoring_options(func: F) -> F:
    """The options ``anchors`` and ``external`` share: sources, regions, scoring, the output."""
    for option in reversed(_SCORING_OPTIONS):
        func = option(func)
    return func


def _job(
    size: tuple[int, int] | None, pix_fmt: str | None, frame_rate: Fraction | None, regions_path: str | None,
    missing_regions: str, rule: str, peak: str, fps: tuple[float, ...], max_db: float | None,
    viewing_distance: float, foveal_angle: float, ffmpeg: str = "", **job: Any,
) -> Any:  # fmt: skip
    """The :class:`~fpsnr.video.anchors.AnchorJob` of the shared options."""
    from fpsnr.video.anchors import AnchorJob
    from fpsnr.video.batch import VideoBatch
    from fpsnr.video.measure import VideoOptions

    options = VideoOptions(
        rule=rule,  # type: ignore[arg-type]  # click.Choice checked it
        peak=peak,  # type: ignore[arg-type]
        max_db=max_db,
        fps=fps,
        viewing_distance=viewing_distance,
        foveal_angle=foveal_angle,
    )
    batch = VideoBatch(
        options, size=size, pix_fmt=pix_fmt, missing_regions=missing_regions,  # type: ignore[arg-type]
        regions=regions_path,
    )  # fmt: skip
    return AnchorJob(batch, ffmpeg, frame_rate=frame_rate, **job)


def _data_option(help: str) -> Callable[[F], F]:
    return click.option("--data", "data_dir", required=True, type=path_arg(file_okay=False, path_type=Path),
                        help=help)  # fmt: skip


@click.command("anchors")
@_data_option("Folder of source sequences (.y4m, .yuv, or anything ffmpeg reads).")
@click.option(
    "--codec",
    "codecs",
    type=NameList(choices=("x264", "x265", "svtav1")),
    default="x264",
    show_default=True,
    help="Comma list of x264, x265, svtav1.",
)
@click.option(
    "--crf", "crfs", type=IntList(), multiple=True, help="CRF points, comma-separated [22,27,32,37]."
)
@click.option("--preset", default="medium", show_default=True, help="x264 and x265 preset.")
@click.option(
    "--svtav1-preset",
    type=click.IntRange(0, 13),
    default=8,
    show_default=True,
    help="SVT-AV1's preset (0 slowest … 13 fastest).",
)
@_scoring_options
@click.option("--workers", "-j", type=click.IntRange(min=1), default=None, help="Processes [all cores].")
@translate_errors
def anchors_command(
    data_dir: Path, codecs: tuple[str, ...], crfs: tuple[tuple[int, ...], ...], preset: str,
    svtav1_preset: int, out: Path, overwrite: bool, resume: bool, workers: int | None, **scoring: Any,
) -> None:  # fmt: skip
    """Encode every sequence of --data with real ffmpeg encoders at several CRFs, and score each.

    One row per codec × CRF × sequence: the stream's size (kbps, bpp), the encoder's exact
    arguments, PSNR of Y, U, V and the combined rule, and the foveal metrics, each as the
    mean of per-frame dB and pooled (_pooled). bdrate, plot rd and ratio read the file
    as they read image RD files. Rows are written as they finish; --resume finishes an
    interrupted run; an encode that fails is an error row.

    \b
    Example:
      fpsnr video anchors --data seqs/ --codec x264,x265 --crf 22,27,32,37 --regions tracks/ -o rd.csv
      fpsnr bdrate rd.csv --anchor x264 --test x265 --metric psnr,m_fpsnr
    """
    from fpsnr.video.anchors import (
        ENCODERS,
        available_encoders,
        ffmpeg_for_anchors,
        plan_anchors,
        run_video_anchors,
    )

    points = flat(crfs) or (22, 27, 32, 37)
    if len(set(points)) != len(points):
        raise click.UsageError(f"--crf repeats a point: {','.join(map(str, points))}")
    plan_anchors(data_dir, codecs, points)  # no sequences, no folder: one line before any work
    ffmpeg = ffmpeg_for_anchors()
    lacking = frozenset(c for c in codecs if c not in available_encoders(ffmpeg))
    if lacking:
        names = ", ".join(f"{c} ({ENCODERS[c].library})" for c in sorted(lacking))
        click.echo(f"warning: {ffmpeg} has no encoder for {names}; their rows are error rows", err=True)
    job = _job(**scoring, ffmpeg=ffmpeg, preset=preset, svtav1_preset=svtav1_preset, lacking=lacking)
    processes = workers or os.cpu_count() or 1
    recorded = {"codecs": list(codecs), "crfs": list(points), "preset": preset,
                "svtav1_preset": svtav1_preset, "ffmpeg": ffmpeg}  # fmt: skip

    def rows(done: Collection[Any]) -> tuple[int, Iterator[dict[str, Any]]]:
        tasks = plan_anchors(data_dir, codecs, points, skip=done)
        return len(tasks), run_video_anchors(tasks, job, processes)

    _write("video anchors", rows, data_dir, job, recorded, out, resume=resume, overwrite=overwrite)


@click.command("external")
@_data_option("Folder of the source sequences the codec coded.")
@click.option(
    "--points",
    "points_file",
    required=True,
    type=path_arg(dir_okay=False, path_type=Path),
    help="CSV: codec,rate_point,sequence,decoded,bytes[,quality] (README).",
)
@_scoring_options
@translate_errors
def external_command(
    data_dir: Path, points_file: Path, out: Path, overwrite: bool, resume: bool, **scoring: Any
) -> None:
    """Score another codec's decoded sequences into video RD rows, from their stream sizes.

    --points lists, per codec × rate point × sequence, the decoded sequence and the size of
    its bitstream in bytes; the rows are those of fpsnr video anchors (settings empty), so
    the codec joins the anchors in one table for bdrate and plot rd.

    \b
    Example:
      fpsnr video external --data seqs/ --points mycodec/points.csv -o mycodec.csv
      fpsnr bdrate anchors.csv mycodec.csv --anchor x264 --test mycodec
    """
    import hashlib

    from fpsnr.video.external import external_rows, read_points

    points = read_points(points_file, data_dir)
    job = _job(**scoring)
    recorded = {"points": str(points_file.absolute()),
                "points_sha256": hashlib.sha256(points_file.read_bytes()).hexdigest()}  # fmt: skip

    def rows(done: Collection[Any]) -> tuple[int, Iterator[dict[str, Any]]]:
        todo = [p for p in points if (p.codec, p.rate_point, str(data_dir / p.sequence)) not in done]
        return len(todo), external_rows(todo, data_dir, job)

    _write("video external", rows, data_dir, job, recorded, out, resume=resume, overwrite=overwrite)


def _write(
    name: str, rows: Any, data_dir: Path, job: Any, recorded: dict[str, Any], out: Path, *, resume: bool,
    overwrite: bool,
) -> None:  # fmt: skip
    """Write the rows crash-safe and resumable, with what decides them in the settings record.

    ``rows(done)`` gives the number of rows still to make and an iterator of them.
    """
    from fpsnr.cli.options import FLAGS
    from fpsnr.cli.output import write_rd_command
    from fpsnr.errors import worded
    from fpsnr.video.anchors import video_rd_columns
    from fpsnr.video.batch import inputs_record

    fps = job.batch.options.fps
    settings = {
        name.replace(" ", "_"): {**recorded, "frame_rate": str(job.frame_rate)},
        "video": job.batch.settings(),
        **inputs_record(data_dir, [], job.batch.regions),
    }

    def counted(done: Collection[Any], bar: Any) -> Iterator[dict[str, Any]]:
        total, made = rows(done)
        bar(0, total)
        for n, row in enumerate(made, start=1):
            yield worded(row, FLAGS)
            bar(n, total)

    write_rd_command(name, counted, out, fps, settings, resume=resume, overwrite=overwrite,
                     columns=video_rd_columns(fps))  # fmt: skip
