#!/usr/bin/env python
"""Issues 11/12: DN2, PANDA, MSAD and KE on one pretrained backbone (ke_ad.backbones), in one harness.

Every method uses the same ImageNet EfficientNet-Lite0 at 64 px with the stem and blocks 0..4 frozen
(ke_ad.backbones.CPU_PRESET), the same 1,000 training images per class and the same test subset
(200 test images per class, seed 0; the severity-5 shifted set built once per class), and each trained method
the same budget of 4,800 images through the network (ke_ad.backbones.cpu_settings). The KE pairs come from one
ranking per class (exact W1, 500 training images, the backbone's own ImageNet features at 64 px), shared by all
methods (only KE uses them). Scores: kNN (k = 2, sum of squared L2) on each method's L2-normalised features.
Metrics: true SD / SPD / SSA AUROC from ke_ad.evaluation.evaluate_protocols with shifting_list('cifar10', cls).
Reductions against the papers: ke_ad.backbones.CPU_REDUCTIONS.

Usage (repo root; resumable: finished (class, method) results are kept):
    OMP_NUM_THREADS=1 nohup python bench/peers.py > bench/results/peers/log.txt 2>&1 &
    python bench/peers.py --summarize
"""
import argparse, json, os, platform, time
from pathlib import Path
import numpy as np
import torch

import ke_ad
from ke_ad.datasets import find_cifar10_folder, load_image_folder, one_class_split, atomic_save
from ke_ad.augmentations import KE_POOL
from ke_ad.knowledge import load_encoder, rank_transforms, TransformRanking
from ke_ad.evaluation import evaluate_protocols, make_shifted_test_set, shifting_list
from ke_ad.backbones import backbone_detector, CPU_PRESET, CPU_REDUCTIONS

OUT = Path(__file__).resolve().parent / 'results' / 'peers'
METHODS = {'dn2': dict(method='dn2'), 'panda': dict(method='panda'), 'msad': dict(method='msad'),
           'ke_backbone': dict(method='ke_backbone'),
           'ke_backbone_noneg': dict(method='ke_backbone', ke_negatives=False)}   # the ablation: no KE negatives
KEYS = ('sd_auroc', 'spd_auroc', 'ssa_auroc')


def class_ranking(split, cls, n_rank, seed):
    f = OUT / f'{cls}__ranking.json'
    if f.exists():
        d = json.loads(f.read_text()); d.pop('seconds', None)
        return TransformRanking(**d)
    enc = load_encoder(f"efficientnet-lite0@{CPU_PRESET['image_size']}", device='cpu')
    t0 = time.time()
    r = rank_transforms(split.train, enc, n=min(n_rank, len(split.train)), seed=seed, device='cpu')
    d = {'transforms': list(r.transforms), 'distances': [float(x) for x in r.distances], 'method': r.method, 'n': r.n, 'encoder': r.encoder}
    atomic_save({**d, 'seconds': time.time() - t0}, f, as_json=True)
    return TransformRanking(**d)


