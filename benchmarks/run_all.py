"""Every speed and memory ratio of SPEC §6 in one run: the figure, the target, held or missed.

    python benchmarks/run_all.py [--quick] [--no-large]

Runs each benchmark in its own interpreter (so one's imports and caches never touch
another's timings), each against a floor outside fpsnr (``cv2.norm``, ``cv2.imread``,
``python -c "import torch"``, CompressAI's own ``compress``/``decompress``), and prints
their ratio lines together with the machine they ran on. ``--quick`` repeats less (a
noisier figure, for a first look); ``--no-large`` leaves out the 2,400-pair batch (about
5 minutes on 2 cores). The codec lines need the codec extra and are skipped without it.
``fpsnr video`` ÷ ffmpeg's psnr filter runs where ffmpeg is on PATH; region proposals per
image (``bench_regions.py``) against decoding that image.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import Ratio  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def run(script: str, args: list[str]) -> list[Ratio] | str:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ratios.json"
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / script), *args, "--json", str(out)],
                              capture_output=True, text=True)  # fmt: skip
        took = time.perf_counter() - start
        print(f"--- {script} {' '.join(args)} ({took:.0f} s)")
        print(done.stdout.rstrip())
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return f"{script}: failed ({tail})"
        rows = json.loads(out.read_text())
        return [Ratio(r["name"], r["value"], r["op"], r["target"]) for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats: noisier figures")
    parser.add_argument("--no-large", action="store_true", help="leave out the 2,400-pair batch")
    args = parser.parse_args()
    quick = args.quick
    plan = [
        ("bench_metrics.py", ["--repeat", "5" if quick else "15"]),
        ("bench_batch.py", ["--folders", "4", "--repeat", "1" if quick else "3"]),
    ]
    if not args.no_large:
        plan.append(("bench_batch.py", ["--folders", "100", "--repeat", "1"]))
    plan.append(("bench_memory.py", []))
    plan.append(("bench_regions.py", ["--repeat", "10" if quick else "30"]))
    codec = all(importlib.util.find_spec(m) is not None for m in ("torch", "compressai"))
    if codec:
        plan += [
            ("bench_startup.py", ["--runs", "1" if quick else "3"]),
            ("bench_codec.py", ["--repeat", "2" if quick else "5"]),
            ("bench_isolation.py", ["--repeat", "3" if quick else "7"]),
        ]
    import shutil

    video = shutil.which("ffmpeg") is not None
    if video:
        plan.append(("bench_video.py", ["--repeat", "2" if quick else "5"]))  # whole processes: best of 5
    lines: list[Ratio | str] = []
    for script, script_args in plan:
        got = run(script, script_args)
        lines.extend([got] if isinstance(got, str) else got)
    if not codec:
        lines.append("codec lines skipped: the codec extra (torch, CompressAI) is not installed")
    if not video:
        lines.append("video lines skipped: no ffmpeg on PATH (apt-get install ffmpeg)")
    print(f"\n=== SPEC §6 ratios, {time.strftime('%Y-%m-%d')}, {machine()}")
    for line in lines:
        print(line if isinstance(line, str) else line.line())
    missed = [line for line in lines if isinstance(line, Ratio) and line.held is False]
    print(f"\n{len(missed)} missed" if missed else "\nevery target held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
