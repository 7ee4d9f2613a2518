#!/usr/bin/env python
"""KE recipes through the library, at one fixed CPU budget: does the KE network learn the class?

For each CIFAR-10 class and recipe, `ke_ad.training.train_ke` trains a CifarResNet18 from scratch on the
same normal-class images with the class's KE pairs, and `ke_ad.evaluation.evaluate_protocols` scores SD,
SPD and SSA (true AUROC) on the same test subset, with two scorers on L2-normalised features: kNN (k=2,
mean distance) and the one-class SVM (sigmoid, gamma 'auto', nu 0.2). Recipes:
  random            : the initial network, no training
  paper             : TrainConfig(recipe='paper'), the published loss and views
  contrastive       : TrainConfig(recipe='contrastive'), KE-contrastive (ke_ad's default): the KE negatives
                      are each image's only negatives
  contrastive_batch : the same with the other images of the batch as negatives too (batch_negatives=True)
  contrastive_noneg : batch negatives and no KE negatives (negatives=[]): the same network and views
                      without KE's knowledge, the ablation that shows what the KE negatives add
Each (class, recipe) result is written to bench/results/ke_recipes/<class>__<recipe>.json; a rerun skips
finished ones. Budget (defaults): 2,000 training images, width 16, batch 64, 10 epochs, 300 test images
per class, severity-5 shifted test set, seed 0, one CPU thread, the library's precision 'auto'.
Usage: python bench/ke_recipes.py [--classes automobile,cat,ship] [--epochs 10] [--width 16] [--threads 1]
"""
import argparse, time
from pathlib import Path
import torch, torch.nn.functional as F
from ke_ad.datasets import find_cifar10_folder, load_image_folder, one_class_split, atomic_save
from ke_ad.training import TrainConfig, train_ke, extract_features, CifarResNet18
from ke_ad.evaluation import OCSVMScorer, KNNScorer, evaluate_protocols, shifting_list, make_shifted_test_set
from ke_ad.augmentations import KE_POOL

OUT = Path(__file__).resolve().parent / 'results' / 'ke_recipes'
# The pairs ke_ad chose for CIFAR-10 (EfficientNet-Lite0 at 224 px, 500 images per class, K = 2, float32; the bf16 table in 12_knowledge_evidence has rot90 for automobile)
POSITIVES = ['gaussian_blur', 'jpeg_compression']
NEGATIVES = {'airplane': ['gaussian_noise', 'rot270'], 'automobile': ['glass_blur', 'rot270'], 'bird': ['gaussian_noise', 'glass_blur'],
             'cat': ['gaussian_noise', 'glass_blur'], 'deer': ['gaussian_noise', 'rot90'], 'dog': ['gaussian_noise', 'glass_blur'],
             'frog': ['gaussian_noise', 'glass_blur'], 'horse': ['rot90', 'rot270'], 'ship': ['gaussian_noise', 'rot90'],
             'truck': ['glass_blur', 'rot270']}
RECIPES = ['random', 'paper', 'contrastive', 'contrastive_batch', 'contrastive_noneg']


def score(model, split, shifting, shifted):
    train = F.normalize(extract_features(model, split.train), dim=1)
    out = {}
    for name, scorer in (('knn', KNNScorer(k=2)), ('ocsvm', OCSVMScorer(normalize=True))):
        scorer.fit(train.numpy())
        fn = lambda im: scorer.score(F.normalize(extract_features(model, im), dim=1).numpy())
        m = evaluate_protocols(fn, split, shifting, pool=KE_POOL, severity=5, seed=0, shifted=shifted)
        out[name] = {k: m[k] for k in ('sd_auroc', 'spd_auroc', 'ssa_auroc')}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--classes', default='automobile,cat,ship'); ap.add_argument('--recipes', default=','.join(RECIPES))
    ap.add_argument('--epochs', type=int, default=10); ap.add_argument('--width', type=int, default=16)
    ap.add_argument('--n_train', type=int, default=2000); ap.add_argument('--n_test', type=int, default=300)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads); OUT.mkdir(parents=True, exist_ok=True)
    root = find_cifar10_folder()
    if root is None: raise SystemExit('no CIFAR-10 copy found (set KE_AD_CIFAR10 or put shared/data/cifar10.tar.gz beside the repo)')
    train, test = load_image_folder(root, split='train'), load_image_folder(root, split='test')
    for cls in a.classes.split(','):
        split = one_class_split(train, test, cls, max_train=a.n_train, max_test_per_class=a.n_test, seed=0)
        shifting = shifting_list('cifar10', cls)
        shifted = make_shifted_test_set(split.test, KE_POOL, 5, 0)
        for recipe in a.recipes.split(','):
            f = OUT / f'{cls}__{recipe}.json'
            if f.exists(): continue
            t0 = time.time()
            cfg = TrainConfig(recipe='paper' if recipe == 'paper' else 'contrastive', epochs=a.epochs, width=a.width,
                              batch_size=64, device='cpu', seed=0, **({'batch_negatives': True} if recipe in ('contrastive_batch', 'contrastive_noneg') else {}))
            negs = [] if recipe == 'contrastive_noneg' else NEGATIVES[cls]
            if recipe == 'random':
                with torch.random.fork_rng(): torch.manual_seed(0); model, hist = CifarResNet18(a.width).eval(), {}
            else: model, hist = train_ke(split.train, POSITIVES, negs, cfg, progress=False)
            res = dict(cls=cls, recipe=recipe, positives=POSITIVES, negatives=negs, config=cfg.to_dict(),
                       n_train=len(split.train), n_test=len(split.test), train_seconds=round(time.time() - t0, 1),
                       loss=hist.get('loss'), precision=hist.get('precision'), threads=a.threads,
                       **score(model, split, shifting, shifted))
            atomic_save(res, f, as_json=True)
            print(cls, recipe, {k: {m: round(100 * v, 1) for m, v in res[k].items()} for k in ('knn', 'ocsvm')},
                  f"{res['train_seconds']} s", flush=True)


if __name__ == '__main__':
    main()
