"""Which images RD curves are averaged over: matched by file name, compared on what all share.

A curve is a mean over images at each rate point, so two curves are comparable only over
the same images. RD files name an image by the path it was read from, and two runs on
the same pictures may read them from different folders (``kodak4/kodim01.png`` and
``../shared/data/kodak/kodim01.png``): images are matched by file name. The commands
(``bdrate``, ``plot rd``, ``ratio``) compare on the images every curve point covers and
say so in one line (:func:`common_images`); the library functions refuse curves over
different images (:func:`require_same_images`), so a caller decides.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from fpsnr.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["common_images", "image_name", "require_same_images"]


def image_name(path: Any) -> str:
    """The file name of an RD row's image (either kind of slash)."""
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


def _names_per_point(rd: pd.DataFrame, codecs: Collection[str]) -> dict[tuple[str, str], set[str]]:
    rows = rd[rd["codec"].isin(list(codecs))]
    names: dict[tuple[str, str], set[str]] = {}
    seen: dict[tuple[str, str, str], str] = {}
    for codec, point, image in zip(rows["codec"], rows["rate_point"], rows["image"], strict=True):
        name = image_name(image)
        key = (str(codec), str(point), name)
        if key in seen and seen[key] != str(image):
            raise ParameterError(
                f"codec {codec!r} at rate point {point!r} holds two images named {name!r} "
                f"({seen[key]} and {image}); RD rows are matched by file name, so names must differ"
            )
        seen[key] = str(image)
        names.setdefault((str(codec), str(point)), set()).add(name)
    return names


def common_images(rd: pd.DataFrame, codecs: Collection[str]) -> tuple[pd.DataFrame, str | None]:
    """The rows of ``codecs`` on the images every one of their rate points covers.

    Returns the rows and a one-line note when images were left out (None when every
    curve point covers the same images). No common image at all is an error.
    """
    names = _names_per_point(rd, codecs)
    rows = rd[rd["codec"].isin(list(codecs))]
    if not names:
        return rows, None
    common = set.intersection(*names.values())
    if not common:
        raise ParameterError(f"the curves of {', '.join(sorted(set(codecs)))} share no image (by file name)")
    if all(len(group) == len(common) for group in names.values()):
        return rows, None
    left: dict[str, set[str]] = {}
    for (codec, _), group in names.items():
        left.setdefault(codec, set()).update(group - common)
    dropped = ", ".join(f"{codec} {len(extra)}" for codec, extra in sorted(left.items()) if extra)
    keep = rows["image"].map(image_name).isin(common)
    note = (
        f"note: the curves cover different images; comparing on the {len(common)} image(s) every "
        f"curve covers (matched by file name), leaving out {dropped}"
    )
    return rows[keep], note


def require_same_images(rd: pd.DataFrame, codecs: Collection[str]) -> None:
    """Refuse curves averaged over different images (the commands compare on the common ones)."""
    names = _names_per_point(rd, codecs)
    if names and len({frozenset(group) for group in names.values()}) > 1:
        raise ParameterError(
            f"the curves of {', '.join(sorted(set(codecs)))} cover different images, so their means are "
            "not comparable; keep the images all cover (fpsnr.rd.images.common_images)"
        )
