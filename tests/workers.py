"""Task functions for worker-process tests: importable by the workers, unlike a test's closure."""

from __future__ import annotations

import os
import time
from pathlib import Path


def die_on_three(task: int, options: object) -> tuple[int, int]:
    """Double the task; task 3 kills the process that runs it, as an OOM kill would."""
    if task == 3:
        os._exit(9)
    return task, task * 2


def record_and_sleep(folder: str, options: object) -> None:
    """Leave ``<pid>.pid`` in ``folder``, then sleep long enough to be killed mid-task."""
    Path(folder, f"{os.getpid()}.pid").touch()
    time.sleep(60)


class WaitingCodec:
    """An RD codec whose point n > 0 codes only once ``go-n`` exists in ``folder``.

    The test creates ``go-n`` when it has received the row of point n − 1: rows that
    came back only in batches (a whole image's points together) would wait forever.
    """

    def __init__(self, folder: str, points: int) -> None:
        self.folder = folder
        self.n = points

    def points(self) -> list:
        from fpsnr.rd.schema import RatePoint

        return [RatePoint("waiting", f"p{i}", float(i)) for i in range(self.n)]

    def check(self, reference, image: str) -> None:
        return None

    def code(self, reference, point, image: str):
        from fpsnr.rd.schema import Coded

        i = int(point.rate_point[1:])
        deadline = time.monotonic() + 30
        while i > 0 and not Path(self.folder, f"go-{i}").exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"go-{i} never came")
            time.sleep(0.01)
        return Coded(nbytes=100 * (i + 1), encode_seconds=0.0, decoded=reference, decode_seconds=0.0)
