"""Scoring folders of images into tidy rows, one per (label, pair, Fp).

Pairs come from :mod:`fpsnr.runs.pairing`, run on local processes or a Dask cluster
(:mod:`fpsnr.runs.parallel`), and their rows go wherever the caller sends them — the
command line writes them to crash-safe CSVs (:mod:`fpsnr.runs.sink`). A pair that cannot
be scored becomes rows with ``error`` filled and the run goes on. Numbers are those of
:func:`fpsnr.score` on the same pair, written with the same full-precision formatting
as ``fpsnr score --format csv``.

pandas is imported only when a DataFrame is built, so ``import fpsnr`` stays light.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fpsnr.errors import REMEDIES, FpsnrError, ParameterError, say, template, worded
from fpsnr.files import check_path
from fpsnr.images.io import read_pair
from fpsnr.metrics import score_pair
from fpsnr.options import BatchOptions, ScoreOptions
from fpsnr.regions.model import RegionIndex, Regions
from fpsnr.regions.policy import fallback_regions
from fpsnr.regions.regionfile import load_region_index
from fpsnr.runs.pairing import PairTask, plan_pairs
from fpsnr.runs.parallel import map_dask, map_local
from fpsnr.runs.progress import ProgressCallback, reporting

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "REGION_COLUMNS",
    "SCORE_COLUMNS",
    "BatchOptions",
    "BatchResult",
    "PairOutcome",
    "PairTask",
    "run_pair",
    "run_pairs",
    "score_folders",
]

SCORE_COLUMNS = (
    "label", "ref", "test", "width", "height", "n_regions", "fp",
    "psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr", "error",
)  # fmt: skip
REGION_COLUMNS = (
    "label", "ref", "test", "region", "region_label", "cx", "cy", "radius", "pixels", "mse", "fpsnr",
)  # fmt: skip


@dataclass(frozen=True)
class PairOutcome:
    """The CSV rows of one pair: one per Fp, and one per region."""

    key: tuple[str, str]
    rows: tuple[dict[str, Any], ...]
    region_rows: tuple[dict[str, Any], ...]
    error: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """The rows of a folder run; ``scores`` and ``regions`` are DataFrames made on first use.

    pandas is imported then, not by a run whose rows only go to files (``fpsnr batch``:
    importing pandas is 0.4 s, a third of a 96-pair run).
    """

    rows: tuple[dict[str, Any], ...] = field(repr=False)
    region_rows: tuple[dict[str, Any], ...] = field(repr=False)
    warnings: tuple[str, ...] = field(default=())

    @functools.cached_property
    def scores(self) -> pd.DataFrame:
        """One row per (label, pair, Fp), columns :data:`SCORE_COLUMNS`."""
        frame: pd.DataFrame = _frame(self.rows, SCORE_COLUMNS)
        return frame

    @functools.cached_property
    def regions(self) -> pd.DataFrame:
        """One row per (label, pair, region), columns :data:`REGION_COLUMNS`."""
        frame: pd.DataFrame = _frame(self.region_rows, REGION_COLUMNS)
        return frame

    @property
    def failed(self) -> int:
        """Pairs with an error."""
        errors = self.scores[self.scores["error"] != ""]
        return int(errors[["label", "ref"]].drop_duplicates().shape[0])


def _error_outcome(task: PairTask, options: BatchOptions, message: str) -> PairOutcome:
    base: dict[str, Any] = dict.fromkeys(SCORE_COLUMNS)
    base.update(label=task.label, ref=task.ref, test=task.test, error=message)
    rows = tuple({**base, "fp": fp} for fp in options.fps)
    return PairOutcome(key=task.key, rows=rows, region_rows=(), error=message)


def run_pair(task: PairTask, options: BatchOptions) -> PairOutcome:
    """Score one pair; every failure becomes an error outcome, never an exception."""
    if task.problem is not None:
        return _error_outcome(task, options, task.problem)
    try:
        # The pooled RGB error is the same in any order of the colour channels: the decoder's
        # BGR is scored as it comes, without a conversion pass; luma weights and proposals
        # (the reference's colours) need RGB.
        proposals = task.regions is None and options.missing_regions == "suggest"
        as_decoded = options.channel == "rgb" and not proposals
        ref, test = read_pair(
            task.file(task.ref), task.file(task.test), exif=options.exif == "apply", rgb=not as_decoded
        )
        regions = task.regions or fallback_regions(ref, Path(task.ref).stem, options)
        scores = score_pair(ref, test, regions, options)
    except FpsnrError as err:
        return _error_outcome(task, options, template(err))
    except MemoryError:
        return _error_outcome(task, options, f"{task.test}: out of memory while scoring this pair")
    except Exception as err:  # a bug or an OpenCV failure must not stop the batch
        return _error_outcome(task, options, f"unexpected {type(err).__name__}: {err}")
    rows = tuple(
        {
            "label": task.label,
            "ref": task.ref,
            "test": task.test,
            "width": s.width,
            "height": s.height,
            "n_regions": len(s.regions),
            "fp": s.fp,
            "psnr": s.psnr,
            "mean_fpsnr": s.mean_fpsnr,
            "periphery_psnr": s.periphery_psnr,
            "m_fpsnr": s.m_fpsnr,
            "error": "",
        }
        for s in scores
    )
    region_rows = tuple(
        {
            "label": task.label,
            "ref": task.ref,
            "test": task.test,
            "region": n,
            "region_label": r.label,
            "cx": r.center[0],
            "cy": r.center[1],
            "radius": r.radius,
            "pixels": r.pixels,
            "mse": r.mse,
            "fpsnr": r.fpsnr,
        }
        for n, r in enumerate(scores[0].regions, start=1)
    )
    return PairOutcome(key=task.key, rows=rows, region_rows=region_rows)


def _run_local(
    tasks: Sequence[PairTask], options: BatchOptions, workers: int
) -> Generator[PairOutcome, None, None]:
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield run_pair(task, options)
        return
    yield from map_local(
        run_pair, tasks, options, workers, on_lost=lambda task, why: _error_outcome(task, options, why)
    )


def run_pairs(
    tasks: Sequence[PairTask],
    options: BatchOptions,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
) -> Generator[PairOutcome, None, None]:
    """Score tasks, yielding outcomes as they finish (in completion order).

    ``workers`` local processes (default: all cores), or the Dask distributed cluster
    at ``scheduler``. ``progress(done, total)`` is called before the first pair and
    after each.
    """
    if scheduler is not None:
        # the workers run in other folders, perhaps on other machines: relative names are
        # read from this folder (a shared file system is assumed, as for any Dask job)
        here = os.getcwd()
        shipped = [replace(task, folder=here) for task in tasks]
        outcomes = map_dask(
            run_pair, shipped, options, scheduler, on_lost=lambda t, why: _error_outcome(t, options, why)
        )
    else:
        outcomes = _run_local(tasks, options, workers or os.cpu_count() or 1)
    if progress is not None:
        progress(0, len(tasks))
    with contextlib.closing(outcomes):  # stops the workers when the consumer stops
        for done, outcome in enumerate(outcomes, start=1):
            if progress is not None:
                progress(done, len(tasks))
            yield outcome


def score_folders(
    ref_dir: str | os.PathLike[str],
    test_dirs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    regions: str | os.PathLike[str] | Regions | RegionIndex | None,
    *,
    labels: Sequence[str] | None = None,
    options: BatchOptions | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | ProgressCallback = False,
    skip: Iterable[tuple[str, str]] = (),
    on_outcome: Callable[[PairOutcome], None] | None = None,
    keep_rows: bool = True,
    words: Mapping[str, str] = REMEDIES,
) -> BatchResult:
    """Score every reference image against its counterpart in each test folder.

    Parameters
    ----------
    ref_dir : path
        Folder of reference images, searched recursively.
    test_dirs : path or sequence of paths
        One or more folders of test images; each is a ``label`` (its folder name, or
        the matching entry of ``labels``).
    regions : path, Regions, dict or None
        A folder of regions files, a collection file, a single file, a loaded
        ``Regions`` (used for every image) or a ``{stem: Regions}`` mapping.
    options : BatchOptions
        Fp list, channel, data range, cap, radius settings, missing-regions policy.
    workers, scheduler
        See :func:`run_pairs`.
    progress : bool or callable
        ``True`` draws a tqdm bar with pairs/s on stderr; a callable is called as
        ``progress(done, total)`` (see :mod:`fpsnr.runs.progress`).
    skip : iterable of (label, ref)
        Pairs already done (``--resume``): not scored again.
    on_outcome : callable
        Called with each finished pair as soon as it is done (the CLI writes it).
    keep_rows : bool
        ``False`` keeps no row in memory (the result's tables are empty): for a caller
        that takes each pair in ``on_outcome``, so a run of a million pairs costs no more
        memory than one of a hundred.
    words : mapping
        How the remedies in ``error`` are worded (:data:`fpsnr.errors.REMEDIES`; the
        command line passes its flags).

    Returns
    -------
    BatchResult
        ``scores`` (columns :data:`SCORE_COLUMNS`, one row per pair and Fp) and
        ``regions`` (columns :data:`REGION_COLUMNS`) as DataFrames sorted by label,
        reference and Fp; ``warnings`` lists unmatched test files.
    """
    options = _batch_options(options)
    dirs = [test_dirs] if isinstance(test_dirs, (str, os.PathLike)) else list(test_dirs)
    _check_arguments(ref_dir, dirs, regions, labels, workers, progress)
    index = load_region_index(regions) if isinstance(regions, (str, os.PathLike)) else regions
    tasks, warnings = plan_pairs(ref_dir, dirs, index, labels=labels)
    done = set(skip)
    todo = [t for t in tasks if t.key not in done]
    rows: list[dict[str, Any]] = []
    region_rows: list[dict[str, Any]] = []
    with (
        reporting(progress, "scoring", "pair", dynamic_ncols=True) as report,
        contextlib.closing(
            run_pairs(todo, options, workers=workers, scheduler=scheduler, progress=report)
        ) as outcomes,
    ):
        for raw in outcomes:
            outcome = _worded(raw, words)
            if keep_rows:
                rows.extend(outcome.rows)
                region_rows.extend(outcome.region_rows)
            if on_outcome is not None:
                on_outcome(outcome)
    # sorted here, not by pandas: its sort would convert the text columns (see _frame)
    rows.sort(key=lambda r: (r["label"], r["ref"], r["fp"]))
    region_rows.sort(key=lambda r: (r["label"], r["ref"], r["region"]))
    return BatchResult(rows=tuple(rows), region_rows=tuple(region_rows), warnings=tuple(warnings))


def _check_arguments(
    ref_dir: Any, dirs: list[Any], regions: Any, labels: Any, workers: Any, progress: Any
) -> None:
    """One line naming the parameter of a wrong type (each was a bare TypeError, G24)."""
    check_path("ref_dir", ref_dir, ParameterError)
    if not dirs:
        raise ParameterError("test_dirs is empty; give at least one folder of test images")
    for folder in dirs:
        check_path("test_dirs", folder, ParameterError)
    if labels is not None and not all(isinstance(label, str) for label in labels):
        raise ParameterError(f"labels must be strings, got {list(labels)!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers must be a whole number ≥ 1, got {workers!r}")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise ParameterError(f"progress must be True, False or a callable (done, total), got {progress!r}")
    if not (regions is None or isinstance(regions, (str, os.PathLike, Regions, dict))):
        raise ParameterError(
            f"regions must be a path, a Regions, a RegionIndex (dict) or None, got {type(regions).__name__}"
        )


def _batch_options(options: ScoreOptions | None) -> BatchOptions:
    """``options`` as the batch's record; a plain :class:`ScoreOptions` gains the batch defaults.

    Every row used to be an 'unexpected AttributeError' with one (G24).
    """
    if options is None:
        return BatchOptions()
    if isinstance(options, BatchOptions):
        return options
    if isinstance(options, ScoreOptions):
        return BatchOptions(**{f.name: getattr(options, f.name) for f in fields(ScoreOptions)})
    raise ParameterError(f"options must be a BatchOptions, got {type(options).__name__}")


def _worded(outcome: PairOutcome, words: Mapping[str, str]) -> PairOutcome:
    if outcome.error is None:
        return outcome
    rows = tuple(worded(row, words) for row in outcome.rows)
    return replace(outcome, rows=rows, error=say(outcome.error, words))


_TEXT_COLUMNS = ("label", "ref", "test", "error", "region_label")


def _frame(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Any:
    """A DataFrame of rows whose text columns are Python strings (object dtype).

    pandas 3 stores text with pyarrow when it is installed, which cannot hold a file
    name that is not valid UTF-8 (kept as surrogate escapes, as the file system has it).
    """
    import pandas as pd

    data = {
        c: pd.Series([r.get(c) for r in rows], dtype=object if c in _TEXT_COLUMNS else None) for c in columns
    }
    return pd.DataFrame(data, columns=list(columns))
