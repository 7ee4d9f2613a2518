#!/usr/bin/env python
"""The GPU paths that CPU-only CI never runs, run once on a device, each as a pass/FAIL line.

Checks (on --device, default cuda):
  1. precision: what 'auto' resolves to; bf16 and (on CUDA) fp16 training steps run, fp16 uses a GradScaler
     whose skipped steps are logged in the history;
  2. determinism: the same seed gives bit-identical weights twice (deterministic cuDNN, no TF32, set by train_ke);
  3. resume across devices: a CPU checkpoint (no scaler state) resumes on the device, and a device
     checkpoint resumes on the device bit for bit;
  4. the caller's flags come back: cuDNN / TF32 settings are restored after train_ke;
  5. encode on the device in 'auto' agrees with CPU float32 to cosine >= 0.99.
Writes a JSON summary to --out (default: $OUT/device_check.json when $OUT is set).
Usage: python bench/device_check.py [--device cuda] [--width 16] [--images 128]
"""
import argparse, json, os, sys, tempfile, time, warnings
from pathlib import Path
import torch, torch.nn.functional as F
from ke_ad.training import TrainConfig, train_ke
from ke_ad.knowledge import resolve_precision, pick_device, encode, load_encoder


def same(m1, m2): return all(torch.equal(a.cpu(), b.cpu()) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default='cuda'); ap.add_argument('--width', type=int, default=16)
    ap.add_argument('--images', type=int, default=128); ap.add_argument('--out', default=None)
    a = ap.parse_args()
    dev = pick_device(a.device)
    imgs = torch.randint(0, 256, (a.images, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    pos, neg = ['gaussian_blur', 'flip'], ['rot90', 'gaussian_noise']
    base = dict(epochs=2, width=a.width, batch_size=32, device=str(dev), lr=0.05)
    res, ok = {'device': str(dev), 'torch': torch.__version__, 'auto': resolve_precision('auto', dev).name}, True

    def check(name, fn):
        nonlocal ok
        t = time.time()
        try: detail = fn(); passed = True
        except Exception as e: detail, passed = f'{type(e).__name__}: {e}', False
        ok &= passed; res[name] = {'passed': passed, 'detail': detail, 'seconds': round(time.time() - t, 1)}
        print(f"{'pass' if passed else 'FAIL'}  {name}: {detail}", flush=True)

    precs = ['fp32', 'bf16'] + (['fp16'] if dev.type == 'cuda' else [])
    def precisions():
        out = {}
        for p in precs:
            _, h = train_ke(imgs, pos, neg, TrainConfig(**base, precision=p), progress=False)
            assert h['precision'] == p and all(map(lambda l: l == l, h['loss'])), h
            out[p] = {'img_s': round(h['images_per_second'][-1], 1), 'skipped_steps': h['skipped_steps']}
        return out
    check('precisions train', precisions)

    def determinism():
        m1, _ = train_ke(imgs, pos, neg, TrainConfig(**base), progress=False)
        m2, _ = train_ke(imgs, pos, neg, TrainConfig(**base), progress=False)
        assert same(m1, m2), 'same seed, different weights'
        return 'bit-identical'
    check('same seed, same weights', determinism)

    def flags_restored():
        b = torch.backends
        before = (b.cudnn.deterministic, b.cudnn.benchmark, b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32)
        train_ke(imgs, pos, neg, TrainConfig(**{**base, 'epochs': 1}), progress=False)
        after = (b.cudnn.deterministic, b.cudnn.benchmark, b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32)
        assert before == after, (before, after)
        return str(after)
    check('caller flags restored', flags_restored)

    def resume():
        with tempfile.TemporaryDirectory() as d:
            full, _ = train_ke(imgs, pos, neg, TrainConfig(**base), progress=False)
            train_ke(imgs, pos, neg, TrainConfig(**{**base, 'epochs': 1}), run_dir=Path(d) / 'a', progress=False)
            resumed, _ = train_ke(imgs, pos, neg, TrainConfig(**base), run_dir=Path(d) / 'a', resume=True, progress=False)
            assert same(full, resumed), 'resume on the device is not bit-identical'
            cpu = {**base, 'device': 'cpu', 'epochs': 1}
            train_ke(imgs, pos, neg, TrainConfig(**cpu), run_dir=Path(d) / 'b', progress=False)
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter('always')
                train_ke(imgs, pos, neg, TrainConfig(**base), run_dir=Path(d) / 'b', resume=True, progress=False)
            return f'device resume bit-identical; CPU->{dev.type} resumed with {len(w)} warning(s)'
    check('resume', resume)

    def encoder():
        enc = load_encoder('efficientnet-lite0')
        z_dev = encode(enc, imgs[:32], device=dev, precision='auto')
        z_cpu = encode(enc, imgs[:32], device='cpu', precision='fp32')
        cos = float(F.cosine_similarity(z_dev, z_cpu).min())
        assert cos >= 0.99, cos
        return f'min cosine to CPU fp32 {cos:.4f}'
    check('encode auto vs CPU fp32', encoder)

    out = a.out or (os.path.join(os.environ['OUT'], 'device_check.json') if os.environ.get('OUT') else None)
    if out: Path(out).write_text(json.dumps(res, indent=1))
    print('all passed' if ok else 'SOME FAILED'); sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
