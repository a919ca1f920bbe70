"""The ``fpsnr`` command: a thin group; each command lives in its own module."""

from __future__ import annotations

import click

from fpsnr import __version__
from fpsnr.cli.anchors import anchors_command
from fpsnr.cli.batch import batch_command
from fpsnr.cli.bdrate import bdrate_command
from fpsnr.cli.codec import codec_group
from fpsnr.cli.demo import demo_command
from fpsnr.cli.plot import plot_group
from fpsnr.cli.regions import regions_group
from fpsnr.cli.score import score_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fpsnr")
def cli() -> None:
    """Foveal PSNR and M-FPSNR: score reconstructions where viewers look.

    \b
    Example:
      fpsnr score ref.png test.jpg --regions regions.json
    """


cli.add_command(score_command)
cli.add_command(batch_command)
cli.add_command(regions_group)
cli.add_command(demo_command)
cli.add_command(codec_group)
cli.add_command(anchors_command)
cli.add_command(bdrate_command)
cli.add_command(plot_group)


def main() -> None:
    cli()
