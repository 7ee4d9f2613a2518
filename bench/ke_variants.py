#!/usr/bin/env python
"""Issue 16 part 2: what makes the KE network learn the class? A fixed-CPU-budget study of training variants.

Every variant trains the same CifarResNet18 (same width, same initial weights per class, same number of
optimizer steps, batch 64 anchors) on the same normal-class training images, then is scored on the same
fixed test subset (clean SD, severity-5 shifted SPD/SSA as ke_ad.evaluation builds them) with
  kNN  : KNNScorer(k=2, mean distance) on L2-normalised backbone features
  OCSVM: OCSVMScorer(sigmoid, gamma='auto', nu=0.2, normalize=True)
Features are always taken from the backbone (before any projection head). Each model is scored twice:
  bn=running : eval mode with the BatchNorm running statistics gathered during training (the usual way)
  bn=recal   : BatchNorm running statistics re-estimated on the clean training images (cumulative average)
               before scoring; a diagnostic for train/eval BatchNorm mismatch.

Two families of recipes:
  paper : the KE loss as specified (ke_ad.training.make_views / forward_views, ke_ad.losses.ke_loss): anchor =
          clean image, K positive views (KE positives), K negative views (KE negatives), severity 1.
  aug   : SimCLR-style instance discrimination. Two base-augmented views of each image (random resized crop
          scale (0.2, 1), horizontal flip, colour jitter p=0.8 (brightness/contrast/saturation x U(0.6, 1.4)),
          grayscale p=0.2; each view additionally gets one of the KE positives (chosen uniformly) with p=0.5).
          Optional KE negatives: for each of the K negative transforms, a fresh base-augmented view with that
          transform applied on top (severity 1). Loss: symmetric InfoNCE; for anchor view 1 of image i the
          positive is view 2 of i (and vice versa); the denominator holds the positive, i's own KE-negative
          views, and (batch_negatives) every feature of every other image in the batch (both views and their
          KE-negative views). With KE negatives and batch negatives this is exactly ke_ad.losses.ke_loss(
          anchor=v1, positives=v2[:, None], negatives=KE views, batch_negatives=True), averaged with the
          v1<->v2 swap (checked at start-up).

Usage (repo root, venv active; resumable: finished (class, variant) results are skipped):
    nohup python bench/ke_variants.py > bench/results/ke_variants/log.txt 2>&1 &
    python bench/ke_variants.py --summarize          # rebuild summary.csv / summary.md from the JSONs
Options: --classes automobile,cat,ship --variants random,simclr,... --steps 300 --width 16 --n-train 2000
         --test-per-class 300 --deadline-min 0 (stop starting new runs after this many minutes; 0 = none)
"""
import argparse, json, math, time, copy
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ke_ad.datasets import find_cifar10_folder, load_image_folder, one_class_split, atomic_save
from ke_ad.augmentations import apply_transform, to_float
from ke_ad.losses import ke_loss
from ke_ad.training import CifarResNet18, forward_views, make_views
from ke_ad.evaluation import OCSVMScorer, KNNScorer, evaluate_protocols, shifting_list, make_shifted_test_set

OUT = Path(__file__).resolve().parent / 'results' / 'ke_variants'

# KE pairs chosen for CIFAR-10 at 224 px with EfficientNet-Lite0, K = 2 (fixed, not re-ranked here)
KE_POS = ['gaussian_blur', 'jpeg_compression']
KE_NEG = {'airplane': ['gaussian_noise', 'rot270'], 'automobile': ['glass_blur', 'rot270'],
          'bird': ['gaussian_noise', 'glass_blur'], 'cat': ['gaussian_noise', 'glass_blur'],
          'deer': ['gaussian_noise', 'rot90'], 'dog': ['gaussian_noise', 'glass_blur'],
          'frog': ['gaussian_noise', 'glass_blur'], 'horse': ['rot90', 'rot270'],
          'ship': ['gaussian_noise', 'rot90'], 'truck': ['glass_blur', 'rot270']}

# variant -> recipe. Common defaults below; 'steps': 0 means no training (random init).
BASE = dict(recipe='aug', ke_neg=True, K=2, batch_negatives=True, head=True, joint_bn=True,
            cosine=True, lr=0.05, warmup=10, tau=0.2, momentum=0.9, weight_decay=5e-4)
