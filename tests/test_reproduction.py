"""The report generator of the Kodak study, on a synthetic RD CSV."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from fpsnr.rd.rdfile import write_rd_csv
from fpsnr.rd.schema import rd_columns

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
    study = tmp_path / "study"
    write_rd_csv(rows, study / "rd.csv", fps)
    for run, steps in (("bmshj2018-hyperprior-0.0130", 4000), ("bmshj2018-hyperprior-attn-0.0130", 3990)):
        folder = study / "runs" / run
        folder.mkdir(parents=True)
        (folder / "log.csv").write_text(
            "step,seconds,loss,bpp,mse,psnr,aux_loss,lr,steps_per_s,skipped,val_loss,val_bpp,val_psnr\n"
            "100,9.0,2.0,0.8,0.001,30,8000,0.0001,11,0,,,\n"
            f"{steps - 10},355.0,1.2,0.5,0.001,30,7000,1e-05,11,0,,,\n"
        )
        config = {"batch_size": 16, "patch": 256, "lr": 0.0001, "max_steps": 4000, "max_minutes": 6}
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "train.log").write_text(f"... done: step={steps}, seconds=355\n")
    (study / "runs" / "study.log").write_text("NVIDIA H200, 0 MiB, 143771 MiB\n")
    published = tmp_path / "compressai"
    published.mkdir()
    (published / "compressai-bmshj2018-hyperprior_mse_cuda.json").write_text(json.dumps(
        {"results": {"bpp": [0.1, 0.2, 0.3, 0.45, 0.65, 0.9, 1.2, 1.6],
                     "psnr-rgb": [28.0, 30.0, 31.5, 33.0, 34.8, 36.6, 38.4, 40.3]}}
    ))  # fmt: skip
    docs = tmp_path / "docs"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(study), "--out", str(docs), "--compressai", str(published)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    report = (docs / "reproduction.md").read_text()
    for text in ("## Table 1", "## Table 2", "## Table 3", "-12.73 %", "NVIDIA H200", "| 4000 |", "| 3990 |",
                 "Figure 6", "13.159%", "vs CompressAI hyperprior (published)"):  # fmt: skip
        assert text in report, text
    assert "Smoke run" not in report
    table3 = next(line for line in report.splitlines() if line.startswith("| PSNR |"))
    assert "%" in table3.split("|")[2] and "not computed" not in table3
    assert float(table3.split("|")[2].strip(" %")) < 0  # the attention curve is better here
    against = report.split("## BD-rate (PSNR) against")[1]
    vs = next(line for line in against.splitlines() if line.startswith("| bmshj2018-hyperprior |"))
    assert float(vs.split("|")[2].strip(" %")) < 0  # better than the synthetic JPEG
    assert float(vs.split("|")[3].split("%")[0]) > 0  # worse than the published curve
    for name in ("rd-psnr.png", "rd-m-fpsnr.png"):
        assert (docs / "figures" / name).read_bytes()[:4] == b"\x89PNG"
    row = report.split("| bmshj2018-hyperprior | 0.0035 | ")[1].split(" |")
    assert not np.isnan(float(row[1])) and row[6].strip() != "—"  # CompressAI's PSNR at this bpp


SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"


def test_the_committed_report_is_what_the_study_generates_today(tmp_path):
    """Newcomer 2026-12 finding 6: docs/reproduction.md was older than the code that
    makes it (and regenerating it put % on the bpp column). The committed report must be
    exactly what the script writes from the study now."""
    import pytest

    study, published = SHARED / "kodak-study", SHARED / "compressai-kodak"
    if not (study / "rd.csv").is_file():
        pytest.skip("needs ../shared/reference/kodak-study")
    done = subprocess.run([sys.executable, str(SCRIPT), str(study), "--out", str(tmp_path),
                           "--compressai", str(published)], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    committed = SCRIPT.parents[1] / "docs" / "reproduction.md"
    assert (tmp_path / "reproduction.md").read_text() == committed.read_text(), (
        "docs/reproduction.md is stale: run python scripts/make_reproduction.py "
        "../shared/reference/kodak-study --out docs --compressai ../shared/reference/compressai-kodak"
    )
    assert "| bpp |" in committed.read_text() and "0.2876 | -3.444%" in committed.read_text()
