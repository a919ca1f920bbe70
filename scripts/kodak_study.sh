#!/usr/bin/env bash
# The Kodak study as one GPU run: continue the plain hyperprior and the attention model
# at four λ side by side on one GPU with equal budgets, save every model as its own fp16
# file, then evaluate all of them on Kodak on the CPU (GPU decoding of these models has
# returned NaN), with JPEG and WebP anchors.
#
#   bash scripts/kodak_study.sh                          # on the GPU machine
#   TINY=1 DEVICE=cpu bash scripts/kodak_study.sh        # CPU smoke run of the whole pipeline
#
# Inputs (each may be set; the defaults look in the repository first, then in ../shared):
#   DATA     training photos            .photos        or ../shared/data/photos
#   KODAK    the 24 Kodak images        .kodak         or ../shared/data/kodak
#   INIT     weights to continue from   .weights       or ../shared/reference/kodak-study/weights
#            (<model>-<λ>.safetensors; a model without its own file starts from the plain
#            model of its λ, the attention blocks as the identity, else from the package's
#            default weights of that model)
#   .whl/    compressai and pytorch-msssim wheels, installed when the device lacks them
#   LAMBDAS  "0.0035 0.0067 0.0130 0.0250";  STEPS, MINUTES: the budget of every model
#   TRAIN_OPTIONS  extra options for every `fpsnr codec train` (e.g. throughput options)
# Outputs: $OUT (default study-out) holds at most 8 files — rd.csv, study-logs.tgz (logs,
# configurations, study.log) and the first fp16 checkpoints in λ order of PRIORITY; the
# other checkpoints wait in $KEEP (default study-keep) for a second call on the same
# machine. Checkpoints are written before any evaluation, so a failed evaluation loses
# no weights. Everything else happens in $WORK (default study-work), emptied at the start;
# other runs elsewhere are never touched.
#   python scripts/make_reproduction.py STUDY then writes docs/reproduction.md, where
#   STUDY holds rd.csv, the unpacked study-logs.tgz and weights/ (see the README).
set -uo pipefail
cd "$(dirname "$0")/.."

pick() { for d in "$@"; do [[ -d "$d" ]] && { echo "$d"; return; }; done; echo "$1"; }
OUT=${OUT:-study-out}
KEEP=${KEEP:-study-keep}
WORK=${WORK:-study-work}
DEVICE=${DEVICE:-cuda}
DATA=${DATA:-$(pick .photos ../shared/data/photos)}
KODAK=${KODAK:-$(pick .kodak ../shared/data/kodak)}
INIT=${INIT:-$(pick .weights ../shared/reference/kodak-study/weights)}
REGIONS=${REGIONS:-kodak}
LAMBDAS=${LAMBDAS:-"0.0035 0.0067 0.0130 0.0250"}
PRIORITY=${PRIORITY:-"0.0130 0.0250 0.0067 0.0035"}
STEPS=${STEPS:-3000}
MINUTES=${MINUTES:-6}
BATCH=${BATCH:-16}
PATCH=${PATCH:-256}
MODELS="bmshj2018-hyperprior bmshj2018-hyperprior-attn"
read -r -a TRAIN_EXTRA <<< "${TRAIN_OPTIONS:-}"
TINY_ARGS=()
if [[ "${TINY:-0}" == 1 ]]; then   # tiny models from scratch, a few steps, two Kodak images
  STEPS=${TINY_STEPS:-4}; BATCH=2; PATCH=64; MINUTES=2; TINY_ARGS=(--N 16 --M 16)
fi
for need in "$DATA" "$KODAK"; do
  [[ -d "$need" ]] || { echo "kodak_study: $need is not a folder; set DATA or KODAK" >&2; exit 1; }
