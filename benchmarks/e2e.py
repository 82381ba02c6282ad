"""Group 3, end to end: one training epoch (SGD, float32, cross-entropy on logits) of the
784-256-128-64-10 MLP at batch 128 and of LeNet-5 at batch 64 and 128 on Fashion-MNIST (60k images),
nnc (its default passive OpenMP wait, and spinning as PyTorch does: "nnc-spin") vs PyTorch (same weights,
same batch order) and vs scikit-learn's MLPClassifier for the MLP.

Each framework trains in its own child process (this script with --child), so its peak resident
memory (VmHWM) is its own. The parent keeps the children of one case alive at once and asks them
in turn for one timed segment of training steps (interleaving), pausing between turns so the last
child's spinning threads park. A segment is a whole epoch in the full run and a fraction of one with
--quick; epoch times are segment medians scaled to the epoch.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from _harness import WARM_S, fmt_time, say, table

LR = 0.01
N_TRAIN = 60000
# "nnc-spin" is nnc with its OpenMP threads spinning while they wait (NNC_OMP_WAIT=default), PyTorch's own
# policy: what nnc gives on a machine of one's own (nnc's default, passive waiting, is for shared ones).
CASES = [("mlp", 128, ("nnc", "nnc-spin", "torch", "sklearn")), ("lenet5", 64, ("nnc", "nnc-spin", "torch")),
         ("lenet5", 128, ("nnc", "nnc-spin", "torch"))]
TARGETS = {("mlp", 128): 0.5, ("lenet5", 64): 0.40, ("lenet5", 128): 0.35}     # nnc / torch, issue 16


# ---- data (the same in every process) --------------------------------------------------------------
def load_data(kind):
    """(x float32 in [0, 1], y int64, source text); x (60000, 784) for the MLP, (60000, 1, 28, 28) for LeNet.
    The order is a fixed permutation, so every framework sees the same batches."""
    import nnc.datasets as ds
    layout = "flat" if kind == "mlp" else "NCHW"
    try:
        (x, y), _ = ds.load_fashion_mnist(normalize=True, layout=layout)
        source = f"Fashion-MNIST training set ({len(x)} images)"
    except Exception as exc:  # files not installed: the built-in sample, tiled up to 60k
        (x, y), _ = ds.load_sample(normalize=True, layout=layout)
        reps = -(-N_TRAIN // len(x))
        x = np.concatenate([x] * reps)[:N_TRAIN]
        y = np.concatenate([y] * reps)[:N_TRAIN]
        source = (f"Fashion-MNIST files not found ({exc.__class__.__name__}); the built-in sample "
                  f"({N_TRAIN // reps} images) repeated to {N_TRAIN}")
    order = np.random.default_rng(0).permutation(len(x))
    return np.ascontiguousarray(x[order], np.float32), np.ascontiguousarray(y[order], np.int64), source


# ---- child process ---------------------------------------------------------------------------------
def peak_rss_mb():
    """Peak resident memory of this process image. Not ru_maxrss: Linux carries that high-water mark
    over fork+exec, so every child would report the parent's peak. VmHWM starts afresh at exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # not Linux: the best there is


def _trainer(framework, kind, batch, threads, weights_path, data_path):
    """Returns (segment(start, stop) -> mean loss, forward() on one batch). The data comes from the
    parent's .npz, so the torch and scikit-learn processes never import nnc (their peak RSS is their own)."""
    with np.load(data_path) as f:
        x, y = f["x"], f["y"]
    if framework.startswith("nnc"):
        import nnc
        import models
        nnc.set_num_threads(threads)
        model = models.nnc_model(kind, seed=0)
        model.compile(nnc.optim.SGD(LR), "softmax_cross_entropy")

        def segment(s, e):
            # fit over the segment, in order: what a user calls (its input checks included)
            h = model.fit(x[s:e], y[s:e], epochs=1, batch_size=batch, shuffle=False, verbose=0)
            return h.history["loss"][-1] if hasattr(h, "history") else float("nan")

        def forward():
            model.predict(x[:batch], batch_size=batch)
    elif framework == "torch":
        import torch
        import models
        torch.set_num_threads(threads)
        with np.load(weights_path) as f:
            ws = [f[f"w{i}"] for i in range(len(f.files))]
        model = models.torch_model(kind, ws)
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        loss_fn = torch.nn.CrossEntropyLoss()
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def segment(s, e):
            total = 0.0
            for i in range(s, e, batch):
                xb, yb = tx[i:min(i + batch, e)], ty[i:min(i + batch, e)]
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.item() * len(xb)
            return total / (e - s)

        def forward():
            with torch.no_grad():
                model(tx[:batch])
    else:
        from threadpoolctl import threadpool_limits
        from sklearn.neural_network import MLPClassifier
        threadpool_limits(threads)
        clf = MLPClassifier(hidden_layer_sizes=(256, 128, 64), solver="sgd", batch_size=batch,
                            learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                            shuffle=False, random_state=0)
        classes = np.arange(10)

        def segment(s, e):
            clf.partial_fit(x[s:e], y[s:e], classes=classes)
            return float(clf.loss_)

        def forward():
            clf.predict_proba(x[:batch])
    return segment, forward


