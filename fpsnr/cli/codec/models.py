"""``fpsnr codec models``: the registered models, their shipped weights and what they measured."""

from __future__ import annotations

import click

from fpsnr.cli.codec.common import codec_modules
from fpsnr.cli.options import translate_errors


@click.command("models")
@translate_errors
def models_command() -> None:
    """List every model, its default weights (λ, steps) and their Kodak numbers.

    The Kodak numbers are means over the 24 images measured in the project's Kodak study
    (real bitstreams, CPU decode); they describe the shipped files, not the architecture.

    \b
    Example:
      fpsnr codec models
    """
    _, weights = codec_modules()
    from fpsnr.codec.models import MODELS

    header = ("model", "default weights", "λ", "steps", "bpp", "PSNR", "mean F_PSNR", "M-FPSNR")
    rows = []
    notes = []
    for spec in MODELS.values():
        notes.append(f"{spec.name}: {spec.description}")
        default = spec.default_weights
        if default is None:
            rows.append((spec.name, "none", "", "", "", "", "", ""))
            continue
        if default.path.is_file():
            meta = weights.read_metadata(default.path)
            lmbda, steps = f"{float(meta['lmbda']):g}", meta["steps"]
        else:
            lmbda, steps = "missing", ""
        rows.append((spec.name, default.file, lmbda, steps, f"{default.kodak_bpp:.3f}",
                     f"{default.kodak_psnr:.2f}", f"{default.kodak_mean_fpsnr:.2f}",
                     f"{default.kodak_m_fpsnr:.2f}"))  # fmt: skip
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for row in (header, *rows):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in pairs]
        click.echo("  ".join(cells).rstrip())
    click.echo("")
    click.echo("bpp, PSNR (dB, RGB), mean F_PSNR and M-FPSNR (Fp 0.5): Kodak means of the project's study")
    click.echo("of 2026-11-26 (24 images, real bitstreams, CPU decode). steps: fine-tuning steps after a")
    click.echo("9,045-step warm start. Far below CompressAI's fully trained models and below WebP.")
    for note in notes:
        click.echo(note)