VARIANTS = {
    'random':          dict(steps=0),
    # the paper's recipe (as the issue measured it), at this budget
    'paper':           dict(recipe='paper', batch_negatives=False, head=False, joint_bn=False, cosine=False,
                            lr=0.01, warmup=0),
    # SimCLR-style recipe without KE negatives (the "no KE negatives" baseline) and with them (candidate)
    'simclr':          dict(ke_neg=False),
    'simclr_ke':       dict(),
    # ablations of simclr_ke, one factor at a time
    'simclr_ke_nohead': dict(head=False),
    'simclr_ke_subbn':  dict(joint_bn=False),
    'ke_aug_nobatch':   dict(batch_negatives=False),            # KE negatives are the only negatives
    'paper_fixed':      dict(recipe='paper'),                   # paper views (no base aug) + batch negs, head, joint BN, cosine
    'simclr_ke_const':  dict(cosine=False),
    'simclr_ke_k1':     dict(K=1),
    # one-factor ablations of ke_aug_nobatch (the best variant of the first pass)
    'ke_aug_nobatch_k1':    dict(batch_negatives=False, K=1),
    'ke_aug_nobatch_const': dict(batch_negatives=False, cosine=False),
}
CORE = ['random', 'simclr', 'simclr_ke', 'paper']
ABLATIONS = ['simclr_ke_nohead', 'ke_aug_nobatch', 'simclr_ke_subbn', 'paper_fixed', 'simclr_ke_const', 'simclr_ke_k1']


def recipe_of(variant):
    return {**BASE, 'steps': None, **VARIANTS[variant]}


# ---------------------------------------------------------------- base augmentation (own implementation)
def _u(n, lo, hi, g): return lo + (hi - lo) * torch.rand(n, generator=g)

def base_augment(x, g):
    "SimCLR-style view of a float batch in [0, 1]: random resized crop + flip, colour jitter, grayscale."
    B, _, H, W = x.shape
    area = _u(B, 0.2, 1.0, g)
    log_r = _u(B, math.log(3 / 4), math.log(4 / 3), g)
    w = torch.sqrt(area * log_r.exp()).clamp(max=1.0)     # crop width / image width
    h = torch.sqrt(area / log_r.exp()).clamp(max=1.0)
    cx = (torch.rand(B, generator=g) * 2 - 1) * (1 - w)   # crop centre in [-1, 1] coordinates
    cy = (torch.rand(B, generator=g) * 2 - 1) * (1 - h)
    sign = torch.where(torch.rand(B, generator=g) < 0.5, -1.0, 1.0)   # horizontal flip
    theta = torch.zeros(B, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = w * sign, cx, h, cy
    grid = F.affine_grid(theta, (B, 3, H, W), align_corners=False)
    x = F.grid_sample(x, grid, mode='bilinear', padding_mode='reflection', align_corners=False)
    # colour jitter with p = 0.8: brightness, contrast, saturation factors in [0.6, 1.4]
    jit = (torch.rand(B, generator=g) < 0.8).float().view(B, 1, 1, 1)
    b, c, s = (_u(B, 0.6, 1.4, g).view(B, 1, 1, 1) for _ in range(3))
    gray = lambda t: (0.299 * t[:, 0:1] + 0.587 * t[:, 1:2] + 0.114 * t[:, 2:3])
    y = (x * b).clamp(0, 1)
    m = gray(y).mean((2, 3), keepdim=True)
    y = ((y - m) * c + m).clamp(0, 1)
    gy = gray(y)
    y = ((y - gy) * s + gy).clamp(0, 1)
    x = jit * y + (1 - jit) * x
    gs = (torch.rand(B, generator=g) < 0.2).float().view(B, 1, 1, 1)
    return gs * gray(x).expand_as(x) + (1 - gs) * x

def with_random_positive(x, names, g, p=0.5):
    "Each image gets one of the KE positive transforms (uniform choice) with probability p."
    B = x.shape[0]
    which = torch.randint(len(names), (B,), generator=g)
    use = torch.rand(B, generator=g) < p
    out = x.clone()
    for k, n in enumerate(names):
        sel = use & (which == k)
        if sel.any(): out[sel] = apply_transform(n, x[sel].contiguous(), 1, g)
    return out


# ---------------------------------------------------------------- loss (own; equals ke_loss where both apply)
def instance_loss(v1, v2, negs, tau, batch_negatives):
    "Symmetric InfoNCE. v1, v2: (B, D); negs: (B, K, D) or None. Float32."
    B = v1.shape[0]
    v1, v2 = F.normalize(v1.float(), dim=-1), F.normalize(v2.float(), dim=-1)
    negs = F.normalize(negs.float(), dim=-1) if negs is not None else v1.new_zeros(B, 0, v1.shape[1])
    feats = torch.cat([v1[:, None], v2[:, None], negs], 1)            # (B, 2+K, D), per image
    M = feats.shape[1]
    flat = feats.reshape(B * M, -1)
    owner = torch.arange(B).repeat_interleave(M)
    slot = torch.arange(M).repeat(B)
    total = 0.0
    for a, p in ((0, 1), (1, 0)):
        anc = feats[:, a]                                            # (B, D)
        sims = anc @ flat.T / tau                                    # (B, B*M)
        own = owner[None] == torch.arange(B)[:, None]
        keep = (own & (slot[None] >= 2)) | (own & (slot[None] == p))  # own positive and own KE negatives
        if batch_negatives: keep = keep | ~own
        logits = sims.masked_fill(~keep, float('-inf'))
        pos = (anc * feats[:, p]).sum(-1) / tau
        total = total + (torch.logsumexp(logits, 1) - pos).mean()
    return total / 2

def check_loss():
    g = torch.Generator().manual_seed(0)
    v1, v2, n = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g), torch.randn(8, 2, 16, generator=g)
    for bn in (True, False):
        ref = (ke_loss(v1, v2[:, None], n, 0.2, bn) + ke_loss(v2, v1[:, None], n, 0.2, bn)) / 2
        assert torch.allclose(ref, instance_loss(v1, v2, n, 0.2, bn), atol=1e-5), (bn, ref)


