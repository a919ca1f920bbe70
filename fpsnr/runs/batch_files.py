"""The output files of a batch run: scores and per-region rows, resumed pair by pair.

:class:`BatchSinks` keeps the scores CSV and the optional per-region CSV in step: a pair
is finished when its rows are in both, and a resumed run redoes a pair whose rows are
incomplete in either (or, with ``retry_errors``, a pair that failed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fpsnr.runs.sink import CsvSink

__all__ = ["BatchSinks"]


class BatchSinks:
    """The outputs of one ``batch`` run: the scores CSV and, optionally, the per-region CSV.

    Owns what a resume means for a batch: a (label, reference) pair is done when the
    earlier output holds a row for every Fp asked for now; its rows are carried into
    the new output (rows for other Fp are dropped), and its region rows with it.
    """

    def __init__(
        self,
        out: Path,
        regions_out: Path | None,
        settings: dict[str, Any],
        *,
        score_columns: Sequence[str],
        region_columns: Sequence[str],
        fmt: str = "csv",
    ) -> None:
        integers = ("width", "height", "n_regions", "region", "pixels")
        numbers = ("width", "height", "n_regions", "fp", "psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr",
                   "region", "cx", "cy", "radius", "pixels", "mse", "fpsnr")  # fmt: skip

        def sink(path: Path, columns: Sequence[str], keys: tuple[str, ...]) -> CsvSink:
            return CsvSink(path, columns, keys, settings, numeric=numbers, integers=integers, fmt=fmt)

        self.scores = sink(out, score_columns, ("label", "ref", "fp"))
        self.regions = (
            None if regions_out is None else sink(regions_out, region_columns, ("label", "ref", "region"))
        )
        self.done: set[tuple[str, str]] = set()
        self.failed: set[tuple[str, str]] = set()
        self.retried = 0
        """Failed pairs of the earlier run scored again (``retry_errors``)."""

    @property
    def sinks(self) -> list[CsvSink]:
        return [self.scores] if self.regions is None else [self.scores, self.regions]

    @property
    def dropped(self) -> int:
        """Damaged rows read back from an earlier run, scored again by this one."""
        return sum(sink.dropped for sink in self.sinks)

    def prepare(self, *, resume: bool, overwrite: bool) -> None:
        """Lock every output; refuse to clobber earlier outputs unless resuming or overwriting."""
        try:
            for sink in self.sinks:
                sink.prepare(resume=resume, overwrite=overwrite)
        except BaseException:
            self.close()
            raise

    def start(self, *, fps: Sequence[float], resume: bool, retry_errors: bool = False) -> None:
        """Carry finished pairs over when resuming, then start writing.

        ``retry_errors``: pairs whose earlier rows hold an error are scored again (their
        old rows are dropped), as after a missing test image has been added.
        """
        try:
            self._start(fps, resume, retry_errors)
        except BaseException:
            self.abandon()
            raise

    def _start(self, fps: Sequence[float], resume: bool, retry_errors: bool) -> None:
        carried: list[dict[str, str]] = []
        carried_regions: list[dict[str, str]] = []
        if resume:
            previous = self.scores.previous_rows()
            wanted = {repr(float(fp)) for fp in fps}
            by_pair: dict[tuple[str, str], set[str]] = {}
            for row in previous:
                by_pair.setdefault((row["label"], row["ref"]), set()).add(row["fp"])
            self.done = {key for key, got in by_pair.items() if wanted <= got}
            failed = {(r["label"], r["ref"]) for r in previous if r["error"]}
            if self.regions is not None:
                region_rows = self.regions.previous_rows()
                # A pair is done only when every one of its region rows came through (or it
                # failed: none): as many as its scores rows' n_regions (reliability G1: a kill
                # while 20,000 region rows were being written left some, and one was enough).
                counts = Counter((r["label"], r["ref"]) for r in region_rows)
                wanted_regions = {(r["label"], r["ref"]): r["n_regions"] for r in previous}
                self.done = {key for key in self.done if key in failed
                             or str(counts.get(key, 0)) == str(wanted_regions.get(key))}  # fmt: skip
            if retry_errors:
                self.retried = len(self.done & failed)
                self.done -= failed
            if self.regions is not None:
                carried_regions = [r for r in region_rows if (r["label"], r["ref"]) in self.done]
            carried = [r for r in previous if (r["label"], r["ref"]) in self.done and r["fp"] in wanted]
        self.scores.start(carried)
        if self.regions is not None:
            self.regions.start(carried_regions)
        self.failed = {(r["label"], r["ref"]) for r in carried if r["error"]}

    def write(self, key: tuple[str, str], rows: Iterable[dict[str, Any]],
              region_rows: Iterable[dict[str, Any]], error: str | None) -> None:  # fmt: skip
        """Write one finished pair to every output: its region rows first.

        The scores rows mark a pair done on ``--resume``, so they go last: a kill while
        the region rows are on their way leaves the pair undone, to be scored again.
        """
        if self.regions is not None:
            self.regions.write(region_rows)
        self.scores.write(rows)
        if error is not None:
            self.failed.add(key)

    def finish(self) -> int:
        """Write the final files; return the number of score rows."""
        try:
            written = self.scores.finish()
            if self.regions is not None:
                self.regions.finish()
        finally:
            self.close()
        return written

    def abandon(self) -> None:
        """Stop after a refusal: partial files this run made and never wrote to are removed."""
        for sink in self.sinks:
            sink.abandon()

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