done

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
if ! python3 -c "import compressai, pytorch_msssim" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile .whl/*.whl || exit 1
fi
fpsnr() { python3 -m fpsnr "$@"; }
start=$(date +%s)
rm -rf "$WORK" && mkdir -p "$WORK/runs" "$OUT" "$KEEP" || exit 1
runs=$WORK/runs
{ nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU (CPU run)"; } \
  > "$runs/study.log"

# 1. the starting weights of every run
init_for() {  # model λ -> a weights file to continue from ("" in TINY mode)
  local model=$1 lmbda=$2
  [[ "${TINY:-0}" == 1 ]] && { echo ""; return; }
  for f in "$INIT/$model-$lmbda.safetensors" "$INIT/bmshj2018-hyperprior-$lmbda.safetensors"; do
    [[ -f "$f" ]] && { echo "$f"; return; }
  done
  python3 -c "from fpsnr.codec.weights import default_weights as d; print(d('$model'))"
}

# 2. every run side by side on the one device, equal budgets
pids=()
for lmbda in $LAMBDAS; do
  for model in $MODELS; do
    run="$runs/$model-$lmbda"
    init=$(init_for "$model" "$lmbda")
    args=(--data "$DATA" --model "$model" --lmbda "$lmbda" --out "$run" --max-steps "$STEPS"
          --max-minutes "$MINUTES" --batch-size "$BATCH" --patch "$PATCH" --device "$DEVICE"
          --log-every 100 --checkpoint-every 1000 "${TINY_ARGS[@]}" "${TRAIN_EXTRA[@]}")
    [[ -n "$init" ]] && args+=(--init "$init")
    echo "$model λ=$lmbda from ${init:-scratch}" >> "$runs/study.log"
    mkdir -p "$run"
    fpsnr codec train "${args[@]}" > "$run/train.log" 2>&1 &
    pids+=($!)
  done
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
trained=$(date +%s)
echo "trained in $((trained - start)) s; $failed training run(s) failed" | tee -a "$runs/study.log"

# 3. every checkpoint as its own fp16 file, before any evaluation: $OUT first, then $KEEP
python3 - "$runs" "$OUT" "$KEEP" "$PRIORITY" "$LAMBDAS" <<'PY' 2>&1 | tee -a "$runs/study.log"
import sys
from pathlib import Path

from fpsnr.codec.weights import load_weights, save_weights

runs, out, keep = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
lambdas = sys.argv[5].split()
order = [x for x in sys.argv[4].split() if x in lambdas] + [x for x in lambdas if x not in sys.argv[4].split()]
room = 8 - 2  # rd.csv and study-logs.tgz also come back
done = 0
for lmbda in order:
    for model in ("bmshj2018-hyperprior", "bmshj2018-hyperprior-attn"):
        weights = runs / f"{model}-{lmbda}" / "last.safetensors"
        if not weights.is_file():
            print(f"no weights for {model}-{lmbda}: its training failed (see its train.log)")
            continue
        net, info = load_weights(weights)
        dest = (out if done < room else keep) / "weights" / f"{model}-{lmbda}.safetensors"
        dest.parent.mkdir(parents=True, exist_ok=True)
        save_weights(net, dest, arch=info.arch, lmbda=info.lmbda, distortion=info.distortion,
                     steps=info.steps, data=info.data, half=True,
                     extra={k: v for k, v in info.metadata.items() if k in ("init", "seed")})
        done += 1
        print(f"saved {dest} ({info.steps} steps)")
PY

# 4. evaluation on the CPU, one process per model, then the anchors; failures are reported
images=$KODAK
if [[ "${TINY:-0}" == 1 ]]; then
  images=$WORK/kodak-smoke; mkdir -p "$images"
  for f in $(ls "$KODAK"/*.png | head -2); do cp "$f" "$images"/; done
fi
pids=()
for run in "$runs"/bmshj2018-hyperprior*-0.*; do
  [[ -f "$run/last.safetensors" ]] || continue
  OMP_NUM_THREADS=2 fpsnr codec eval --data "$images" --regions "$REGIONS" --weights "$run/last.safetensors" \
    --device cpu -o "$run/rd.csv" > "$run/eval.log" 2>&1 &
  pids+=($!)
done
fpsnr anchors --data "$images" --regions "$REGIONS" --codec jpeg,webp -o "$runs/rd-anchors.csv" \
  > "$runs/anchors.log" 2>&1 &
pids+=($!)
for pid in "${pids[@]}"; do wait "$pid" || echo "an evaluation failed (pid $pid); see eval.log" >> "$runs/study.log"; done

# 5. one RD CSV and the logs
python3 - "$runs" "$OUT" <<'PY' 2>&1 | tee -a "$runs/study.log"
import sys
from pathlib import Path

import pandas as pd

runs, out = Path(sys.argv[1]), Path(sys.argv[2])
parts = sorted(runs.glob("bmshj2018-hyperprior*-0.*/rd.csv")) + sorted(runs.glob("rd-anchors.csv"))
frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in parts]
if frames:
    pd.concat(frames, ignore_index=True).to_csv(out / "rd.csv", index=False)
print(f"rd.csv: {sum(len(f) for f in frames)} rows from {len(frames)} file(s)")
PY
echo "done in $(( $(date +%s) - start )) s" >> "$runs/study.log"
tar czf "$OUT/study-logs.tgz" -C "$WORK" runs/study.log $(cd "$WORK" && ls runs/*/log.csv runs/*/config.json \
  runs/*/train.log runs/*/eval.log runs/anchors.log 2>/dev/null)
ls -la "$OUT" "$OUT/weights" "$KEEP" 2>/dev/null
[[ -s "$OUT/rd.csv" ]]
