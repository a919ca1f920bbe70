"""Options shared by several commands, defined once so they mean the same everywhere."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from fpsnr.errors import REMEDIES, FpsnrError
from fpsnr.options import (
    ALPHA_MODES,
    CHANNELS,
    DEFAULT_FP,
    EXIF_MODES,
    MISSING_REGIONS,
    SWEEP_FPS,
    BatchOptions,
    ScoreOptions,
)
from fpsnr.regions.model import DEFAULT_FOVEAL_ANGLE, DEFAULT_VIEWING_DISTANCE, MAX_FOVEAL_ANGLE

F = TypeVar("F", bound=Callable[..., Any])

path_arg = functools.partial(click.Path, readable=False)
"""``click.Path`` without click's readability check: an unreadable file is bad input (exit 1,
one line from the command), not bad usage (exit 2 with a usage block)."""


class OrderedGroup(click.Group):
    """A command group that lists its commands in the order they were added.

    That is the order a user meets them (click sorts them). Each command's whole first
    sentence is shown, wrapped, where click would cut it to "..." at the terminal's width.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, command.get_short_help_str(limit=10_000))
                for name, command in self.commands.items() if not command.hidden]  # fmt: skip
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class CommaList(click.ParamType):  # type: ignore[type-arg]
    """A comma-separated list of ``cast`` values; a bad item is a usage error naming ``kind``."""

    cast: Any = float
    kind = "numbers"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[Any, ...]:
        if isinstance(value, tuple):
            return value
        try:
            return tuple(self.cast(v.strip()) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of {self.kind}", param, ctx)


class FpList(CommaList):
    """A comma-separated list of foveal factors, e.g. ``0,0.1,0.2,0.3,0.4,0.5``.

    Non-numbers are a usage error; numbers outside [0, 1] are checked by the library
    (exit status 1, like every other value the metric rejects).
    """

    name = "FP[,FP...]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[Any, ...]:
        fps = super().convert(value, param, ctx)
        if any(math.isnan(v) for v in fps):
            self.fail(f"{value!r} holds NaN", param, ctx)
        return fps


class NameList(CommaList):
    """Names, comma-separated (``jpeg,webp``).

    With ``multiple=True`` repeats add up (:func:`flat`). With ``choices``, an unknown
    name is a usage error listing them.
    """

    cast = str
    kind = "names"

    def __init__(self, choices: tuple[str, ...] | None = None, what: str = "NAME") -> None:
        self.choices = choices
        self.what = what
        self.name = f"{what}[,{what}...]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[Any, ...]:
        names = tuple(n for n in super().convert(value, param, ctx) if n)
        if self.choices is not None:
            unknown = [n for n in names if n not in self.choices]
            if unknown:
                listed = ", ".join(self.choices)
                self.fail(f"unknown {self.what.lower()} {unknown[0]!r}; choose from {listed}", param, ctx)
        return names


def flat(groups: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    """The items of a repeated comma-list option, in order, each once."""
    return tuple(dict.fromkeys(item for group in groups for item in group))


class IntList(CommaList):
    """Whole numbers, comma-separated (``30,50``); with ``multiple=True`` repeats add up."""

    name = "N[,N...]"
    cast = int
    kind = "whole numbers"


FLAGS: dict[str, str] = {
    "resume": "--resume",
    "overwrite": "--overwrite",
    "retry_errors": "--retry-errors",
    "another_out": "another --out",
    "data_range": "--data-range",
    "alpha_drop": "--alpha drop",
    "exif_apply": "--exif apply",
    "max_pixels": "fpsnr --max-pixels ",
    "regions_image": "--regions-image ",
    "missing_regions": "--missing-regions center|suggest",
    "label": "--label",
    "scheduler": "--scheduler",
    "parquet": "--format parquet",
    "weights": "a weights file (--weights)",
    "device_cpu": "--device cpu",
    "cuda_graphs": "--cuda-graphs",
    "compile": "--compile",
    "max_steps": "--max-steps",
    "max_minutes": "--max-minutes",
    "patch": "--patch",
    "regions": "--regions",
    "one_worker": "-j 1",
    "init": "--init ",
    "size": "--size ",
    "pix_fmt": "--pix-fmt ",
    "frames": "--frames ",
    "skip": "--skip ",
    "frame_rate": "--frame-rate ",
}
"""The flag for each remedy a library message names (:data:`fpsnr.errors.REMEDIES`)."""

if set(FLAGS) != set(REMEDIES):  # one vocabulary: every remedy has its flag
    raise ImportError(f"cli FLAGS and fpsnr.errors.REMEDIES differ: {sorted(set(FLAGS) ^ set(REMEDIES))}")



def translate_errors(func: F) -> F:
    """Turn library errors into one-line click errors (exit status 1, no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FpsnrError as err:
            raise click.ClickException(err.say(FLAGS)) from err

    return wrapper  # type: ignore[return-value]


def _positive(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be a positive number, got {value}")
    return value


_SWEEP = ",".join(f"{fp:g}" for fp in SWEEP_FPS)
fp_option = click.option(
    "--fp", "fps", type=FpList(), default=f"{DEFAULT_FP:g}", show_default=True,
    help=f"Foveal factor Fp in [0, 1], or a comma list to sweep ({_SWEEP}).",
)  # fmt: skip
sweep_fp_option = click.option(
    "--fp", "fps", type=FpList(), default=_SWEEP, show_default=True,
    help="Foveal factors of the M-FPSNR columns (the paper's Table 2 sweep).",
)  # fmt: skip
metric_fp_option = click.option(
    "--fp", type=float, default=DEFAULT_FP, show_default=True, help="Fp of m_fpsnr."
)
missing_regions_option = click.option(
    "--missing-regions", type=click.Choice(MISSING_REGIONS), default="error",
    show_default=True,
    help="Image without regions: an error row, one default-radius region at the centre, or "
    "the regions 'fpsnr regions suggest' proposes.",
)  # fmt: skip


def note_shipped(value: str | None) -> None:
    """Say on stderr when a shipped set's bare name (``kodak``) is also a path here.

    The bare name always means the shipped set (:mod:`fpsnr.regions.shipped`); a user
    with a folder of that name in the working folder learns how to reach it instead.
    """
    from fpsnr.regions.shipped import shipped_name

    if value is not None and shipped_name(value) is not None and Path(value).exists():
        inform(f"note: '{value}' is fpsnr's shipped {value} regions; for the {value} here, write ./{value}")


QUIET_ENV = "FPSNR_QUIET"
"""Set to 1 by ``fpsnr --quiet``: notes, progress and 'wrote' lines are left out."""


def inform(message: str) -> None:
    """A note or a report of work done, on stderr, unless ``fpsnr --quiet`` (warnings and errors always)."""
    import os

    if os.environ.get(QUIET_ENV) != "1":
        click.echo(message, err=True)


def refuse_existing(paths: Any) -> None:
    """The one overwrite rule: an output file that exists is refused, naming --overwrite."""
    for path in paths:
        if path is not None and (Path(path).exists() or Path(path).is_symlink()):
            raise click.ClickException(f"{path} exists; use --overwrite to replace it")


def no_clobber(*names: str, inside: Callable[[dict[str, Any]], Any] | None = None) -> Callable[[F], F]:
    """``--overwrite``, and before any work a refusal of each existing output the command writes.

    ``names`` are the parameters holding output paths (None: not written this time);
    ``inside(kwargs)`` lists further paths (a demo folder's files). Every command that
    writes a file takes this rule (newcomer 2026-12 finding 9), as batch, anchors and
    codec eval do with their own resumable outputs.
    """

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def run(*args: Any, overwrite: bool = False, **kwargs: Any) -> Any:
            if not overwrite:
                refuse_existing([kwargs.get(name) for name in names])
                if inside is not None:
                    refuse_existing(inside(kwargs))
            return func(*args, **kwargs)

        option = click.option("--overwrite", is_flag=True, help="Replace output files that exist.")
        return option(run)  # type: ignore[return-value]

    return wrap


def note_scaled(regions: Any, pixels: Any) -> None:
    """Say on stderr when a regions file's size differs from the image's, so its regions scale.

    Scaling is right for the same picture at another resolution and wrong for a crop
    (README, "Resolution scaling"): the note lets a user see which happened.
    """
    from fpsnr.regions.model import Regions

    height, width = pixels.shape[:2]
    if isinstance(regions, Regions) and (regions.width, regions.height) != (width, height):
        factor = min(width, height) / min(regions.width, regions.height)
        inform(f"note: regions written for {regions.width}×{regions.height} are scaled to this "
               f"{width}×{height} image (×{factor:.4g}); for a crop, write regions for the crop")


def inputs_record(folders: dict[str, Any], regions_path: str | None) -> dict[str, Any]:
    """What a resumed run must find again, for its settings record (reliability G15).

    Folders as absolute paths (the same relative command run from another folder reads
    other images), and the regions as the path they resolve to with the SHA-256 of each
    regions file (one edited or removed since made rows that no longer match it; files
    added to a regions folder, for images added since, are fine: see
    :class:`fpsnr.runs.sink.CsvSink`).
    """
    import hashlib

    from fpsnr.regions.shipped import resolve_regions

    record: dict[str, Any] = {
        key: [str(Path(v).absolute()) for v in value] if isinstance(value, (list, tuple))
        else str(Path(value).absolute())
        for key, value in folders.items()
    }  # fmt: skip
    if regions_path is None:
        return record | {"regions": None, "regions_sha256": None}
    where = resolve_regions(regions_path)
    files = sorted(where.glob("*.json")) if where.is_dir() else [where]
    digests = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}
    return record | {"regions": str(where.absolute()), "regions_sha256": digests}


def regions_or_fallback(regions_path: Any, missing_regions: str) -> Any:
    """The regions index of --regions, or an empty one when --missing-regions gives every image its own."""
    from fpsnr.regions.regionfile import load_region_index

    note_shipped(regions_path)
    if regions_path is not None:
        return load_region_index(regions_path)
    if missing_regions == "error":
        raise click.UsageError("give --regions, or --missing-regions center|suggest to score without them")
    return {}


def rd_source_options(func: F) -> F:
    """--data and --regions of the RD commands (anchors, codec eval)."""
    func = click.option(
        "--regions", "regions_path", type=path_arg(path_type=str), default=None,
        help="Regions folder, collection file or 'kodak' [none: every image takes --missing-regions "
        "center|suggest].",
    )(func)  # fmt: skip
    return click.option(
        "--data", "data_dir", type=path_arg(file_okay=False, path_type=Path), required=True,
        help="Folder of reference images (searched recursively).",
    )(func)  # fmt: skip


def rd_run_options(default_workers: str) -> Callable[[F], F]:
    """The output and run options of the RD commands (anchors, codec eval).

    --fp, --missing-regions, --out, --overwrite, --resume, --workers, --no-ms-ssim;
    --resume with --overwrite is a usage error before the command starts.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if kwargs["resume"] and kwargs["overwrite"]:
                raise click.UsageError("--resume and --overwrite exclude each other")
            return func(*args, **kwargs)

        command: Any = checked
        for option in reversed((
            sweep_fp_option,
            missing_regions_option,
            click.option("--out", "-o", type=path_arg(dir_okay=False, path_type=Path), required=True,
                         help="RD CSV to write."),
            click.option("--overwrite", is_flag=True, help="Replace an existing output."),
            click.option("--resume", is_flag=True,
                         help="Finish an interrupted run (same options): rows already written are kept."),
            click.option("--workers", "-j", type=click.IntRange(min=1), default=None,
                         help=f"Processes, each coding whole images [{default_workers}]."),
            click.option("--no-ms-ssim", "no_ms_ssim", is_flag=True,
                         help="Leave the ms_ssim column empty (its slowest number)."),
        )):  # fmt: skip
            command = option(command)
        return command  # type: ignore[no-any-return]

    return decorate


channel_option = click.option(
    "--channel", type=click.Choice(CHANNELS), default="rgb", show_default=True,
    help="rgb pools all channels; y scores BT.601 full-range luma, unrounded, peak 255 "
    "(studio-range Y, as ffmpeg's psnr, reads 1.32 dB higher: see the README).",
)  # fmt: skip
max_db_option = click.option(
    "--max-db", type=float, default=None, callback=_positive,
    help="Cap every PSNR at this many dB before averaging (identical pixels give inf).",
)  # fmt: skip
data_range_option = click.option(
    "--data-range", type=float, default=None, callback=_positive,
    help="Peak value MAX; required for float images, overrides 255/65535 for integers.",
)  # fmt: skip
alpha_option = click.option(
    "--alpha", type=click.Choice(ALPHA_MODES), default="error", show_default=True,
    help="What to do with an alpha channel: refuse it, or drop it.",
)  # fmt: skip
viewing_distance_option = click.option(
    "--viewing-distance", type=float, default=DEFAULT_VIEWING_DISTANCE, show_default=True,
    callback=_positive,
    help="v in picture heights, for the default radius R = v·min(H,W)·tan(θ/2).",
)  # fmt: skip
foveal_angle_option = click.option(
    "--foveal-angle", type=click.FloatRange(0, MAX_FOVEAL_ANGLE, min_open=True, max_open=True),
    default=DEFAULT_FOVEAL_ANGLE, show_default=True, help="θ in degrees, for the default radius.",
)  # fmt: skip
format_option = click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
    show_default=True, help="Output format on stdout.",
)  # fmt: skip


_FRAME_SIZE = re.compile(r"(\d+)[x×](\d+)")


def frame_size(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    """``--size WxH``: a frame size in pixels, or None."""
    if value is None:
        return None
    m = _FRAME_SIZE.fullmatch(value.strip().lower())
    if not m or int(m[1]) == 0 or int(m[2]) == 0:
        raise click.BadParameter(f"expected WIDTHxHEIGHT in pixels (352x288), got {value!r}")
    return int(m[1]), int(m[2])


def radius_options(func: F) -> F:
    return viewing_distance_option(foveal_angle_option(func))


_SCORE_FIELDS = (
    "fps", "channel", "max_db", "data_range", "alpha", "viewing_distance", "foveal_angle", "exif",
)  # fmt: skip
exif_option = click.option(
    "--exif", type=click.Choice(EXIF_MODES), default="keep", show_default=True,
    help="keep: pixels as stored; apply: turned upright by each file's EXIF orientation tag.",
)  # fmt: skip


def score_options(*, batch: bool = False) -> Callable[[F], F]:
    """The options that say how a pair is scored, handed to the command as one record.

    Adds ``--fp``, ``--channel``, ``--max-db``, ``--data-range``, ``--alpha``,
    ``--viewing-distance`` and ``--foveal-angle`` (and ``--missing-regions`` with
    ``batch=True``); the command receives them as ``options``, a
    :class:`~fpsnr.options.ScoreOptions` (or :class:`~fpsnr.options.BatchOptions`)
    checked once, here. A value the record refuses is exit status 1, one line.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in _SCORE_FIELDS}
            if batch:
                values["missing_regions"] = kwargs.pop("missing_regions")
            try:
                options = (BatchOptions if batch else ScoreOptions)(**values)
            except FpsnrError as err:
                raise click.ClickException(err.say(FLAGS)) from err
            return func(*args, options=options, **kwargs)

        decorated: Any = radius_options(wrapper)
        chosen = (exif_option, alpha_option, data_range_option, max_db_option, channel_option, fp_option)
        for option in chosen:
            decorated = option(decorated)
        if batch:
            decorated = missing_regions_option(decorated)
        return decorated  # type: ignore[no-any-return]

    return decorate
