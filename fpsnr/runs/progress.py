"""Progress reporting: library code calls a callback, the caller decides how to show it.

Long-running library functions (``score_folders``, the RD loop, training) take a
``progress`` callback called as ``progress(done, total)`` — once before the first item
(``done`` may be above 0 when a run resumes) and after every item; ``total`` is
``None`` when unknown. They never draw anything themselves. :class:`ProgressBar` is the
callback the command line uses: a tqdm bar when stderr is a terminal, and in a log file
(stderr redirected, a CI job, a batch system) one plain line per tenth of the work and at
least one a minute, instead of a bar redrawn at every item.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TextIO

__all__ = ["ProgressBar", "ProgressCallback", "reporting"]

ProgressCallback = Callable[[int, "int | None"], None]


@contextlib.contextmanager
def reporting(
    progress: ProgressCallback | bool | None, desc: str, unit: str, **bar_options: Any
) -> Iterator[ProgressCallback | None]:
    """The callback a library function reports to: the caller's, none, or for ``True`` a bar.

    A :class:`ProgressBar` made here is closed however the work ends.
    """
    if progress is True:
        with ProgressBar(desc, unit, **bar_options) as bar:
            yield bar
    else:
        yield progress or None


class ProgressBar:
    """A progress callback for the command line, on stderr.

    On a terminal: a tqdm bar, created on the first call. Elsewhere (``stream`` not a
    terminal): a line such as ``scoring: 40/96 pairs (41 %), 12.3 pairs/s`` each time
    another tenth of ``total`` is done (every ``log_every`` items when the total is
    unknown, every ``every`` items when that is given) or a minute has passed, and one
    at the end; nothing under ``fpsnr --quiet`` (``FPSNR_QUIET=1``). Use it as a context
    manager so the bar is closed however the work ends; :meth:`postfix` adds a few numbers.
    """

    def __init__(
        self,
        desc: str,
        unit: str,
        *,
        stream: TextIO | None = None,
        log_every: int = 100,
        every: int | None = None,
        **tqdm_options: Any,
    ) -> None:
        self.desc = desc
        self.unit = unit
        self.options = tqdm_options
        self.stream = stream
        self.log_every = log_every
        self.every = every
        self._bar: Any = None
        self._done = 0
        self._total: int | None = None
        self._started = False
        self._start = 0.0
        self._first = 0
        self._last_line = 0.0
        self._next = 0
        self._extra = ""
        self._printed = -1

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def _terminal(self) -> bool:
        try:
            return bool(self._out().isatty())
        except (AttributeError, ValueError):
            return False

    def __call__(self, done: int, total: int | None) -> None:
        if os.environ.get("FPSNR_QUIET") == "1":  # fpsnr --quiet
            return
        if not self._started:
            self._started = True
            self._total = total
            if total == 0:  # nothing to do (a resumed run that was complete): nothing to draw
                self._done = self._first = self._printed = done
                return
            self._start = self._last_line = time.monotonic()
            self._first = done
            if self._terminal():
                from tqdm import tqdm  # type: ignore[import-untyped]

                self._bar = tqdm(total=total, initial=done, unit=self.unit, desc=self.desc, file=self._out(),
                                 **self.options)  # fmt: skip
            else:
                self._next = done + self._step()
        elif self._total == 0:
            return
        elif self._bar is not None:
            if done > self._done:
                self._bar.update(done - self._done)
        elif done >= self._next or time.monotonic() - self._last_line >= 60:
            self._line(done)
            self._next = done + self._step()
        self._done = done

    def _step(self) -> int:
        if self.every is not None:
            return self.every
        return max(1, self._total // 10) if self._total else self.log_every

    def _line(self, done: int) -> None:
        now = time.monotonic()
        rate = (done - self._first) / max(now - self._start, 1e-9)
        share = f" ({100 * done / self._total:.0f} %)" if self._total else ""
        of = f"/{self._total}" if self._total is not None else ""
        print(f"{self.desc}: {done}{of} {self.unit}s{share}, {rate:.3g} {self.unit}s/s{self._extra}",
              file=self._out(), flush=True)  # fmt: skip
        self._last_line = now
        self._printed = done

    def postfix(self, **values: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix(**values)
        else:
            self._extra = "".join(f", {k}={v}" for k, v in values.items())

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._started and self._done not in (self._first, self._printed):
            self._line(self._done)  # the last line says where it ended
        self._started = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
