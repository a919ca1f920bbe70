"""Reading video frames: Y4M, raw planar ``.yuv``, and anything ffmpeg decodes.

Frames arrive one at a time as their native planes (Y, U, V), never through RGB: views
of the memory-mapped file (raw, Y4M) or of one buffer each frame is read into (pipes),
so memory does not grow with the sequence's length. Y4M and raw files are read
directly; other containers (mp4, mkv, ivf, …) through a real ffmpeg, which decodes them
to a Y4M stream on a pipe, so one parser reads both (:mod:`fpsnr.video.ffmpeg`).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from fpsnr.errors import VideoError
from fpsnr.files import open_regular
from fpsnr.limits import check_pixels

if TYPE_CHECKING:
    from fractions import Fraction  # (imported where a Y4M header gives a rate: 2 ms with decimal)

__all__ = ["CHROMA", "Frame", "VideoFormat", "VideoReader", "open_video", "parse_pix_fmt"]

CHROMA = {"420": (2, 2), "422": (2, 1), "444": (1, 1)}
"""Chroma formats read, and their subsampling (horizontal, vertical)."""
_PIX_FMT = re.compile(r"yuv(420|422|444)p(?:(9|10|12|14|16)le)?")
_Y4M_MAGIC = b"YUV4MPEG2 "
_Y4M_HEADER_LIMIT = 4096  # a header line (or a frame header) longer than this is not Y4M
_Y4M_COLOURSPACES = {"420jpeg": ("420", 8), "420paldv": ("420", 8), "420mpeg2": ("420", 8), "420": ("420", 8)}


@dataclass(frozen=True)
class VideoFormat:
    """Geometry of a planar Y′CbCr sequence: size, chroma format, bit depth, frame rate."""

    width: int
    height: int
    chroma: str = "420"
    bit_depth: int = 8
    fps: Fraction | None = None

    @property
    def subsampling(self) -> tuple[int, int]:
        """Luma samples per chroma sample, horizontally and vertically."""
        return CHROMA[self.chroma]

    @property
    def chroma_size(self) -> tuple[int, int]:
        """(width, height) of the U and V planes (a partial block still has its sample)."""
        sx, sy = self.subsampling
        return -(-self.width // sx), -(-self.height // sy)

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(np.uint8) if self.bit_depth == 8 else np.dtype("<u2")

    @property
    def frame_bytes(self) -> int:
        cw, ch = self.chroma_size
        return (self.width * self.height + 2 * cw * ch) * self.dtype.itemsize

    @property
    def pix_fmt(self) -> str:
        """Ffmpeg's name of this format (``yuv420p``, ``yuv420p10le``)."""
        return f"yuv{self.chroma}p" + ("" if self.bit_depth == 8 else f"{self.bit_depth}le")

    def describe(self) -> str:
        return f"{self.width}×{self.height} {self.pix_fmt}"


def parse_pix_fmt(name: str) -> tuple[str, int]:
    """(chroma, bit depth) of an ffmpeg planar YUV pixel format name, or a VideoError."""
    m = _PIX_FMT.fullmatch(name.strip().lower())
    if not m:
        raise VideoError(
            f"pixel format {name!r} is not read; use yuv420p, yuv422p or yuv444p, with 9/10/12/14/16le "
            "for deeper samples (yuv420p10le)"
        )
    return m[1], int(m[2] or 8)


class Frame(NamedTuple):
    """The planes of one frame: read-only views, valid until the next read (copy what you keep)."""

    y: npt.NDArray[Any]
    u: npt.NDArray[Any]
    v: npt.NDArray[Any]


