"""Atomic file output: a reader sees the old file or the whole new one, never half of one.

Every output fpsnr writes in one go (CSV tables, bitstreams, weights, checkpoints) goes
through :func:`atomic_path`: the data is written into a private temporary folder made
beside the target (``mkdtemp``: a new name, mode 0700), flushed to disk, then renamed
over the target. A crash, a kill or a full disk leaves the previous file (or none) and
at most a stale ``.<name>.*.tmp`` folder.

Outputs are created, never followed (reliability 2026-12, G5 and G27): a file planted in
the folder, or a symbolic link where the temporary file used to be (``<name>.tmp``),
cannot be written through, since nobody else can write into the private folder; and a
target that is itself a symbolic link is refused (:class:`~fpsnr.errors.OutputError`,
naming the file it points to) rather than replaced by a regular file or written
through to wherever it points.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from fpsnr.errors import FpsnrError

__all__ = [
    "atomic_open",
    "atomic_path",
    "check_path",
    "open_regular",
    "read_error",
    "refuse_link",
    "save_atomic",
    "sha256_of",
    "write_bytes_atomic",
    "zip_unpacked_size",
]


# Outputs get the permissions a plain open() would give them: some writers (safetensors)
# create their files 0600, which hides shared weights from other users.
_UMASK = os.umask(0)
os.umask(_UMASK)


def _sync(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def refuse_link(path: Path) -> None:
    """Refuse an output path that is a symbolic link: it would write somewhere else."""
    from fpsnr.errors import OutputError

    if path.is_symlink():
        raise OutputError(
            f"{path}: is a symbolic link (to {os.readlink(path)}); fpsnr does not write through links: "
            "give the file itself, or remove the link"
        )


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` atomically.

    For writers that take a file name (``safetensors.save_file``, ``torch.save``). On
    an exception the temporary file is removed and ``target`` is left untouched.
    """
    import shutil
    import tempfile

    from fpsnr.errors import OutputError

    final = Path(target)
    refuse_link(final)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f".{final.name[:100]}.", suffix=".tmp", dir=final.parent))
    except OSError as err:
        raise OutputError(f"{final}: cannot write ({err.strerror or err}); choose another output") from err
    tmp = folder / final.name
    try:
        yield tmp
        _sync(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        refuse_link(final)  # (planted while we wrote)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """:func:`open` for writing through :func:`atomic_path` (``newline``, ``encoding`` pass on)."""
    with atomic_path(target) as tmp, tmp.open(mode, **kwargs) as handle:
        yield handle


def save_atomic(target: str | os.PathLike[str], save: Callable[[Path], object]) -> None:
    """Write ``target`` atomically with a library's own saver (``torch.save``, safetensors).

    Such savers wrap a full disk in their own exception types (a ``RuntimeError`` from
    torch's zip writer, a ``SafetensorError``); any failure of ``save`` becomes one
    :class:`~fpsnr.errors.OutputError` naming ``target``, and the old file stays.
    """
    import shutil

    from fpsnr.errors import OutputError

    with atomic_path(target) as tmp:
        try:
            save(tmp)
        except Exception as err:
            if isinstance(err, OSError) and err.strerror:
                why = err.strerror
            elif shutil.disk_usage(tmp.parent).free < 1 << 20:
                why = "No space left on device"
            else:
                first = (str(err).strip().splitlines() or [""])[0][:200]
                why = f"{type(err).__name__}: {first}" if first else type(err).__name__
            raise OutputError(f"{target}: cannot write ({why})") from err


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


def check_path(name: str, value: Any, error: type[FpsnrError]) -> None:
    """Refuse a ``value`` that is not a path (``str`` or path-like) as ``error`` naming ``name``.

    ``None`` or a number used to reach ``os.fspath`` and come back as a bare TypeError
    naming no parameter (reliability G24).
    """
    if not isinstance(value, (str, os.PathLike)):
        raise error(f"{name} must be a path (str or pathlib.Path), got {value!r}")


def read_error(
    path: str | os.PathLike[str], err: OSError, error: type[FpsnrError], *, noun: str = "file",
    expected: str = "a file",
) -> FpsnrError:  # fmt: skip
    """The one-line ``error`` for an ``OSError`` opening or reading ``path``."""
    if isinstance(err, FileNotFoundError):
        return error(f"{path}: no such {noun}")
    if isinstance(err, IsADirectoryError):
        return error(f"{path}: is a folder, expected {expected}")
    return error(f"{path}: cannot read ({err.strerror or err})")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


@contextlib.contextmanager
def open_regular(
    path: str | os.PathLike[str], error: type[FpsnrError], *, noun: str = "file", expected: str = "a file"
) -> Iterator[BinaryIO]:
    """Open ``path`` for reading in binary, refusing anything but a regular file.

    Where fpsnr means a file (images, checkpoints, CSVs, a run's own records), a device
    never ends (``/dev/zero``) and a pipe blocks until someone writes to it; both are
    refused in one line (reliability 2026-12, G22). The file is opened without blocking,
    then checked, so a FIFO put in a file's place cannot hang the check itself. Links
    are followed: a link to a regular file is read. ``error`` is raised for a missing
    file, a folder, anything not regular and an unreadable one.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise read_error(path, err, error, noun=noun, expected=expected) from err
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{path}: is a folder, expected {expected}")
        if not stat.S_ISREG(mode):
            raise error(f"{path}: is {_kind(mode)}, expected {expected}; save what it holds to a file first")
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def zip_unpacked_size(handle: BinaryIO) -> int | None:
    """The bytes a zip archive's members unpack to, from its directory; None if not a zip.

    A checkpoint (``torch.save`` writes zip archives) is sized this way before anything
    unpacks it: a 3 MB file whose one member inflates to 3 GiB is a bomb (G9).
    """
    import zipfile  # (only the codec reads archives: every other command starts without it)

    try:
        with zipfile.ZipFile(handle) as archive:
            return sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, EOFError, ValueError):
        return None
