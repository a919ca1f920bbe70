"""``fpsnr video``: PSNR of Y, U, V, the combined rule and the foveal metrics of a video pair."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from fpsnr.cli.options import (
    OrderedGroup,
    fp_option,
    frame_size,
    inform,
    max_db_option,
    path_arg,
    radius_options,
    refuse_existing,
    translate_errors,
)
from fpsnr.cli.video_anchors import anchors_command, external_command, peak_option, rule_option


@click.command("score")
@click.argument("ref", type=path_arg(path_type=Path))
@click.argument("dists", metavar="DIST...", nargs=-1, required=True, type=path_arg(path_type=Path))
@click.option(
    "--batch",
    is_flag=True,
    help="REF and each DIST are folders: pair sequences by file stem, one CSV (--out) for all.",
)
@click.option(
    "--out", "-o", type=path_arg(dir_okay=False, path_type=Path), help="With --batch: the scores CSV."
)
@click.option(
    "--label", "labels", multiple=True, help="With --batch: label of each DIST folder [folder name]."
)
@click.option(
    "--workers", "-j", type=click.IntRange(min=1), default=None, help="With --batch: processes [all cores]."
)
@click.option(
    "--resume", is_flag=True, help="With --batch: finish an interrupted run; finished sequences are kept."
)
@click.option(
    "--retry-errors", is_flag=True, help="With --resume: score again the sequences whose rows hold an error."
)
@click.option(
    "--size", callback=frame_size, metavar="WxH", help="Frame size of raw .yuv inputs (both alike)."
)
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
    "that move, README), a MOT CSV of boxes, 'suggest' (proposals per frame, smoothed over time) "
    "or 'center' [center].",
)
@click.option("--regions-image", default=None, metavar="NAME", help="Whose regions to use from a collection.")
@click.option(
    "--missing-regions",
    type=click.Choice(["error", "center", "suggest"]),
    default="error",
    show_default=True,
    help="A frame the track file gives no regions: refused, one default-radius disc at the centre, "
    "or the proposals of --regions suggest.",
)
@rule_option
@peak_option
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
@click.option("--overwrite", is_flag=True, help="Replace output files that exist.")
@translate_errors
def video_command(
    ref: Path,
    dists: tuple[Path, ...],
    batch: bool,
    out: Path | None,
    labels: tuple[str, ...],
    workers: int | None,
    resume: bool,
    retry_errors: bool,
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
    overwrite: bool,
) -> None:
    """Score DIST against REF frame by frame on the native Y, U, V planes, and pool the sequence.

    Inputs: Y4M, raw planar .yuv (--size, --pix-fmt) or anything ffmpeg decodes (mp4, mkv,
    ivf…; ffmpeg on PATH or pip install 'fpsnr[video]'). Every value is given under both
    pooling rules: the mean of per-frame dB (HM's Average, libvmaf) and the PSNR of the pooled
    squared error (ffmpeg's summary, libvmaf's apsnr). The foveal metrics are on Y and under
    the combined --rule; discs are on the luma grid (README, "Video").

    With --batch, REF is a folder of reference sequences and each DIST a folder of distorted
    ones, paired by file stem; --regions is then a folder of <stem>.json/.csv files (or one
    file for every sequence). Two rows per sequence (mean_db, pooled) go to --out as each
    finishes; a sequence that cannot be scored is an error row, and the run exits 1 at the end.

    \b
    Example:
      fpsnr video ref.y4m dist.y4m --regions face-track.json --fp 0,0.5
      fpsnr video ref.yuv dist.yuv --size 352x288 --pix-fmt yuv420p --frames-csv frames.csv
      fpsnr video --batch refs/ x264-crf27/ x265-crf27/ --regions tracks/ -o scores.csv

    fpsnr video anchors --help: encode every sequence of a folder with x264, x265 or
    SVT-AV1 and score the RD points.
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
    if batch:
        _batch(
            ref,
            dists,
            out,
            labels,
            workers,
            resume,
            retry_errors,
            options,
            size=size,
            pix_fmt=pix_fmt,
            frames=frames,
            skip=skip,
            missing_regions=missing_regions,
            regions_path=regions_path,
            per_frame=frames_csv or regions_csv,
            overwrite=overwrite,
        )
        return
    if len(dists) != 1:
        raise click.UsageError("give one DIST to score against REF, or --batch with folders")
    if out is not None or labels or workers is not None or resume or retry_errors:
        raise click.UsageError("--out, --label, --workers, --resume and --retry-errors go with --batch")
    dist = dists[0]
    if frames_csv is not None and regions_csv is not None and frames_csv.resolve() == regions_csv.resolve():
        raise click.UsageError("--regions-csv must differ from --frames-csv")
    if not overwrite:
        refuse_existing([frames_csv, regions_csv])
    regions: Any = "center"
    if regions_path is None:
        inform("note: no --regions given: one default-radius disc at the centre of every frame")
    elif regions_path == "suggest":
        regions = "suggest"
        inform(
            "note: regions proposed on every frame from its saliency, smoothed over frames (README, Video)"
        )
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


def _batch(
    ref: Path,
    dists: tuple[Path, ...],
    out: Path | None,
    labels: tuple[str, ...],
    workers: int | None,
    resume: bool,
    retry_errors: bool,
    options: Any,
    *,
    size: Any,
    pix_fmt: str | None,
    frames: int | None,
    skip: int,
    missing_regions: str,
    regions_path: str | None,
    per_frame: Any,
    overwrite: bool,
) -> None:
    """``fpsnr video --batch``: every sequence of REF against the same-named one in each DIST folder."""
    from fpsnr.cli.options import FLAGS
    from fpsnr.errors import say
    from fpsnr.runs.progress import ProgressBar
    from fpsnr.video.batch import VideoBatch, inputs_record, open_sink, plan_sequences, run_sequences

    if out is None:
        raise click.UsageError("--batch writes its rows to a CSV: give --out")
    if per_frame:
        raise click.UsageError("--frames-csv and --regions-csv score one pair; leave them out with --batch")
    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite exclude each other")
    if retry_errors and not resume:
        raise click.UsageError("--retry-errors goes with --resume")
    if regions_path == "center":
        regions_path = None
    job = VideoBatch(
        options=options,
        size=size,
        pix_fmt=pix_fmt,
        frames=frames,
        skip=skip,
        missing_regions=missing_regions,  # type: ignore[arg-type]
        regions=regions_path,
    )
    tasks = plan_sequences(ref, dists, labels or None)
    sink, done = open_sink(
        out,
        job,
        inputs_record(ref, dists, regions_path),
        resume=resume,
        overwrite=overwrite,
        retry_errors=retry_errors,
    )
    if resume:
        inform(f"resuming: {len(done)} sequence(s) already scored")
    todo = [t for t in tasks if t.key not in done]
    failed = 0
    try:
        with ProgressBar("scoring", "sequence", dynamic_ncols=True) as bar:
            bar(0, len(todo))
            for n, rows in enumerate(run_sequences(todo, job, workers or os.cpu_count() or 1), start=1):
                rows = [{**row, "error": say(row["error"], FLAGS)} for row in rows]
                failed += bool(rows[0]["error"])
                sink.write(rows)
                bar(n, len(todo))
    except KeyboardInterrupt:
        sink.close()
        click.echo(
            f"\ninterrupted: finished sequences are kept in {sink.partial}; run the same command with "
            "--resume",
            err=True,
        )
        raise click.exceptions.Exit(130) from None
    except BaseException:
        sink.abandon()
        raise
    written = sink.finish()
    inform(f"wrote {out} ({written} rows)")
    if failed:
        raise click.ClickException(f"{failed} sequence(s) failed; see the error column of {out}")


class _VideoGroup(OrderedGroup):
    """``fpsnr video REF DIST...`` scores (the ``score`` command); ``fpsnr video anchors`` encodes.

    Anything but a command's name or ``--help`` first — a file, an option — goes to
    ``score``, so the scoring command reads as it always has (a file named ``anchors`` in
    the working folder is ``./anchors``); ``fpsnr video --help`` lists both.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["score", *args]
        return super().parse_args(ctx, args)


@click.group("video", cls=_VideoGroup)
def video_group() -> None:
    """Foveal PSNR of video sequences (fpsnr video REF DIST), and video RD anchors (fpsnr video anchors).

    \b
    Example:
      fpsnr video ref.y4m dist.mp4 --regions face-track.json
      fpsnr video anchors --data seqs/ --codec x264,x265 --crf 22,27,32,37 -o rd.csv
    """


video_group.add_command(video_command)
video_group.add_command(anchors_command)
video_group.add_command(external_command)
