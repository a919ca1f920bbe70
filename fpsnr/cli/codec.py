"""``fpsnr codec``: encode, decode, roundtrip, convert (needs the ``codec`` extra).

torch is imported inside the commands only, so ``fpsnr --help`` and the core commands
stay light, and a missing extra is a one-line message with exit status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from fpsnr.cli.options import (
    alpha_option,
    fp_option,
    missing_regions_option,
    radius_options,
    sweep_fp_option,
    translate_errors,
)
from fpsnr.errors import BitstreamError, FpsnrError, ImageReadError

_MODEL_NAMES = ("bmshj2018-hyperprior", "bmshj2018-hyperprior-attn")


def _codec() -> Any:
    """The codec modules, imported on first use."""
    from fpsnr.codec import require_codec

    require_codec()
    from fpsnr.codec import coder, weights

    return coder, weights


def _load(weights_path: Path, model: str | None, device: str) -> tuple[Any, Any]:
    _, weights = _codec()
    net, info = weights.load_weights(weights_path, model)
    return net.to(device), info


def _prepare(image: Any, alpha: str) -> Any:
    if image.ndim == 3 and image.shape[2] in (2, 4):
        if alpha != "drop":
            raise FpsnrError("the image has an alpha channel; the codec does not code it: use --alpha drop")
        image = image[:, :, :-1] if image.shape[2] == 4 else image[:, :, 0]
    return image


model_option = click.option(
    "--model", type=click.Choice(_MODEL_NAMES), default=None,
    help="Model name; must match the weights (default: the weights' own).",
)  # fmt: skip
weights_option = click.option(
    "--weights", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="fpsnr weights file (.safetensors) from 'fpsnr codec train' or 'fpsnr codec convert'.",
)  # fmt: skip
device_option = click.option(
    "--device", default="cpu", show_default=True, help="torch device; cuda is opt-in (decode on the CPU)."
)


@click.group("codec")
def codec_group() -> None:
    """The learned codec: Ballé 2018 hyperprior, with or without attention."""


@codec_group.command("encode")
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help=".fpc file."
)
@weights_option
@model_option
@alpha_option
@device_option
@translate_errors
def encode_command(image: Path, out: Path, weights: Path, model: str | None, alpha: str, device: str) -> None:
    """Compress IMAGE (8-bit RGB or gray) into an .fpc bitstream."""
    from fpsnr.images import read_image

    coder, _ = _codec()
    net, info = _load(weights, model, device)
    encoded = coder.encode(net, info, _prepare(read_image(image), alpha), device=device)
    _write(out, encoded.data)
    click.echo(
        f"wrote {out}: {len(encoded.data)} bytes, {encoded.bpp_payload:.4f} bpp payload, "
        f"{encoded.bpp_file:.4f} bpp file, {encoded.seconds:.2f} s",
        err=True,
    )


@codec_group.command("decode")
@click.argument("bitstream", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Image to write."
)
@weights_option
@model_option
@device_option
@translate_errors
def decode_command(bitstream: Path, out: Path, weights: Path, model: str | None, device: str) -> None:
    """Decompress BITSTREAM into an image (PNG recommended: lossless)."""
    from fpsnr.images import write_image

    coder, _ = _codec()
    data = _read(bitstream)
    net, info = _load(weights, model, device)
    decoded = coder.decode(net, info, data, source=str(bitstream), device=device)
    write_image(out, decoded.image)
    click.echo(
        f"wrote {out}: {decoded.header.width}×{decoded.header.height}, {decoded.seconds:.2f} s", err=True
    )


@codec_group.command("roundtrip")
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@weights_option
@model_option
@click.option("--regions", "regions_path", type=click.Path(path_type=Path), help="Regions JSON for F_PSNR.")
@fp_option
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Also write the decoded image."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@alpha_option
@radius_options
@device_option
@translate_errors
def roundtrip_command(
    image: Path,
    weights: Path,
    model: str | None,
    regions_path: Path | None,
    fps: tuple[float, ...],
    out: Path | None,
    fmt: str,
    alpha: str,
    viewing_distance: float,
    foveal_angle: float,
    device: str,
) -> None:
    """Encode and decode IMAGE, then score the 8-bit result with the core engine.

    The decoder runs on the CPU unless --device says otherwise.
    """
    from fpsnr.formatting import format_roundtrip, format_roundtrip_json
    from fpsnr.images import read_image, write_image
    from fpsnr.metrics import measure, psnr
    from fpsnr.regions import load_regions
    from fpsnr.results import RoundtripResult

    coder, _ = _codec()
    original = _prepare(read_image(image), alpha)
    net, info = _load(weights, model, device)
    encoded = coder.encode(net, info, original, device=device)
    decoded = coder.decode(net, info, encoded.data, source=str(image), device=device)
    if out is not None:
        write_image(out, decoded.image)
    height, width = original.shape[:2]
    scores: tuple[Any, ...] = ()
    if regions_path is not None:
        regions = load_regions(regions_path, image=image.name)
        measured = measure(
            original, decoded.image, regions, viewing_distance=viewing_distance, foveal_angle=foveal_angle
        )
        scores = tuple(measured.score(fp, ref=str(image)) for fp in fps)
    result = RoundtripResult(
        image=str(image),
        model=info.arch,
        weights=f"{Path(info.path).name} ({info.id_hex})",
        lmbda=info.lmbda,
        width=width,
        height=height,
        bytes=len(encoded.data),
        payload_bytes=encoded.payload_bytes,
        bpp_payload=encoded.bpp_payload,
        bpp_file=encoded.bpp_file,
        encode_seconds=encoded.seconds,
        decode_seconds=decoded.seconds,
        # measure() already has the frame PSNR when regions were given
        psnr=scores[0].psnr if scores else psnr(original, decoded.image),
        scores=scores,
    )
    click.echo(format_roundtrip(result) if fmt == "table" else format_roundtrip_json(result))


@codec_group.command("convert")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--model", type=click.Choice(_MODEL_NAMES), default="bmshj2018-hyperprior", show_default=True)
@click.option("--lmbda", type=float, required=True, help="λ the checkpoint was trained with.")
@click.option("--distortion", type=click.Choice(["mse", "ms-ssim"]), default="mse", show_default=True)
@click.option("--steps", type=click.IntRange(min=0), default=0, help="Training steps, for the record.")
@click.option("--data", default="unknown", help="Training data, for the record.")
@click.option("--half", is_flag=True, help="Store floats as float16 (half the size).")
@translate_errors
def convert_command(
    source: Path, out: Path, model: str, lmbda: float, distortion: str, steps: int, data: str, half: bool
) -> None:
    """Convert a CompressAI bmshj2018-hyperprior state dict into fpsnr weights.

    SOURCE is a .safetensors file or a .pth state dict (read with weights_only=True:
    no pickled code runs). With --model bmshj2018-hyperprior-attn the attention
    blocks start fresh (a warm start for training).
    """
    _, weights = _codec()
    info = weights.convert_compressai(
        source, out, arch=model, lmbda=lmbda, distortion=distortion, steps=steps, data=data, half=half
    )
    click.echo(
        f"wrote {out}: {info.arch}, N={info.n}, M={info.m}, λ={info.lmbda:g}, id {info.id_hex}", err=True
    )


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > 1 << 30:
            raise BitstreamError(f"{path}: {size} bytes, larger than any fpsnr bitstream (1 GiB)")
        return path.read_bytes()
    except FileNotFoundError as err:
        raise ImageReadError(f"{path}: no such file") from err
    except IsADirectoryError as err:
        raise ImageReadError(f"{path}: is a folder") from err


def _write(path: Path, data: bytes) -> None:
    try:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as err:
        raise ImageReadError(f"{path}: cannot write ({err.strerror or err})") from err


@codec_group.command("eval")
@click.option(
    "--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True
)
@click.option("--regions", "regions_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--weights", "weights_files", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
    required=True, help="One weights file per rate point; repeat (models may differ).",
)  # fmt: skip
@sweep_fp_option
@missing_regions_option
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="RD CSV to write."
)
@device_option
@translate_errors
def eval_command(
    data_dir: Path,
    regions_path: Path,
    weights_files: tuple[Path, ...],
    fps: tuple[float, ...],
    missing_regions: str,
    out: Path,
    device: str,
) -> None:
    """Really encode and decode every image with each weights file; write the RD CSV.

    bpp comes from the bitstream bytes (payload); quality numbers from the core engine
    on the 8-bit decoded image. The codec column is the model name, the rate point its λ.
    """
    from tqdm import tqdm  # type: ignore[import-untyped]

    from fpsnr.batch import BatchOptions, fallback_regions, find_images
    from fpsnr.cli.rd import write_rd_rows
    from fpsnr.images import read_image
    from fpsnr.rd import rd_row
    from fpsnr.regions import load_region_index

    coder, _ = _codec()
    index = load_region_index(regions_path)
    images = [p for _, paths in sorted(find_images(data_dir).items()) for p in paths]
    if not images:
        raise FpsnrError(f"{data_dir}: no images found")
    options = BatchOptions(fps=fps, missing_regions=missing_regions)  # type: ignore[arg-type]
    loaded = [_load(w, None, device) for w in weights_files]
    points = [(info.arch, f"{info.lmbda:g}") for _, info in loaded]
    if len(set(points)) != len(points):
        raise FpsnrError("two weights files share model and λ; give each rate point once")
    rows = []
    with tqdm(total=len(images) * len(loaded), unit="code", desc="eval") as bar:
        for path in images:
            try:
                reference = read_image(path)
                regions = index.get(path.stem) or fallback_regions(reference, path.stem, options)
                image_error = None
            except FpsnrError as err:
                reference, regions, image_error = np.zeros((1, 1, 3), np.uint8), None, str(err)
            for net, info in loaded:
                point = {"codec": info.arch, "rate_point": f"{info.lmbda:g}", "quality": info.lmbda}
                decoded, nbytes, times, error = None, 0, (0.0, 0.0), image_error
                if error is None:
                    try:
                        enc = coder.encode(net, info, reference, device=device)
                        dec = coder.decode(net, info, enc.data, source=str(path), device=device)
                        decoded, nbytes, times = dec.image, enc.payload_bytes, (enc.seconds, dec.seconds)
                    except FpsnrError as err:
                        error = str(err)
                rows.append(
                    rd_row(
                        **point,
                        image=str(path),
                        reference=reference,
                        decoded=decoded,
                        nbytes=nbytes,
                        encode_seconds=times[0],
                        decode_seconds=times[1],
                        regions=regions,
                        fps=fps,
                        error=error,
                    )
                )
                bar.update(1)
    write_rd_rows(rows, out, fps)


@codec_group.command("train")
@click.option(
    "--data", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Training images."
)
@click.option("--model", type=click.Choice(_MODEL_NAMES), default="bmshj2018-hyperprior", show_default=True)
@click.option("--lmbda", type=float, help="λ of L = λ·D + R (CompressAI MSE scale: 0.0018…0.18).")
@click.option("--distortion", type=click.Choice(["mse", "ms-ssim"]), default="mse", show_default=True)
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), help="Run directory (new).")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Continue the run in this directory exactly where it stopped.")  # fmt: skip
@click.option(
    "--init", type=click.Path(dir_okay=False, path_type=Path), help="Warm-start weights (.safetensors)."
)
@click.option("--max-steps", type=click.IntRange(min=1), default=None)
@click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--patch", type=click.IntRange(min=64), default=256, show_default=True, help="Crop side.")
@click.option("--lr", type=float, default=1e-4, show_default=True)
@click.option("--clip", type=float, default=1.0, show_default=True, help="Gradient-norm clip (0: off).")
@click.option("--N", "n_channels", type=click.IntRange(min=1), default=None, help="N channels (default 128).")
@click.option("--M", "m_channels", type=click.IntRange(min=1), default=None, help="M channels (default 192).")
@click.option(
    "--val", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Validation images."
)
@click.option("--val-every", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--log-every", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-bad-steps", type=click.IntRange(min=1), default=20, show_default=True,
              help="Stop after this many non-finite losses in a row.")  # fmt: skip
@device_option
@translate_errors
def train_command(
    data: Path | None,
    model: str,
    lmbda: float | None,
    distortion: str,
    out: Path | None,
    resume_dir: Path | None,
    init: Path | None,
    max_steps: int | None,
    max_minutes: float | None,
    batch_size: int,
    patch: int,
    lr: float,
    clip: float,
    n_channels: int | None,
    m_channels: int | None,
    val: Path | None,
    val_every: int,
    checkpoint_every: int,
    log_every: int,
    seed: int,
    max_bad_steps: int,
    device: str,
) -> None:
    """Train a codec: random crops in memory, Adam + aux Adam, checkpoints, CSV log.

    Start a run with --data, --lmbda and --out; continue it with --resume RUN_DIR
    (the run's settings are reused; --max-steps/--max-minutes may extend it). Runs
    under torchrun with DistributedDataParallel.
    """
    import dataclasses
    import json

    _codec()
    from fpsnr.codec.train import TrainConfig, train

    if resume_dir is not None:
        saved = (
            json.loads((resume_dir / "config.json").read_text())
            if (resume_dir / "config.json").exists()
            else None
        )
        if saved is None:
            raise FpsnrError(f"{resume_dir}: no config.json; not a training run directory")
        cfg = TrainConfig(**saved)
        if max_steps is not None:
            cfg = dataclasses.replace(cfg, max_steps=max_steps)
        if max_minutes is not None:
            cfg = dataclasses.replace(cfg, max_minutes=max_minutes)
        cfg = dataclasses.replace(cfg, out=str(resume_dir))
        summary = train(cfg, resume=True)
    else:
        missing = [name for name, v in (("--data", data), ("--lmbda", lmbda), ("--out", out)) if v is None]
        if missing:
            raise click.UsageError(f"a new run needs {', '.join(missing)} (or --resume RUN_DIR)")
        assert data is not None and lmbda is not None and out is not None
        cfg = TrainConfig(
            data=str(data), model=model, lmbda=lmbda, out=str(out), distortion=distortion, n=n_channels,
            m=m_channels, batch_size=batch_size, patch=patch, lr=lr, clip=clip, max_steps=max_steps,
            max_minutes=max_minutes, init=str(init) if init else None, val=str(val) if val else None,
            val_every=val_every, checkpoint_every=checkpoint_every, log_every=log_every, seed=seed,
            device=device, max_bad_steps=max_bad_steps,
        )  # fmt: skip
        summary = train(cfg)
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items())
    click.echo(f"done: {shown}; weights in {Path(cfg.out) / 'last.safetensors'}", err=True)
