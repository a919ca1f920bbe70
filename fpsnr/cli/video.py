"""``fpsnr video``: PSNR of Y, U, V, the combined rule and the foveal metrics of a video pair."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from fpsnr.cli.options import (
    fp_option,
    inform,
    max_db_option,
    no_clobber,
    path_arg,
    radius_options,
    translate_errors,
)

_SIZE = re.compile(r"(\d+)[x×](\d+)")


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    m = _SIZE.fullmatch(value.strip().lower())
    if not m or int(m[1]) == 0 or int(m[2]) == 0:
        raise click.BadParameter(f"expected WIDTHxHEIGHT in pixels (352x288), got {value!r}")
    return int(m[1]), int(m[2])


@click.command("video")
@click.argument("ref", type=path_arg(path_type=Path))
@click.argument("dist", type=path_arg(path_type=Path))
@click.option("--size", callback=_size, metavar="WxH", help="Frame size of raw .yuv inputs (both alike).")
@click.option(
    "--pix-fmt",
    metavar="FMT",
    help="Pixel format of raw inputs: yuv420p, yuv422p, yuv444p, with 9/10/12/14/16le for deeper "
    "samples (yuv420p10le) [yuv420p].",
)
@click.option("--frames", type=click.IntRange(min=1), default=None, help="Score this many frames [all].")
@click.option("--skip", type=click.IntRange(min=0), default=0, help="Pass over this many frames first.")
@click.option(
    "--regions",
    "regions_path",
    type=path_arg(path_type=str),
    default=None,
    help="A regions file (the same discs every frame, scaled to the frame), a track file (regions "
    "that move, README), a MOT CSV of boxes, or 'center' [center].",
)
@click.option("--regions-image", default=None, metavar="NAME", help="Whose regions to use from a collection.")
@click.option(
    "--missing-regions",
    type=click.Choice(["error", "center"]),
    default="error",
    show_default=True,
    help="A frame the track file gives no regions: refused, or one default-radius disc at the centre.",
)
@click.option(
    "--rule",
    type=click.Choice(["6:1:1", "4:1:1-db", "4:1:1-mse"]),
    default="6:1:1",
    show_default=True,
    help="Combined YUV PSNR: 6:1:1 or 4:1:1 of per-plane dB (JVET, CompressAI), or PSNR of the "
    "plane-area-weighted MSE (ffmpeg's average, HM).",
)
@click.option(
    "--peak",
    type=click.Choice(["full", "hm"]),
    default="full",
    show_default=True,
    help="MAX: 2^b - 1 (ffmpeg, libvmaf) or 255·2^(b-8) (HM, VTM).",
)
@fp_option
@max_db_option
@radius_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Summary on stdout (both poolings).",
)
@click.option(
    "--frames-csv", type=path_arg(dir_okay=False, path_type=Path), help="Also write one row per frame."
)
@click.option(
    "--regions-csv",
    type=path_arg(dir_okay=False, path_type=Path),
    help="Also write one row per region per frame.",
)
@no_clobber("frames_csv", "regions_csv")
@translate_errors
def video_command(
    ref: Path,
    dist: Path,
    size: tuple[int, int] | None,
    pix_fmt: str | None,
    frames: int | None,
    skip: int,
    regions_path: str | None,
    regions_image: str | None,
    missing_regions: str,
    rule: str,
    peak: str,
    fps: tuple[float, ...],
    max_db: float | None,
    viewing_distance: float,
    foveal_angle: float,
    fmt: str,
    frames_csv: Path | None,
    regions_csv: Path | None,
) -> None:
    """Score DIST against REF frame by frame on the native Y, U, V planes, and pool the sequence.

    Inputs: Y4M, raw planar .yuv (--size, --pix-fmt) or anything ffmpeg decodes (mp4, mkv,
    ivf…; ffmpeg on PATH or pip install 'fpsnr[video]'). Every value is given under both
    pooling rules: the mean of per-frame dB (HM's Average, libvmaf) and the PSNR of the pooled
    squared error (ffmpeg's summary, libvmaf's apsnr). The foveal metrics are on Y and under
    the combined --rule; discs are on the luma grid (README, "Video").

    \b
    Example:
      fpsnr video ref.y4m dist.y4m --regions face-track.json --fp 0,0.5
      fpsnr video ref.yuv dist.yuv --size 352x288 --pix-fmt yuv420p --frames-csv frames.csv
    """
    from fpsnr.regions.tracks import load_video_regions
    from fpsnr.video.measure import VideoOptions
    from fpsnr.video.output import format_summary_csv, format_summary_json, format_summary_table
    from fpsnr.video.run import score_video

    options = VideoOptions(
        rule=rule,  # type: ignore[arg-type]
        peak=peak,  # type: ignore[arg-type]
        max_db=max_db,
        fps=fps,
        viewing_distance=viewing_distance,
        foveal_angle=foveal_angle,
    )
    regions: Any = "center"
    if regions_path is None:
        inform("note: no --regions given: one default-radius disc at the centre of every frame")
    elif regions_path != "center":
        regions = load_video_regions(regions_path, image=regions_image)
    summary = score_video(
        ref,
        dist,
        regions,
        options,
        size=size,
        pix_fmt=pix_fmt,
        frames=frames,
        skip=skip,
        missing_regions=missing_regions,  # type: ignore[arg-type]
        frames_csv=frames_csv,
        regions_csv=regions_csv,
    )
    writer = {"table": format_summary_table, "json": format_summary_json, "csv": format_summary_csv}[fmt]
    text = writer(summary, str(ref), str(dist))
    click.echo(text, nl=not text.endswith("\n"))
    for path in (frames_csv, regions_csv):
        if path is not None:
            inform(f"wrote {path}")
