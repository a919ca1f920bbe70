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


def test_scoring_raw_video_does_not_load_the_ffmpeg_runner(tmp_path):
    """``fpsnr.video`` is lazy too: a raw pair is scored without subprocess, shutil or the ffmpeg module."""
    frame = (bytes(range(256)) * 2)[: 16 * 16 * 3 // 2]  # one 16×16 4:2:0 frame
    (tmp_path / "a.yuv").write_bytes(frame * 2)
    (tmp_path / "b.yuv").write_bytes(frame[::-1] * 2)
    code = (
        "import sys\n"
        "from fpsnr.video import score_video\n"
        f"summary = score_video({str(tmp_path / 'a.yuv')!r}, {str(tmp_path / 'b.yuv')!r}, size=(16, 16))\n"
        "assert summary.frames == 2, summary.frames\n"
        "runner = ('subprocess', 'shutil', 'tempfile', 'fpsnr.video.ffmpeg')\n"
        "early = [m for m in runner if m in sys.modules]\n"
        "assert not early, early\n"
        "import fpsnr.video\n"
        "assert fpsnr.video.find_ffmpeg.__module__ == 'fpsnr.video.ffmpeg'\n"
        "assert set(fpsnr.video.__all__) <= set(dir(fpsnr.video))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