def run(args):
    torch.set_num_threads(1)
    root = find_cifar10_folder()
    if root is None: raise SystemExit('CIFAR-10 not found (ke_ad.datasets.find_cifar10_folder)')
    train, test = load_image_folder(root, split='train'), load_image_folder(root, split='test')
    for cls in args.classes:
        split = one_class_split(train, test, cls, max_train=args.n_train, max_test_per_class=args.test_per_class, seed=args.seed)
        todo = [m for m in args.methods if not (OUT / f'{cls}__{m}.json').exists()]
        if not todo: continue
        shifted = make_shifted_test_set(split.test, KE_POOL, 5, args.seed)
        ranking = class_ranking(split, cls, CPU_PRESET['n_rank'], args.seed)
        shifting = shifting_list('cifar10', cls)
        for m in todo:
            det = backbone_detector(**METHODS[m], preset='cpu', seed=args.seed, device='cpu', budget_views=args.budget)
            t0 = time.time()
            det.fit(split.train, ranking=ranking)
            fit_s = time.time() - t0
            r = evaluate_protocols(det.score_samples, split, shifting, pool=KE_POOL, severity=5, seed=args.seed,
                                   shifted=shifted, threshold=det.threshold_)
            score_s = time.time() - t0 - fit_s
            h = det.history_
            out = {'class': cls, 'method': m, 'detector': repr(det), **{k: r[k] for k in KEYS},
                   'ssa_normal_only_auroc': r['ssa_normal_only_auroc'], 'sd_ovo_auroc': r['sd_ovo_auroc'],
                   'fit_seconds': round(fit_s, 1), 'score_seconds': round(score_s, 1),
                   'steps': h.get('steps', 0), 'views_per_step': h.get('views_per_step', 0),
                   'views': h.get('steps', 0) * h.get('views_per_step', 0),
                   'loss_first': h['loss'][0] if h.get('loss') else None, 'loss_last': h['loss'][-1] if h.get('loss') else None,
                   'positives': list(det.pairs_.positives), 'negatives': list(det.pairs_.negatives),
                   'shifting': list(shifting), 'n_train': len(split.train), 'n_test': r['n_test'],
                   'sd_fingerprint': r['sd_fingerprint'], 'shifted_fingerprint': r['shifted_fingerprint'],
                   'backbone': f"efficientnet-lite0@{det.image_size} (ImageNet, PyPI), freeze={det.freeze}",
                   'params': det.get_params(), 'precision': det.precision_, 'threads': torch.get_num_threads(),
                   'reductions': CPU_REDUCTIONS, 'ke_ad': ke_ad.__version__, 'torch': torch.__version__,
                   'machine': platform.processor() or platform.machine()}
            atomic_save(out, OUT / f'{cls}__{m}.json', as_json=True)
            print(f"{cls:>10} {m:>18}: SD {100*r['sd_auroc']:.1f} SPD {100*r['spd_auroc']:.1f} SSA {100*r['ssa_auroc']:.1f} "
                  f"(fit {fit_s:.0f}s, score {score_s:.0f}s, {out['views']} views)", flush=True)
    summarize(args)


def summarize(args):
    rows = [json.loads(f.read_text()) for f in sorted(OUT.glob('*__*.json')) if not f.name.endswith('ranking.json')]
    classes = [c for c in args.classes if any(r['class'] == c for r in rows)]
    methods = [m for m in METHODS if any(r['method'] == m for r in rows)]
    get = {(r['class'], r['method']): r for r in rows}
    lines = ['| method | ' + ' | '.join(f'{c} SD | {c} SPD | {c} SSA' for c in classes) + ' | mean SD | mean SPD | mean SSA | fit s (mean) | score s (mean) |',
             '|---' * (1 + 3 * len(classes) + 5) + '|']
    table = {}
    for m in methods:
        cells, means = [], {k: [] for k in KEYS}
        for c in classes:
            r = get.get((c, m))
            for k in KEYS:
                cells.append(f"{100*r[k]:.1f}" if r else '-')
                if r: means[k].append(100 * r[k])
        done = [get[(c, m)] for c in classes if (c, m) in get]
        mean = {k: float(np.mean(v)) if len(v) == len(classes) else None for k, v in means.items()}
        table[m] = {'mean': mean, 'fit_seconds': float(np.mean([r['fit_seconds'] for r in done])),
                    'score_seconds': float(np.mean([r['score_seconds'] for r in done])),
                    'per_class': {r['class']: {k: r[k] for k in KEYS} for r in done}}
        lines.append(f'| {m} | ' + ' | '.join(cells) + ' | ' + ' | '.join('-' if v is None else f'{v:.1f}' for v in mean.values())
                     + f" | {table[m]['fit_seconds']:.0f} | {table[m]['score_seconds']:.0f} |")
    text = '\n'.join(lines)
    atomic_save({'classes': classes, 'methods': table, 'reductions': CPU_REDUCTIONS}, OUT / 'summary.json', as_json=True)
    (OUT / 'summary.md').write_text(text + '\n\nAUROC (%), true (continuous scores). ' + CPU_REDUCTIONS + '\n')
    print(text)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--classes', default='automobile,cat,ship', type=lambda s: s.split(','))
    ap.add_argument('--methods', default=','.join(METHODS), type=lambda s: s.split(','))
    ap.add_argument('--n-train', type=int, default=1000); ap.add_argument('--test-per-class', type=int, default=200)
    ap.add_argument('--budget', type=int, default=CPU_PRESET['budget_views'], help='images through the network per trained method')
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--summarize', action='store_true')
    a = ap.parse_args()
    bad = [m for m in a.methods if m not in METHODS]
    if bad: ap.error(f'unknown methods {bad}; use {list(METHODS)}')
    summarize(a) if a.summarize else run(a)
