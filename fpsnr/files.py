"""Atomic file output: a reader sees the old file or the whole new one, never half of one.

Every output fpsnr writes in one go (CSV tables, bitstreams, weights, checkpoints) goes
through :func:`atomic_path`: the data is written to ``<name>.tmp`` beside the target,
flushed to disk, then renamed over the target. A crash, a kill or a full disk leaves
the previous file (or none) and at most a stale ``.tmp``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "atomic_path", "sha256_of", "write_bytes_atomic"]


# Outputs get the permissions a plain open() would give them: some writers (safetensors)
# create their files 0600, which hides shared weights from other users.
_UMASK = os.umask(0)
os.umask(_UMASK)


def _sync(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` atomically.

    For writers that take a file name (``safetensors.save_file``, ``torch.save``). On
    an exception the temporary file is removed and ``target`` is left untouched.
    """
    final = Path(target)
    tmp = final.with_name(final.name + ".tmp")
    try:
        yield tmp
        _sync(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """:func:`open` for writing through :func:`atomic_path` (``newline``, ``encoding`` pass on)."""
    with atomic_path(target) as tmp, tmp.open(mode, **kwargs) as handle:
        yield handle


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_open(target, "wb") as handle:
        handle.write(data)


def sha256_of(handle: IO[bytes]) -> bytes:
    """The SHA-256 of a binary file object read to its end (``hashlib.file_digest``, Python ≥ 3.11)."""
    import hashlib

    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.digest()
