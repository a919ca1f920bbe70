"""``fpsnr codec eval``: the learned codec's RD rows over a folder."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.codec.common import codec_modules, device_option, weights_file
from fpsnr.cli.options import (
    FLAGS,
    NameList,
    flat,
    inputs_record,
    path_arg,
    rd_run_options,
    rd_source_options,
    regions_or_fallback,
    translate_errors,
)
from fpsnr.cli.output import write_rd_command
from fpsnr.codec import MODEL_NAMES


@click.command("eval")
@rd_source_options
@click.option(
    "--weights", "weights_files", type=path_arg(dir_okay=False, path_type=Path), multiple=True,
    help="One weights file (or pretrained name) per rate point; repeat (models may differ).",
)  # fmt: skip
@click.option(
    "--model", "model_groups", type=NameList(MODEL_NAMES, "MODEL"), multiple=True,
    help="Without --weights: evaluate these models' shipped weights; comma list or repeat "
    f"[default: {MODEL_NAMES[0]}].",
)  # fmt: skip
@rd_run_options("1: torch already uses every core")
@device_option
@translate_errors
def eval_command(
    data_dir: Path,
    regions_path: str | None,
    weights_files: tuple[Path, ...],
    model_groups: tuple[tuple[str, ...], ...],
    fps: tuple[float, ...],
    missing_regions: str,
    out: Path,
    overwrite: bool,
    resume: bool,
    workers: int | None,
    no_ms_ssim: bool,
    device: str,
) -> None:
    """Really encode and decode every image with each weights file; write the RD CSV.

    bpp comes from the bitstream bytes (payload); quality numbers from the core engine
    on the 8-bit decoded image. The codec column is the model name, the rate point its λ.
    Without --weights, the shipped weights of each --model are evaluated. Rows are written
    as they are made; an existing output is refused unless --overwrite, and an
    interrupted run finishes with the same command plus --resume.

    \b
    Example:
      fpsnr codec eval --data kodak/ --regions kodak --model bmshj2018-hyperprior -o learned.csv
    """
    models = flat(model_groups)
    if weights_files and models:
        raise click.UsageError("give --weights files or --model names, not both")
    from fpsnr.options import BatchOptions

    _, weights = codec_modules()
    from fpsnr.codec.rd import run_eval

    if not weights_files:
        weights_files = tuple(weights.default_weights(m) for m in (models or MODEL_NAMES[:1]))
    weights_files = tuple(weights_file(w) for w in weights_files)  # pretrained names fetched first

    index = regions_or_fallback(regions_path, missing_regions)
    options = BatchOptions(fps=fps, missing_regions=missing_regions)  # type: ignore[arg-type]
    settings = {
        **inputs_record({"data": data_dir}, regions_path),
        "weights": [str(w) for w in weights_files], "missing_regions": missing_regions,
        "ms_ssim": not no_ms_ssim,
    }  # fmt: skip
    write_rd_command(
        "codec eval",
        lambda done, bar: run_eval(data_dir, index, weights_files, options, device=device, progress=bar,
                                   skip=done, workers=workers or 1, with_ms_ssim=not no_ms_ssim,
                                   words=FLAGS),
        out, fps, settings, resume=resume, overwrite=overwrite,
    )  # fmt: skip
