"""``fpsnr codec train``: start or resume a training run."""

from __future__ import annotations

import os
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import click

from fpsnr.cli.codec.common import check_device, codec_modules, train_device_option, weights_file
from fpsnr.cli.options import FLAGS, CommaList, NameList, inform, note_shipped, path_arg, translate_errors
from fpsnr.codec import MODEL_NAMES
from fpsnr.codec.training.config import AMP_CHOICES, DISTORTIONS, TrainConfig
from fpsnr.runs.progress import ProgressBar

DEFAULT = {f.name: f.default for f in fields(TrainConfig)}
"""TrainConfig's defaults: the options below show and pass the library's own."""


class LambdaList(CommaList):
    """λ values, comma-separated (``0.0035,0.0067,0.013``)."""

    name = "λ[,λ...]"
    kind = "numbers"


@click.command("train")
@click.option("--data", type=path_arg(file_okay=False, path_type=Path), help="Training images.")
@click.option(
    "--model",
    type=NameList(MODEL_NAMES, "MODEL"),
    default=MODEL_NAMES[0],
    show_default=True,
    help=f"Architecture(s) to train, comma-separated: {', '.join(MODEL_NAMES)}.",
)
@click.option("--lmbda", type=LambdaList(),
              help="λ of L = λ·D + R (CompressAI MSE scale: 0.0018…0.18); several, comma-separated, "
                   "train together on the same crops, one run folder each under --out.")  # fmt: skip
@click.option(
    "--distortion",
    type=click.Choice(DISTORTIONS),
    default=DEFAULT["distortion"],
    show_default=True,
    help="foveal-mse: the M-FPSNR weighting of region and periphery MSEs (fpsnr.torch.FovealMSELoss).",
)
@click.option(
    "--fp",
    type=click.FloatRange(0, 1),
    default=DEFAULT["fp"],
    show_default=True,
    help="Fp of foveal-mse and of the logged val M-FPSNR.",
)
@click.option(
    "--train-regions",
    type=path_arg(path_type=str),
    default=None,
    help="foveal-mse: regions of the photos (folder or file, by stem) [suggested per photo].",
)
@click.option("--val-regions", type=path_arg(path_type=str), default=None,
              help="Regions of the --val images: log val mean F_PSNR and M-FPSNR too.")  # fmt: skip
@click.option(
    "--out",
    "out",
    type=path_arg(file_okay=False, path_type=Path),
    help="Run directory (new); for several runs the folder of their <model>-<λ> run directories.",
)
@click.option("--resume", "resume_dir", type=path_arg(file_okay=False, path_type=Path),
              help="Continue the run in this directory exactly where it stopped.")  # fmt: skip
@click.option(
    "--init",
    type=path_arg(dir_okay=False, path_type=Path),
    help="Warm-start weights (.safetensors, or a pretrained name: compressai/bmshj2018-hyperprior-mse-q4).",
)
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Budget in steps (give this or --max-minutes; the learning rate drops ×10 at 90 %).",
)
@click.option(
    "--max-minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Budget in wall-clock minutes.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT["batch_size"], show_default=True,
              help="Crops per step (per process under torchrun).")  # fmt: skip
@click.option(
    "--patch", type=click.IntRange(min=64), default=DEFAULT["patch"], show_default=True, help="Crop side."
)
@click.option("--lr", type=float, default=DEFAULT["lr"], show_default=True, help="Adam learning rate.")
@click.option(
    "--clip", type=float, default=DEFAULT["clip"], show_default=True, help="Gradient-norm clip (0: off)."
)
@click.option("--N", "n_channels", type=click.IntRange(min=1), default=None, help="N channels (default 128).")
@click.option("--M", "m_channels", type=click.IntRange(min=1), default=None, help="M channels (default 192).")
@click.option("--val", type=path_arg(file_okay=False, path_type=Path), help="Validation images.")
@click.option(
    "--val-every",
    type=click.IntRange(min=1),
    default=DEFAULT["val_every"],
    show_default=True,
    help="Steps between validations (on a log step).",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    default=DEFAULT["checkpoint_every"],
    show_default=True,
    help="Steps between checkpoints (last.safetensors + state.pt).",
)
@click.option(
    "--log-every",
    type=click.IntRange(min=1),
    default=DEFAULT["log_every"],
    show_default=True,
    help="Steps between log.csv rows (and progress lines in a log file).",
)
@click.option("--seed", type=int, default=DEFAULT["seed"], show_default=True,
              help="Seed of the crops and the init.")  # fmt: skip