class VideoReader:
    """Frames of one sequence, one at a time: views of the mapped file, or one reused buffer.

    Raw and Y4M files are memory-mapped and each frame's planes are views of the file's
    pages, not a copy (the copy was 40 % of a 1080p frame's time); the pages of frames
    already scored are handed back to the kernel as the reader moves on, so memory stays
    flat however long the file. The file's size is checked before each frame, so a file
    cut short while it is read is an error, not a fault. A pipe (ffmpeg) is read into one
    reused buffer. ``frames`` is the count when known before reading (raw files, Y4M files
    whose frames carry no per-frame parameters), else None. Use as a context manager.
    """

    def __init__(
        self,
        path: str,
        fmt: VideoFormat,
        handle: IO[bytes],
        *,
        framed: bool,
        frames: int | None,
        closer: contextlib.ExitStack,
        kind: str,
    ) -> None:
        self.path = path
        self.format = fmt
        self.frames = frames
        self.kind = kind
        self._handle = handle
        self._framed = framed
        self._closer = closer
        self._index = 0
        mapped = kind in ("raw", "y4m")
        # a pipe is read into one buffer, reused; a mapped file needs none
        self._buffer = np.empty(0 if mapped else fmt.frame_bytes, np.uint8)
        self._frame = None if mapped else _planes(self._buffer, fmt)
        self._limit = (1 << fmt.bit_depth) - 1
        self.ended: Callable[[], None] | None = None
        """Called at the end of a pipe's stream: raises if its decoder failed part-way."""
        self._map: mmap.mmap | None = None
        self._bytes: npt.NDArray[np.uint8] | None = None
        if kind in ("raw", "y4m"):
            self._pos = handle.tell()
            self._size = os.fstat(handle.fileno()).st_size
            self._dropped = 0
            if self._size:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                self._bytes = np.frombuffer(self._map, np.uint8)
                closer.callback(self._unmap)

    def _unmap(self) -> None:
        self._bytes = None
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:  # a caller still holds a frame: the map goes with it
                pass
            self._map = None

    def _mapped(self) -> Frame | None:
        """The next frame as views of the mapped file (raw and Y4M)."""
        size = self._size
        if self._framed:
            if self._pos >= size:
                return None
            assert self._map is not None
            end = self._map.find(b"\n", self._pos, min(size, self._pos + _Y4M_HEADER_LIMIT + 1))
            if end < 0:
                raise VideoError(
                    f"{self.path}: frame {self._index} has no whole FRAME header; the Y4M file is damaged"
                )
            line = self._map[self._pos : end]
            if not (line == b"FRAME" or line.startswith(b"FRAME ")):
                raise VideoError(
                    f"{self.path}: frame {self._index} does not start with FRAME; the Y4M file is damaged"
                )
            self._pos = end + 1
        elif self._pos >= size:
            return None
        need = self.format.frame_bytes
        if os.fstat(self._handle.fileno()).st_size < size:
            raise VideoError(f"{self.path}: was cut short while it was read; score it when it is complete")
        if self._pos + need > size:
            raise VideoError(
                f"{self.path}: frame {self._index} is cut short ({size - self._pos:,} of {need:,} bytes of a "
                f"{self.format.describe()} frame); the file is truncated{self._hint()}"
            )
        assert self._bytes is not None
        start = self._pos
        frame = _planes(self._bytes[start : start + need], self.format)
        self._release(start)
        self._pos = start + need
        return frame

    def _release(self, before: int) -> None:
        """Hand back the mapped pages wholly before ``before`` (frames already scored)."""
        page = mmap.PAGESIZE
        upto = before // page * page
        if self._map is not None and upto - self._dropped >= 1 << 22:  # in 4 MiB steps
            with contextlib.suppress(OSError, AttributeError, ValueError):
                self._map.madvise(mmap.MADV_DONTNEED, self._dropped, upto - self._dropped)
            self._dropped = upto

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closer.close()

    def read(self) -> Frame | None:
        """The next frame, or None at the end of the sequence."""
        if self.kind in ("raw", "y4m"):
            frame = self._mapped()
            if frame is None:
                return None
        else:
            if self._framed and not self._frame_header():
                return None
            got = _read_into(self._handle, memoryview(self._buffer.data))
            if got == 0 and not self._framed:
                return None
            if got < self._buffer.size:
                raise VideoError(
                    f"{self.path}: frame {self._index} is cut short ({got:,} of {self._buffer.size:,} bytes "
                    f"of a {self.format.describe()} frame); the file is truncated{self._hint()}"
                )
            assert self._frame is not None
            frame = self._frame
        if 8 < self.format.bit_depth < 16:
            for name, plane in zip("YUV", frame, strict=True):
                top = int(plane.max())
                if top > self._limit:
                    raise VideoError(
                        f"{self.path}: frame {self._index} has {name} samples up to {top}, above the "
                        f"{self.format.bit_depth}-bit maximum {self._limit}; the pixel format is not "
                        f"{self.format.pix_fmt}{self._hint()}"
                    )
        self._index += 1
        return frame

    def skip(self, count: int) -> int:
        """Pass over ``count`` frames (seeking where the file allows); the number passed."""
        if self.kind == "raw" and count:
            stop = min(count, self.frames or 0)
            self._pos += stop * self.format.frame_bytes
            self._index += stop
            return stop
        done = 0
        while done < count and self.read() is not None:
            done += 1
        return done

    def _hint(self) -> str:
        return "; check {size} and {pix_fmt}" if self.kind == "raw" else ""

    def _frame_header(self) -> bool:
        try:
            line = _read_line(self._handle, self.path)
        except VideoError:
            if self.ended is not None:
                self.ended()  # (ffmpeg's own reason first, where it failed)
            raise
        if line is None:
            if self.ended is not None:
                self.ended()
            return False
        if not (line == b"FRAME" or line.startswith(b"FRAME ")):
            raise VideoError(
                f"{self.path}: frame {self._index} does not start with FRAME; the Y4M file is damaged"
            )
        return True


