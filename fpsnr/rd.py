"""Rate–distortion tables: the tidy RD CSV of SPEC §5 and the classical anchors.

One row per codec × rate point × image, with the rate from real bytes and every
quality number from the core engine on the decoded 8-bit image:

``codec, rate_point, quality, image, width, height, bytes, bpp, psnr, mean_fpsnr,
periphery_psnr, m_fpsnr_fp<Fp>… (one column per Fp of the sweep), ms_ssim,
encode_seconds, decode_seconds, error``

A decoded image that holds NaN or inf, or any failure, is a row with ``error`` set and
the numbers empty — never a number. Anchors run in-process through OpenCV (JPEG,
WebP, JPEG 2000) and Pillow (AVIF, where the installed Pillow has it).
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.batch import BatchOptions, fallback_regions, find_images
from fpsnr.errors import FpsnrError, ParameterError
from fpsnr.images import read_image
from fpsnr.metrics import measure
from fpsnr.quality import ms_ssim
from fpsnr.regions import Regions

__all__ = [
    "ANCHORS",
    "Anchor",
    "avif_available",
    "fp_column",
    "rd_columns",
    "rd_row",
    "read_rd_csv",
    "run_anchors",
    "write_rd_csv",
]

DEFAULT_FPS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def fp_column(fp: float) -> str:
    """Column of M-FPSNR at one Fp: ``m_fpsnr_fp0.5``."""
    return f"m_fpsnr_fp{float(fp):g}"


def rd_columns(fps: Sequence[float]) -> list[str]:
    head = ["codec", "rate_point", "quality", "image", "width", "height", "bytes", "bpp"]
    metrics = ["psnr", "mean_fpsnr", "periphery_psnr", *[fp_column(fp) for fp in fps], "ms_ssim"]
    return [*head, *metrics, "encode_seconds", "decode_seconds", "error"]


def rd_row(
    *,
    codec: str,
    rate_point: str,
    quality: float,
    image: str,
    reference: npt.NDArray[np.generic],
    decoded: npt.NDArray[np.generic] | None,
    nbytes: int,
    encode_seconds: float,
    decode_seconds: float,
    regions: Regions | None,
    fps: Sequence[float],
    error: str | None = None,
) -> dict[str, Any]:
    """One RD CSV row; the metrics come from :func:`fpsnr.measure` and :func:`ms_ssim`."""
    height, width = reference.shape[:2]
    row: dict[str, Any] = dict.fromkeys(rd_columns(fps))
    row.update(codec=codec, rate_point=rate_point, quality=quality, image=image, width=width, height=height)
    if error is None and decoded is not None and decoded.dtype.kind == "f" and not np.isfinite(decoded).all():
        error = "decoded image holds NaN or inf values"
    if error is None and regions is None:
        error = "no regions for this image"
    if error is None and decoded is not None and regions is not None:
        try:
            result = measure(reference, decoded, regions)
            scores = [result.score(fp) for fp in fps]
            row.update(
                bytes=nbytes,
                bpp=8 * nbytes / (width * height),
                psnr=scores[0].psnr,
                mean_fpsnr=scores[0].mean_fpsnr,
                periphery_psnr=scores[0].periphery_psnr,
                ms_ssim=ms_ssim(reference, decoded),
                encode_seconds=encode_seconds,
                decode_seconds=decode_seconds,
            )
            for fp, s in zip(fps, scores, strict=True):
                row[fp_column(fp)] = s.m_fpsnr
        except FpsnrError as err:
            error = str(err)
    row["error"] = error or ""
    return row


# ----------------------------------------------------------------------- anchors


@dataclass(frozen=True)
class Anchor:
    """A classical codec run in-process: encode to bytes and decode back."""

    name: str
    qualities: tuple[int, ...]
    code: Callable[[npt.NDArray[np.uint8], int], tuple[bytes, float, npt.NDArray[np.uint8], float]]


def _opencv(ext: str, flag: int) -> Callable[[npt.NDArray[np.uint8], int], tuple[bytes, float, Any, float]]:
    def code(rgb: npt.NDArray[np.uint8], q: int) -> tuple[bytes, float, Any, float]:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        start = time.perf_counter()
        ok, buf = cv2.imencode(ext, bgr, [flag, int(q)])
        enc = time.perf_counter() - start
        if not ok:
            raise FpsnrError(f"OpenCV could not encode {ext} at quality {q}")
        start = time.perf_counter()
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        dec = time.perf_counter() - start
        if out is None:
            raise FpsnrError(f"OpenCV could not decode its own {ext}")
        return buf.tobytes(), enc, cv2.cvtColor(out, cv2.COLOR_BGR2RGB), dec

    return code


def _pillow_avif(rgb: npt.NDArray[np.uint8], q: int) -> tuple[bytes, float, Any, float]:
    from PIL import Image

    start = time.perf_counter()
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="AVIF", quality=int(q))
    enc = time.perf_counter() - start
    data = out.getvalue()
    start = time.perf_counter()
    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return data, enc, back, time.perf_counter() - start


def avif_available() -> bool:
    """Whether the installed Pillow encodes and decodes AVIF."""
    try:
        from PIL import features

        return bool(features.check("avif"))
    except (ImportError, ValueError):
        return False


ANCHORS: dict[str, Anchor] = {
    "jpeg": Anchor(
        "jpeg", (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95), _opencv(".jpg", cv2.IMWRITE_JPEG_QUALITY)
    ),
    "webp": Anchor(
        "webp", (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95), _opencv(".webp", cv2.IMWRITE_WEBP_QUALITY)
    ),
    # OpenCV's JPEG 2000 quality is the compression ratio × 1000 (1000 = lossless)
    "jp2": Anchor(
        "jp2",
        (10, 20, 30, 50, 75, 100, 150, 200, 300),
        _opencv(".jp2", cv2.IMWRITE_JPEG2000_COMPRESSION_X1000),
    ),
    "avif": Anchor("avif", (10, 20, 30, 40, 50, 60, 70, 80, 90), _pillow_avif),
}


def run_anchors(
    data_dir: str | os.PathLike[str],
    regions: dict[str, Regions],
    codecs: Iterable[str],
    *,
    fps: Sequence[float] = DEFAULT_FPS,
    qualities: dict[str, Sequence[int]] | None = None,
    missing_regions: str = "error",
    progress: bool = False,
) -> list[dict[str, Any]]:
    """RD rows of classical codecs over a quality sweep, one per codec × quality × image."""
    names = list(codecs)
    for name in names:
        if name not in ANCHORS:
            raise ParameterError(f"unknown anchor codec {name!r}; choose from {', '.join(ANCHORS)}")
        if name == "avif" and not avif_available():
            raise ParameterError(
                "this Pillow cannot write AVIF; drop 'avif' or install a Pillow built with it"
            )
    images = find_images(data_dir)
    if not images:
        raise ParameterError(f"{data_dir}: no images found")
    options = BatchOptions(fps=tuple(fps), missing_regions=missing_regions)  # type: ignore[arg-type]
    jobs = [(key, path) for key, paths in sorted(images.items()) for path in paths]
    rows: list[dict[str, Any]] = []
    bar: Any = None
    if progress:
        from tqdm import tqdm  # type: ignore[import-untyped]

        total = sum(len((qualities or {}).get(n, ANCHORS[n].qualities)) for n in names) * len(jobs)
        bar = tqdm(total=total, unit="code", desc="anchors")
    for key, path in jobs:
        try:
            reference = read_image(path)
            if reference.dtype != np.uint8 or reference.ndim != 3 or reference.shape[2] != 3:
                raise FpsnrError(
                    f"{path}: anchors take 8-bit RGB images, got {reference.dtype} {reference.shape}"
                )
            image_regions = regions.get(Path(key).name) or fallback_regions(
                reference, Path(key).name, options
            )
        except FpsnrError as err:
            for name in names:
                for q in (qualities or {}).get(name, ANCHORS[name].qualities):
                    rows.append(_failed(name, q, str(path), str(err), fps))
            continue
        for name in names:
            anchor = ANCHORS[name]
            for q in (qualities or {}).get(name, anchor.qualities):
                try:
                    data, enc, decoded, dec = anchor.code(reference, q)  # type: ignore[arg-type]
                    rows.append(
                        rd_row(
                            codec=name,
                            rate_point=f"q{q}",
                            quality=q,
                            image=str(path),
                            reference=reference,
                            decoded=decoded,
                            nbytes=len(data),
                            encode_seconds=enc,
                            decode_seconds=dec,
                            regions=image_regions,
                            fps=fps,
                        )
                    )
                except (FpsnrError, cv2.error, OSError, ValueError) as err:
                    rows.append(_failed(name, q, str(path), f"{type(err).__name__}: {err}", fps))
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return rows


def _failed(codec: str, q: float, image: str, message: str, fps: Sequence[float]) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(rd_columns(fps))
    row.update(codec=codec, rate_point=f"q{q}", quality=q, image=image, error=message)
    return row


def write_rd_csv(rows: Sequence[dict[str, Any]], out: str | os.PathLike[str], fps: Sequence[float]) -> None:
    """Write RD rows atomically (temporary file, then rename), full-precision numbers."""
    import csv

    from fpsnr.formatting import csv_cell

    target = Path(out)
    columns = rd_columns(fps)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([csv_cell(row.get(c)) for c in columns])
        os.replace(tmp, target)
    except OSError as err:
        raise ParameterError(f"{target}: cannot write ({err.strerror or err})") from err


def read_rd_csv(path: str | os.PathLike[str]) -> Any:
    """An RD CSV as a DataFrame (``error`` as strings, empty when the row scored)."""
    import pandas as pd

    p = Path(path)
    try:
        text_columns = {"codec": str, "rate_point": str, "image": str, "error": str}
        frame = pd.read_csv(p, keep_default_na=False, na_values=[""], dtype=text_columns)
    except FileNotFoundError as err:
        raise ParameterError(f"{p}: no such RD file") from err
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ParameterError(f"{p}: not a readable CSV ({err})") from err
    missing = [c for c in ("codec", "rate_point", "image", "bpp", "psnr", "error") if c not in frame.columns]
    if missing:
        raise ParameterError(f"{p}: not an fpsnr RD file (missing columns {', '.join(missing)})")
    frame["error"] = frame["error"].fillna("").astype(str)
    return frame
