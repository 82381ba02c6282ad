"""Quick timing of the native conv/pool kernels against PyTorch (CPU) when it is importable.

    python benchmarks/conv_quick.py [--threads 1 2] [--repeat 15] [--schemes]

Prints a table of milliseconds per call (median of --repeat runs after a warm-up) for conv2d forward and
forward+backward at N=64, 16->32 channels, 28x28, 3x3, pad 1 (the LeNet-class case of the issue), and
for max pooling 2x2. Same thread count for nnc and torch (torch.set_num_threads). --schemes also times
the "batch" parallel scheme of nnc/backend/native/conv.pyx against the default "per_image".
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout
import nnc  # noqa: E402
from nnc.backend import native as K  # noqa: E402
from nnc.backend.native import conv as native_conv  # noqa: E402

import importlib.util

# Imported only in the torch worker: merely importing torch loads its own OpenMP runtime, which then
# competes with nnc's threads in the same process.
torch = None
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def median_ms(fn, repeat):
    """All `repeat` timings in ms after a warm-up (first-touch page faults, thread team start)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - t0))
    return times


def nnc_cases(x, W, b):
    def fwd():
        K.conv2d_forward(x, W, b, 1, 1)

    def fwd_bwd():
        out, cache = K.conv2d_forward(x, W, b, 1, 1)
        K.conv2d_backward(out, cache)

    def pool():
        out, cache = K.maxpool2d_forward(x, 2)
        K.maxpool2d_backward(out, cache)
    return {"conv fwd": fwd, "conv fwd+bwd": fwd_bwd, "maxpool 2x2 fwd+bwd": pool}


def torch_cases(x, W, b):
    xt = torch.from_numpy(x).requires_grad_(True)
    Wt = torch.from_numpy(W).requires_grad_(True)
    bt = torch.from_numpy(b).requires_grad_(True)

    def fwd():
        with torch.no_grad():
            torch.nn.functional.conv2d(xt, Wt, bt, 1, 1)

    def fwd_bwd():
        out = torch.nn.functional.conv2d(xt, Wt, bt, 1, 1)
        out.backward(out.detach())

    def pool():
        out = torch.nn.functional.max_pool2d(xt, 2)
        out.backward(out.detach())
    return {"conv fwd": fwd, "conv fwd+bwd": fwd_bwd, "maxpool 2x2 fwd+bwd": pool}


def measure(lib, n, repeat):
    """Worker: time one library at n threads in this process; returns {case: ms}."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 16, 28, 28)).astype(np.float32)
    W = (0.1 * rng.standard_normal((32, 16, 3, 3))).astype(np.float32)
    b = np.zeros(32, np.float32)
    if lib == "torch":
        global torch
        import torch
        torch.set_num_threads(n)
        return {k: median_ms(f, repeat) for k, f in torch_cases(x, W, b).items()}
    native_conv._scheme = "batch" if lib == "nnc-batch" else "per_image"
    with nnc.threads(n):
        return {k: median_ms(f, repeat) for k, f in nnc_cases(x, W, b).items()
                if lib == "nnc" or k == "conv fwd"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--schemes", action="store_true")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate the libraries this many times (a shared machine's load then hits all alike)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.threads[0], args.repeat)))
        return
    # One process per library and thread count: two OpenMP runtimes (torch ships its own) or an OpenMP
    # team next to BLAS threads in one process spin against each other and distort every figure.
    libs = ["nnc"] + (["nnc-batch"] if args.schemes else []) + (["torch"] if HAVE_TORCH else [])
    print(f"x (64, 16, 28, 28) float32, W (32, 16, 3, 3), pad 1; ms per call, median (min) of "
          f"{args.rounds} x {args.repeat} runs")
    print(f"{'case':<22s}{'threads':>8s}" + "".join(f"{lib:>17s}" for lib in libs)
          + (f"{'nnc/torch':>11s}" if HAVE_TORCH else ""))
    for n in args.threads:
        res = {lib: {} for lib in libs}
        for _ in range(args.rounds):
            for lib in libs:
                cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--threads", str(n),
                       "--repeat", str(args.repeat)]
                out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True)
                                 .stdout.strip().splitlines()[-1])
                for case, times in out.items():
                    res[lib].setdefault(case, []).extend(times)
        med = {lib: {c: statistics.median(t) for c, t in r.items()} for lib, r in res.items()}
        for case in res["nnc"]:
            row = f"{case:<22s}{n:>8d}" + "".join(
                f"{med[lib][case]:>9.2f} ({min(res[lib][case]):>5.2f})" if case in res[lib] else f"{'':>17s}"
                for lib in libs)
            if HAVE_TORCH:
                row += f"{med['nnc'][case] / med['torch'][case]:>11.2f}"
            print(row)


if __name__ == "__main__":
    main()