def _planes(data: npt.NDArray[np.uint8], fmt: VideoFormat) -> Frame:
    """The Y, U and V planes of one frame's bytes, as views."""
    item = fmt.dtype.itemsize
    cw, ch = fmt.chroma_size
    luma = fmt.width * fmt.height * item
    plane = cw * ch * item
    return Frame(
        data[:luma].view(fmt.dtype).reshape(fmt.height, fmt.width),
        data[luma : luma + plane].view(fmt.dtype).reshape(ch, cw),
        data[luma + plane :].view(fmt.dtype).reshape(ch, cw),
    )


def _read_into(handle: IO[bytes], view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = handle.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


def _read_line(handle: IO[bytes], path: str) -> bytes | None:
    r"""One ``\n``-ended header line without the ``\n``; None at a clean end."""
    chunks: list[bytes] = []
    total = 0
    while True:
        byte = handle.read(1)
        if not byte:
            if total:
                raise VideoError(f"{path}: ends inside a Y4M header; the file is truncated")
            return None
        if byte == b"\n":
            return b"".join(chunks)
        chunks.append(byte)
        total += 1
        if total > _Y4M_HEADER_LIMIT:
            raise VideoError(
                f"{path}: a Y4M header line is longer than {_Y4M_HEADER_LIMIT} bytes; not a Y4M file"
            )


def _y4m_format(line: bytes, path: str) -> VideoFormat:
    try:
        words = line.decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise VideoError(f"{path}: the Y4M header is not ASCII; not a Y4M file") from None
    fields: dict[str, str] = {}
    for word in words[1:]:
        if word and word[0] in "WHFCI":
            fields.setdefault(word[0], word[1:])
    try:
        width, height = int(fields["W"]), int(fields["H"])
    except (KeyError, ValueError):
        raise VideoError(f"{path}: the Y4M header has no valid W and H; not a Y4M file") from None
    colour = fields.get("C", "420jpeg")
    m = re.fullmatch(r"(420|422|444)p(9|10|12|14|16)", colour)
    if colour in _Y4M_COLOURSPACES:
        chroma, depth = _Y4M_COLOURSPACES[colour]
    elif colour in ("422", "444"):
        chroma, depth = colour, 8
    elif m:
        chroma, depth = m[1], int(m[2])
    else:
        raise VideoError(
            f"{path}: Y4M colour space C{colour} is not read; fpsnr scores 4:2:0, 4:2:2 and 4:4:4 planar "
            "video (convert with ffmpeg -pix_fmt yuv420p)"
        )
    fps = None
    if "F" in fields:
        from fractions import Fraction

        num, _, den = fields["F"].partition(":")
        with contextlib.suppress(ValueError, ZeroDivisionError):
            fps = Fraction(int(num), int(den))
    if fields.get("I", "p") not in ("p", "t", "b", "?"):
        raise VideoError(f"{path}: Y4M interlacing I{fields['I']} (mixed) is not read")
    return _checked(VideoFormat(width, height, chroma, depth, fps), path)


def _checked(fmt: VideoFormat, path: str) -> VideoFormat:
    if fmt.width <= 0 or fmt.height <= 0:
        raise VideoError(f"{path}: frame size {fmt.width}×{fmt.height} holds no pixel")
    refusal = check_pixels(path, fmt.width, fmt.height)
    if refusal:
        raise VideoError(refusal)
    return fmt


def _y4m_frame_count(handle: IO[bytes], fmt: VideoFormat, header: int) -> int | None:
    """Frames of a Y4M file whose frame headers are all a bare FRAME (the usual case), else None."""
    size = os.fstat(handle.fileno()).st_size - header
    step = fmt.frame_bytes + len(b"FRAME\n")
    return size // step if size % step == 0 else None


def open_video(
    path: str | os.PathLike[str], *, size: tuple[int, int] | None = None, pix_fmt: str | None = None
) -> VideoReader:
    """Open a sequence: Y4M (by its header), raw planar (``size`` given, or a ``.yuv`` name), else ffmpeg.

    Raw files need ``size`` (width, height); ``pix_fmt`` defaults to ``yuv420p``.
    """
    name = os.fspath(path)
    closer = contextlib.ExitStack()
    try:
        suffix = Path(name).suffix.lower()
        if size is None and pix_fmt is None and suffix not in (".yuv", ".y4m"):
            from fpsnr.video.ffmpeg import ffmpeg_reader

            return ffmpeg_reader(name, closer)
        handle = closer.enter_context(open_regular(name, VideoError, noun="video", expected="a video file"))
        if handle.read(len(_Y4M_MAGIC)) == _Y4M_MAGIC:
            handle.seek(0)
            line = _read_line(handle, name)
            assert line is not None
            fmt = _y4m_format(line, name)
            said = (
                size or (fmt.width, fmt.height),
                parse_pix_fmt(pix_fmt) if pix_fmt else (fmt.chroma, fmt.bit_depth),
            )
            if said != ((fmt.width, fmt.height), (fmt.chroma, fmt.bit_depth)):
                raise VideoError(
                    f"{name}: its Y4M header says {fmt.describe()}, not what {{size}} or {{pix_fmt}} say "
                    "(those describe raw files; the header is what counts)"
                )
            frames = _y4m_frame_count(handle, fmt, handle.tell())
            return VideoReader(name, fmt, handle, framed=True, frames=frames, closer=closer, kind="y4m")
        handle.seek(0)
        if suffix == ".y4m":
            raise VideoError(f"{name}: does not start with YUV4MPEG2; not a Y4M file")
        if size is None:
            raise VideoError(
                f"{name}: raw video has no header; give its frame size with {{size}}WxH (e.g. 352x288)"
            )
        chroma, depth = parse_pix_fmt(pix_fmt or "yuv420p")
        fmt = _checked(VideoFormat(size[0], size[1], chroma, depth), name)
        total = os.fstat(handle.fileno()).st_size
        if total % fmt.frame_bytes:
            raise VideoError(
                f"{name}: {total:,} bytes is not a whole number of {fmt.describe()} frames "
                f"({fmt.frame_bytes:,} bytes each); check {{size}} and {{pix_fmt}}"
            )
        return VideoReader(
            name, fmt, handle, framed=False, frames=total // fmt.frame_bytes, closer=closer, kind="raw"
        )
    except BaseException:
        closer.close()
        raise
