#!/usr/bin/env python
"""Benchmarks of KE training: float32 against the precision `auto` picks, and the cost of on-the-fly views.

Default (precision comparison): for each width, `train_ke` itself (so exactly what users run: views,
forward, loss, backward, update, in the resolved precision and memory layout) trains on random images,
once per precision, interleaved over `--repeats` rounds so load changes hit all alike; prints the
median training images/s of each and the ratio to float32.
    python bench/training.py                        # widths 16 and 64, fp32 vs auto
    python bench/training.py --precisions fp32 bf16 --widths 64 --device cuda

With --overhead: the views benchmark below, in the precision given by --precision.

Times, side by side in one run and on the same network,
  full step : uint8 batch -> float -> K positive + K negative views (ke_ad.augmentations, on the device)
              -> forward (anchors, positives, negatives as separate sub-batches) -> ke_loss -> backward -> SGD step
  bare step : the same forward/loss/backward/step on ready-made float tensors of the same shapes
  views     : only the view generation of a step
and prints training images (anchors) per second, the overhead ratio full/bare and the share of the
step spent making views. Also prints each pool transform's cost on one batch and the step's FLOPs,
so the cost of any other pair of transforms, or of a faster device, can be worked out.

Usage (from the repo root, venv active):
    python bench/training.py --overhead                      # paper network (width 64), batch 64, K=2, CPU
    python bench/training.py --overhead --width 16 --steps 5 --device cuda
Options: --positives flip,random_crop --negatives gaussian_noise,glass_blur --threads N --repeats R
"""
import argparse, statistics, time
import torch
from torch.utils.flop_counter import FlopCounterMode
from ke_ad.augmentations import KE_POOL, apply_transform, to_float
from ke_ad.losses import ke_loss
from ke_ad.training import CifarResNet18, forward_views, make_views, pick_device, train_ke, TrainConfig
from ke_ad.knowledge import resolve_precision


def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize(device)
    elif device.type == 'mps': torch.mps.synchronize()


def timed(fn, device):
    sync(device); t0 = time.perf_counter(); fn(); sync(device)
    return time.perf_counter() - t0


