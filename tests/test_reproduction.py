"""The report generator of the Kodak study, on a synthetic RD CSV."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from fpsnr.rd import rd_columns, write_rd_csv

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_reproduction.py"


def test_report_has_tables_figures_and_the_budget(tmp_path):
    fps = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    rows = []
    curves = {
        "bmshj2018-hyperprior": ([0.2, 0.3, 0.45, 0.65], [29.0, 30.8, 32.6, 34.3]),
        "bmshj2018-hyperprior-attn": ([0.19, 0.28, 0.43, 0.62], [29.1, 30.9, 32.7, 34.4]),
        "jpeg": ([0.3, 0.5, 0.8, 1.2], [27.0, 29.5, 31.5, 33.5]),
    }
    for codec, (rates, dbs) in curves.items():
        for lmbda, bpp, db in zip(["0.0035", "0.0067", "0.013", "0.025"], rates, dbs, strict=True):
            for k, image in enumerate(["a.png", "b.png"]):
                row = dict.fromkeys(rd_columns(fps))
                row.update(
                    codec=codec,
                    rate_point=lmbda,
                    quality=float(lmbda),
                    image=image,
                    width=768,
                    height=512,
                    bytes=int(bpp * 768 * 512 / 8),
                    bpp=bpp,
                    psnr=db + k,
                    mean_fpsnr=db + k - 0.4,
                    periphery_psnr=db + k + 0.1,
                    ms_ssim=0.95,
                    encode_seconds=0.1,
                    decode_seconds=0.1,
                    error="",
                )
                for fp in fps:
                    row[f"m_fpsnr_fp{fp:g}"] = (1 - fp) * row["mean_fpsnr"] + fp * row["periphery_psnr"]
                rows.append(row)
    write_rd_csv(rows, tmp_path / "rd.csv", fps)
    budget = {
        "gpu": "NVIDIA H200",
        "warm_start": "w.safetensors",
        "train_seconds_wall": 360,
        "total_seconds": 500,
        "runs": {
            "bmshj2018-hyperprior-0.0130": {
                "steps": 4000,
                "seconds": 355.0,
                "final_loss": 1.2,
                "final_bpp": 0.5,
            }
        },
    }
    (tmp_path / "budget.json").write_text(json.dumps(budget))
    docs = tmp_path / "docs"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(tmp_path / "rd.csv"),
            str(tmp_path / "budget.json"),
            "--out",
            str(docs),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    report = (docs / "reproduction.md").read_text()
    for text in ("## Table 1", "## Table 2", "## Table 3", "-12.73 %", "NVIDIA H200", "| 4000 |", "Figure 6"):
        assert text in report
    assert "Smoke run" not in report
    table3 = next(line for line in report.splitlines() if line.startswith("| psnr |"))
    assert "%" in table3.split("|")[2] and "not computed" not in table3
    assert float(table3.split("|")[2].strip(" %")) < 0  # the attention curve is better here
    for name in ("rd-psnr.png", "rd-m-fpsnr.png"):
        assert (docs / "figures" / name).read_bytes()[:4] == b"\x89PNG"
    assert not np.isnan(float(report.split("| bmshj2018-hyperprior | 0.0035 | ")[1].split(" |")[1]))
