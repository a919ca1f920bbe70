#!/usr/bin/env bash
# The Kodak study of issue 7, as one GPU run: train the plain hyperprior and the
# attention model at four λ side by side on one GPU, evaluate all eight on Kodak on
# the CPU (GPU decoding of these models has returned NaN), add JPEG and WebP anchors,
# and leave the RD CSV, the training budget and fp16 checkpoints in $OUT.
#
#   bash scripts/kodak_study.sh                 # on the GPU machine (see below)
#   TINY=1 DEVICE=cpu bash scripts/kodak_study.sh   # CPU smoke run of the whole pipeline
#
# Inputs (carried into the repo, git-ignored):
#   .whl/      compressai 1.2.8 and pytorch-msssim wheels for the device's Python
#   .photos/   the 49 training photos (../shared/data/photos)
#   .kodak/    the 24 Kodak images (../shared/data/kodak)
#   .weights/  the warm-start checkpoint (../shared/reference/weights)
# Both models start from the warm start (the attention model adds only its attention
# blocks) and get the same step budget, so the comparison stays fair.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-study-out}
DEVICE=${DEVICE:-cuda}
DATA=${DATA:-.photos}
KODAK=${KODAK:-.kodak}
WARMSTART=${WARMSTART:-.weights/bmshj2018-hyperprior-mse-0.0130-warmstart.safetensors}
LAMBDAS=${LAMBDAS:-"0.0035 0.0067 0.0130 0.0250"}
STEPS=${STEPS:-4000}          # per model; 8 runs side by side ≈ 94 steps/s in total on an H200
MINUTES=${MINUTES:-6}         # safety cap per run; the budget actually reached is reported
BATCH=${BATCH:-16}
PATCH=${PATCH:-256}
EXTRA=()
if [[ "${TINY:-0}" == 1 ]]; then   # a CPU smoke run: tiny models, a few steps, two images
  STEPS=${TINY_STEPS:-4}; BATCH=2; PATCH=64; MINUTES=2; EXTRA=(--N 16 --M 16)
fi
mkdir -p "$OUT" runs
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
if ! python3 -c "import compressai, pytorch_msssim" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile .whl/*.whl
fi
fpsnr() { python3 -m fpsnr "$@"; }
start=$(date +%s)

# 1. warm starts: the same baseline weights for both models
init_plain=runs/init-plain.safetensors
init_attn=runs/init-attn.safetensors
if [[ "${TINY:-0}" == 1 ]]; then
  init_args=()
else
  fpsnr codec convert "$WARMSTART" --lmbda 0.013 --steps 9045 --data photos -o "$init_plain"
  fpsnr codec convert "$WARMSTART" --lmbda 0.013 --steps 9045 --data photos \
    --model bmshj2018-hyperprior-attn -o "$init_attn"
  init_args=(yes)
  export STUDY_WARMSTART="$WARMSTART"
fi

# 2. eight trainings side by side on the one GPU
pids=()
for lmbda in $LAMBDAS; do
  for model in bmshj2018-hyperprior bmshj2018-hyperprior-attn; do
    run="runs/$model-$lmbda"
    rm -rf "$run"
    args=(--data "$DATA" --model "$model" --lmbda "$lmbda" --out "$run" --max-steps "$STEPS"
          --max-minutes "$MINUTES" --batch-size "$BATCH" --patch "$PATCH" --device "$DEVICE"
          --log-every 100 --checkpoint-every 1000 "${EXTRA[@]}")
    if [[ ${#init_args[@]} -gt 0 ]]; then
      [[ $model == bmshj2018-hyperprior ]] && args+=(--init "$init_plain") || args+=(--init "$init_attn")
    fi
    fpsnr codec train "${args[@]}" > "$run.log" 2>&1 &
    pids+=($!)
  done
done
for pid in "${pids[@]}"; do wait "$pid"; done
trained=$(date +%s)

# 3. evaluation on the CPU, one process per model, then the anchors
images=$KODAK
if [[ "${TINY:-0}" == 1 ]]; then
  images=runs/kodak-smoke; mkdir -p "$images"
  for f in $(ls "$KODAK"/*.png | head -2); do cp "$f" "$images"/; done
fi
pids=()
for run in runs/bmshj2018-hyperprior*-0.*/; do
  run=${run%/}
  OMP_NUM_THREADS=2 fpsnr codec eval --data "$images" --regions data/regions --weights "$run/last.safetensors" \
    --device cpu -o "$run/rd.csv" > "$run.eval.log" 2>&1 &
  pids+=($!)
done
fpsnr anchors --data "$images" --regions data/regions --codec jpeg,webp -o runs/rd-anchors.csv 2> runs/anchors.log &
pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done

# 4. results: one RD CSV, the budget, fp16 checkpoints packed by λ (at most 8 files back)
python3 - "$OUT" "$start" "$trained" <<'PY'
import glob, json, os, subprocess, sys, tarfile, time
from pathlib import Path

import pandas as pd
from fpsnr.codec.weights import load_weights, save_weights

out, start, trained = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
frames = [pd.read_csv(p, keep_default_na=False) for p in sorted(glob.glob("runs/*/rd.csv")) + ["runs/rd-anchors.csv"]]
pd.concat(frames, ignore_index=True).to_csv(out / "rd.csv", index=False)
try:
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                         text=True, timeout=20).stdout.strip() or "none"
except (OSError, subprocess.SubprocessError):
    gpu = "none"
budget = {"gpu": gpu, "warm_start": os.environ.get("STUDY_WARMSTART"), "train_seconds_wall": trained - start,
          "total_seconds": int(time.time()) - start, "runs": {}}
for log in sorted(glob.glob("runs/*/log.csv")):
    rows = pd.read_csv(log)
    run = Path(log).parent.name
    last = rows.iloc[-1]
    budget["runs"][run] = {"steps": int(last["step"]), "seconds": float(last["seconds"]),
                           "final_loss": float(last["loss"]), "final_bpp": float(last["bpp"])}
(out / "budget.json").write_text(json.dumps(budget, indent=2))
by_lambda = {}
for weights in sorted(glob.glob("runs/*/last.safetensors")):
    run = Path(weights).parent
    model, info = load_weights(weights)
    half = run / "fp16.safetensors"
    save_weights(model, half, arch=info.arch, lmbda=info.lmbda, distortion=info.distortion, steps=info.steps,
                 data=info.data, half=True, extra={"run": run.name, "gpu": gpu})
    by_lambda.setdefault(f"{info.lmbda:g}", []).append((half, f"{run.name}.safetensors"))
for lmbda, files in by_lambda.items():
    with tarfile.open(out / f"weights-{lmbda}.tar", "w") as tar:
        for path, name in files:
            tar.add(path, arcname=name)
print(json.dumps(budget, indent=2))
PY
ls -la "$OUT"
