"""``fpsnr codec pretrained``: CompressAI's fully trained hyperpriors, listed, fetched, imported."""

from __future__ import annotations

from pathlib import Path

import click

from fpsnr.cli.options import OrderedGroup, inform, path_arg, translate_errors
from fpsnr.runs.progress import ProgressBar


@click.group("pretrained", cls=OrderedGroup)
def pretrained_group() -> None:
    """CompressAI's trained bmshj2018-hyperprior models (MSE, qualities 1–8) as fpsnr weights.

    Any --weights option takes their names too (fetched on first use).

    \b
    Example:
      fpsnr codec pretrained get compressai/bmshj2018-hyperprior-mse-q4
    """


@pretrained_group.command("list")
@translate_errors
def list_command() -> None:
    """Every known pretrained model: N/M, λ, CompressAI's Kodak point, whether it is cached.

    \b
    Example:
      fpsnr codec pretrained list
    """
    from fpsnr.codec.pretrained import REGISTRY, cache_dir, cached

    width = max(len(name) for name in REGISTRY)
    click.echo(f"{'name':{width}}  {'architecture':21}  {'N':>3}  {'M':>3}  {'λ':>6}  "
               f"{'Kodak bpp':>9}  {'PSNR dB':>7}  cached")  # fmt: skip
    for name, entry in REGISTRY.items():
        click.echo(f"{name:{width}}  {entry.arch:21}  {entry.n:>3}  {entry.m:>3}  {entry.lmbda:>6.4f}  "
                   f"{entry.kodak_bpp:>9.4f}  {entry.kodak_psnr:>7.2f}  "
                   f"{'yes' if cached(name) else 'no'}")  # fmt: skip
    inform(f"cache: {cache_dir()} (FPSNR_HOME moves it); Kodak numbers as CompressAI published them")


@pretrained_group.command("get")
@click.argument("names", nargs=-1)
@click.option("--all", "get_all", is_flag=True, help="Every known model.")
@translate_errors
def get_command(names: tuple[str, ...], get_all: bool) -> None:
    """Download, verify and convert NAMES into the cache (already cached ones are kept).

    \b
    Example:
      fpsnr codec pretrained get compressai/bmshj2018-hyperprior-mse-q1 compressai/bmshj2018-hyperprior-mse-q8
    """
    from fpsnr.cli.codec.common import codec_modules
    from fpsnr.codec.pretrained import REGISTRY, cached, fetch

    if not names and not get_all:
        raise click.UsageError("name at least one model, or --all (see: fpsnr codec pretrained list)")
    codec_modules()  # the conversion needs the codec extra: say so before downloading
    for name in list(REGISTRY) if get_all else names:
        if cached(name) is None:
            label = name.removeprefix("compressai/")
            with ProgressBar(label, "B", unit_scale=True, log_every=1 << 22) as bar:
                path = fetch(name, progress=bar)
        else:
            path = fetch(name)
        inform(f"{name}: {path}")


@pretrained_group.command("import")
@click.argument("file", type=path_arg(path_type=Path))  # a folder or device: the library says so in one line
@click.option("--name", default=None, help="The entry it must be [default: found by its hash].")
@translate_errors
def import_command(file: Path, name: str | None) -> None:
    """Install a checkpoint downloaded by hand (a CompressAI .pth.tar), checked by its hash.

    \b
    Example:
      fpsnr codec pretrained import bmshj2018-hyperprior-4-de1b779c.pth.tar
    """
    from fpsnr.cli.codec.common import codec_modules
    from fpsnr.codec.pretrained import import_checkpoint

    codec_modules()
    from fpsnr.codec.weights import read_metadata

    entry, path = import_checkpoint(file, name)
    inform(f"{entry.name}: {path}")
    # CompressAI publishes only the first 8 hex digits of each file's SHA-256 (torch.hub's
    # name convention): a forged file can match them (reliability G4). Say what was checked.
    sha256 = read_metadata(path).get("source_sha256", "")
    inform(
        f"note: only the published 8-digit prefix {entry.sha256_prefix} was checked; the file's SHA-256 "
        f"is {sha256}: compare it with a copy from CompressAI's own URL if this one came from elsewhere"
    )
