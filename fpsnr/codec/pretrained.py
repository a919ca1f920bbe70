"""CompressAI's fully trained ``bmshj2018-hyperprior`` models as fpsnr weights files.

CompressAI publishes the plain hyperprior (Ballé et al. 2018), trained for MSE at eight
qualities with millions of steps — far more than this project can spend. Each entry
of :data:`REGISTRY` names one (``compressai/bmshj2018-hyperprior-mse-q4``) with its
architecture, N/M, the λ CompressAI trained it with and CompressAI's published Kodak
point (mean bpp and RGB PSNR over the 24 images, from its ``results/image/kodak``
file).

:func:`fetch` downloads the checkpoint over HTTPS from CompressAI's model URL, checks
that the file's SHA-256 starts with the 8 hex digits in its name (torch.hub's
convention), reads it with ``torch.load(weights_only=True)`` — tensors only, never
pickled code — converts it into an fpsnr weights file and keeps that in the cache
folder (``$FPSNR_HOME/pretrained``, else the platform's user cache folder). The
download goes to a ``.part`` file that is removed on any failure and never used
unless it is whole and verified; the weights file is written atomically. A file
downloaded by hand goes in with :func:`import_checkpoint`.

Anywhere fpsnr takes a weights file it takes such a name too (:func:`resolve`), and
fetches it on first use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fpsnr.errors import CodecError
from fpsnr.files import open_regular, read_error, sha256_of
from fpsnr.limits import check_checkpoint_size

__all__ = [
    "PREFIX", "REGISTRY", "Pretrained", "cache_dir", "cached", "fetch", "import_checkpoint", "resolve",
]  # fmt: skip

CODEC_NAME = "compressai-bmshj2018-hyperprior"
"""The codec column of RD rows made with these weights: kept apart from fpsnr's own models."""
PREFIX = "compressai/"
"""Names of pretrained weights start with this; anything else is a file path."""
_ROOT = "https://compressai.s3.amazonaws.com/models/v1"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Pretrained:
    """One published checkpoint: where it is, what it must hash to, what it is."""

    name: str
    arch: str
    quality: int
    n: int
    m: int
    lmbda: float
    url: str
    sha256_prefix: str
    kodak_bpp: float
    kodak_psnr: float

    @property
    def file_name(self) -> str:
        """The cached fpsnr weights file's name."""
        return self.name.replace("/", "-") + ".safetensors"


# CompressAI 1.2.8: compressai/zoo/image.py (URLs, N/M), its training λ table for MSE, and
# results/image/kodak/compressai-bmshj2018-hyperprior_mse_cuda.json (Kodak bpp, PSNR-RGB).
_TABLE = (
    (1, 128, 192, 0.0018, "7eb97409", 0.13129, 27.5815),
    (2, 128, 192, 0.0035, "93677231", 0.20889, 29.1967),
    (3, 128, 192, 0.0067, "6d87be32", 0.31986, 30.9722),
    (4, 128, 192, 0.0130, "de1b779c", 0.47836, 32.8382),
    (5, 128, 192, 0.0250, "f8b614e1", 0.66869, 34.5263),
    (6, 192, 320, 0.0483, "1ab9c41e", 0.93883, 36.7433),
    (7, 192, 320, 0.0932, "3804dcbd", 1.25917, 38.5838),
    (8, 192, 320, 0.1800, "a583f0cf", 1.66022, 40.5569),
)
REGISTRY: dict[str, Pretrained] = {
    f"{PREFIX}bmshj2018-hyperprior-mse-q{q}": Pretrained(
        name=f"{PREFIX}bmshj2018-hyperprior-mse-q{q}", arch="bmshj2018-hyperprior", quality=q, n=n, m=m,
        lmbda=lmbda, url=f"{_ROOT}/bmshj2018-hyperprior-{q}-{digest}.pth.tar", sha256_prefix=digest,
        kodak_bpp=bpp, kodak_psnr=psnr,
    )
    for q, n, m, lmbda, digest, bpp, psnr in _TABLE
}


def cache_dir() -> Path:
    r"""Where converted pretrained weights are kept.

    ``$FPSNR_HOME/pretrained`` when ``FPSNR_HOME`` is set; else the platform's user cache
    folder: ``$XDG_CACHE_HOME/fpsnr`` or ``~/.cache/fpsnr`` (Linux and other Unix),
    ``~/Library/Caches/fpsnr`` (macOS), ``%LOCALAPPDATA%\\fpsnr\\Cache`` (Windows).
    """
    home = os.environ.get("FPSNR_HOME")
    if home:
        return Path(home).expanduser() / "pretrained"
    if sys.platform == "win32":  # pragma: no cover - not tested here
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "fpsnr" / "Cache"
    if sys.platform == "darwin":  # pragma: no cover - not tested here
        return Path.home() / "Library" / "Caches" / "fpsnr"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fpsnr"


def _entry(name: str, registry: dict[str, Pretrained]) -> Pretrained:
    if name not in registry:
        known = ", ".join(sorted(registry))
        raise CodecError(f"unknown pretrained weights {name!r}; known: {known}")
    return registry[name]


def cached(name: str, *, registry: dict[str, Pretrained] | None = None) -> Path | None:
    """The cached weights file of ``name``, or None if it has not been fetched."""
    path = cache_dir() / _entry(name, registry or REGISTRY).file_name
    return path if path.is_file() else None


