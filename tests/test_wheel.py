"""The installed wheel, not the source tree: shipped regions and weights, and `--regions kodak`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fpsnr.images.io import write_image

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_scores_with_the_shipped_kodak_regions(tmp_path):
    dist, site, work = tmp_path / "dist", tmp_path / "site", tmp_path / "work"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    if built.returncode != 0 and "Could not find a version that satisfies" in built.stderr:
        pytest.skip("no package index to build the wheel with (offline)")
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(dist.glob("fpsnr-*.whl"))
    subprocess.run([*pip, "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    work.mkdir()
    yy, xx = np.mgrid[0:128, 0:192]  # kodim23's aspect ratio: its regions scale to it
    ref = np.clip(np.stack([xx, yy * 2, (xx + yy) // 2], 2), 0, 255).astype(np.uint8)
    write_image(work / "kodim23.png", ref)
    write_image(work / "kodim23.jpg", ref, quality=40)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import fpsnr; print(fpsnr.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert where.stdout.strip().startswith(str(site))  # the wheel's copy, not this checkout
    res = subprocess.run(
        [sys.executable, "-m", "fpsnr", "score", "kodim23.png", "kodim23.jpg", "--regions", "kodak",
         "--format", "json"], cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    shipped = json.loads((ROOT / "fpsnr" / "data" / "regions" / "kodak" / "kodim23.json").read_text())
    got = json.loads(res.stdout)["regions"]
    assert [r["label"] for r in got] == [r["label"] for r in shipped["regions"]]
    assert len(list((site / "fpsnr" / "codec" / "defaults").glob("*.safetensors"))) == 2
