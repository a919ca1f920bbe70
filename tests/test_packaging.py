"""The core must not import torch; the command is installed."""

from __future__ import annotations

import subprocess
import sys


def test_core_and_cli_do_not_import_torch():
    code = (
        "import sys, fpsnr, fpsnr.cli.main, fpsnr.demo, fpsnr.regions.overlay\n"
        "heavy = [m for m in ('torch', 'compressai', 'torchvision') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "fpsnr", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("fpsnr, version")