Progress = Callable[[int, int | None], None]


def _download(entry: Pretrained, part: Path, progress: Progress | None, timeout: float) -> str:
    """Stream ``entry.url`` into ``part``; return the SHA-256 of what was received."""
    import http.client
    import urllib.error
    import urllib.request

    host = urlparse(entry.url).netloc or entry.url
    by_hand = f"download {entry.url} by hand and run: fpsnr codec pretrained import FILE"
    try:
        response = urllib.request.urlopen(entry.url, timeout=timeout)  # the registry's https URL
    except urllib.error.HTTPError as err:
        err.close()  # it holds the connection
        raise CodecError(f"{entry.name}: {host} answered HTTP {err.code} ({err.reason}); {by_hand}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise CodecError(f"{entry.name}: cannot reach {host} ({reason}); {by_hand}") from None
    digest = hashlib.sha256()
    received = 0
    with response, part.open("wb") as handle:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if progress is not None:
            progress(0, total)
        try:
            while chunk := response.read(_CHUNK):
                if received == 0 and chunk.lstrip()[:1] == b"<":
                    raise CodecError(
                        f"{entry.name}: {host} sent a web page, not a checkpoint (a proxy or an error "
                        f"page?); {by_hand}"
                    )
                handle.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
        except CodecError:
            raise
        except (OSError, http.client.HTTPException) as err:  # a reset, a timeout, IncompleteRead
            raise CodecError(
                f"{entry.name}: the download broke off after {received} bytes ({err!r}); {by_hand}"
            ) from None
    if total is not None and received != total:
        raise CodecError(
            f"{entry.name}: the download broke off: {received} of {total} bytes; run the command again"
        )
    return digest.hexdigest()


def _install(entry: Pretrained, checkpoint: Path, sha256: str, source: str) -> Path:
    """Check the hash, convert the checkpoint into the cache; return the weights file."""
    from fpsnr.codec.convert import convert_compressai

    if not sha256.startswith(entry.sha256_prefix):
        raise CodecError(
            f"{source}: SHA-256 {sha256[:8]}…, but {entry.name} must start with {entry.sha256_prefix}; "
            "the file is damaged or is another checkpoint (nothing was cached)"
        )
    target = cache_dir() / entry.file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    info = convert_compressai(
        checkpoint, target, arch=entry.arch, lmbda=entry.lmbda, distortion="mse", steps=0,
        data=f"CompressAI pretrained {entry.url} (sha256 {sha256})",
        metadata={"codec": CODEC_NAME, "pretrained": entry.name, "source_sha256": sha256},
    )  # fmt: skip
    if (info.n, info.m) != (entry.n, entry.m):
        target.unlink(missing_ok=True)
        raise CodecError(f"{source}: N={info.n}, M={info.m}; {entry.name} has N={entry.n}, M={entry.m}")
    return target


def fetch(
    name: str,
    *,
    progress: Progress | None = None,
    registry: dict[str, Pretrained] | None = None,
    timeout: float = 30.0,
) -> Path:
    """The weights file of a pretrained ``name``, downloaded and converted on first use.

    ``progress(received_bytes, total_bytes_or_None)`` is called while downloading.
    Nothing is cached unless the download is whole, its hash prefix matches and it
    converts; every failure is one :class:`~fpsnr.errors.CodecError` line.
    """
    entry = _entry(name, registry or REGISTRY)
    hit = cached(name, registry=registry)
    if hit is not None:
        return hit
    downloads = cache_dir() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    part = downloads / (Path(urlparse(entry.url).path).name + ".part")
    try:
        sha256 = _download(entry, part, progress, timeout)
        return _install(entry, part, sha256, entry.url)
    finally:
        with contextlib.suppress(OSError):
            part.unlink()


def import_checkpoint(path: str | os.PathLike[str], name: str | None = None, *,
                      registry: dict[str, Pretrained] | None = None) -> tuple[Pretrained, Path]:  # fmt: skip
    """Install a checkpoint downloaded by hand; it is matched to its entry by its hash.

    With ``name`` the file must be that entry's; without, the entry whose hash prefix
    the file's SHA-256 starts with. Returns the entry and the cached weights file.
    """
    table = registry or REGISTRY
    source = Path(path)
    try:
        with open_regular(source, CodecError, expected="a checkpoint (.pth.tar)") as handle:
            check_checkpoint_size(handle, source, CodecError)  # before hashing, as before converting
            sha256 = sha256_of(handle).hex()
    except OSError as err:
        raise read_error(source, err, CodecError) from err
    if name is not None:
        entry = _entry(name, table)
    else:
        matches = [e for e in table.values() if sha256.startswith(e.sha256_prefix)]
        if not matches:
            raise CodecError(
                f"{source}: SHA-256 {sha256[:8]}… is none of the known checkpoints "
                "(fpsnr codec pretrained list); nothing was cached"
            )
        entry = matches[0]
    return entry, _install(entry, source, sha256, str(source))


def resolve(value: Any, *, progress: Progress | None = None) -> Path:
    """A weights argument as a file: a pretrained name is fetched, a path is kept."""
    text = os.fspath(value)
    if text.startswith(PREFIX):
        return fetch(text, progress=progress)
    return Path(text)
