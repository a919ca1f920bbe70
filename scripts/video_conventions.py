"""fpsnr video against the tools that define each sequence-PSNR convention, on a real clip.

    python scripts/video_conventions.py [--data ../shared/data/video]

The bus clip (352×288 4:2:0, from ``--data``) against an x264 CRF 35 copy made here, 8-bit
and a 10-bit copy of both (ffmpeg ``-pix_fmt yuv420p10le``, values × 4). For each
convention of the README's table: fpsnr's value, the defining tool's, and the largest
difference over the sequence — ffmpeg's psnr filter (summary ``y:``, ``average:``, its
stats file per frame) and libvmaf's JSON (per-frame ``psnr_y``/``psnr_cb``/``psnr_cr``,
their pooled mean; an ffmpeg with libvmaf: the imageio-ffmpeg wheel's, or PATH's). The JVET
6:1:1 and CompressAI 4:1:1 rules have no tool here: they are recomputed from libvmaf's
per-frame dB (6 decimals; ffmpeg's 2-decimal stats file without libvmaf) and compared. The
tool runners are the video tests' own (``tests/video/tools.py``). Needs ffmpeg with libx264
on PATH.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from fpsnr.video import VideoOptions, score_video

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: the tests' tool runners
from tests.video.tools import ffmpeg_psnr, libvmaf_psnr, raw_input, vmaf_ffmpeg

SIZE = "352x288"


def raw(path: Path, pix_fmt: str) -> list[str]:
    return raw_input(path, SIZE, pix_fmt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/video"
    )
    args = parser.parse_args()
    bus = args.data / "bus_352x288_420_f20_b8.yuv"
    exe = shutil.which("ffmpeg")
    vmaf = vmaf_ffmpeg()
    if exe is None or not bus.is_file():
        sys.exit(f"needs ffmpeg on PATH and {bus}")
    print("| convention | tool | depth | fpsnr | tool's | largest difference |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        mp4 = tmp / "bus.mp4"
        subprocess.run(
            [exe, "-v", "error", *raw(bus, "yuv420p"), "-c:v", "libx264", "-crf", "35", str(mp4)], check=True
        )
        pairs = {8: (bus, tmp / "d8.yuv")}
        subprocess.run(
            [exe, "-v", "error", "-i", str(mp4), "-f", "rawvideo", "-pix_fmt", "yuv420p", str(pairs[8][1])],
            check=True,
        )
        ten = []
        for src in pairs[8]:
            out = tmp / f"{src.stem}_10.yuv"
            subprocess.run(
                [
                    exe,
                    "-v",
                    "error",
                    *raw(src, "yuv420p"),
                    "-f",
                    "rawvideo",
                    "-pix_fmt",
                    "yuv420p10le",
                    str(out),
                ],
                check=True,
            )
            ten.append(out)
        pairs[10] = (ten[0], ten[1])
        for depth, (ref, dist) in pairs.items():
            pix_fmt = "yuv420p" if depth == 8 else "yuv420p10le"
            frames: list = []
            rows, (y, _, _, average) = ffmpeg_psnr(exe, raw(ref, pix_fmt), raw(dist, pix_fmt), tmp)
            mse = score_video(
                ref,
                dist,
                size=(352, 288),
                pix_fmt=pix_fmt,
                options=VideoOptions(rule="4:1:1-mse"),
                on_frame=frames.append,
            )
            per_frame = max(
                abs(s.psnr[p] - r[f"psnr_{c}"])
                for s, r in zip(frames, rows, strict=True)
                for p, c in enumerate("yuv")
            )
            line = "| {} | {} | {} | {:.6f} | {:.6f} | {:.1e} |"
            print(
                line.format(
                    "pooled Y MSE",
                    "ffmpeg `y:`",
                    depth,
                    mse.pooled["psnr_y"],
                    y,
                    abs(mse.pooled["psnr_y"] - y),
                )
            )
            print(
                line.format(
                    "area-weighted MSE (4:1:1)",
                    "ffmpeg `average:`",
                    depth,
                    mse.pooled["psnr_yuv"],
                    average,
                    abs(mse.pooled["psnr_yuv"] - average),
                )
            )
            print(
                f"| per-frame Y, U, V dB | ffmpeg stats file (2 decimals) | {depth} | | | {per_frame:.1e} |"
            )
            report = None if vmaf is None else libvmaf_psnr(vmaf, raw(ref, pix_fmt), raw(dist, pix_fmt), tmp)
            if report is None:
                print(f"| mean of per-frame Y dB | libvmaf | {depth} | no ffmpeg with libvmaf | | |")
            else:
                theirs = report["pooled_metrics"]["psnr_y"]["mean"]
                vmaf_frames = max(
                    abs(s.psnr[p] - f["metrics"][key])
                    for s, f in zip(frames, report["frames"], strict=True)
                    for p, key in enumerate(("psnr_y", "psnr_cb", "psnr_cr"))
                )
                print(
                    line.format(
                        "mean of per-frame Y dB",
                        "libvmaf pooled mean",
                        depth,
                        mse.mean_db["psnr_y"],
                        theirs,
                        abs(mse.mean_db["psnr_y"] - theirs),
                    )
                )
                print(
                    f"| per-frame Y, Cb, Cr dB | libvmaf JSON, 6 decimals | {depth} | | | {vmaf_frames:.1e} |"
                )
            # no JVET or CompressAI tool here: the rules recomputed from the tool's per-frame dB
            # (libvmaf's 6 decimals where it ran, ffmpeg's 2 otherwise)
            per = [(r["psnr_y"], r["psnr_u"], r["psnr_v"]) for r in rows]
            source = "from ffmpeg's per-frame dB"
            if report is not None:
                per = [
                    tuple(f["metrics"][k] for k in ("psnr_y", "psnr_cb", "psnr_cr")) for f in report["frames"]
                ]
                source = "from libvmaf's per-frame dB"
            for rule, w in (("6:1:1", 6), ("4:1:1-db", 4)):
                got = score_video(
                    ref, dist, size=(352, 288), pix_fmt=pix_fmt, options=VideoOptions(rule=rule)
                )
                theirs = sum((w * y_ + u_ + v_) / (w + 2) for y_, u_, v_ in per) / len(per)
                print(
                    line.format(
                        f"({w}·Y + U + V)/{w + 2} of per-frame dB",
                        source,
                        depth,
                        got.mean_db["psnr_yuv"],
                        theirs,
                        abs(got.mean_db["psnr_yuv"] - theirs),
                    )
                )


if __name__ == "__main__":
    main()
