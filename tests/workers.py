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
