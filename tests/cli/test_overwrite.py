"""One overwrite rule (newcomer 2026-12 finding 9): every command that writes a file
refuses an existing one without --overwrite, before any work, and replaces it with it."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from click.testing import CliRunner

from fpsnr.cli import cli
from fpsnr.images.io import write_image

RD = """codec,rate_point,quality,image,bpp,psnr,error
jpeg,q10,10,a.png,0.3,25.0,
jpeg,q50,50,a.png,1.0,33.0,
"""


@pytest.fixture
def files(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    write_image(tmp_path / "b.png", 255 - img)
    (tmp_path / "rd.csv").write_text(RD)
    return tmp_path


COMMANDS = {
    "score --overlay": lambda t: ["score", str(t / "a.png"), str(t / "b.png"),
                                  "--overlay", str(t / "out.png")],
    "plot rd": lambda t: ["plot", "rd", str(t / "rd.csv"), "-o", str(t / "out.png")],
    "demo": lambda t: ["demo", "--out-dir", str(t / "demo")],
}
CODEC = {
    "codec encode": lambda t: ["codec", "encode", str(t / "a.png"), "-o", str(t / "out.fpc")],
    "codec roundtrip -o": lambda t: ["codec", "roundtrip", str(t / "a.png"), "-o", str(t / "out.png")],
}


def _check(runner, args, first_output):
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    before = first_output.stat().st_mtime_ns
    again = runner.invoke(cli, args)
    assert again.exit_code == 1
    refused = f"Error: {first_output} exists; use --overwrite to replace it"
    assert again.stderr.strip().splitlines() == [refused]
    assert first_output.stat().st_mtime_ns == before  # refused before anything was written
    replaced = runner.invoke(cli, [*args, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_second_run_is_refused_without_overwrite(files, name):
    args = COMMANDS[name](files)
    target = files / "demo" / "astronaut.png" if name == "demo" else files / "out.png"
    _check(CliRunner(), args, target)


@pytest.mark.skipif(importlib.util.find_spec("compressai") is None, reason="needs CompressAI (codec extra)")
@pytest.mark.parametrize("name", sorted(CODEC))
def test_codec_commands_follow_the_same_rule(files, name):
    args = CODEC[name](files)
    _check(CliRunner(), args, files / ("out.fpc" if "encode" in name else "out.png"))
    if "encode" in name:
        decode = ["codec", "decode", str(files / "out.fpc"), "-o", str(files / "dec.png")]
        _check(CliRunner(), decode, files / "dec.png")


@pytest.mark.skipif(importlib.util.find_spec("compressai") is None, reason="needs CompressAI (codec extra)")
def test_codec_convert_follows_the_same_rule(tmp_path):
    import torch

    from fpsnr.codec.models import build_model

    model = build_model("bmshj2018-hyperprior", 8, 8)
    torch.save({"state_dict": model.state_dict()}, tmp_path / "ckpt.pth")
    out = tmp_path / "w.safetensors"
    args = ["codec", "convert", str(tmp_path / "ckpt.pth"), "--lmbda", "0.01", "-o", str(out)]
    _check(CliRunner(), args, out)