@click.option("--max-bad-steps", type=click.IntRange(min=1), default=DEFAULT["max_bad_steps"],
              show_default=True, help="Stop after this many non-finite losses in a row.")  # fmt: skip
@click.option(
    "--compile/--no-compile",
    "compile_",
    default=DEFAULT["compile"],
    show_default=True,
    help="torch.compile the network (GPU: fused kernels; the first steps compile).",
)
@click.option("--cuda-graphs/--no-cuda-graphs", default=None,
              help="Replay the whole step as CUDA graphs after 3 warm-up steps [on for --distortion mse "
                   "on a CUDA device, outside torchrun].")  # fmt: skip
@click.option(
    "--amp",
    type=click.Choice(AMP_CHOICES),
    default=DEFAULT["amp"],
    show_default=True,
    help="bf16: convolutions in bfloat16; GDN, likelihoods and the loss stay float32.",
)
@train_device_option
@translate_errors
def train_command(
    data: Path | None,
    model: tuple[str, ...],
    lmbda: tuple[float, ...] | None,
    distortion: str,
    fp: float,
    train_regions: str | None,
    val_regions: str | None,
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
    compile_: bool,
    cuda_graphs: bool | None,
    amp: str,
    device: str,
) -> None:
    """Train a codec: random crops in memory, Adam + aux Adam, checkpoints, CSV log.

    Start a run with --data, --lmbda and --out; continue it with --resume RUN_DIR
    (the run's settings are reused; --max-steps/--max-minutes may extend it). Runs
    under torchrun with DistributedDataParallel.

    \b
    Example:
      fpsnr codec train --data photos/ --lmbda 0.013 --out runs/q4 --max-steps 2000
      fpsnr codec train --data photos/ --lmbda 0.013 --distortion foveal-mse --val kodak/ \\
          --val-regions kodak --out runs/q4-foveal --max-steps 2000
    """
    codec_modules()
    from fpsnr.codec import training

    ctx = click.get_current_context()
    if resume_dir is not None:
        cfgs = training.resume_configs(resume_dir, max_steps=max_steps, max_minutes=max_minutes)
        _refuse_changed_settings(ctx, cfgs, resume_dir)
        cfgs = [_execution(ctx, c, compile_=compile_, cuda_graphs=cuda_graphs, device=device) for c in cfgs]
        for cfg in cfgs:  # the device the run recorded may be one this machine lacks
            check_device(ctx, None, cfg.device)
    else:
        missing = [name for name, v in (("--data", data), ("--lmbda", lmbda), ("--out", out)) if v is None]
        if missing or data is None or lmbda is None or out is None:
            raise click.UsageError(f"a new run needs {', '.join(missing)} (or --resume RUN_DIR)")
        base = training.TrainConfig(
            data=str(data), model=model[0], lmbda=lmbda[0], out=str(out), distortion=distortion, n=n_channels,
            m=m_channels, batch_size=batch_size, patch=patch, lr=lr, clip=clip, max_steps=max_steps,
            max_minutes=max_minutes,
            init=str(weights_file(init)) if init else None, val=str(val) if val else None,
            val_every=val_every, checkpoint_every=checkpoint_every, log_every=log_every, seed=seed,
            device=device, max_bad_steps=max_bad_steps, fp=fp,
            train_regions=str(train_regions) if train_regions else None,
            val_regions=str(val_regions) if val_regions else None,
            compile=compile_, amp=amp,
            cuda_graphs=training.graphs_fit(device, distortion) if cuda_graphs is None else cuda_graphs,
        )  # fmt: skip
        if val_regions is not None and val is None:
            raise click.UsageError("--val-regions needs --val")
        note_shipped(train_regions)
        note_shipped(val_regions)
        cfgs = [replace(base, model=m, lmbda=v) for m in dict.fromkeys(model) for v in dict.fromkeys(lmbda)]
        if len(cfgs) > 1:
            cfgs = [replace(c, out=str(out / training.group_name(c))) for c in cfgs]
            training.write_group(out, cfgs)
    several = len(cfgs) > 1
    rank = int(os.environ.get("RANK", "0"))
    with ProgressBar(training.progress_title(cfgs), "step", every=cfgs[0].log_every) as bar:

        def show(row: dict[str, Any]) -> None:
            where = {"run": Path(row["run"]).name} if several else {}
            numbers = {"loss": f"{row['loss']:.3f}", "bpp": f"{row['bpp']:.3f}", "psnr": f"{row['psnr']:.2f}"}
            bar.postfix(**where, **numbers)

        def warn(message: str) -> None:
            if rank == 0:
                click.echo(f"warning: {message}", err=True)

        resume = resume_dir is not None
        summaries = training.train_many(
            cfgs, resume=resume, progress=bar, on_log=show, on_warning=warn, words=FLAGS
        )
    if rank != 0:
        return  # under torchrun only rank 0 writes the run, and only it says so
    for cfg, summary in zip(cfgs, summaries, strict=True):
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items())
        inform(f"done: {shown}; weights in {Path(cfg.out) / 'last.safetensors'}")


