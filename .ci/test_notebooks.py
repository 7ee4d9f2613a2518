"""Run every notebook's cells as tests, the way `nbdev_test` does, and print a count.

`nbdev_test --n_workers 2` runs the same notebooks with the same flags; this wrapper adds one line
per notebook (pass/FAIL and seconds) and a closing `N passed, M failed` line.
Usage: python .ci/test_notebooks.py [--n_workers 2] [--flags "slow"] [--path nbs/02_knowledge.ipynb]
"""
import argparse, sys, os
from fastcore.parallel import parallel
from fastcore.xtras import working_directory
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.test import test_nb


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--n_workers', type=int, default=2, help='parallel notebook workers (2 suits 2 cores)')
    ap.add_argument('--flags', default='', help='space-separated flags to run, e.g. "slow"')
    ap.add_argument('--path', default=None, help='a notebook or glob (default: all of nbs/)')
    args = ap.parse_args()
    cfg = get_config()
    files = sorted(f.absolute() for f in nbglob(args.path, as_path=True))
    if not files: sys.exit('no notebooks found')
    with working_directory(cfg.nbs_path):
        results = parallel(test_nb, files, skip_flags=cfg.tst_flags.split(), force_flags=args.flags.split(),
                           n_workers=args.n_workers, basepath=cfg.config_path, pause=0.01)
    n_fail = 0
    for f, (ok, secs) in zip(files, results):
        n_fail += not ok
        print(f"{'pass' if ok else 'FAIL'}  {secs:6.1f}s  {f.name}")
    print(f'{len(files) - n_fail} passed, {n_fail} failed')
    sys.exit(1 if n_fail else 0)


if __name__ == '__main__':
    main()
