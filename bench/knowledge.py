"""Benchmark of KE ranking cost per class (ke_ad.knowledge), and a GPU extrapolation from FLOP counts.

Measures, in one run on this machine's CPU:
  1. encoder throughput (images/s) of EfficientNet-Lite0 at 112 and 224 px (the offline encoder) on 32 px
     inputs, as published (BatchNorm separate) and with BatchNorm folded into the convolutions (the default), each in
     float32 and in the precision 'auto' resolves to (bf16 + channels_last on a CPU with native bf16),
     interleaved so that load changes hit all alike, with the ratios to the published network in float32;
  2. the time of one distance, exact W1 (assignment) and sliced Wasserstein, at several sample sizes n,
     on random 1280-d embeddings (the cost does not depend on the values);
  3. FLOPs per image of EfficientNet-Lite0 and CLIP ViT-L-14 (random weights; FLOPs do not depend on them),
     counted with torch.utils.flop_counter.FlopCounterMode;
then prints the ranking cost per class (1 clean + 10 transformed encodings of n images, 10 distances)
and extrapolates a full-size class (5,000 images, ViT-L-14 at 224 px) on a GPU.

Usage: python bench/knowledge.py [--ns 100 500 1000 2000] [--exact_max 2000] [--n_encode 64] [--gpu_tflops 100 25]
       python bench/knowledge.py --encoders_only       # just part 1
"""
import argparse, time
import numpy as np, torch
from torch.utils.flop_counter import FlopCounterMode
from ke_ad.knowledge import EfficientNetLite0Encoder, ClipEncoder, wasserstein1, sliced_wasserstein, encode, resolve_precision


def best_of(fn, repeat=3):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return min(ts)


def flops_per_image(module, size):
    x = torch.rand(1, 3, 32, 32)                      # a 32 px image: the encoder resizes it to `size`
    # grad mode ON on purpose: under no_grad, nn.MultiheadAttention takes a fused fast path
    # (torch._native_multi_head_attention) that FlopCounterMode does not count, which would drop all attention FLOPs
    with FlopCounterMode(display=False) as fc: module(x)
    return fc.get_total_flops()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ns', type=int, nargs='*', default=[100, 500, 1000, 2000])
    ap.add_argument('--exact_max', type=int, default=2000, help='largest n to run exact W1 at (O(n^3))')
    ap.add_argument('--n_encode', type=int, default=64, help='images to time the CPU encoder on')
    ap.add_argument('--gpu_tflops', type=float, nargs='*', default=[100., 25.],
                    help='assumed sustained fp16 throughputs of GPUs in TFLOP/s: ~100 for an A100 (1/3 of its 312 peak), '
                         '~25 for the paper RTX 3090 (1/3 of its 71 dense fp16 tensor peak)')
    ap.add_argument('--encoders_only', action='store_true', help='only the encoder throughput comparison')
    ap.add_argument('--repeats', type=int, default=3, help='interleaved rounds of the encoder comparison')
    a = ap.parse_args()
    auto = resolve_precision('auto', 'cpu').name
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; precision auto -> {auto} on this CPU')

    imgs = torch.randint(0, 256, (a.n_encode, 3, 32, 32), dtype=torch.uint8)
    per_image = {}
    for size in (112, 224):
        encs = {'published': EfficientNetLite0Encoder(image_size=size, fold_bn=False), 'folded': EfficientNetLite0Encoder(image_size=size)}
        runs = {(e, p): [] for e in encs for p in ('fp32', 'auto')}
        for e, p in runs: encode(encs[e], imgs[:8], device='cpu', precision=p)      # warm-up (and layout change)
        for _ in range(a.repeats):
            for e, p in runs: runs[e, p].append(best_of(lambda: encode(encs[e], imgs, batch_size=64, device='cpu', precision=p), 1) / a.n_encode)
        t = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
        per_image[size] = t
        base = t['published', 'fp32']
        print(f'EfficientNet-Lite0 @{size} on CPU, img/s (x ratio to the published network in fp32): ' +
              ', '.join(f'{e} {p if p == "fp32" else "auto=" + auto} {1 / v:.1f} (x{base / v:.2f})' for (e, p), v in t.items()))
    if a.encoders_only: return
    t_enc = per_image[224]['folded', 'auto']     # what encode() does by default
    eff = EfficientNetLite0Encoder()

    rng = np.random.default_rng(0)
    print(f"\n{'n':>6} {'exact W1 s':>11} {'sliced s':>9} {'speed-up':>9} | per class (11 encodings + 10 distances), CPU:"
          f" {'encode s':>9} {'+exact s':>9} {'+sliced s':>9}")
    dist_times = {}
    for n in a.ns:
        P, Q = torch.randn(n, 1280), torch.randn(n, 1280)
        t_ex = best_of(lambda: wasserstein1(P, Q), 1 if n > 1000 else 3) if n <= a.exact_max else float('nan')
        t_sw = best_of(lambda: sliced_wasserstein(P, Q), 3)
        dist_times[n] = (t_ex, t_sw)
        enc = 11 * n * t_enc
        print(f'{n:6d} {t_ex:11.3f} {t_sw:9.4f} {t_ex / t_sw:9.1f} | {"":>45} {enc:9.0f} {10 * t_ex:9.1f} {10 * t_sw:9.2f}')

    # exact W1 at 5,000 by an n^3 extrapolation from the largest measured n
    n0 = max(n for n in a.ns if n <= a.exact_max)
    t5000_exact = dist_times[n0][0] * (5000 / n0) ** 3

    f_eff = flops_per_image(eff, 224)
    t = time.time(); vit = ClipEncoder('ViT-L-14', pretrained=None); t_build = time.time() - t
    f_vit = flops_per_image(vit, 224)
    print(f'\nFLOPs per image (FlopCounterMode, 1 image): EfficientNet-Lite0@224 {f_eff / 1e9:.2f} GFLOP, '
          f'CLIP ViT-L-14@224 {f_vit / 1e9:.1f} GFLOP (ratio {f_vit / f_eff:.0f}x; ViT-L-14 built randomly in {t_build:.0f}s)')
    cpu_flops = f_eff / t_enc
    print(f'sustained CPU throughput on EfficientNet-Lite0: {cpu_flops / 1e9:.1f} GFLOP/s')

    n_full, n_views = 5000, 11
    total = n_full * n_views * f_vit
    print(f'\nFull-size class: {n_full} images x {n_views} encodings x {f_vit / 1e9:.1f} GFLOP = {total / 1e15:.2f} PFLOP')
    for tf in a.gpu_tflops:
        gpu_s = total / (tf * 1e12)
        print(f'  GPU at an assumed {tf:.0f} TFLOP/s sustained: {gpu_s:.0f} s encoding per class '
              f'({10 * gpu_s / 60:.0f} min for the 10 CIFAR-10 classes)')
    print(f'  this CPU at the measured {cpu_flops / 1e9:.1f} GFLOP/s: {total / cpu_flops / 3600:.0f} h per class')
    print(f'  distances at n=5000, 10 transforms: exact W1 ~{10 * t5000_exact:.0f} s on CPU (n^3 extrapolated from n={n0}); '
          f'sliced {10 * sliced_time(rng):.1f} s measured')


def sliced_time(rng):
    P, Q = torch.randn(5000, 1280), torch.randn(5000, 1280)
    return best_of(lambda: sliced_wasserstein(P, Q), 1)


if __name__ == '__main__':
    main()