def _execution(ctx: click.Context, cfg: Any, **given: Any) -> Any:
    """A resumed run with the execution options given now (they change speed, not the run).

    A new --device without --cuda-graphs/--no-cuda-graphs takes that option's default for it.
    """
    from fpsnr.codec.training import graphs_fit

    names = {"compile_": "compile", "cuda_graphs": "cuda_graphs", "device": "device"}
    changes = {}
    for option, value in given.items():
        source = ctx.get_parameter_source(option)
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            changes[names[option]] = value
    if "device" in changes and "cuda_graphs" not in changes:
        changes["cuda_graphs"] = graphs_fit(changes["device"], cfg.distortion)
    return replace(cfg, **changes)


# option name → TrainConfig field, for the settings a resumed run keeps
_RUN_SETTINGS = {
    "data": "data", "model": "model", "lmbda": "lmbda", "distortion": "distortion", "fp": "fp",
    "train_regions": "train_regions", "val_regions": "val_regions", "init": "init",
    "batch_size": "batch_size", "patch": "patch", "lr": "lr", "clip": "clip", "n_channels": "n",
    "m_channels": "m", "val": "val", "val_every": "val_every", "checkpoint_every": "checkpoint_every",
    "log_every": "log_every", "seed": "seed", "max_bad_steps": "max_bad_steps", "amp": "amp",
}  # fmt: skip
_LISTS = ("model", "lmbda")  # options that list one value per run


def _refuse_changed_settings(ctx: click.Context, cfgs: list[Any], run: Path) -> None:
    """A resumed run keeps its settings: an option given now that differs is refused, as batch does."""
    changed = []
    for name, field in _RUN_SETTINGS.items():
        source = ctx.get_parameter_source(name)
        if source is None or source.name in ("DEFAULT", "DEFAULT_MAP"):
            continue
        given = ctx.params[name]
        given = str(given) if isinstance(given, Path) else given
        had: Any = getattr(cfgs[0], field)
        if name in _LISTS:
            had = tuple(dict.fromkeys(getattr(c, field) for c in cfgs))
            given = tuple(dict.fromkeys(given))
        if given != had:
            option = next(o for o in ctx.command.params if o.name == name).opts[0]  # type: ignore[union-attr]
            changed.append(f"{option} {_shown(given)} (the run has {_shown(had)})")
    if changed:
        raise click.ClickException(
            f"{run} keeps the settings it started with; refused: {'; '.join(changed)}. Only --max-steps, "
            "--max-minutes, --device, --compile and --cuda-graphs may change on --resume; start a new run "
            "(--out) to change the others"
        )


def _shown(value: Any) -> str:
    """A setting as the command line writes it (lists comma-separated)."""
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)