# ---------------------------------------------------------------- model
class Net(nn.Module):
    def __init__(self, width, head):
        super().__init__()
        self.backbone = CifarResNet18(width)
        d = self.backbone.feature_dim
        self.head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d)) if head else nn.Identity()
    def forward(self, x): return self.head(self.backbone(x))

CL = torch.channels_last

def fwd(model, groups, joint):
    "Embed a list of batches; one pass (joint BatchNorm) or one pass per group (per-sub-batch BatchNorm)."
    groups = [g.contiguous(memory_format=CL) for g in groups]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        if joint: return list(model(torch.cat(groups)).float().split([len(g) for g in groups]))
        return [model(g).float() for g in groups]


def train(split_train, negatives, r, width, steps, seed, log):
    torch.manual_seed(seed)
    model = Net(width, r['head']).to(memory_format=CL)
    if steps == 0: return model, []
    opt = torch.optim.SGD(model.parameters(), lr=r['lr'], momentum=r['momentum'], weight_decay=r['weight_decay'])
    order_g, view_g = torch.Generator().manual_seed(seed + 1), torch.Generator().manual_seed(seed + 2)
    negs = negatives[:r['K']]; poss = KE_POS[:r['K']]
    N, B, hist, perm, pos_in_perm = len(split_train), 64, [], None, 0
    model.train(); t0 = time.time(); run = 0.0
    for step in range(steps):
        if perm is None or pos_in_perm + B > N: perm, pos_in_perm = torch.randperm(N, generator=order_g), 0
        idx = perm[pos_in_perm:pos_in_perm + B]; pos_in_perm += B
        lr = r['lr'] * (min(1.0, (step + 1) / r['warmup']) if r['warmup'] else 1.0)
        if r['cosine']: lr *= 0.5 * (1 + math.cos(math.pi * step / steps))
        for pg in opt.param_groups: pg['lr'] = lr
        x = to_float(split_train[idx])
        if r['recipe'] == 'paper':
            pv, nv = make_views(x, poss, 1, view_g), make_views(x, negs, 1, view_g)
            with torch.autocast('cpu', dtype=torch.bfloat16):
                z, zp, zn = forward_views(model, x, pv, nv, r['joint_bn'], CL)
            loss = ke_loss(z.float(), zp.float(), zn.float(), r['tau'], r['batch_negatives'])
        else:
            v1 = with_random_positive(base_augment(x, view_g), KE_POS, view_g)
            v2 = with_random_positive(base_augment(x, view_g), KE_POS, view_g)
            groups = [v1, v2]
            if r['ke_neg']:
                groups.append(torch.cat([apply_transform(n, base_augment(x, view_g), 1, view_g) for n in negs]))
            out = fwd(model, groups, r['joint_bn'])
            zn = out[2].reshape(len(negs), B, -1).transpose(0, 1) if r['ke_neg'] else None
            loss = instance_loss(out[0], out[1], zn, r['tau'], r['batch_negatives'])
        if not math.isfinite(loss.item()): raise RuntimeError(f'non-finite loss at step {step}')
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        run += loss.item()
        if (step + 1) % 25 == 0:
            hist.append(dict(step=step + 1, loss=run / 25, seconds=round(time.time() - t0, 1))); run = 0.0
            log(f'    step {step + 1}/{steps} loss {hist[-1]["loss"]:.4f} {hist[-1]["seconds"]}s')
    return model, hist


