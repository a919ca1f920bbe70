"""The study script's CPU smoke run, end to end, on generated data: train, save, evaluate, report."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from fpsnr.images.io import write_image
from tests.conftest import write_photos

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_tiny_study_runs_from_a_clean_checkout_and_feeds_the_report(tmp_path, rng):
    pytest.importorskip("compressai")
    pytest.importorskip("pytorch_msssim")
    photos = write_photos(tmp_path / "photos", rng, count=3, height=96, width=96)
    kodak = tmp_path / "kodak"
    kodak.mkdir()
    for name in ("kodim01", "kodim23"):  # 3:2 like Kodak, so the Kodak regions scale to them
        yy, xx = np.mgrid[0:128, 0:192]
        write_image(kodak / f"{name}.png", np.clip(np.stack([xx, yy, xx + yy], 2), 0, 255).astype(np.uint8))
    out, keep, work = tmp_path / "out", tmp_path / "keep", tmp_path / "work"
    env = {**os.environ, "TINY": "1", "DEVICE": "cpu", "DATA": str(photos), "KODAK": str(kodak),
           "OUT": str(out), "KEEP": str(keep), "WORK": str(work), "LAMBDAS": "0.0130 0.0250",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    done = subprocess.run(["bash", str(ROOT / "scripts" / "kodak_study.sh")], env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    saved = sorted(p.name for p in (out / "weights").iterdir())
    assert len(saved) == 4 and saved[0] == "bmshj2018-hyperprior-0.0130.safetensors"
    assert len(list(out.rglob("*"))) - 1 <= 8  # at most 8 files come back from the device (+ the folder)
    study = tmp_path / "study"
    with tarfile.open(out / "study-logs.tgz") as tar:
        tar.extractall(study, filter="data")
    (study / "rd.csv").write_bytes((out / "rd.csv").read_bytes())
    report = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_reproduction.py"), str(study),
                             "--out", str(tmp_path / "docs")], capture_output=True, text=True)  # fmt: skip
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "docs" / "reproduction.md").read_text()
    assert "Smoke run, not results" in text and "| bmshj2018-hyperprior-attn-0.0250 | 4 |" in text
