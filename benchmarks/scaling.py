"""Group 4, thread scaling: kernels and the LeNet-5 training step at 1, 2, 4, ... threads up to the
core count, nnc and PyTorch at the same count (interleaved). Speed-up = T(1) / T(n), parallel
efficiency = speed-up / n.
"""
import numpy as np

from _harness import SETTLE_BLAS, Threads, fmt_time, measure, missing, say, table, torch_or_none

TARGET_2T = 1.8        # conv and pooling kernels: 2 threads vs 1
TARGET_16T = 10.0      # 16 cores: LeNet-5 step at batch 256 and conv 16->32 forward+backward


def _kernel_cases(B, rng):
    torch = torch_or_none()
    f32 = np.float32
    F = torch.nn.functional if torch else None
    if not missing(B, "conv2d_forward", "conv2d_backward"):
        x = rng.standard_normal((64, 16, 28, 28), dtype=f32)
        W = rng.standard_normal((32, 16, 3, 3), dtype=f32) * f32(0.1)
        b = rng.standard_normal(32, dtype=f32)
        dout = rng.standard_normal((64, 32, 28, 28), dtype=f32)
        tx, tW, tb = (torch.from_numpy(a).requires_grad_() for a in (x, W, b)) if torch else (None,) * 3

        def nnc_conv(x=x, W=W, b=b, dout=dout):
            out, cache = B.conv2d_forward(x, W, b, 1, 1)
            return B.conv2d_backward(dout, cache)
        yield "conv 16->32 28x28 3x3 fwd+bwd", "conv", nnc_conv, (
            (lambda tx=tx, tW=tW, tb=tb, dout=dout: torch.autograd.grad(F.conv2d(tx, tW, tb, 1, 1), [tx, tW, tb],
                                                                       torch.from_numpy(dout)))
            if torch else None)
    else:
        say("scaling: conv2d not merged yet; skipped")
    for kind in ("max", "avg"):
        if missing(B, f"{kind}pool2d_forward"):
            say(f"scaling: {kind}pool2d not merged yet; skipped")
            continue
        x = rng.standard_normal((64, 32, 28, 28), dtype=f32)
        dout = rng.standard_normal((64, 32, 14, 14), dtype=f32)
        tx = torch.from_numpy(x).requires_grad_() if torch else None
        fwd, bwd = getattr(B, f"{kind}pool2d_forward"), getattr(B, f"{kind}pool2d_backward")

        def nnc_pool(x=x, dout=dout, fwd=fwd, bwd=bwd):
            out, cache = fwd(x, 2)
            return bwd(dout, cache)
        tp = getattr(F, f"{kind}_pool2d") if torch else None
        yield f"{kind}pool 2x2 (64,32,28,28) fwd+bwd", "pool", nnc_pool, (
            (lambda tp=tp, tx=tx, dout=dout: torch.autograd.grad(tp(tx, 2), [tx], torch.from_numpy(dout)))
            if torch else None)
    x = rng.standard_normal((128, 784), dtype=f32)
    W = rng.standard_normal((784, 256), dtype=f32) * f32(0.05)
    b = np.zeros(256, f32)
    dout = rng.standard_normal((128, 256), dtype=f32)
    tx, tW, tb = (torch.from_numpy(np.ascontiguousarray(a)).requires_grad_() for a in (x, W.T, b)) if torch \
        else (None,) * 3

    def nnc_dense():
        out, cache = B.dense_forward(x, W, b)
        return B.dense_backward(dout, cache)
    yield "dense 784->256 N=128 fwd+bwd", "dense", nnc_dense, (
        (lambda: torch.autograd.grad(F.linear(tx, tW, tb), [tx, tW, tb], torch.from_numpy(dout))) if torch else None)


def _lenet_cases(batches, rng):
    import nnc
    import models
    torch = torch_or_none()
    for batch in batches:
        try:
            model = models.nnc_model("lenet5", seed=0)
        except Exception as exc:
            say(f"scaling: LeNet-5 skipped ({exc})")
            return
        model.compile(nnc.optim.SGD(0.01), "softmax_cross_entropy")
        x = rng.random((batch, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, batch).astype(np.int64)
        tstep = models.torch_sgd_step("lenet5", model, x, y) if torch else None
        yield f"LeNet-5 training step, batch {batch}", "lenet", (lambda m=model, x=x, y=y: m.train_on_batch(x, y)), tstep


def run(opts, threads):
    import nnc.backend
    B = nnc.backend.native
    if B is None:
        say("scaling: the native backend is not built; group skipped")
        return "", []
    rng = np.random.default_rng(0)
    cores = max(threads)
    batches = (64, 256) if not opts.quick or cores >= 8 else (64,)
    cases = list(_kernel_cases(B, rng)) + list(_lenet_cases(batches, rng))
    rows, records = [], []
    for name, family, nfn, tfn in cases:
        if opts.only_case and opts.only_case not in name:
            continue
        base = {}
        for n in threads:
            contenders = {"nnc": nfn} if tfn is None else {"nnc": nfn, "torch": tfn}
            with Threads(n):
                st = measure(contenders, repeats=opts.repeats, target_s=opts.target_s,
                             isolate=("torch",),
                             settle_s=SETTLE_BLAS if family in ("dense", "lenet") else 0.002)
            if n == threads[0]:
                base = {k: v["median"] * threads[0] for k, v in st.items()}  # normalised to 1 thread
            sp = {k: base[k] / v["median"] for k, v in st.items()}
            target = None
            if n == 2 and threads[0] == 1 and family in ("conv", "pool"):
                target = TARGET_2T
            if n >= 16 and threads[0] == 1 and (family == "conv" or name.endswith("batch 256")):
                target = TARGET_16T
            check = "" if target is None else ("ok" if sp["nnc"] >= target else "MISS")
            rt = st["nnc"]["median"] / st["torch"]["median"] if "torch" in st else None
            rows.append([name, n, fmt_time(st["nnc"]["median"]), f"{sp['nnc']:.2f}x", f"{sp['nnc'] / n * 100:.0f}%",
                         fmt_time(st["torch"]["median"]) if "torch" in st else "-",
                         f"{sp['torch']:.2f}x" if "torch" in sp else "-", "-" if rt is None else f"{rt:.2f}",
                         "" if target is None else f">= {target}x", check])
            records.append({"group": "scaling", "case": name, "threads": n, "stats": st, "speedup": sp,
                            "efficiency": sp["nnc"] / n, "ratio": rt, "target_speedup": target})
    hdr = ["case", "threads", "nnc", "nnc speed-up", "nnc efficiency", "torch", "torch speed-up", "nnc/torch",
           "target", "check"]
    note = "" if threads[0] == 1 else f" (speed-ups relative to {threads[0]} threads x {threads[0]})"
    return f"### Thread scaling{note}\n\n" + table(hdr, rows), records
