#!/usr/bin/env bash
# One GPU, at most 10 minutes: the GPU paths CI never runs, the training benchmark, one CIFAR-10 class at
# --preset paper with the offline encoder, and the 224 px ranking of one class. Everything goes to $OUT.
# Usage (repo root, on the GPU machine): OUT=/some/folder bash bench/device_check.sh
# CIFAR-10: the shared JPEG copy is found as ke_ad finds it (KE_AD_CIFAR10, ~/.cache/ke_ad, ../shared/data);
# without it the two CIFAR-10 steps are skipped and say so.
set -uo pipefail
OUT=${OUT:?set OUT to a folder}; mkdir -p "$OUT"
cd "$(dirname "$0")/.."
if [ ! -x .ci/.venv/bin/python ]; then
  python3 -m venv .ci/.venv && .ci/.venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1 && .ci/.venv/bin/pip install -q -e .
fi
PY=.ci/.venv/bin/python
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
step() { local name=$1; shift; local t0=$SECONDS; echo "== $name" | tee -a "$OUT/summary.txt"
         timeout "$LIMIT" "$@" > "$OUT/$name.txt" 2>&1; local rc=$?
         echo "   rc=$rc, $((SECONDS - t0)) s" | tee -a "$OUT/summary.txt"; tail -5 "$OUT/$name.txt"; }
LIMIT=120 step gpu_paths $PY bench/device_check.py --device cuda --out "$OUT/device_check.json"
LIMIT=150 step bench_training $PY bench/training.py --device cuda --precisions fp32 bf16 fp16 --widths 16 64 --images 1024
HAVE_C10=$($PY -c "from ke_ad.datasets import find_cifar10_folder; print(1 if find_cifar10_folder() else 0)")
if [ "$HAVE_C10" = 1 ]; then
  LIMIT=240 step paper_automobile $PY -m ke_ad.cli run --dataset cifar10 --preset paper --knowledge efficientnet-lite0 \
       --classes automobile --device cuda --out "$OUT/paper_automobile" --quiet
  LIMIT=60 step rank_224 $PY -c "
import time; from ke_ad.knowledge import load_encoder, rank_transforms; from ke_ad.datasets import find_cifar10_folder, load_image_folder
c = load_image_folder(find_cifar10_folder(), split='train'); t = time.time()
r = rank_transforms(c.of_class('automobile'), load_encoder('efficientnet-lite0'), n=500, device='cuda')
print(r); print(f'{time.time() - t:.1f} s for 11 x 500 encodings and 10 exact W1 at 224 px')"
else echo "no CIFAR-10 copy here: paper_automobile and rank_224 skipped" | tee -a "$OUT/summary.txt"; fi
