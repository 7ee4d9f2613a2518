#!/usr/bin/env python
"""Issue 11: what moves KE's SD -> SPD drop? KE on the pretrained backbone with one thing changed at a time.

Every variant is the `ke_backbone` unit of `ke_ad compare --preset cpu` (ke_ad.compare.unit_config: the same training
images, the same fingerprinted SD and shifted test sets, the same ranking, the same budget) with one setting changed:
    base            the compare's KE (k = 2, KE pairs, mean-shifted features, ImageNet BatchNorm statistics, kNN)
    random_pairs    2 positives and 2 negatives drawn at random from the pool instead of KE's (seeded per class)
    k1              K = 1: one positive and one negative
    skip_closest    positives = ranks 2..3 (the authors' code)
    train_bn        BatchNorm of the trained blocks in train mode (batch statistics)
    no_ke_negatives the KE negatives left out (batch negatives only)
    budget_x4       four times the training budget (images through the network)
and three scorers on the base's features: kNN (the compare's), OC-SVM on raw and on L2-normalised features.

Usage (repo root; resumable, one JSON per class and variant):
    OMP_NUM_THREADS=1 python bench/ke_ablations.py --compare runs/compare-cifar10-cpu > bench/results/ke_ablations/log.txt 2>&1
    python bench/ke_ablations.py --summarize
"""
import argparse, json, time
from dataclasses import replace
from pathlib import Path
import numpy as np
import torch

from ke_ad.augmentations import KE_POOL
from ke_ad.compare import CompareConfig, unit_config, unit_dir
from ke_ad.datasets import atomic_save
from ke_ad.evaluation import evaluate_protocols, make_shifted_test_set, shifting_list, OCSVMScorer
from ke_ad.knowledge import Pairs, TransformRanking
from ke_ad.experiment import detector_from_config, load_experiment_data, class_split, RunFolder, read_run_json

OUT = Path(__file__).resolve().parent / 'results' / 'ke_ablations'
VARIANTS = {'base': {}, 'random_pairs': {}, 'k1': dict(k=1), 'skip_closest': dict(skip_closest=True),
            'train_bn': dict(train_bn=True), 'no_ke_negatives': dict(ke_negatives=False), 'budget_x4': {}}
KEYS = ('sd_auroc', 'spd_auroc', 'ssa_auroc')


def random_pairs(cls, k=2, seed=0):
    "k positives and k negatives drawn at random from the pool, seeded by the class name."
    g = np.random.default_rng([seed, *cls.encode()])
    p = list(g.permutation(KE_POOL))
    return Pairs(p[:k], p[k:2 * k])


def run(args):
    torch.set_num_threads(1)
    cc = CompareConfig('cifar10', methods=('ke_backbone',), seeds=(args.seed,))
    data = None
    for cls in args.classes:
        cfg = unit_config(cc, 'ke_backbone', args.seed, cls).resolved()
        todo = [v for v in args.variants if not (OUT / f'{cls}__{v}.json').exists()]
        if not todo: continue
        data = data or load_experiment_data(cfg)
        split = class_split(cfg, *data, cls)
        shifted = make_shifted_test_set(split.test, KE_POOL, cfg.test_severity, cfg.seed)
        f = RunFolder(unit_dir(args.compare, "ke_backbone", args.seed, cls)).class_dir(cls) / 'ranking.json'
        if not f.exists(): raise SystemExit(f'{f} missing: run `ke_ad compare` for {cls} first (the variants share its ranking)')
        rk = read_run_json(f); rk.pop('stability', None); ranking = TransformRanking(**rk)
        shifting = shifting_list('cifar10', cls)
        for v in todo:
            det = detector_from_config(cfg)
            for name, value in VARIANTS[v].items(): setattr(det, name, value)
            if v == 'budget_x4': det.train = replace(det.train, budget_views=4 * det.train.budget_views)
            t0 = time.time()
            det.fit(split.train, ranking=None if v == 'random_pairs' else ranking,
                    pairs=random_pairs(cls, seed=args.seed) if v == 'random_pairs' else None)
            fit_s = time.time() - t0
            res = {'class': cls, 'variant': v, 'fit_seconds': round(fit_s, 1), 'positives': list(det.pairs_.positives),
                   'negatives': list(det.pairs_.negatives), 'params': det.get_params()}
            scorers = {'knn': None}
            if v == 'base': scorers.update(ocsvm_raw=OCSVMScorer(nu=cfg.nu, normalize=False), ocsvm_l2=OCSVMScorer(nu=cfg.nu, normalize=True))
            for sname, sc in scorers.items():
                if sc is None: fn = det.score_samples
                else:
                    sc.fit(det.train_features_.numpy()); fn = lambda im, sc=sc: sc.score(det.features(im).numpy())
                r = evaluate_protocols(fn, split, shifting, pool=KE_POOL, severity=cfg.test_severity, seed=cfg.seed, shifted=shifted)
                res[sname] = {k: r[k] for k in KEYS + ('sd_fingerprint', 'shifted_fingerprint')}
                print(f"{cls:>10} {v:>16} {sname:>9}: SD {100*r['sd_auroc']:.1f} SPD {100*r['spd_auroc']:.1f} SSA {100*r['ssa_auroc']:.1f} "
                      f"drop {100*(r['sd_auroc']-r['spd_auroc']):.1f} (fit {fit_s:.0f}s)", flush=True)
            atomic_save(res, OUT / f'{cls}__{v}.json', as_json=True)
    summarize(args)


def summarize(args):
    rows = [json.loads(f.read_text()) for f in sorted(OUT.glob('*__*.json'))]
    lines = ['| variant | scorer | classes | mean SD | mean SPD | mean SSA | mean drop | per class drop |', '|---|---|---|---|---|---|---|---|']
    table = {}
    for v in VARIANTS:
        for s in ('knn', 'ocsvm_raw', 'ocsvm_l2'):
            mine = [r for r in rows if r['variant'] == v and s in r]
            if not mine: continue
            m = {k: 100 * float(np.mean([r[s][k] for r in mine])) for k in KEYS}
            drops = {r['class']: round(100 * (r[s]['sd_auroc'] - r[s]['spd_auroc']), 1) for r in mine}
            table[f'{v}/{s}'] = {**m, 'drop': m['sd_auroc'] - m['spd_auroc'], 'per_class_drop': drops}
            lines.append(f"| {v} | {s} | {len(mine)} | {m['sd_auroc']:.1f} | {m['spd_auroc']:.1f} | {m['ssa_auroc']:.1f} | "
                         f"{m['sd_auroc'] - m['spd_auroc']:.1f} | {', '.join(f'{c} {d}' for c, d in drops.items())} |")
    atomic_save(table, OUT / 'summary.json', as_json=True)
    (OUT / 'summary.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--compare', default='runs/compare-cifar10-cpu', help='the comparison folder whose ke_backbone rankings are used')
    ap.add_argument('--classes', default='automobile,cat,ship', type=lambda s: s.split(','))
    ap.add_argument('--variants', default=','.join(VARIANTS), type=lambda s: s.split(','))
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--summarize', action='store_true')
    a = ap.parse_args()
    bad = [v for v in a.variants if v not in VARIANTS]
    if bad: ap.error(f'unknown variants {bad}; use {list(VARIANTS)}')
    summarize(a) if a.summarize else run(a)
