"""One writer per output: an exclusive lock on ``<out>.lock`` held while a run writes.

``fcntl`` where the platform has it (released by the kernel if the run dies), else a
file created with ``O_EXCL``; a second run on the same output is refused with one line
naming the holder.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from fpsnr.errors import OutputError

__all__ = ["OutputLock"]


class OutputLock:
    """An exclusive, non-blocking lock on ``<out>.lock``, released by :meth:`release`.

    With ``fcntl`` (every POSIX system) the kernel drops the lock when its holder
    dies, so a killed run never leaves a stale lock; elsewhere the lock is a file
    created with ``O_EXCL`` and a dead run's file must be deleted by hand (the message
    says so).
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = target.with_name(target.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            self._acquire_exclusive_file()
            return
        while True:
            try:  # never through a link planted at <out>.lock: it would truncate what it points to
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
            except OSError as err:
                if not self.path.is_symlink():
                    raise
                raise OutputError(
                    f"{self.path}: is a symbolic link, not fpsnr's lock file; remove it and run again"
                ) from err
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read_holder(fd)
                os.close(fd)
                raise OutputError(
                    f"{self.target}: another fpsnr run{holder} is writing it (lock {self.path}); "
                    "wait for it to finish or stop it, or choose {another_out}"
                ) from None
            # The file may have been removed by the previous holder between our open and lock:
            # then the lock is on a file nobody else will see. Start again on the new one.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _acquire_exclusive_file(self) -> None:  # pragma: no cover - Windows
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise OutputError(
                f"{self.target}: another fpsnr run is writing it (lock {self.path}); if no run is "
                f"active, a run was killed: delete {self.path} and run again"
            ) from None
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # before unlocking: a waiting run then re-opens the new file
        os.close(self._fd)
        self._fd = None


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip())
        return f" (pid {pid})"
    return ""