def _warm(forward, seconds=WARM_S):
    """Forward passes (the weights stay as they are) for `seconds` before a timed segment: after the
    parent's pause between turns the VM's idle core takes ~50 ms of work to come back to speed
    (_harness.WARM_S), and an epoch runs its steps back to back."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        forward()


def child_main(spec_json):
    """Protocol on stdin/stdout, one JSON line each: parent sends {"seg": [start, stop]} or "quit"."""
    spec = json.loads(spec_json)
    rss0 = peak_rss_mb()
    segment, forward = _trainer(spec["framework"], spec["kind"], spec["batch"], spec["threads"], spec["weights"],
                                spec["data"])
    segment(0, spec["warmup"])   # warm-up: first calls allocate, load code, build thread pools
    out = sys.stdout
    out.write(json.dumps({"ready": True, "rss_import_mb": rss0}) + "\n")
    out.flush()
    for line in sys.stdin:
        msg = json.loads(line)
        if msg == "quit":
            break
        s, e = msg["seg"]
        _warm(forward)
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        loss = segment(s, e)
        t = time.perf_counter() - t0
        f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        out.write(json.dumps({"t": t, "loss": float(loss), "minflt": f1 - f0}) + "\n")
        out.flush()
    out.write(json.dumps({"maxrss_mb": peak_rss_mb()}) + "\n")
    out.flush()
    return 0


# ---- parent ----------------------------------------------------------------------------------------
def _available(framework):
    try:
        __import__(framework.split("-")[0])
        return True
    except Exception:
        return False


def _spawn(spec):
    cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py"),
           "--child", json.dumps(spec)]
    env = dict(os.environ, NNC_OMP_WAIT="default") if spec["framework"] == "nnc-spin" else None
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env)


def _ask(proc, msg):
    proc.stdin.write(json.dumps(msg) + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"child exited (rc={proc.wait()})")
    return json.loads(line)


def run(opts, threads, peaks=None):
    """The e2e tables and records at `threads` threads; peaks: sgemm GFLOP/s per thread count (run.py)."""
    import models
    blocks, records, rows = [], [], []
    sources = set()
    rounds = opts.repeats
    with tempfile.TemporaryDirectory() as tmp:
        for kind, batch, frameworks in CASES:
            if opts.only_case and opts.only_case not in f"{kind} {batch}":
                continue
            try:
                model = models.nnc_model(kind, seed=0)
            except Exception as exc:
                say(f"e2e: {kind} skipped ({exc})")
                continue
            dpath = os.path.join(tmp, f"{kind}-data.npz")
            if not os.path.exists(dpath):
                x, y, source = load_data(kind)
                np.savez(dpath, x=x, y=y)
                sources.add(source)
                del x, y
            wpath = os.path.join(tmp, f"{kind}.npz")
            np.savez(wpath, **{f"w{i}": w for i, w in enumerate(models.weights(model))})
            steps_epoch = -(-N_TRAIN // batch)
            frac = 1.0 if not opts.quick else (0.25 if kind == "mlp" else 1 / 16)
            seg_n = {fw: min(N_TRAIN, max(4, int(steps_epoch * frac * (0.25 if fw == "sklearn" and opts.quick
                                                                         else 1))) * batch) for fw in frameworks}
            present = []
            for fw in frameworks:
                if _available(fw):
                    present.append(fw)
                else:
                    say(f"e2e: {fw} not installed; its {kind} column is skipped (pip install \".[bench]\")")
            procs = {fw: _spawn({"framework": fw, "kind": kind, "batch": batch, "threads": threads,
                                 "weights": wpath, "data": dpath, "warmup": 4 * batch}) for fw in present}
            info, segs = {}, {fw: [] for fw in present}
            try:
                for fw, p in procs.items():
                    line = p.stdout.readline()
                    if not line:
                        raise RuntimeError(f"{fw} child failed to start (rc={p.wait()})")
                    info[fw] = json.loads(line)
                for r in range(rounds):
                    # rotate who goes first; segments walk through the epoch so every round sees new batches
                    order = present[r % len(present):] + present[:r % len(present)]
                    for fw in order:
                        start = (r * seg_n[fw]) % N_TRAIN if seg_n[fw] < N_TRAIN else 0
                        stop = min(N_TRAIN, start + seg_n[fw])
                        time.sleep(0.15)
                        segs[fw].append(_ask(procs[fw], {"seg": [start, stop]}) | {"n": stop - start})
                for fw, p in procs.items():
                    info[fw]["maxrss_mb"] = _ask(p, "quit")["maxrss_mb"]
            except Exception as exc:
                say(f"e2e: {kind} batch {batch} failed: {exc}")
                for p in procs.values():
                    p.kill()
                continue
            finally:
                for p in procs.values():
                    p.wait()
            res = {}
            for fw in present:
                per_img = [s["t"] / s["n"] for s in segs[fw]]
                epoch = [v * N_TRAIN for v in per_img]
                res[fw] = {"epoch_median": float(np.median(epoch)), "epoch_min": min(epoch), "epoch_max": max(epoch),
                           "step_median": float(np.median(per_img)) * batch, "loss": segs[fw][-1]["loss"],
                           "minflt_per_step": float(np.mean([s["minflt"] / (s["n"] / batch) for s in segs[fw]])),
                           "maxrss_mb": info[fw]["maxrss_mb"], "rss_at_start_mb": info[fw]["rss_import_mb"],
                           "segments": segs[fw]}
            gflop = models.flops_per_sample(kind) * N_TRAIN / 1e9
            limit_s = gflop / peaks[threads] if peaks and peaks.get(threads) else None   # at the sgemm peak
            base = res.get("torch")
            for fw in present:
                r_ = res[fw]
                rt = r_["epoch_median"] / base["epoch_median"] if base else None
                target = TARGETS[(kind, batch)] if fw.startswith("nnc") else None
                check = "" if rt is None or target is None else ("ok" if rt <= target else "MISS")
                rows.append([f"{kind} b{batch}", fw, f"{fmt_time(r_['epoch_median'])} ({fmt_time(r_['epoch_min'])}-"
                             f"{fmt_time(r_['epoch_max'])})", fmt_time(r_["step_median"]),
                             f"{gflop / r_['epoch_median']:.0f}",
                             "" if limit_s is None else f"{r_['epoch_median'] / limit_s:.2f}",
                             "" if rt is None else f"{rt:.2f}",
                             "" if target is None else f"<= {target}", check, f"{r_['loss']:.3f}",
                             f"{r_['minflt_per_step']:.0f}", f"{r_['maxrss_mb']:.0f}"])
                records.append({"group": "e2e", "case": f"{kind} batch {batch}", "framework": fw, "threads": threads,
                                "epoch_fraction": seg_n[fw] / N_TRAIN, "gflop_epoch": gflop, "ratio_vs_torch": rt,
                                "flop_limit_s": limit_s,
                                "x_flop_limit": None if limit_s is None else r_["epoch_median"] / limit_s,
                                "target": target, **r_})
    hdr = ["model", "framework", "epoch median (min-max)", "step", "GFLOP/s", "x FLOP limit", "x/torch", "target", "check",
           "loss (last seg)", "faults/step", "peak RSS MB"]
    frac_note = ("full epochs" if not opts.quick else
                 "--quick: each timing is a fraction of an epoch (MLP 1/4, scikit-learn 1/16, LeNet-5 1/16) "
                 "scaled to 60k images")
    text = (f"### End to end, {threads} thread(s): one training epoch, SGD lr {LR}, float32 ({frac_note})\n\n"
            + "data: " + "; ".join(sorted(sources)) + "\n\n" + table(hdr, rows)
            + "\n\nx FLOP limit: the epoch's time over the time its multiply-adds take at the run's sgemm peak "
              "(1 would be the whole epoch at the speed of one large matrix product). "
              "x/torch < 1: faster than PyTorch. Losses are the mean over the last timed segment "
              "(same weights and batches, so nnc and torch should agree closely; scikit-learn draws its own "
              "initial weights and trains in float64 internally where it upcasts). Peak RSS is per process.")
    if rows:
        blocks.append(text)
    return "\n\n".join(blocks), records