@torch.no_grad()
def features(backbone, images, bs=500):
    backbone.eval()
    out = []
    for i in range(0, len(images), bs):
        x = to_float(images[i:i + bs]).contiguous(memory_format=CL)
        with torch.autocast('cpu', dtype=torch.bfloat16): out.append(backbone(x).float())
    return torch.cat(out)

@torch.no_grad()
def recalibrated(backbone, train_images, bs=64):
    "A copy whose BatchNorm running statistics are the cumulative average over clean training batches."
    m = copy.deepcopy(backbone)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d): mod.reset_running_stats(); mod.momentum = None
    m.train()
    for i in range(0, len(train_images) - bs + 1, bs):
        with torch.autocast('cpu', dtype=torch.bfloat16): m(to_float(train_images[i:i + bs]).contiguous(memory_format=CL))
    return m.eval()


KEYS = ['sd_auroc', 'spd_auroc', 'ssa_auroc', 'sd_ovo_auroc', 'spd_ovo_auroc', 'ssa_ovo_auroc', 'ssa_normal_only_auroc']

def evaluate(backbone, split, shifting, shifted):
    out = {}
    for bn in ('running', 'recal'):
        net = backbone if bn == 'running' else recalibrated(backbone, split.train)
        cache = {id(split.test): features(net, split.test), id(shifted.images): features(net, shifted.images)}
        ftr = features(net, split.train)
        knn = KNNScorer(k=2).fit(F.normalize(ftr, dim=1))
        svm = OCSVMScorer(normalize=True).fit(ftr)
        for name, fn in (('knn', lambda im: knn.score(F.normalize(cache[id(im)], dim=1))),
                         ('ocsvm', lambda im: svm.score(cache[id(im)]))):
            r = evaluate_protocols(fn, split, shifting, shifted=shifted)
            out[f'{name}_{bn}'] = {k: round(100 * float(r[k]), 2) for k in KEYS}
            out.setdefault('fingerprints', dict(sd=r['sd_fingerprint'], shifted=r['shifted_fingerprint'],
                                                ssa=r['ssa_fingerprint'], n_test=r['n_test'],
                                                n_normal_test=r['n_normal_test'],
                                                n_ssa_shifted_normals=r['n_ssa_shifted_normals']))
    return out


