#!/bin/bash
# Issue 13: one home per concept. Counts the definitions that used to be duplicated, and the size of every
# module's __all__. Run from the repository root with the ke_ad environment active: bash bench/structure_audit.sh
cd "${1:-.}"
c() { printf '%-58s %s\n' "$1" "$(grep -E -c -h "$2" ke_ad/*.py | awk "{s+=\$1} END {print s}")"; }
echo "== definitions in ke_ad/*.py (former duplicates)"
c "hash helpers: def fingerprint|_fingerprint|_weights_fingerprint|data_fingerprint" '^def (fingerprint|_fingerprint|_weights_fingerprint|data_fingerprint)\('
c "device choosers: def pick_device|default_device" '^def (pick_device|default_device)\('
c "image checks: def check_images / def _check_images" '^def _?check_images\('
c "def hsv_to_rgb" '^def hsv_to_rgb\('
c "seed derivations: def derived_seed|view_seed|seeded_generator|_synthetic_generator" '^def (derived_seed|view_seed|seeded_generator|_synthetic_generator)\('
c "class lookups: def class_index" '^def class_index\('
c "seeded samplers: def sample_indices|_sample" '^def (sample_indices|_sample)\('
c "DATASETS = " '^DATASETS ='
c "N_PROBES = " '^N_PROBES ='
c "detector file errors: class *FileError" '^class \w*FileError'
c "saved-detector readers: def read_saved_detector|_read_saved|_read_detector_json" '^def (read_saved_detector|_read_saved|_read_detector_json)\('
c "run-folder error classes: class *RunFolder*Error" '^class \w*RunFolder\w*Error'
c "views: def contrastive_view|moco_views|random_resized_crop|jitter_colours" '^def (contrastive_view|moco_views|random_resized_crop|jitter_colours)\('
c "kNN: def knn_distances" '^def knn_distances\('
c "'results.csv' literals" "'results\.csv'"
c "'ke_ranking.csv' literals" "'ke_ranking\.csv'"
c "'config.json' literals" "'config\.json'"
c "assignments Class.method = function (not @patch)" '^[A-Z]\w+\.\w+ = (classmethod\()?_\w+'
echo "== __all__ sizes"
python - <<'PY'
import importlib, pkgutil, ke_ad
tot = 0
for m in sorted(x.name for x in pkgutil.iter_modules(ke_ad.__path__) if not x.name.startswith('_')):
    n = len(importlib.import_module('ke_ad.' + m).__all__); tot += n; print(f'{m:14s}{n:4d}')
print(f"{'total':14s}{tot:4d}")
PY
echo "== exporti cells"; grep -l '"#| exporti' nbs/*.ipynb | wc -l
