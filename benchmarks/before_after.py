"""Before/after of two checkouts of nnc on the same machine: the kernels of benchmarks/kernels.py (float32,
nnc native only), the optimizer step on the MLP's parameters, and a training step of the MLP and
LeNet-5 through `model.fit`.

    python benchmarks/before_after.py --before ../nnc-base --after . --rounds 9 --threads 1,2

Each checkout must have its kernels built in place (`python setup.py build_ext --inplace`). The two run
in separate processes (PYTHONPATH=<checkout>/src), taking turns in an order that alternates every
round, so that a burst of load from another process hits both; a process reports, per case, the best
of 7 batches of about 20 ms. The table gives the median over the rounds for each checkout and the
ratios after / before of the medians and of the minima (< 1: after is faster).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

KERNEL_CONVS = [(1, 8, 28, 3, 1), (16, 32, 28, 3, 1), (32, 64, 14, 3, 1), (64, 128, 7, 3, 1), (1, 6, 28, 5, 2)]
MLP_SHAPES = [(784, 256), (256,), (256, 128), (128,), (128, 64), (64,), (64, 10), (10,)]


def _best_of(fn, batches=7, seconds=0.02):
    fn()
    fn()
    t0 = time.perf_counter()
    fn()
    reps = max(1, int(seconds / max(time.perf_counter() - t0, 1e-7)))
    best = float("inf")
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def kernel_cases(rng):
    """{name: callable}: the calls timed by the kernels part."""
    import numpy as np
    import nnc.backend.native as B
    from nnc import optim
    f32, cases = np.float32, {}
    for C_in, C_out, H, k, p in KERNEL_CONVS:
        x = rng.standard_normal((64, C_in, H, H), dtype=f32)
        W = rng.standard_normal((C_out, C_in, k, k), dtype=f32)
        b = rng.standard_normal(C_out, dtype=f32)
        y, cache = B.conv2d_forward(x, W, b, 1, p)
        dout = rng.standard_normal(y.shape, dtype=f32)
        name = f"conv {C_in}->{C_out} {H}x{H} {k}x{k} p{p}"
        cases[name + " fwd"] = lambda x=x, W=W, b=b, p=p: B.conv2d_forward(x, W, b, 1, p)
        cases[name + " bwd"] = lambda dout=dout, cache=cache: B.conv2d_backward(dout, cache)
    xp = rng.standard_normal((64, 32, 28, 28), dtype=f32)
    for kind in ("max", "avg"):
        fwd, bwd = getattr(B, f"{kind}pool2d_forward"), getattr(B, f"{kind}pool2d_backward")
        y, cache = fwd(xp, 2)
        dout = rng.standard_normal(y.shape, dtype=f32)
        cases[f"{kind}pool 2x2 fwd"] = lambda fwd=fwd: fwd(xp, 2)
        cases[f"{kind}pool 2x2 bwd"] = lambda bwd=bwd, dout=dout, cache=cache: bwd(dout, cache)
        cases[f"{kind}pool 3x3 s2 p1 fwd"] = lambda fwd=fwd: fwd(xp, 3, 2, 1)
    xa = rng.standard_normal((256, 2048), dtype=f32)
    for name in ("relu", "leaky_relu", "elu", "sigmoid", "softmax", "gelu"):
        cases[f"{name} fwd"] = lambda f=getattr(B, name + "_forward"): f(xa)
    for N, K in [(128, 10), (1024, 1000)]:
        z, labels = rng.standard_normal((N, K), dtype=f32), rng.integers(0, K, N)
        cases[f"softmax-CE {N}x{K} fwd"] = lambda z=z, labels=labels: B.softmax_cross_entropy_forward(z, labels)
    for N, D, M in [(128, 784, 256), (128, 256, 128)]:
        x, W = rng.standard_normal((N, D), dtype=f32), rng.standard_normal((D, M), dtype=f32)
        cases[f"dense {N}x{D}->{M} fwd"] = lambda x=x, W=W: B.dense_forward(x, W)

    class Holder:       # what an optimizer binds to: a named object with params and grads
        def __init__(self, i, W):
            self.name, self.trainable, self.params = f"p{i}", True, {"W": W}
            self.grads = {"W": rng.standard_normal(W.shape, dtype=f32)}

    for name, kw in [("SGD", {}), ("SGD", {"momentum": 0.9}), ("Adam", {}), ("RMSprop", {}), ("AdaGrad", {}),
                     ("AdaDelta", {})]:
        opt = getattr(optim, name)(**kw).bind([Holder(i, rng.standard_normal(s, dtype=f32))
                                               for i, s in enumerate(MLP_SHAPES)])
        cases[f"step {name}{' momentum' if kw else ''} (MLP parameters)"] = opt.step
    return cases


def train_cases(rng, benchmarks_dir):
    """{name: callable}: one training step of the benchmarks' models (models.py of the checkout)."""
    import numpy as np
    import nnc
    sys.path.insert(0, benchmarks_dir)
    import models
    cases = {}
    for kind, batch, steps in [("mlp", 128, 40), ("lenet5", 64, 12)]:
        shape = (784,) if kind == "mlp" else (1, 28, 28)
        x = rng.standard_normal((batch * steps,) + shape).astype(np.float32)
        y = rng.integers(0, 10, batch * steps)
        for opt, lr in (("SGD", 0.01), ("Adam", 0.001)):
            model = models.nnc_model(kind, seed=0)
            model.compile(getattr(nnc.optim, opt)(lr), "softmax_cross_entropy")
            fit = (lambda model=model, x=x, y=y, batch=batch:
                   model.fit(x, y, epochs=1, batch_size=batch, shuffle=False, verbose=0))
            cases[f"{kind} batch {batch} training step, {opt}"] = (fit, steps)
    return cases


