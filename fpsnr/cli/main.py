"""The ``fpsnr`` command: a thin group; each command lives in its own module."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, MutableMapping
from typing import Any

import click

from fpsnr import __version__
from fpsnr.cli.options import OrderedGroup
from fpsnr.limits import DEFAULT_MAX_PIXELS, ENV

# in the order a user meets them: the README's first command, scoring, regions, then the codec
# and the RD comparison; each module is imported when its command is run (or help lists it)
COMMANDS = {
    "demo": "fpsnr.cli.demo:demo_command", "score": "fpsnr.cli.score:score_command",
    "batch": "fpsnr.cli.batch:batch_command", "video": "fpsnr.cli.video:video_group",
    "regions": "fpsnr.cli.regions:regions_group", "codec": "fpsnr.cli.codec:codec_group",
    "anchors": "fpsnr.cli.anchors:anchors_command", "bdrate": "fpsnr.cli.bdrate:bdrate_command",
    "ratio": "fpsnr.cli.ratio:ratio_command", "plot": "fpsnr.cli.plot:plot_group",
    "rd": "fpsnr.cli.rd:rd_group",
}  # fmt: skip


class _LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands, each module imported on first use: ``fpsnr video`` loads no RD code."""

    def __init__(self, where: dict[str, str]) -> None:
        self._where = dict(where)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, _, attr = self._where[name].partition(":")  # (KeyError: no such command)
            self._loaded[name] = getattr(importlib.import_module(module), attr)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._where.setdefault(name, "")
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._where[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


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


cli.commands = _LazyCommands(COMMANDS)  # type: ignore[assignment]


def main() -> None:
    cli()
