"""Progress reporting: library code calls a callback, the caller decides how to show it.

Long-running library functions (``score_folders``, the RD loop, training) take a
``progress`` callback called as ``progress(done, total)`` — once before the first item
(``done`` may be above 0 when a run resumes) and after every item; ``total`` is
``None`` when unknown. They never draw anything themselves. :class:`ProgressBar` is the
callback the command line uses: a tqdm bar on stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = ["ProgressBar", "ProgressCallback"]

ProgressCallback = Callable[[int, "int | None"], None]


class ProgressBar:
    """A progress callback drawn as a tqdm bar on stderr, created on the first call.

    Use it as a context manager so the bar is closed however the work ends;
    :meth:`postfix` shows a few numbers beside the bar.
    """

    def __init__(self, desc: str, unit: str, **tqdm_options: Any) -> None:
        self.desc = desc
        self.unit = unit
        self.options = tqdm_options
        self._bar: Any = None
        self._done = 0

    def __call__(self, done: int, total: int | None) -> None:
        if self._bar is None:
            from tqdm import tqdm  # type: ignore[import-untyped]

            self._bar = tqdm(total=total, initial=done, unit=self.unit, desc=self.desc, **self.options)
        elif done > self._done:
            self._bar.update(done - self._done)
        self._done = done

    def postfix(self, **values: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix(**values)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
