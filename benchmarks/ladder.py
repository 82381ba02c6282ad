"""Group 2, the ladder of speed: one conv layer and one dense layer, forward+backward, climbing
    pure Python -> NumPy 1 thread -> nnc native 1 thread -> NumPy all threads -> nnc native all threads
    -> PyTorch all threads,
with each rung's speed-up over the one below. Each rung says its thread count, and NumPy is measured at
both, so a rung is never compared with one that had more cores (an earlier table set nnc's 1-thread
rung below NumPy's 2-thread one, which read as nnc being slower than NumPy). Slow rungs run on a slice
of the batch and are scaled to the full batch (linear in the batch; the table says so).
"""
import time

import numpy as np

from _harness import SETTLE_BLAS, Threads, fmt_time, measure, missing, say, table, torch_or_none

CONV = dict(N=64, C_in=16, C_out=32, H=28, k=3, p=1)
DENSE = dict(N=128, D=784, M=256)


# ---- the NumPy rung: what a NumPy user writes (im2col by kernel taps, one GEMM, col2im) --------------
def np_conv_fb(x, W, b, dout, p):
    N, C, H, Wd = x.shape
    Co, _, k, _ = W.shape
    Ho, Wo = H + 2 * p - k + 1, Wd + 2 * p - k + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = np.empty((C, k, k, N, Ho, Wo), x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = xp[:, :, i:i + Ho, j:j + Wo].transpose(1, 0, 2, 3)
    cols = cols.reshape(C * k * k, N * Ho * Wo)
    Wm = W.reshape(Co, -1)
    out = (Wm @ cols + b[:, None]).reshape(Co, N, Ho, Wo).transpose(1, 0, 2, 3)
    dm = dout.transpose(1, 0, 2, 3).reshape(Co, -1)
    dW = (dm @ cols.T).reshape(W.shape)
    db = dm.sum(axis=1)
    dcols = (Wm.T @ dm).reshape(C, k, k, N, Ho, Wo)
    dxp = np.zeros_like(xp)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + Ho, j:j + Wo] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return out, dxp[:, :, p:p + H, p:p + Wd], dW, db


def np_dense_fb(x, W, b, dout):
    out = x @ W + b
    return out, dout @ W.T, x.T @ dout, dout.sum(axis=0)


def py_dense_fb(x, W, b, dout):
    """Pure Python lists and loops: y = xW + b, dx = dout W^T, dW = x^T dout, db = sum dout."""
    xs, Ws, ds = x.tolist(), W.tolist(), dout.tolist()
    D, M = len(Ws), len(Ws[0])
    out = [[b[m] + sum(xr[d] * Ws[d][m] for d in range(D)) for m in range(M)] for xr in xs]
    dx = [[sum(dr[m] * Ws[d][m] for m in range(M)) for d in range(D)] for dr in ds]
    dW = [[sum(xs[n][d] * ds[n][m] for n in range(len(xs))) for m in range(M)] for d in range(D)]
    db = [sum(ds[n][m] for n in range(len(xs))) for m in range(M)]
    return out, dx, dW, db


def _time_once(fn, repeats):
    best = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best.append(time.perf_counter() - t0)
    return float(np.median(best))