# ---------------------------------------------------------------- summary
def summarize(args):
    rows = []
    for f in sorted(OUT.glob('*__*.json')):
        d = json.loads(f.read_text())
        for m in ('knn_running', 'ocsvm_running', 'knn_recal', 'ocsvm_recal'):
            e = d['metrics'][m]
            rows.append(dict(cls=d['class'], variant=d['variant'], scorer=m, sd=e['sd_auroc'], spd=e['spd_auroc'],
                             ssa=e['ssa_auroc'], train_s=d['train_seconds'], total_s=d['total_seconds'],
                             final_loss=d['history'][-1]['loss'] if d['history'] else None))
    if not rows: return
    import csv
    with open(OUT / 'summary.csv', 'w', newline='') as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
    order = [v for v in VARIANTS]
    classes = sorted({r['cls'] for r in rows}, key=lambda c: list(KE_NEG).index(c))
    lines = []
    for scorer_bn in ('running', 'recal'):
        lines.append(f'\n### BatchNorm: {scorer_bn}  (true AUROC %, kNN SD/SPD/SSA | OC-SVM SD/SPD/SSA)\n')
        lines.append('| variant | ' + ' | '.join(classes) + ' | mean (classes present) |')
        lines.append('|---' * (len(classes) + 2) + '|')
        for v in order:
            cells, acc = [], []
            for c in classes:
                k = [r for r in rows if r['cls'] == c and r['variant'] == v and r['scorer'] == f'knn_{scorer_bn}']
                o = [r for r in rows if r['cls'] == c and r['variant'] == v and r['scorer'] == f'ocsvm_{scorer_bn}']
                if not k: cells.append('-'); continue
                k, o = k[0], o[0]
                vals = [k['sd'], k['spd'], k['ssa'], o['sd'], o['spd'], o['ssa']]; acc.append(vals)
                cells.append('{:.1f}/{:.1f}/{:.1f} \\| {:.1f}/{:.1f}/{:.1f}'.format(*vals))
            if not acc: continue
            mean = np.mean(acc, 0)
            cells.append(('{:.1f}/{:.1f}/{:.1f} \\| {:.1f}/{:.1f}/{:.1f}'.format(*mean)) + f' (n={len(acc)})')
            lines.append(f'| {v} | ' + ' | '.join(cells) + ' |')
    (OUT / 'summary.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


def main():
    global OUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--classes', default='automobile,cat,ship')
    ap.add_argument('--variants', default='', help='comma list; default: core variants for all classes, '
                                                   'then ablations class by class')
    ap.add_argument('--steps', type=int, default=300)
    ap.add_argument('--width', type=int, default=16)
    ap.add_argument('--n-train', type=int, default=2000)
    ap.add_argument('--test-per-class', type=int, default=300)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--deadline-min', type=float, default=0)
    ap.add_argument('--summarize', action='store_true')
    ap.add_argument('--out', default=str(OUT), help='results folder')
    args = ap.parse_args()
    OUT = Path(args.out)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.summarize: summarize(args); return
    torch.set_num_threads(args.threads)
    check_loss()
    t_start = time.time()
    log = lambda s: print(f'[{time.strftime("%H:%M:%S")}] {s}', flush=True)
    classes = args.classes.split(',')
    if args.variants: queue = [(c, v) for c in classes for v in args.variants.split(',')]
    else: queue = [(c, v) for c in classes for v in CORE] + [(c, v) for c in classes for v in ABLATIONS]
    root = find_cifar10_folder()
    while root is None: log('waiting for CIFAR-10 ...'); time.sleep(30); root = find_cifar10_folder()
    tr, te = load_image_folder(root, split='train'), load_image_folder(root, split='test')
    shifted_cache = {}
    for cls, variant in queue:
        path = OUT / f'{cls}__{variant}.json'
        if path.exists(): continue
        if args.deadline_min and time.time() - t_start > 60 * args.deadline_min:
            log(f'deadline reached; not starting {cls}/{variant}'); break
        r = recipe_of(variant); steps = args.steps if r['steps'] is None else r['steps']
        split = one_class_split(tr, te, cls, max_train=args.n_train, max_test_per_class=args.test_per_class, seed=args.seed)
        key = (split.test.shape, int(split.test[:, :, :4, :4].sum()))
        if key not in shifted_cache: shifted_cache = {key: make_shifted_test_set(split.test, seed=args.seed)}
        shifted = shifted_cache[key]
        shifting = shifting_list('cifar10', cls)
        log(f'{cls}/{variant}: {r} steps={steps}')
        t0 = time.time()
        model, hist = train(split.train, KE_NEG[cls], r, args.width, steps, args.seed, log)
        t_train = time.time() - t0
        metrics = evaluate(model.backbone, split, list(shifting), shifted)
        res = dict(**{'class': cls}, variant=variant, recipe=r, steps=steps, width=args.width, batch=64,
                   n_train=len(split.train), test_per_class=args.test_per_class, seed=args.seed,
                   positives=KE_POS[:r['K']], negatives=KE_NEG[cls][:r['K']] if r.get('ke_neg', True) else [],
                   shifting=list(shifting), threads=args.threads, history=hist,
                   train_seconds=round(t_train, 1), total_seconds=round(time.time() - t0, 1), metrics=metrics)
        atomic_save(res, path, as_json=True)
        m = metrics
        log(f'  done {cls}/{variant} in {res["total_seconds"]}s (train {res["train_seconds"]}s): '
            + '  '.join(f'{k} SD/SPD/SSA {m[k]["sd_auroc"]:.1f}/{m[k]["spd_auroc"]:.1f}/{m[k]["ssa_auroc"]:.1f}'
                        for k in ('knn_running', 'ocsvm_running', 'knn_recal', 'ocsvm_recal')))
        summarize(args)
    log('all done')


if __name__ == '__main__':
    main()
