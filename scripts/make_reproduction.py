"""Write docs/reproduction.md (Tables 1–3, Figure 6, training budget) from a Kodak study.

    python scripts/make_reproduction.py ../shared/reference/kodak-study --out docs
        --compressai ../shared/reference/compressai-kodak       (one line)

STUDY is a folder as ``scripts/kodak_study.sh`` leaves it (and as the study of
2026-11-26 is stored): ``rd.csv`` (``fpsnr codec eval`` and ``fpsnr anchors`` rows),
``runs/<model>-<λ>/log.csv`` and ``config.json`` of each training, optionally
``runs/<model>-<λ>/train.log`` (its last ``done: step=N`` line), ``runs/study.log``
(first line: the GPU, as nvidia-smi printed it) and ``weights/*.safetensors`` (their
metadata says how each model started). Every number of ours is computed here from
those files; the paper's numbers and CompressAI's published curve (read from
``--compressai``) are printed beside them, never mixed into them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fpsnr.errors import FpsnrError
from fpsnr.rd.bdrate import bd_rate
from fpsnr.rd.plots import plot_rd, ratio_table
from fpsnr.rd.rdfile import read_rd_csv
from fpsnr.rd.schema import fp_column

PLAIN, ATTN = "bmshj2018-hyperprior", "bmshj2018-hyperprior-attn"
COMPRESSAI = "CompressAI hyperprior (published)"
SWEEP = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
# The paper's Table 1 (its λ scale is unstated), Table 2 (Ballé rows) and Table 3
PAPER_T1 = {
    "λ": ["0.01", "0.03", "0.20", "0.40", "0.80", "1.0"],
    "Ballé PSNR": [31.55, 34.30, 38.21, 38.94, 39.26, 39.45],
    "Ballé F_PSNR": [31.98, 34.79, 38.21, 38.94, 39.26, 39.73],
    "Ballé M-FPSNR": [32.08, 34.92, 38.35, 39.07, 39.39, 39.73],
    "AB PSNR": [32.03, 34.91, 40.10, 41.43, 42.12, 42.60],
    "AB F_PSNR": [31.70, 34.54, 39.81, 41.14, 41.83, 42.29],
    "AB M-FPSNR": [32.08, 34.96, 40.13, 41.47, 42.18, 42.66],
}
PAPER_T2 = {
    "0.01": [0.495, 0.458, 0.424, 0.384, 0.354, 0.318, 0.406],
    "0.03": [0.677, 0.641, 0.597, 0.561, 0.525, 0.485, 0.581],
    "0.20": [5.811, 5.652, 5.491, 5.337, 5.185, 5.029, 5.417],
    "0.40": [7.358, 7.186, 7.012, 6.837, 6.953, 6.504, 6.975],
    "0.80": [13.701, 13.482, 13.265, 13.050, 12.837, 12.620, 13.159],
    "1.00": [12.113, 11.942, 11.769, 11.595, 11.423, 11.251, 11.682],
}
PAPER_T3 = {"psnr": -12.73, "mean_fpsnr": -13.98, "m_fpsnr": -15.91}
METRIC_NAMES = {
    "psnr": "PSNR", "mean_fpsnr": "mean F_PSNR", "m_fpsnr": "M-FPSNR (Fp 0.5)", "ms_ssim": "MS-SSIM",
}  # fmt: skip


def _metadata(path: Path) -> dict[str, str]:
    """A safetensors file's metadata, read from its JSON header.

    No torch and no safetensors: the report comes out the same with the core install as
    with the codec extra.
    """
    with path.open("rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        if not 0 < size <= 1 << 24:
            return {}
        header = json.loads(handle.read(size))
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else {}


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _compressai(folder: Path | None) -> tuple[list[float], list[float]] | None:
    path = None if folder is None else folder / "compressai-bmshj2018-hyperprior_mse_cuda.json"
    if path is None or not path.is_file():
        return None
    results = json.loads(path.read_text())["results"]
    return list(results["bpp"]), list(results["psnr-rgb"])


def _psnr_at(curve: tuple[list[float], list[float]] | None, bpp: float) -> float:
    if curve is None:
        return math.nan
    return float(np.interp(math.log(bpp), np.log(curve[0]), curve[1], left=np.nan, right=np.nan))


def _budget(study: Path) -> dict[str, Any]:
    """What each training run cost, from its log, configuration and final message."""
    runs: dict[str, Any] = {}
    for log in sorted(study.glob("runs/*/log.csv")):
        run = log.parent
        rows = pd.read_csv(log)
        config = json.loads((run / "config.json").read_text()) if (run / "config.json").is_file() else {}
        steps = int(rows["step"].iloc[-1])
        for text in (run / "train.log", run.with_suffix(".log")):
            if text.is_file():
                found = re.findall(r"done: step=(\d+)", text.read_text(errors="replace"))
                steps = int(found[-1]) if found else steps
        runs[run.name] = {"steps": steps, "seconds": float(rows["seconds"].iloc[-1]),
                          "loss": float(rows["loss"].iloc[-1]), "bpp": float(rows["bpp"].iloc[-1]),
                          "config": config}  # fmt: skip
    gpu = "not recorded"
    log = study / "runs" / "study.log"
    if log.is_file():
        first = log.read_text(errors="replace").splitlines()[:1]
        gpu = first[0].split(",")[0].strip() if first and "NVIDIA" in first[0] else gpu
    starts = {}
    for weights in sorted(study.glob("weights/*.safetensors")):
        starts[weights.stem] = _metadata(weights).get("init", "")
    return {"runs": runs, "gpu": gpu, "starts": starts}


def _bd(rd: pd.DataFrame, anchor: str, test: str, metric: str) -> str:
    try:
        result = bd_rate(rd, anchor, test, metric=metric, fp=0.5)
    except FpsnrError as err:
        return f"not computed ({err})"
    note = "" if result.overlap >= 0.75 else f" (curves overlap on {result.overlap:.0%}: extrapolated)"
    return f"{result.bd_rate:+.2f} %{note}"


def report(study: Path, out: Path, compressai_dir: Path | None) -> str:
    rd = read_rd_csv(study / "rd.csv")
    good = rd[rd["error"] == ""]
    compressai = _compressai(compressai_dir)
    budget = _budget(study)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    m05 = fp_column(0.5)
    steps = [r["steps"] for r in budget["runs"].values()]
    images = good["image"].nunique()
    lines: list[str] = ["# Reproducing the paper on Kodak", ""]
    if not steps or max(steps) < 100:
        lines += ["> **Smoke run, not results.** A few CPU steps of tiny models: these tables only show",
                  "> that the pipeline works end to end.", ""]  # fmt: skip
    lines += [
        f"Generated by `scripts/make_reproduction.py` from `{study.name}/` ({images} Kodak images, the "
        "hand-made regions shipped with fpsnr (`--regions kodak`, protocol in `data/regions/README.md`), "
        "real entropy coding decoded on the CPU, bpp of the payload).",
        "",
        "Whose numbers: **ours** — every table row marked ours and both figures' solid and dashed curves, "
        "computed from the study's RD CSV; **the paper's** — its Tables 1–3 as printed; **CompressAI's** — "
        "its published `bmshj2018-hyperprior` (MSE) results on Kodak (dotted curve, and the column "
        "“CompressAI PSNR at this bpp”, interpolated in log bpp).",
        "",
        "## Training budget (ours)",
        "",
    ]
    configs = [r["config"] for r in budget["runs"].values() if r["config"]]
    if configs:
        c = configs[0]
        lines += [
            f"GPU: {budget['gpu']}. All runs side by side on it, batch {c.get('batch_size')} of "
            f"{c.get('patch')}² crops, Adam at {c.get('lr')} (÷ 10 at 90 % of {c.get('max_steps')} steps), "
            f"at most {c.get('max_minutes')} minutes each: equal wall-clock budgets.",
            "",
        ]
    starts = sorted({s for s in budget["starts"].values() if s})
    if starts:
        lines += [f"Starting point, from the weights' metadata: {'; '.join(starts)}.", ""]
    lines.append(_table(["run", "steps", "seconds", "final train loss", "final train bpp"], [
        [k, str(v["steps"]), f"{v['seconds']:.0f}", f"{v['loss']:.3f}", f"{v['bpp']:.3f}"]
        for k, v in sorted(budget["runs"].items())
    ]))  # fmt: skip
    # Table 1
    lines += ["", "## Table 1 — bpp, PSNR, F_PSNR and M-FPSNR per λ (ours)", ""]
    rows = []
    for codec in (PLAIN, ATTN):
        part = good[good["codec"] == codec]
        for point, g in sorted(part.groupby("rate_point"), key=lambda kv: float(kv[0])):
            ca = _psnr_at(compressai, g["bpp"].mean())
            rows.append([codec, str(point), f"{g['bpp'].mean():.3f}", f"{g['psnr'].mean():.2f}",
                         f"{g['mean_fpsnr'].mean():.2f}", f"{g['periphery_psnr'].mean():.2f}",
                         f"{g[m05].mean():.2f}", "—" if math.isnan(ca) else f"{ca:.2f}"])  # fmt: skip
    lines.append(_table(["model", "λ", "bpp", "PSNR", "mean F_PSNR", "periphery PSNR", "M-FPSNR (Fp 0.5)",
                         "CompressAI PSNR at this bpp"], rows))  # fmt: skip
    lines += ["", "The paper's Table 1 (its λ scale is unstated, so its rows do not correspond to ours):", ""]
    keys = list(PAPER_T1)
    lines.append(_table(keys, [[PAPER_T1["λ"][i], *[f"{PAPER_T1[k][i]:.2f}" for k in keys[1:]]]
                               for i in range(6)]))  # fmt: skip
    # Table 2
    lines += ["", "## Table 2 — 100·(M-FPSNR/PSNR − 1) % against Fp", ""]
    for codec in (PLAIN, ATTN):
        try:
            table = ratio_table(rd, codec, SWEEP)
        except FpsnrError as err:
            lines += [f"{codec}: not computed ({err})", ""]
            continue
        cols = list(table.columns)
        body = [[str(i), *[f"{row[c]:.4f}" if c == "bpp" else f"{row[c]:.3f}%" for c in cols]]
                for i, row in table.iterrows()]  # fmt: skip
        lines += [f"**{codec} (ours)**", "", _table(["λ", *cols], body), ""]
    learned = good[good["codec"].isin([PLAIN, ATTN])]
    ratios = (learned[m05] / learned["psnr"] - 1).to_numpy(dtype=float)
    if ratios.size and ratios.mean() < 0:
        positive = int((ratios > 0).sum())
        lines += [f"Ours are negative on average ({positive} of {ratios.size} image × model × λ ratios"
                  " at Fp 0.5 are positive) where the paper's are all positive: on Kodak the "
                  "hand-placed regions hold the detailed objects a viewer fixates, which these codecs "
                  "render worse than the smoother periphery.", ""]  # fmt: skip
    lines += ["**Ballé 2018 in the paper**", ""]
    header = ["λ", *[f"Fp={fp:g}" for fp in SWEEP], "average"]
    lines += [_table(header, [[k, *[f"{v:.3f}%" for v in vals]] for k, vals in PAPER_T2.items()]), ""]
    # Table 3
    lines += ["## Table 3 — BD-rate of the attention model against the plain one", ""]
    cells = [[METRIC_NAMES[m], _bd(rd, PLAIN, ATTN, m), f"{PAPER_T3[m]:+.2f} %" if m in PAPER_T3 else "—"]
             for m in ("psnr", "mean_fpsnr", "m_fpsnr", "ms_ssim")]  # fmt: skip
    lines.append(_table(["metric", "ours (Akima, means over images)", "paper"], cells))
    # against the anchors and CompressAI
    lines += ["", "## BD-rate (PSNR) against the anchors and CompressAI's fully trained hyperprior", ""]
    with_ref = rd
    if compressai is not None:
        # CompressAI publishes means over the 24 Kodak images: each of our images gets the
        # mean, so the curve covers the images ours do and its mean is the published one
        extra = pd.DataFrame([
            {"codec": COMPRESSAI, "rate_point": f"q{q}", "image": image, "bpp": bpp, "psnr": db, "error": ""}
            for q, (bpp, db) in enumerate(zip(*compressai, strict=True), start=1)
            for image in sorted(set(good["image"]))
        ])  # fmt: skip
        with_ref = pd.concat([rd, extra], ignore_index=True)
    anchors = [a for a in ("jpeg", "webp") if a in set(rd["codec"])] + ([COMPRESSAI] if compressai else [])
    body = [[codec, *[_bd(with_ref, a, codec, "psnr") for a in anchors]] for codec in (PLAIN, ATTN)]
    lines.append(_table(["ours", *[f"vs {a}" for a in anchors]], body))
    if "jpeg" in anchors and "webp" in anchors:
        lines += ["", f"For scale: WebP against JPEG {_bd(rd, 'jpeg', 'webp', 'psnr')}."]
    # Figure 6
    lines += ["", "## Figure 6 — RD curves with the JPEG and WebP anchors", ""]
    refs = {COMPRESSAI: compressai} if compressai else {}
    for metric, name in (("psnr", "rd-psnr.png"), ("m_fpsnr", "rd-m-fpsnr.png")):
        try:
            plot_rd(rd, figures / name, metric=metric, fp=0.5, xlim=(0.0, 1.8),
                    references=refs if metric == "psnr" else None)  # fmt: skip
            lines.append(f"![{metric}](figures/{name})")
        except FpsnrError as err:
            lines.append(f"{metric}: not plotted ({err})")
    total = sum(steps)
    lines += [
        "",
        "## Where ours falls short, and what would close it",
        "",
        f"- **Training budget.** About {max(steps, default=0):,} fine-tuning steps per model "
        f"({total:,} in all) after a short warm start, against the paper's 500 epochs × 500 steps and "
        "CompressAI's millions of steps on Vimeo-90k. Every curve of ours sits well below CompressAI's "
        "and below WebP; more GPU time (the training-throughput work makes each minute count) is the one "
        "thing that moves them.",
        "- **Training data.** 49 photographs, not CLIC or Vimeo-90k: the models see few textures. A larger "
        "set would help as much as more steps.",
        "- **The attention comparison.** Both models start from the same plain weights, the attention "
        f"blocks as the identity, and get equal budgets; at this budget the attention model's PSNR BD-rate "
        f"is {cells[0][1]}, far from the paper's −12.73 %. Fine-tuning from a fully trained baseline "
        "(CompressAI's, when downloadable) would test whether the blocks help once the rest has converged.",
        "- **The paper's λ scale and regions are unstated**, so its Tables 1–2 cannot be matched row by row; "
        "ours use CompressAI's MSE λ and the project's hand-placed Kodak regions.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path, help="The study folder (rd.csv, runs/, weights/).")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--compressai", type=Path, default=None,
                        help="Folder with CompressAI's published Kodak JSON results.")  # fmt: skip
    args = parser.parse_args()
    text = report(args.study, args.out, args.compressai)
    (args.out / "reproduction.md").write_text(text, encoding="utf-8")
    print(f"wrote {args.out / 'reproduction.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