def _rungs(layer, quick, cores):
    """[(rung name, seconds per full-batch forward+backward, note)] for 'conv' or 'dense'."""
    import nnc.backend
    R, B = nnc.backend.reference, nnc.backend.native
    torch = torch_or_none()
    rng = np.random.default_rng(0)
    rungs = []
    f32 = np.float32
    if layer == "conv":
        c = CONV
        x = rng.standard_normal((c["N"], c["C_in"], c["H"], c["H"]), dtype=f32)
        W = rng.standard_normal((c["C_out"], c["C_in"], c["k"], c["k"]), dtype=f32) * f32(0.1)
        b = rng.standard_normal(c["C_out"], dtype=f32)
        dout = rng.standard_normal((c["N"], c["C_out"], c["H"], c["H"]), dtype=f32)
        p = c["p"]
        if missing(R, "conv2d_forward"):
            say("ladder: conv2d not merged yet; conv ladder skipped")
            return []
        n_small = 4 if quick else 16
        xs, ds = x[:n_small].copy(), dout[:n_small].copy()

        def ref():
            out, cache = R.conv2d_forward(xs, W, b, 1, p)
            R.conv2d_backward(ds, cache)

        with Threads(cores):
            t = _time_once(ref, 1 if quick else 2) * c["N"] / n_small
        rungs.append(("nnc reference backend (Python loop over output positions)", t,
                      f"batch {n_small}, scaled x{c['N'] // n_small}"))
        numpy_fb = (lambda: np_conv_fb(x, W, b, dout, p)), "NumPy (im2col by taps + one GEMM)"

        def nat():
            out, cache = B.conv2d_forward(x, W, b, 1, p)
            B.conv2d_backward(dout, cache)
        tx, tW, tb = (torch.from_numpy(a).requires_grad_() for a in (x, W, b)) if torch else (None,) * 3
        tfb = (lambda: torch.autograd.grad(torch.nn.functional.conv2d(tx, tW, tb, 1, p), [tx, tW, tb],
                                           torch.from_numpy(dout))) if torch else None
        desc = f"conv {c['C_in']}->{c['C_out']} {c['H']}x{c['H']} 3x3 pad 1, N={c['N']}, forward+backward"
    else:
        c = DENSE
        x = rng.standard_normal((c["N"], c["D"]), dtype=f32)
        W = rng.standard_normal((c["D"], c["M"]), dtype=f32) * f32(0.05)
        b = rng.standard_normal(c["M"], dtype=f32)
        dout = rng.standard_normal((c["N"], c["M"]), dtype=f32)
        n_small = 1 if quick else 2
        t = _time_once(lambda: py_dense_fb(x[:n_small], W, b, dout[:n_small]), 1) * c["N"] / n_small
        rungs.append(("pure Python (lists and loops)", t, f"{n_small} row(s), scaled x{c['N'] // n_small}"))
        numpy_fb = (lambda: np_dense_fb(x, W, b, dout)), "NumPy (= nnc reference backend: x @ W + b)"

        def nat():
            out, cache = B.dense_forward(x, W, b)
            B.dense_backward(dout, cache)
        tx, tW, tb = (torch.from_numpy(np.ascontiguousarray(a)).requires_grad_() for a in (x, W.T, b)) \
            if torch else (None,) * 3
        tfb = (lambda: torch.autograd.grad(torch.nn.functional.linear(tx, tW, tb), [tx, tW, tb],
                                           torch.from_numpy(dout))) if torch else None
        desc = f"dense {c['D']}->{c['M']}, N={c['N']}, forward+backward"

    reps = 3 if quick else 7
    for n in sorted({1, cores}):
        s = "" if n == 1 else "s"
        with Threads(n):   # settle: numpy's threaded BLAS spins after its last call, stealing the next rung's cores
            t_np = measure({"np": numpy_fb[0]}, repeats=reps, target_s=0.05, settle_s=SETTLE_BLAS)["np"]["median"]
            t_nnc = measure({"nnc": nat}, repeats=reps, target_s=0.05, settle_s=SETTLE_BLAS)["nnc"]["median"]
        rungs.append((f"{numpy_fb[1]}, {n} thread{s}", t_np, "numpy's BLAS"))
        rungs.append((f"nnc native, {n} thread{s}", t_nnc, f"NumPy time / nnc time at {n} thread{s}: {t_np / t_nnc:.2f}"))
    if tfb is not None:
        with Threads(cores):
            rungs.append((f"PyTorch, {cores} threads", measure({"t": tfb}, repeats=reps, target_s=0.05)["t"]["median"],
                          f"torch {torch.__version__}"))
    return desc, rungs


def run(opts, cores, peaks):
    blocks, records = [], []
    for layer in ("conv", "dense"):
        if opts.only_case and opts.only_case not in layer:
            continue
        out = _rungs(layer, opts.quick, cores)
        if not out:
            continue
        desc, rungs = out
        rows, prev, first = [], None, rungs[0][1]
        for name, t, note in rungs:
            rows.append([name, fmt_time(t), "" if prev is None else f"{prev / t:.1f}x", f"{first / t:.0f}x", note])
            records.append({"group": "ladder", "case": desc, "rung": name, "seconds": t,
                            "speedup_over_previous": None if prev is None else prev / t,
                            "speedup_over_first": first / t, "note": note})
            prev = t
        blocks.append(f"### Ladder: {desc}\n\n" + table(["rung", "time per call", "over rung above",
                                                            "over first rung", "note"], rows))
    return "\n\n".join(blocks), records
