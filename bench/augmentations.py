"""Images per second: the batched KE pool (`ke_ad.augmentations`) against a straightforward per-image
NumPy / SciPy / PIL implementation of the same ten transforms, measured side by side in one run.

    python bench/augmentations.py [--n 256] [--threads 2] [--severities 1 5]

The per-image reference below is written the way CIFAR-10-C-style code usually is: one image at a time,
HWC float arrays, scipy.ndimage for blurs and zoom, PIL for JPEG, crop and resize, torchvision's
ColorJitter on PIL images. It is a speed baseline, not a bit-exact twin (random streams differ).
Each batched measurement is the best of 5 calls on the whole batch; each reference one a single pass.
The machine may be shared: compare ratios from one run, and try --threads 1 when other jobs load the cores
(torch's OpenMP threads slow down badly when the cores are oversubscribed).
"""
import argparse, io, time, math
import numpy as np
import torch
import scipy.ndimage as ndi
from PIL import Image
import torchvision.transforms as T
from ke_ad import augmentations as A

# ---------------------------------------------------------------- per-image reference (HWC float64 in [0,1])
def ref_gaussian_noise(x, s, rng): return np.clip(x + rng.normal(scale=A.GAUSSIAN_NOISE_SIGMA[s - 1], size=x.shape), 0, 1)

def ref_gaussian_blur(x, s, rng):
    sig = A.GAUSSIAN_BLUR_SIGMA[s - 1]
    return np.clip(ndi.gaussian_filter(x, sigma=(sig, sig, 0), mode='nearest'), 0, 1)

def ref_glass_blur(x, s, rng):
    sig, d, iters = A.GLASS_BLUR_PARAMS[s - 1]
    y = np.uint8(ndi.gaussian_filter(x, sigma=(sig, sig, 0), mode='nearest') * 255)
    H, W = y.shape[:2]
    for _ in range(iters):
        for h in range(H - d, d, -1):
            for w in range(W - d, d, -1):
                dx, dy = rng.integers(-d, d, size=2)
                y[h, w], y[h + dy, w + dx] = y[h + dy, w + dx], y[h, w]   # as published: on views this copies, see the notebook
    return np.clip(ndi.gaussian_filter(y / 255., sigma=(sig, sig, 0), mode='nearest'), 0, 1)

def ref_jpeg(x, s, rng):
    buf = io.BytesIO(); Image.fromarray(np.uint8(np.round(x * 255))).save(buf, 'JPEG', quality=A.JPEG_QUALITY[s - 1])
    return np.asarray(Image.open(buf)) / 255.

def _ref_clipped_zoom(img, z):
    h = img.shape[0]; ch = int(np.ceil(h / z)); top = (h - ch) // 2
    out = ndi.zoom(img[top:top + ch, top:top + ch], (z, z) + (1,) * (img.ndim - 2), order=1)
    t = (out.shape[0] - h) // 2
    return out[t:t + h, t:t + h]

def _ref_line_blur(layer, radius, sigma, angle):
    width = int(2 * math.ceil(radius) + 1); i = np.arange(width)
    wt = np.exp(-i ** 2 / (2 * sigma ** 2)); wt /= wt.sum()
    a = np.deg2rad(angle); H, W = layer.shape
    yy, xx = np.mgrid[0:H, 0:W]
    out = np.zeros_like(layer)
    for t in range(width):
        dx, dy = int(np.ceil(t * np.cos(a) - 0.5)), int(np.ceil(t * np.sin(a) - 0.5))
        out += wt[t] * layer[np.clip(yy + dy, 0, H - 1), np.clip(xx + dx, 0, W - 1)]
    return out

def ref_snow(x, s, rng):
    loc, scale, zoom, thr, radius, msig, blend = A.SNOW_PARAMS[s - 1]
    layer = _ref_clipped_zoom(rng.normal(loc, scale, size=x.shape[:2]), zoom)
    layer[layer < thr] = 0
    layer = _ref_line_blur(np.clip(layer, 0, 1), radius, msig, rng.uniform(-135, -45))[..., None]
    gray = (x @ np.array([0.299, 0.587, 0.114]))[..., None]
    x = blend * x + (1 - blend) * np.maximum(x, gray * 1.5 + 0.5)
    return np.clip(x + layer + np.rot90(layer, 2), 0, 1)

def ref_rot90(x, s, rng): return np.ascontiguousarray(np.rot90(x, -1))      # materialised, like torch's copy
def ref_rot270(x, s, rng): return np.ascontiguousarray(np.rot90(x, 1))
def ref_flip(x, s, rng): return np.ascontiguousarray(x[:, ::-1])

def ref_random_crop(x, s, rng):
    H, W = x.shape[:2]; th, tw = int(H * 0.75), int(W * 0.75)
    top, left = rng.integers(0, H - th + 1), rng.integers(0, W - tw + 1)
    im = Image.fromarray(np.uint8(np.round(x * 255))).crop((left, top, left + tw, top + th)).resize((W, H), Image.BILINEAR)
    return np.asarray(im) / 255.

_jitter = T.ColorJitter(0.5, 0.5, 0.5, 0.5)
def ref_color_jitter(x, s, rng): return np.asarray(_jitter(Image.fromarray(np.uint8(np.round(x * 255))))) / 255.

REFERENCE = {'gaussian_noise': ref_gaussian_noise, 'gaussian_blur': ref_gaussian_blur, 'glass_blur': ref_glass_blur,
             'jpeg_compression': ref_jpeg, 'snow': ref_snow, 'rot90': ref_rot90, 'rot270': ref_rot270, 'flip': ref_flip,
             'random_crop': ref_random_crop, 'color_jitter': ref_color_jitter}

# ---------------------------------------------------------------- timing
def best_of(fn, k=5):
    best = float('inf')
    for _ in range(k):
        t = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t)
    return best

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--n', type=int, default=256, help='images per measurement')
    ap.add_argument('--threads', type=int, default=2, help='torch CPU threads (the machine has 2 cores)')
    ap.add_argument('--severities', type=int, nargs='+', default=[1, 5])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(0)
    x = A._blur(torch.rand(a.n, 3, 32, 32, generator=gen), 1.0)                # smooth-ish 32x32 images
    x = A.to_float(A.to_uint8((x - x.amin()) / (x.amax() - x.amin())))
    hwc = [im.permute(1, 2, 0).double().numpy() for im in x]
    rng = np.random.default_rng(0)
    print(f'{a.n} images 32x32, torch threads {torch.get_num_threads()}, torch {torch.__version__}')
    print(f"{'transform':<18}{'sev':>4}{'batched img/s':>15}{'per-image img/s':>17}{'ratio':>8}")
    tot_b = {s: 0.0 for s in a.severities}; tot_r = {s: 0.0 for s in a.severities}
    for s in a.severities:
        for name in A.KE_POOL:
            tb = best_of(lambda: A.apply_transform(name, x, s, gen))
            t0 = time.perf_counter(); [REFERENCE[name](im, s, rng) for im in hwc]; tr = time.perf_counter() - t0
            tot_b[s] += tb; tot_r[s] += tr
            print(f'{name:<18}{s:>4}{a.n / tb:>15,.0f}{a.n / tr:>17,.0f}{tr / tb:>7.1f}x')
        print(f"{'whole pool (sum)':<18}{s:>4}{a.n / tot_b[s]:>15,.0f}{a.n / tot_r[s]:>17,.0f}{tot_r[s] / tot_b[s]:>7.1f}x")

if __name__ == '__main__':
    main()