def child(part, threads, benchmarks_dir, only=""):
    import numpy as np
    import nnc
    rng = np.random.default_rng(0)
    out = {}
    with nnc.threads(threads):
        if part == "kernels":
            for name, fn in kernel_cases(rng).items():
                if _wanted(name, only):
                    out[name] = _best_of(fn)
        else:
            for name, (fn, steps) in train_cases(rng, benchmarks_dir).items():
                if _wanted(name, only):
                    out[name] = _best_of(fn, batches=3, seconds=0) / steps
    print(json.dumps(out))


def _wanted(name, only):
    return not only or any(part in name for part in only.split(","))


def _fmt(s):
    return f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} us"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="checkout with built kernels")
    ap.add_argument("--after", required=True, help="checkout with built kernels")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--only", help="comma-separated substrings: only the cases whose name contains one")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]), args.child[2], args.child[3])
    trees = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    res = {}
    parts = [p for p in ("kernels", "train") if not args.only or any(
        ("training" in o) == (p == "train") for o in args.only.split(","))]
    for part in parts:
        for nt in (int(t) for t in args.threads.split(",")):
            for r in range(args.rounds):
                for which in (("before", "after") if r % 2 == 0 else ("after", "before")):
                    tree = trees[which]
                    env = dict(os.environ, PYTHONPATH=os.path.join(tree, "src"))
                    cmd = [sys.executable, os.path.abspath(__file__), "--before", "-", "--after", "-",
                           "--child", part, str(nt), os.path.join(tree, "benchmarks"), args.only or ""]
                    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                    for name, s in json.loads(proc.stdout.strip().splitlines()[-1]).items():
                        res.setdefault(f"{name}|{nt}", {}).setdefault(which, []).append(s)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    print("| case | threads | before | after | after / before (medians) | after / before (minima) |")
    print("|---|---|---|---|---|---|")
    for key, v in res.items():
        name, nt = key.rsplit("|", 1)
        b, a = statistics.median(v["before"]), statistics.median(v["after"])
        print(f"| {name} | {nt} | {_fmt(b)} | {_fmt(a)} | {a / b:.2f} | {min(v['after']) / min(v['before']):.2f} |")


if __name__ == "__main__":
    main()
