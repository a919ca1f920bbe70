"""Scoring folders of images: pairing, parallel work, crash-safe CSV output.

Every image under the reference folder (recursively) is paired with the file of the
same relative path and stem, any image extension, in each test folder — never by sort
order. A pair that cannot be scored becomes a row with its ``error`` filled and the
run goes on. Numbers are those of :func:`fpsnr.score` on the same pair, written with
the same full-precision formatting as ``fpsnr score --format csv``.

pandas is imported only when a DataFrame is built, so ``import fpsnr`` stays light.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fpsnr.errors import FpsnrError, ParameterError
from fpsnr.formatting import csv_cell
from fpsnr.images import IMAGE_EXTENSIONS, AlphaMode, Channel, read_image
from fpsnr.metrics import measure
from fpsnr.regions import (
    DEFAULT_FOVEAL_ANGLE,
    DEFAULT_VIEWING_DISTANCE,
    Region,
    Regions,
    load_region_index,
)
from fpsnr.saliency import suggest_regions

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "REGION_COLUMNS",
    "SCORE_COLUMNS",
    "BatchOptions",
    "BatchResult",
    "PairOutcome",
    "PairTask",
    "find_images",
    "plan_pairs",
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

MissingRegions = Literal["error", "center", "suggest"]


@dataclass(frozen=True)
class BatchOptions:
    """Metric settings shared by every pair of a batch (see :func:`fpsnr.score`).

    ``missing_regions`` decides what happens to an image without regions: ``"error"``
    (default) makes its rows errors; ``"center"`` scores one default-radius region at
    the image centre, the single-focus F_PSNR of the prior art; ``"suggest"`` scores
    the regions :func:`fpsnr.saliency.suggest_regions` proposes for the reference.
    """

    fps: tuple[float, ...] = (0.5,)
    channel: Channel = "rgb"
    data_range: float | None = None
    max_db: float | None = None
    alpha: AlphaMode = "error"
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE
    missing_regions: MissingRegions = "error"

    def __post_init__(self) -> None:
        if not self.fps:
            raise ParameterError("give at least one Fp")
        for fp in self.fps:
            if not 0.0 <= fp <= 1.0:
                raise ParameterError(f"Fp must be in [0, 1], got {fp!r}")
        if self.missing_regions not in ("error", "center", "suggest"):
            raise ParameterError(
                f"missing_regions must be 'error', 'center' or 'suggest', got {self.missing_regions!r}"
            )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["fps"] = list(self.fps)
        return out


@dataclass(frozen=True)
class PairTask:
    """One (label, reference) pair to score; ``problem`` set when it cannot be scored."""

    label: str
    ref: str
    test: str
    regions: Regions | None
    problem: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.label, self.ref)


@dataclass(frozen=True)
class PairOutcome:
    """The CSV rows of one pair: one per Fp, and one per region."""

    key: tuple[str, str]
    rows: tuple[dict[str, Any], ...]
    region_rows: tuple[dict[str, Any], ...]
    error: str | None = None


@dataclass(frozen=True)
class BatchResult:
    scores: pd.DataFrame
    regions: pd.DataFrame
    warnings: tuple[str, ...] = field(default=())

    @property
    def failed(self) -> int:
        """Pairs with an error."""
        errors = self.scores[self.scores["error"] != ""]
        return int(errors[["label", "ref"]].drop_duplicates().shape[0])


# ----------------------------------------------------------------------- pairing


def find_images(root: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """Image files under ``root``, recursively, keyed by relative path without extension.

    Keys use ``/`` on every platform. Two files with the same stem in one folder
    (``a.png`` and ``a.jpg``) share a key: the caller decides what that means.
    """
    base = Path(root)
    found: dict[str, list[Path]] = {}
    for path in sorted(base.rglob("*")):
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            key = path.relative_to(base).with_suffix("").as_posix()
            found.setdefault(key, []).append(path)
    return found


def plan_pairs(
    ref_dir: str | os.PathLike[str],
    test_dirs: Sequence[str | os.PathLike[str]],
    regions: Regions | dict[str, Regions] | None,
    *,
    labels: Sequence[str] | None = None,
) -> tuple[list[PairTask], list[str]]:
    """Pair every reference image with its counterpart in each test folder.

    Returns the tasks, in a stable order, and warnings (unmatched test files). A
    reference without a test counterpart, or with several (``x.png`` and ``x.jpg``),
    becomes a task with ``problem`` set, which turns into an error row.
    """
    ref_root = Path(ref_dir)
    refs = find_images(ref_root)
    if not refs:
        raise ParameterError(f"{ref_root}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)})")
    names = list(labels) if labels else [Path(d).resolve().name for d in test_dirs]
    if len(names) != len(test_dirs):
        raise ParameterError(
            f"got {len(names)} labels for {len(test_dirs)} test folders; give one per folder"
        )
    if len(set(names)) != len(names):
        raise ParameterError(
            f"test folders share the label {sorted(n for n in names if names.count(n) > 1)[0]!r}; "
            "name them with --label"
        )
    tasks: list[PairTask] = []
    warnings: list[str] = []
    for label, test_dir in zip(names, test_dirs, strict=True):
        tests = find_images(test_dir)
        for key in sorted(refs):
            for ref_path in refs[key]:
                ref_regions = _regions_for(regions, Path(key).name)
                candidates = tests.get(key, [])
                if len(refs[key]) > 1:
                    problem = (
                        f"several reference files share the stem {key!r} "
                        f"({', '.join(p.name for p in refs[key])}); keep one"
                    )
                    test = str(candidates[0]) if len(candidates) == 1 else ""
                elif not candidates:
                    problem = f"no test image {key}.* in {test_dir}"
                    test = ""
                elif len(candidates) > 1:
                    problem = f"several test images match {key}: {', '.join(p.name for p in candidates)}"
                    test = ""
                else:
                    problem = None
                    test = str(candidates[0])
                tasks.append(PairTask(label, str(ref_path), test, ref_regions, problem))
        for key in sorted(set(tests) - set(refs)):
            for path in tests[key]:
                warnings.append(f"{path}: no reference image {key}.* in {ref_root}; not scored")
    return tasks, warnings


def _regions_for(regions: Regions | dict[str, Regions] | None, stem: str) -> Regions | None:
    if regions is None:
        return None
    if isinstance(regions, Regions):
        return regions
    return regions.get(stem)


# ----------------------------------------------------------------------- scoring


def _error_outcome(task: PairTask, options: BatchOptions, message: str) -> PairOutcome:
    base: dict[str, Any] = dict.fromkeys(SCORE_COLUMNS)
    base.update(label=task.label, ref=task.ref, test=task.test, error=message)
    rows = tuple({**base, "fp": fp} for fp in options.fps)
    return PairOutcome(key=task.key, rows=rows, region_rows=(), error=message)


def fallback_regions(reference: Any, stem: str, options: BatchOptions) -> Regions:
    """Regions for an image that has none, by ``options.missing_regions``.

    Raises the error the ``"error"`` policy asks for.
    """
    if options.missing_regions == "error":
        raise FpsnrError(f"no regions for {stem}; add {stem}.json or use --missing-regions center|suggest")
    height, width = reference.shape[:2]
    if options.missing_regions == "suggest":
        return suggest_regions(
            reference, viewing_distance=options.viewing_distance, foveal_angle=options.foveal_angle
        )
    centre = Region(((width - 1) / 2, (height - 1) / 2), label="center")
    return Regions((centre,), width=width, height=height)


def run_pair(task: PairTask, options: BatchOptions) -> PairOutcome:
    """Score one pair; every failure becomes an error outcome, never an exception."""
    if task.problem is not None:
        return _error_outcome(task, options, task.problem)
    try:
        ref = read_image(task.ref)
        test = read_image(task.test)
        regions = task.regions or fallback_regions(ref, Path(task.ref).stem, options)
        result = measure(
            ref,
            test,
            regions,
            channel=options.channel,
            data_range=options.data_range,
            alpha=options.alpha,
            viewing_distance=options.viewing_distance,
            foveal_angle=options.foveal_angle,
        )
        scores = [result.score(fp, max_db=options.max_db) for fp in options.fps]
    except FpsnrError as err:
        return _error_outcome(task, options, str(err))
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


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core already; no nested thread pools


def _run_local(tasks: Sequence[PairTask], options: BatchOptions, workers: int) -> Iterator[PairOutcome]:
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield run_pair(task, options)
        return
    yield from map_local(run_pair, tasks, options, workers)


def _run_chunk(
    func: Callable[[PairTask, BatchOptions], Any], tasks: list[PairTask], options: BatchOptions
) -> list[Any]:
    return [func(task, options) for task in tasks]


def map_local(
    func: Callable[[PairTask, BatchOptions], Any],
    tasks: Sequence[PairTask],
    options: BatchOptions,
    workers: int,
) -> Iterator[Any]:
    """Run ``func(task, options)`` over a pool of ``workers`` processes, in completion order.

    Tasks travel in small chunks: one inter-process round trip per pair would cost the
    parent as much CPU as a worker on a 2-core machine. Chunks stay small (at most 8
    pairs, and at least 4 chunks per worker) so progress and crash-safe writes stay
    fine-grained.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # Never plain fork: a parent with threads (a Dask client, a GUI, a notebook kernel)
    # can leave a forked child waiting forever on a lock held by a thread it lost.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["fpsnr.batch"])  # workers fork with it imported
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, mp_context=context) as pool:
        size = max(1, min(8, len(tasks) // (4 * workers)))
        chunks = [list(tasks[i : i + size]) for i in range(0, len(tasks), size)]
        futures = [pool.submit(_run_chunk, func, chunk, options) for chunk in chunks]
        try:
            for future in as_completed(futures):
                yield from future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _run_dask(tasks: Sequence[PairTask], options: BatchOptions, scheduler: str) -> Iterator[PairOutcome]:
    try:
        from distributed import Client, as_completed
    except ImportError as err:
        raise ParameterError(
            "--scheduler needs Dask distributed; install it with: pip install 'fpsnr[dist]'"
        ) from err
    try:
        client = Client(scheduler, timeout="10s", set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as err:
        raise ParameterError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from err
    try:
        with client.as_current():
            futures = client.map(run_pair, list(tasks), options=options, pure=False)
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                yield future.result()
    finally:
        client.close()  # type: ignore[no-untyped-call]


def run_pairs(
    tasks: Sequence[PairTask],
    options: BatchOptions,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> Iterator[PairOutcome]:
    """Score tasks, yielding outcomes as they finish (in completion order).

    ``workers`` local processes (default: all cores), or the Dask distributed cluster
    at ``scheduler``. ``progress`` shows a tqdm bar with pairs/s on stderr.
    """
    if scheduler is not None:
        outcomes = _run_dask(tasks, options, scheduler)
    else:
        outcomes = _run_local(tasks, options, workers or os.cpu_count() or 1)
    if not progress:
        yield from outcomes
        return
    from tqdm import tqdm  # type: ignore[import-untyped]

    with tqdm(total=len(tasks), unit="pair", desc="scoring", dynamic_ncols=True) as bar:
        for outcome in outcomes:
            bar.update(1)
            yield outcome


def score_folders(
    ref_dir: str | os.PathLike[str],
    test_dirs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    regions: str | os.PathLike[str] | Regions | dict[str, Regions] | None,
    *,
    labels: Sequence[str] | None = None,
    options: BatchOptions | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    skip: Iterable[tuple[str, str]] = (),
    on_outcome: Callable[[PairOutcome], None] | None = None,
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
    workers, scheduler, progress
        See :func:`run_pairs`.
    skip : iterable of (label, ref)
        Pairs already done (``--resume``): not scored again.
    on_outcome : callable
        Called with each finished pair as soon as it is done (the CLI writes it).

    Returns
    -------
    BatchResult
        ``scores`` (columns :data:`SCORE_COLUMNS`, one row per pair and Fp) and
        ``regions`` (columns :data:`REGION_COLUMNS`) as DataFrames sorted by label,
        reference and Fp; ``warnings`` lists unmatched test files.
    """
    import pandas as pd

    options = options or BatchOptions()
    dirs = [test_dirs] if isinstance(test_dirs, (str, os.PathLike)) else list(test_dirs)
    index = load_region_index(regions) if isinstance(regions, (str, os.PathLike)) else regions
    tasks, warnings = plan_pairs(ref_dir, dirs, index, labels=labels)
    done = set(skip)
    todo = [t for t in tasks if t.key not in done]
    rows: list[dict[str, Any]] = []
    region_rows: list[dict[str, Any]] = []
    for outcome in run_pairs(todo, options, workers=workers, scheduler=scheduler, progress=progress):
        rows.extend(outcome.rows)
        region_rows.extend(outcome.region_rows)
        if on_outcome is not None:
            on_outcome(outcome)
    scores = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    if not scores.empty:
        scores = scores.sort_values(["label", "ref", "fp"], kind="stable", ignore_index=True)
    per_region = pd.DataFrame(region_rows, columns=list(REGION_COLUMNS))
    if not per_region.empty:
        per_region = per_region.sort_values(["label", "ref", "region"], kind="stable", ignore_index=True)
    return BatchResult(scores=scores, regions=per_region, warnings=tuple(warnings))


# ----------------------------------------------------------------------- output


class CsvSink:
    """Crash-safe CSV output with resume.

    Rows go to ``<out>.partial`` as each pair finishes (flushed, one whole pair at a
    time), beside ``<out>.partial.json`` holding the settings. :meth:`finish` writes
    the sorted final file through a temporary file and an atomic rename, then removes
    the partial files. After a crash, kill -9 or Ctrl-C, ``<out>`` is either absent or
    the previous complete file, and the partial file holds every finished pair.
    """

    def __init__(self, out: Path, columns: Sequence[str], sort_keys: Sequence[str], settings: dict[str, Any]):
        self.out = out
        self.columns = list(columns)
        self.sort_keys = list(sort_keys)
        self.partial = out.with_name(out.name + ".partial")
        self.settings_file = out.with_name(out.name + ".partial.json")
        self.settings = settings
        self._handle: Any = None
        self._writer: Any = None

    def previous_rows(self) -> list[dict[str, str]]:
        """Rows of an earlier run (final file and partial file), whole lines only."""
        rows: dict[tuple[str, ...], dict[str, str]] = {}
        if self.settings_file.exists():
            saved = json.loads(self.settings_file.read_text(encoding="utf-8"))
            if saved != self.settings:
                changed = sorted(
                    k for k in set(saved) | set(self.settings) if saved.get(k) != self.settings.get(k)
                )
                raise ParameterError(
                    f"{self.partial}: the interrupted run used other settings ({', '.join(changed)}); "
                    "resume with the same options or start again with --overwrite"
                )
        for path in (self.out, self.partial):
            for row in _read_whole_rows(path, self.columns):
                rows[tuple(row[k] for k in self.sort_keys)] = row
        return list(rows.values())

    def start(self, carried: Iterable[dict[str, str]]) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.settings_file.write_text(json.dumps(self.settings, sort_keys=True), encoding="utf-8")
        tmp = self.partial.with_name(self.partial.name + ".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(self.columns)
            for row in carried:
                writer.writerow([row.get(c, "") for c in self.columns])
        os.replace(tmp, self.partial)
        self._handle = self.partial.open("a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle, lineterminator="\n")

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        text_rows = [[csv_cell(row.get(c)) for c in self.columns] for row in rows]
        self._writer.writerows(text_rows)
        self._handle.flush()

    def finish(self) -> int:
        """Write the final file atomically; return its number of rows."""
        self.close()
        rows = _read_whole_rows(self.partial, self.columns)

        def order(row: dict[str, str]) -> tuple[Any, ...]:
            return tuple(_sortable(row[k]) for k in self.sort_keys)

        rows.sort(key=order)
        tmp = self.out.with_name(self.out.name + ".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(self.columns)
            for row in rows:
                writer.writerow([row[c] for c in self.columns])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.out)
        self.partial.unlink(missing_ok=True)
        self.settings_file.unlink(missing_ok=True)
        return len(rows)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _sortable(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def _read_whole_rows(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    """CSV rows of ``path``; a last line cut short by a crash is dropped."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None:
        return []
    if list(reader.fieldnames) != list(columns):
        raise ParameterError(
            f"{path}: not an fpsnr batch file (columns differ); use --overwrite or another --out"
        )
    return [row for row in reader if None not in row.values() and len(row) == len(columns)]
