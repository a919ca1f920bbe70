"""``fpsnr demo``: the README's main job, on data bundled with the install."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from fpsnr.cli.options import FpList, inform, no_clobber, path_arg, translate_errors
from fpsnr.demo import demo_files, run_demo
from fpsnr.formatting import format_table


@click.command("demo")
@click.option(
    "--out-dir", type=path_arg(path_type=Path), default=Path("fpsnr-demo"), show_default=True,
    help="Folder for the example images, regions file and overlay.",
)  # fmt: skip
@click.option(
    "--quality",
    type=click.IntRange(1, 100),
    default=30,
    show_default=True,
    help="JPEG quality of the test image.",
)
@click.option(
    "--fp", "fps", type=FpList(), default="0,0.5", show_default=True, help="Foveal factors to report."
)
@no_clobber(inside=lambda kw: demo_files(kw["out_dir"], kw["quality"]).values())
@translate_errors
def demo_command(out_dir: Path, quality: int, fps: tuple[float, ...]) -> None:
    """Score scikit-image's astronaut photo against a JPEG copy, with bundled regions.

    \b
    Example:
      fpsnr demo --out-dir fpsnr-demo --quality 20
    """
    result = run_demo(out_dir, quality=quality, fps=fps)
    click.echo(format_table(result.scores))
    f = result.files
    inform(f"\nwrote {f['reference']}, {f['test']}, {f['regions']} and {f['overlay']}")
    cmd = ["fpsnr", "score", str(f["reference"]), str(f["test"]), "--regions", str(f["regions"])]
    inform("score it yourself:  " + shlex.join(cmd))
