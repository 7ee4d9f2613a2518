#!/bin/bash
# Issue 11: the CIFAR-10 comparison of KE and its peers at the `cpu` preset (ke_ad.compare), as kept in
# bench/results/compare-cifar10-cpu and read by nbs/13_peer_comparison.ipynb.
#   bash bench/compare_cifar10.sh            # run (resumes), then copy the small files into bench/results
# Two one-thread workers on 2 cores; seed 0 on all 10 classes, then seed 1 on three of them.
set -e
OUT=${OUT:-runs/compare-cifar10-cpu}
export OMP_NUM_THREADS=1
ke_ad compare --dataset cifar10 --seeds 0 --workers 2 --out "$OUT"
ke_ad compare --dataset cifar10 --seeds 1 --classes automobile,cat,ship --workers 2 --out "$OUT"
python bench/ke_ablations.py --compare "$OUT" --variants base,random_pairs,k1,skip_closest,train_bn,budget_x4 > bench/results/ke_ablations/log.txt 2>&1
# keep what the results notebook reads: configs, results, rankings, detector.json (no weights), the tables
KEEP=bench/results/compare-cifar10-cpu
rm -rf "$KEEP" && mkdir -p "$KEEP"
(cd "$OUT" && find . \( -name '*.json' -o -name '*.csv' -o -name '*.txt' -o -name '*.png' \) ! -name '.ke_ad.lock' \
   ! -path '*/figures/*' -print0 | xargs -0 -I{} cp --parents {} "$OLDPWD/$KEEP/")
cp -r "$OUT/figures" "$KEEP/"
# CSI's score weights per class (in weights.pt, which is not kept): w_shi < 0 turns its rotation term around
python - "$OUT" "$KEEP" <<'PY'
import json, sys, torch
from pathlib import Path
out, keep = Path(sys.argv[1]), Path(sys.argv[2])
w = {f'{d.parent.name}/{d.name}': {k: torch.load(d/'classes'/d.name/'detector'/'weights.pt', weights_only=True)[f'stats.{k}'].tolist()
                                    for k in ('w_sim', 'w_shi')} for d in sorted((out/'csi').glob('seed*/*'))}
(keep/'csi_score_weights.json').write_text(json.dumps(w, indent=1))
PY
# the budget on a quiet machine (13_peer_comparison reads its compare.json): two more classes, the same preset
#   ke_ad compare --dataset cifar10 --seeds 2 --classes frog,truck --workers 2 --out runs/budget
#   then keep runs/budget's compare.json, config.json and result.json files in bench/results/compare-cifar10-timing
