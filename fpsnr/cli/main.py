"""The ``fpsnr`` command: a thin group; each command lives in its own module."""

from __future__ import annotations

import os
from typing import Any

import click

from fpsnr import __version__
from fpsnr.cli.anchors import anchors_command
from fpsnr.cli.batch import batch_command
from fpsnr.cli.bdrate import bdrate_command
from fpsnr.cli.codec import codec_group
from fpsnr.cli.demo import demo_command
from fpsnr.cli.options import OrderedGroup
from fpsnr.cli.plot import plot_group
from fpsnr.cli.ratio import ratio_command
from fpsnr.cli.rd import rd_group
from fpsnr.cli.regions import regions_group
from fpsnr.cli.score import score_command
from fpsnr.cli.video import video_command
from fpsnr.limits import DEFAULT_MAX_PIXELS, ENV


class _Group(OrderedGroup):
    """The top-level group: what no command turned into a message still gets one line.

    Commands report the failures they expect themselves; this is the net under them,
    so an unwritable folder, a full disk or exhausted memory never prints a traceback.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # the reader went away (`fpsnr … | head`): nothing to report, and nothing more to write
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            raise click.exceptions.Exit(1) from None
        except MemoryError:
            raise click.ClickException(
                "out of memory; try a smaller input, fewer --workers, or a lower fpsnr --max-pixels"
            ) from None
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            raise click.ClickException(f"{where}{err.strerror or err}") from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as err:
            if os.environ.get("FPSNR_DEBUG"):
                raise
            first = (str(err).strip().splitlines() or [""])[0]
            raise click.ClickException(
                f"internal error ({type(err).__name__}: {first}); please report it with the command "
                "that caused it (FPSNR_DEBUG=1 shows the traceback)"
            ) from None


def _max_pixels(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
    if value is not None:
        os.environ[ENV] = str(value)  # read by every reader, worker processes included


def _quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    from fpsnr.cli.options import QUIET_ENV

    if value:
        os.environ[QUIET_ENV] = "1"  # read by inform() and the progress bar
    else:
        os.environ.pop(QUIET_ENV, None)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fpsnr")
@click.option("--quiet", "-q", is_flag=True, callback=_quiet, expose_value=False, is_eager=True,
              help="Only warnings and errors on stderr: no notes, progress or 'wrote' lines.")  # fmt: skip
@click.option(
    "--max-pixels", type=click.IntRange(min=1), callback=_max_pixels, expose_value=False,
    is_eager=True, metavar="N",
    help=f"Refuse images larger than N pixels, from their header [{DEFAULT_MAX_PIXELS:,}; env {ENV}].",
)  # fmt: skip
def cli() -> None:
    """Foveal PSNR and M-FPSNR: score reconstructions where viewers look.

    \b
    Example:
      fpsnr score ref.png test.jpg --regions regions.json
    """


# in the order a user meets them: the README's first command, scoring, regions, then the codec
# and the RD comparison
for _command in (demo_command, score_command, batch_command, video_command, regions_group, codec_group,
                 anchors_command, bdrate_command, ratio_command, plot_group, rd_group):  # fmt: skip
    cli.add_command(_command)


def main() -> None:
    cli()
