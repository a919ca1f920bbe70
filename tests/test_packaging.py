"""The core must not import torch; the command is installed."""

from __future__ import annotations

import subprocess
import sys


def test_core_and_cli_do_not_import_torch():
    code = (
        "import sys, fpsnr, fpsnr.cli.main, fpsnr.demo, fpsnr.regions.overlay, fpsnr.video\n"
        "[getattr(fpsnr, name) for name in fpsnr.__all__]\n"
        "heavy = [m for m in ('torch', 'compressai', 'torchvision') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "fpsnr", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("fpsnr, version")


def test_the_package_imports_each_public_name_on_first_use():
    """``import fpsnr`` is light (no OpenCV, no batch machinery); every public name still resolves."""
    code = (
        "import sys, fpsnr\n"
        "early = [m for m in ('cv2', 'fpsnr.metrics', 'fpsnr.runs.batch') if m in sys.modules]\n"
        "assert not early, early\n"
        "from fpsnr import score, ScoreOptions\n"
        "assert score.__module__ == 'fpsnr.metrics' and fpsnr.score is score\n"
        "assert all(getattr(fpsnr, name) is not None for name in fpsnr.__all__)\n"
        "assert set(fpsnr.__all__) <= set(dir(fpsnr)) and set(fpsnr._HOMES) <= set(fpsnr.__all__)\n"
        "try:\n"
        "    fpsnr.no_such_name\n"
        "except AttributeError as err:\n"
        "    assert 'no_such_name' in str(err)\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
