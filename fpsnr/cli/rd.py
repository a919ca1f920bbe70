"""``fpsnr rd``: RD files into other tools' formats."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fpsnr.cli.options import (
    NameList,
    OrderedGroup,
    flat,
    inform,
    path_arg,
    refuse_existing,
    translate_errors,
)


@click.group("rd", cls=OrderedGroup)
def rd_group() -> None:
    """RD files (from anchors and codec eval) into other tools' formats.

    \b
    Example:
      fpsnr rd export rd.csv --compressai-json results/
    """


@rd_group.command("export")
@click.argument(
    "rd_csvs", metavar="RD_CSV...", nargs=-1, required=True, type=path_arg(dir_okay=False, path_type=Path)
)
@click.option(
    "--compressai-json", "folder", type=path_arg(file_okay=False, path_type=Path), required=True,
    help="Folder to write one CompressAI results JSON per codec into (<codec>.json).",
)  # fmt: skip
@click.option("--codec", "codec_groups", type=NameList(what="CODEC"), multiple=True,
              help="Only these codecs; comma list or repeat [default: every codec].")  # fmt: skip
@click.option("--prefix", default="", metavar="TEXT",
              help="Put before every exported name (file and 'name'), e.g. 'fpsnr-', so curves do not "
                   "collide with CompressAI's published ones of the same model.")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace output files that exist.")
@translate_errors
def export_command(rd_csvs: tuple[Path, ...], folder: Path, codec_groups: tuple[tuple[str, ...], ...],
                   prefix: str, overwrite: bool) -> None:  # fmt: skip
    """Write each codec of the RD CSVs as CompressAI's results/image/<dataset>/<codec>.json.

    Keys: bpp, psnr-rgb, ms-ssim-rgb, encoding_time, decoding_time as CompressAI names
    them; mean-fpsnr, periphery-psnr and m-fpsnr-fp<Fp> beside them. One value per rate
    point in increasing bpp, each the mean over images; a rate point where an image
    failed is left out (said on stderr). CompressAI's plotting (compressai.utils.plot)
    reads these files as they are.

    Several RD CSVs are merged. Two codecs whose names make the same file name
    (``x/y`` and ``x_y``) are refused, never one written over the other.

    \b
    Example:
      fpsnr rd export anchors.csv learned.csv --compressai-json results/image/kodak --prefix fpsnr-
    """
    from fpsnr.files import write_bytes_atomic
    from fpsnr.rd.rdfile import compressai_results, read_rd_csvs

    frame = read_rd_csvs(rd_csvs)
    chosen = list(flat(codec_groups)) or sorted(set(frame["codec"]))
    documents = [(codec, *compressai_results(frame, codec)) for codec in chosen]  # all checked first
    targets: dict[Path, str] = {}
    for codec, document, _ in documents:
        name = prefix + codec
        document["name"] = name
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "codec"
        out = folder / f"{safe}.json"
        if out in targets:
            raise click.ClickException(
                f"codecs {targets[out]!r} and {codec!r} would both be written to {out}; "
                "export them separately"
            )
        targets[out] = codec
    if not overwrite:
        refuse_existing(targets)
    folder.mkdir(parents=True, exist_ok=True)
    for out, (_, document, failed) in zip(targets, documents, strict=True):
        write_bytes_atomic(out, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
        note = f"; left out rate point(s) with failed images: {', '.join(failed)}" if failed else ""
        points = len(document["results"].get("bpp", []))
        inform(f"wrote {out} ({points} rate points){note}")
