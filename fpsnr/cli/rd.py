"""``fpsnr rd``: RD files into other tools' formats."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fpsnr.cli.options import NameList, OrderedGroup, flat, path_arg, translate_errors


@click.group("rd", cls=OrderedGroup)
def rd_group() -> None:
    """RD files (from anchors and codec eval) into other tools' formats.

    \b
    Example:
      fpsnr rd export rd.csv --compressai-json results/
    """


@rd_group.command("export")
@click.argument("rd_csv", type=path_arg(dir_okay=False, path_type=Path))
@click.option(
    "--compressai-json", "folder", type=path_arg(file_okay=False, path_type=Path), required=True,
    help="Folder to write one CompressAI results JSON per codec into (<codec>.json).",
)  # fmt: skip
@click.option("--codec", "codec_groups", type=NameList(what="CODEC"), multiple=True,
              help="Only these codecs; comma list or repeat [default: every codec].")  # fmt: skip
@translate_errors
def export_command(rd_csv: Path, folder: Path, codec_groups: tuple[tuple[str, ...], ...]) -> None:
    """Write each codec of RD_CSV as CompressAI's results/image/<dataset>/<codec>.json.

    Keys: bpp, psnr-rgb, ms-ssim-rgb, encoding_time, decoding_time as CompressAI names
    them; mean-fpsnr, periphery-psnr and m-fpsnr-fp<Fp> beside them. One value per rate
    point in increasing bpp, each the mean over images; a rate point where an image
    failed is left out (said on stderr). CompressAI's plotting (compressai.utils.plot)
    reads these files as they are.

    \b
    Example:
      fpsnr rd export anchors.csv --compressai-json results/image/kodak
    """
    from fpsnr.files import write_bytes_atomic
    from fpsnr.rd.rdfile import compressai_results, read_rd_csv

    frame = read_rd_csv(rd_csv)
    chosen = list(flat(codec_groups)) or sorted(set(frame["codec"]))
    documents = [(codec, *compressai_results(frame, codec)) for codec in chosen]  # all checked first
    folder.mkdir(parents=True, exist_ok=True)
    for codec, document, failed in documents:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in codec) or "codec"
        out = folder / f"{safe}.json"
        write_bytes_atomic(out, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
        note = f"; left out rate point(s) with failed images: {', '.join(failed)}" if failed else ""
        points = len(document["results"].get("bpp", []))
        click.echo(f"wrote {out} ({points} rate points){note}", err=True)
