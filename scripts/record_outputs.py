"""Record what every fpsnr command writes on fixed inputs, to prove a refactor changed nothing.

    python scripts/record_outputs.py OUT_DIR            # record
    python scripts/record_outputs.py OUT_DIR --compare BEFORE_DIR

Inputs are made here from a fixed seed (small synthetic photos, regions files, a tiny
codec model), every command runs in-process through click's CliRunner in OUT_DIR (so
paths in messages are the same relative paths each time), and the outputs land in
OUT_DIR/record/: stdout, stderr and exit code of each command, every file it wrote.
Only what is not reproducible by nature is masked: wall-clock seconds (RD CSV timing
columns, training log timing, "… s" in messages) and tqdm bar redraws. ``--compare``
lists every recorded file whose bytes differ from BEFORE_DIR's, and exits 1 if any do.
The codec part runs when the ``codec`` extra is installed.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import io
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

_SECONDS = re.compile(r"\b\d+\.\d+ s\b")
_TIMING_COLUMNS = {"encode_seconds", "decode_seconds", "seconds", "steps_per_s"}


def _photo(rng: np.random.Generator, height: int, width: int, shift: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([xx * 2 + shift, yy * 2, (xx * yy) % 256], 2) + rng.integers(0, 25, (height, width, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def make_inputs(root: Path) -> None:
    from fpsnr.images.io import write_image

    rng = np.random.default_rng(20261126)
    ref, jpeg, webp, jpeg_b = (root / d for d in ("ref", "jpeg", "webp", "jpeg-b"))
    for d in (ref, jpeg, webp, jpeg_b):
        d.mkdir(parents=True)
    for i in range(3):
        img = _photo(rng, 176, 192, 40 * i)
        write_image(ref / f"im{i}.png", img)
        write_image(jpeg / f"im{i}.jpg", img, quality=30)
        write_image(webp / f"im{i}.webp", img, quality=40)
        write_image(jpeg_b / f"im{i}.jpg", img, quality=60)
    # problems that become error rows or warnings
    write_image(ref / "gray.png", _photo(rng, 176, 192, 7)[:, :, 1])
    write_image(jpeg / "gray.jpg", _photo(rng, 176, 192, 7)[:, :, 1], quality=50)
    (ref / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    write_image(jpeg / "orphan.png", _photo(rng, 32, 32, 0))
    write_image(jpeg / "im9.png", _photo(rng, 176, 190, 0))
    write_image(ref / "im9.png", _photo(rng, 176, 192, 0))
    regions = root / "regions"
    regions.mkdir()
    for i in range(3):
        doc = {
            "image": f"im{i}.png", "width": 192, "height": 176,
            "regions": [{"label": "a", "center": [40.5 + 10 * i, 50], "radius": 22},
                        {"label": "b", "center": [120, 100.25]},
                        {"center": [150, 60], "radius": 30}],
        }  # fmt: skip
        (regions / f"im{i}.json").write_text(json.dumps(doc), encoding="utf-8")
    (regions / "gray.json").write_text(
        json.dumps({"width": 384, "height": 352, "regions": [{"center": [190, 170], "radius": 50}]}),
        encoding="utf-8",
    )
    (root / "bad-regions.json").write_text('{"width": 10, "height": 10, "regions": [{"center": [1]}]}')
    rgba = np.dstack([_photo(rng, 64, 80, 3), np.full((64, 80), 200, np.uint8)])
    write_image(root / "rgba.png", rgba)
    write_image(root / "rgba-test.png", np.clip(rgba.astype(int) + 3, 0, 255).astype(np.uint8))
    deep = (rng.integers(0, 65536, (64, 80, 3))).astype(np.uint16)
    write_image(root / "deep.png", deep)
    write_image(root / "deep-test.png", (deep // 4 * 4).astype(np.uint16))
    (root / "small.json").write_text(
        json.dumps({"width": 80, "height": 64, "regions": [{"center": [20, 20], "radius": 9},
                                                           {"center": [25, 22], "radius": 12}]})
    )  # fmt: skip


def _mask_csv(text: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return text
    masked = [i for i, name in enumerate(rows[0]) if name in _TIMING_COLUMNS]
    for row in rows[1:]:
        for i in masked:
            if i < len(row) and row[i]:
                row[i] = "<t>"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _mask_text(text: str) -> str:
    lines = [ln for ln in text.replace("\r", "\n").split("\n") if "it/s]" not in ln and "s/it]" not in ln]
    lines = [ln for ln in lines if not re.search(r"\d+%\|", ln)]
    text = "\n".join(lines)
    text = _SECONDS.sub("<t> s", text)
    text = re.sub(r"\b(seconds|steps_per_s)=[0-9.e+-]+", r"\1=<t>", text)
    text = re.sub(r"\b[0-9.e+-]+ (\w+)/s\b", r"<rate> \1/s", text)  # progress lines: "58 codes/s"
    # the id of a weights file written in this run: its header's key order is not fixed
    text = re.sub(r"(λ=\S+), id [0-9a-f]{16}", r"\1, id <id>", text)
    return re.sub(r'"(encode|decode)_seconds": [0-9.e-]+', r'"\1_seconds": "<t>"', text)


def _safetensors_digest(path: Path) -> str:
    """Metadata and a hash of every tensor: safetensors writes its header keys in no fixed order."""
    import hashlib

    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        lines = [json.dumps(handle.metadata(), sort_keys=True)]
        for key in sorted(handle.keys()):
            t = handle.get_tensor(key)
            digest = hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()
            lines.append(f"{key} {t.dtype} {tuple(t.shape)} {digest}")
    return "\n".join(lines) + "\n"


class Recorder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.record = root / "record"
        self.record.mkdir()
        self.runner = CliRunner()

    def run(self, name: str, args: list[str]) -> None:
        from fpsnr.cli.main import cli

        result = self.runner.invoke(cli, args, catch_exceptions=True)
        tail = ""
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            tail = f"\nEXCEPTION {type(result.exception).__name__}: {result.exception}"
        (self.record / f"{name}.out").write_text(
            f"exit {result.exit_code}{tail}\n--- stdout\n{_mask_text(result.stdout)}\n"
            f"--- stderr\n{_mask_text(result.stderr)}\n",
            encoding="utf-8",
        )

    def keep(self, name: str, path: str) -> None:
        src = self.root / path
        dst = self.record / name
        if not src.exists():
            dst.write_text("<missing>\n")
        elif src.suffix == ".csv":
            dst.write_text(_mask_csv(src.read_text(encoding="utf-8")), encoding="utf-8")
        elif src.suffix == ".safetensors":
            dst.write_text(_safetensors_digest(src), encoding="utf-8")
        else:
            shutil.copyfile(src, dst)


def record_core(r: Recorder) -> None:
    score = ["score", "ref/im0.png", "jpeg/im0.jpg", "--regions", "regions/im0.json"]
    r.run("score-table", score)
    r.run("score-json", [*score, "--format", "json", "--fp", "0,0.25,1"])
    r.run("score-csv", [*score, "--format", "csv", "--fp", "0,0.1,0.2,0.3,0.4,0.5"])
    r.run("score-y", [*score, "--channel", "y", "--max-db", "40", "--format", "json"])
    r.run("score-radius", [*score, "--viewing-distance", "2", "--foveal-angle", "8", "--format", "csv"])
    r.run("score-alpha", ["score", "rgba.png", "rgba-test.png", "--regions", "small.json", "--alpha", "drop"])
    r.run("score-alpha-refused", ["score", "rgba.png", "rgba-test.png", "--regions", "small.json"])
    r.run("score-16bit", ["score", "deep.png", "deep-test.png", "--regions", "small.json", "--format", "csv",
                          "--data-range", "65535"])  # fmt: skip
    r.run("score-bad-fp", [*score, "--fp", "1.5"])
    r.run("score-bad-fp-text", [*score, "--fp", "x"])
    r.run("score-missing", ["score", "ref/nope.png", "jpeg/im0.jpg", "--regions", "regions/im0.json"])
    r.run("score-shape", ["score", "ref/im9.png", "jpeg/im9.png", "--regions", "regions/im0.json"])
    r.run("score-bad-regions", ["score", "ref/im0.png", "jpeg/im0.jpg", "--regions", "bad-regions.json"])
    r.run("batch", ["batch", "ref", "jpeg", "webp", "--regions", "regions", "--out", "out/batch.csv",
                    "--regions-out", "out/batch-regions.csv", "--fp", "0,0.5", "--workers", "1"])  # fmt: skip
    r.keep("batch.csv", "out/batch.csv")
    r.keep("batch-regions.csv", "out/batch-regions.csv")
    r.run("batch-exists", ["batch", "ref", "jpeg", "--regions", "regions", "--out", "out/batch.csv"])
    r.run("batch-center", ["batch", "ref", "jpeg", "jpeg-b", "--label", "q30", "--label", "q60",
                           "--regions", "regions", "--out", "out/center.csv", "--missing-regions", "center",
                           "--channel", "y", "--max-db", "60", "--workers", "2"])  # fmt: skip
    r.keep("batch-center.csv", "out/center.csv")
    r.run("batch-suggest", ["batch", "ref", "jpeg", "--regions", "regions/im1.json", "--out",
                            "out/suggest.csv", "--missing-regions", "suggest", "--workers", "1"])  # fmt: skip
    r.keep("batch-suggest.csv", "out/suggest.csv")
    r.run("batch-resume-done", ["batch", "ref", "jpeg", "webp", "--regions", "regions", "--out",
                                "out/batch.csv", "--regions-out", "out/batch-regions.csv", "--fp", "0,0.5",
                                "--workers", "1", "--resume"])  # fmt: skip
    r.keep("batch-resumed.csv", "out/batch.csv")
    r.run("regions-check", ["regions", "check", "regions", "bad-regions.json", "small.json"])
    r.run("regions-show", ["regions", "show", "ref/im1.png", "regions/im1.json", "-o", "out/show.png"])
    r.keep("regions-show.png", "out/show.png")
    r.run("regions-suggest", ["regions", "suggest", "ref/im2.png", "-o", "out/suggest.json",
                              "--overlay", "out/suggest.png"])  # fmt: skip
    r.keep("regions-suggest.json", "out/suggest.json")
    r.keep("regions-suggest.png", "out/suggest.png")
    r.run("demo", ["demo", "--out-dir", "out/demo"])
    for f in ("astronaut.png", "astronaut-q30.jpg", "astronaut.json", "overlay.png"):
        r.keep(f"demo-{f}", f"out/demo/{f}")
    r.run("anchors", ["anchors", "--data", "ref", "--regions", "regions", "--codec", "jpeg,webp",
                      "--quality", "10", "--quality", "30", "--quality", "50", "--quality", "70",
                      "--quality", "90", "-o", "out/anchors.csv"])  # fmt: skip
    r.keep("anchors.csv", "out/anchors.csv")
    r.run("anchors-center", ["anchors", "--data", "ref", "--regions", "regions/im0.json", "--codec", "jp2",
                             "--quality", "50", "--fp", "0.5", "--missing-regions", "center",
                             "-o", "out/anchors-center.csv"])  # fmt: skip
    r.keep("anchors-center.csv", "out/anchors-center.csv")
    # a clean RD file (no failed rows) for bdrate and the plots
    import pandas as pd

    rd = pd.read_csv(r.root / "out/anchors.csv", dtype=str, keep_default_na=False)
    rd[rd["error"] == ""].to_csv(r.root / "out/rd-ok.csv", index=False)
    r.run("bdrate", ["bdrate", "out/rd-ok.csv", "--anchor", "jpeg", "--test", "webp", "--metric", "psnr",
                     "--metric", "m_fpsnr", "--metric", "ms_ssim", "--fp", "0.3"])  # fmt: skip
    r.run("bdrate-failed", ["bdrate", "out/anchors.csv", "--anchor", "jpeg", "--test", "webp"])
    r.run("plot-rd", ["plot", "rd", "out/rd-ok.csv", "--metric", "m_fpsnr", "-o", "out/rd.png"])
    r.keep("plot-rd.png", "out/rd.png")
    r.run("plot-ratio", ["ratio", "out/rd-ok.csv", "--codec", "webp"])

    import fpsnr

    result = fpsnr.score_folders("ref", ["jpeg"], "regions", options=fpsnr.BatchOptions(fps=(0.0, 0.5)),
                                 workers=1)  # fmt: skip
    (r.record / "api-scores.csv").write_text(result.scores.to_csv(index=False), encoding="utf-8")
    (r.record / "api-regions.csv").write_text(result.regions.to_csv(index=False), encoding="utf-8")
    (r.record / "api-warnings.txt").write_text("\n".join(result.warnings) + "\n", encoding="utf-8")


def record_codec(r: Recorder, weights_from: Path | None) -> None:
    import torch

    from fpsnr.codec.models import build_model
    from fpsnr.codec.weights import save_weights

    for name in ("bmshj2018-hyperprior", "bmshj2018-hyperprior-attn"):
        if weights_from is not None:  # the same weights files, so bitstreams can match byte for byte
            shutil.copyfile(weights_from / f"{name}.safetensors", r.root / f"{name}.safetensors")
            shutil.copyfile(weights_from / f"{name}.pth", r.root / f"{name}.pth")
            continue
        torch.manual_seed(0)
        model = build_model(name, 16, 16)
        model.update(force=True)
        save_weights(model, r.root / f"{name}.safetensors", arch=name, lmbda=0.01, distortion="mse",
                     steps=0, data="random init")  # fmt: skip
        torch.save(model.state_dict(), r.root / f"{name}.pth")
    plain, attn = "bmshj2018-hyperprior.safetensors", "bmshj2018-hyperprior-attn.safetensors"
    r.run("codec-encode", ["codec", "encode", "ref/im0.png", "--weights", plain, "-o", "out/im0.fpc"])
    r.keep("codec-im0.fpc", "out/im0.fpc")
    r.run("codec-encode-gray", ["codec", "encode", "ref/gray.png", "--weights", attn, "-o", "out/gray.fpc"])
    r.keep("codec-gray.fpc", "out/gray.fpc")
    r.run("codec-decode", ["codec", "decode", "out/im0.fpc", "--weights", plain, "-o", "out/im0-dec.png"])
    r.keep("codec-im0-dec.png", "out/im0-dec.png")
    r.run("codec-decode-gray", ["codec", "decode", "out/gray.fpc", "--weights", attn, "-o", "out/gray.png"])
    r.keep("codec-gray-dec.png", "out/gray.png")
    r.run("codec-decode-wrong", ["codec", "decode", "out/im0.fpc", "--weights", attn, "-o", "out/x.png"])
    r.run("codec-roundtrip", ["codec", "roundtrip", "ref/im1.png", "--weights", attn, "--regions",
                              "regions/im1.json", "--fp", "0,0.5", "-o", "out/rt.png"])  # fmt: skip
    r.keep("codec-rt.png", "out/rt.png")
    r.run("codec-roundtrip-json", ["codec", "roundtrip", "ref/im1.png", "--weights", plain, "--format",
                                   "json"])  # fmt: skip
    r.run("codec-roundtrip-alpha", ["codec", "roundtrip", "rgba.png", "--weights", plain, "--alpha", "drop",
                                    "--regions", "small.json", "--viewing-distance", "2"])  # fmt: skip
    torch.manual_seed(0)  # the attention blocks start from a random init
    r.run("codec-convert", ["codec", "convert", "bmshj2018-hyperprior.pth", "--lmbda", "0.02", "--model",
                            "bmshj2018-hyperprior-attn", "-o", "out/conv.safetensors"])  # fmt: skip
    r.keep("codec-conv.safetensors", "out/conv.safetensors")
    r.run("codec-eval", ["codec", "eval", "--data", "ref", "--regions", "regions", "--weights", plain,
                         "--weights", attn, "--fp", "0,0.5", "-o", "out/eval.csv"])  # fmt: skip
    r.keep("codec-eval.csv", "out/eval.csv")
    train = ["codec", "train", "--data", "jpeg-b", "--lmbda", "0.01", "--N", "8", "--M", "8", "--patch", "64",
             "--batch-size", "2", "--log-every", "1", "--checkpoint-every", "2", "--val", "webp",
             "--val-every", "2"]  # fmt: skip
    r.run("codec-train", [*train, "--out", "out/run", "--max-steps", "3"])
    r.run("codec-train-resume", ["codec", "train", "--resume", "out/run", "--max-steps", "5"])
    r.keep("codec-train-log.csv", "out/run/log.csv")
    r.keep("codec-train-weights.safetensors", "out/run/last.safetensors")
    r.keep("codec-train-config.json", "out/run/config.json")
    attn_run = ["--out", "out/run-attn", "--max-steps", "2", "--model", "bmshj2018-hyperprior-attn"]
    r.run("codec-train-attn", [*train, *attn_run, "--init", "out/run/last.safetensors"])
    r.keep("codec-train-attn-weights.safetensors", "out/run-attn/last.safetensors")
    r.run("codec-train-exists", [*train, "--out", "out/run", "--max-steps", "3"])


def compare(after: Path, before: Path) -> int:
    a, b = after / "record", before / "record"
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
    differ = [
        n for n in names if not ((a / n).exists() and (b / n).exists() and filecmp.cmp(a / n, b / n, False))
    ]
    print(f"{len(names)} recorded outputs, {len(differ)} differ")
    for n in differ:
        print(f"  differs: {n}")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--compare", type=Path, help="An earlier OUT_DIR to compare with.")
    args = parser.parse_args()
    root = args.out.resolve()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    os.chdir(root)
    make_inputs(root)
    recorder = Recorder(root)
    record_core(recorder)
    try:
        import compressai  # noqa: F401
    except ImportError:
        print("codec extra not installed: codec commands not recorded", file=sys.stderr)
    else:
        record_codec(recorder, args.compare.resolve() if args.compare else None)
    print(f"recorded {len(list(recorder.record.iterdir()))} outputs in {recorder.record}")
    return compare(root, args.compare.resolve()) if args.compare else 0


if __name__ == "__main__":
    sys.exit(main())