def compare_precisions(a):
    "Median training images/s of train_ke per (width, precision), interleaved; ratios against fp32."
    device = pick_device(a.device)
    names = {p: resolve_precision(p, device).name for p in a.precisions}
    g = torch.Generator().manual_seed(a.seed)
    images = torch.randint(0, 256, (a.images, 3, 32, 32), dtype=torch.uint8, generator=g)
    print(f"device {device} ({torch.get_num_threads()} threads), {a.images} images, batch {a.batch}, K=2; "
          f"precisions {', '.join(f'{p} -> {n}' for p, n in names.items())}; median of {a.repeats} rounds (2nd epoch of each)")
    for width in a.widths:
        speed = {p: [] for p in a.precisions}
        for _ in range(a.repeats):
            for p in a.precisions:
                cfg = TrainConfig(epochs=2, width=width, batch_size=a.batch, precision=p, device=str(device), seed=a.seed)
                _, h = train_ke(images, a.positives.split(','), a.negatives.split(','), cfg, progress=False)
                speed[p].append(h['images_per_second'][1])
        med = {p: statistics.median(v) for p, v in speed.items()}
        base = med.get('fp32', next(iter(med.values())))
        print(f"width {width:3d}: " + '   '.join(f"{p} ({names[p]}) {v:7.1f} img/s x{v / base:4.2f}" for p, v in med.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--overhead', action='store_true', help='run the views-overhead benchmark instead')
    ap.add_argument('--widths', type=int, nargs='*', default=[16, 64])
    ap.add_argument('--precisions', nargs='*', default=['fp32', 'auto'])
    ap.add_argument('--precision', default='auto', help='--overhead: the precision to time in')
    ap.add_argument('--images', type=int, default=256, help='training images per epoch (precision comparison)')
    ap.add_argument('--repeats', type=int, default=2)
    ap.add_argument('--width', type=int, default=64)
    ap.add_argument('--batch', type=int, default=64, help='anchors per step')
    ap.add_argument('--steps', type=int, default=4, help='timed steps of each kind (after one warm-up each)')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--positives', default='flip,random_crop')
    ap.add_argument('--negatives', default='gaussian_noise,glass_blur')
    ap.add_argument('--threads', type=int, default=0, help='torch.set_num_threads (0: leave as is)')
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    if not a.overhead: return compare_precisions(a)
    device = pick_device(a.device)
    prec = resolve_precision(a.precision, device)
    pos_t, neg_t = a.positives.split(','), a.negatives.split(',')
    g = torch.Generator().manual_seed(a.seed)
    images = torch.randint(0, 256, (4 * a.batch, 3, 32, 32), dtype=torch.uint8, generator=g).to(device)
    view_gen = torch.Generator(device=device).manual_seed(a.seed)
    model = CifarResNet18(a.width).to(device, memory_format=prec.memory_format).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def update(x, pos, neg):
        with prec.autocast(): z, zp, zn = forward_views(model, x, pos, neg, memory_format=prec.memory_format)
        loss = ke_loss(z, zp, zn)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

    def full_step(i):
        x = to_float(images[(i * a.batch) % len(images):][:a.batch])
        update(x, make_views(x, pos_t, 1, view_gen), make_views(x, neg_t, 1, view_gen))

    ready_x = to_float(images[:a.batch])
    ready_pos, ready_neg = make_views(ready_x, pos_t, 1, view_gen), make_views(ready_x, neg_t, 1, view_gen)
    bare_step = lambda: update(ready_x, ready_pos, ready_neg)
    views_only = lambda: (make_views(ready_x, pos_t, 1, view_gen), make_views(ready_x, neg_t, 1, view_gen))

    with FlopCounterMode(display=False) as fc: bare_step()
    full_step(0); views_only()                                     # warm-up
    t_full, t_bare, t_views = [], [], []
    for i in range(a.steps):                                       # interleaved, so load changes hit all alike
        t_full.append(timed(lambda: full_step(i + 1), device))
        t_bare.append(timed(bare_step, device))
        t_views.append(timed(views_only, device))
    full, bare, views = (statistics.median(t) for t in (t_full, t_bare, t_views))
    per_t = {}
    for name in KE_POOL:
        apply_transform(name, ready_x, 1, view_gen)
        per_t[name] = statistics.median(timed(lambda: apply_transform(name, ready_x, 1, view_gen), device) for _ in range(3))

    n_img = a.batch * (1 + len(pos_t) + len(neg_t))
    print(f"device {device} ({torch.get_num_threads()} threads), precision {prec.name}, width {a.width} ({sum(p.numel() for p in model.parameters()):,} params), "
          f"{a.batch} anchors + {len(pos_t)}+{len(neg_t)} views = {n_img} images a step; positives {pos_t}, negatives {neg_t}")
    print(f"step FLOPs (forward+backward): {fc.get_total_flops() / 1e9:.1f} GFLOP; median of {a.steps} steps:")
    print(f"  full step (views+forward+backward+update): {full * 1e3:8.1f} ms  {a.batch / full:8.1f} training images/s")
    print(f"  bare step (ready-made tensors)           : {bare * 1e3:8.1f} ms  {a.batch / bare:8.1f} training images/s")
    print(f"  views only                               : {views * 1e3:8.1f} ms")
    print(f"overhead ratio full/bare = {full / bare:.3f}; views = {views / full:.1%} of the full step "
          f"((full-bare)/full = {(full - bare) / full:.1%}); target < 10% on CPU")
    print('per-transform cost on one batch of', a.batch, 'images (ms):',
          ', '.join(f"{k} {v * 1e3:.1f}" for k, v in sorted(per_t.items(), key=lambda kv: -kv[1])))


if __name__ == '__main__':
    main()
