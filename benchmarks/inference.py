"""Group 5, inference and float64: what a trained model costs to use, and training in double precision.

    prediction throughput   model.predict on 256 images at batch 256 (MLP and LeNet-5), nnc vs
                            PyTorch in eval mode under torch.inference_mode()
    batch-1 latency         model.predict on one image (LeNet-5): mostly Python overhead on both sides
    float64 training step   train_on_batch of a float64 model vs the torch twin in float64 (SGD)

Both sides hold the same weights (models.py), use the same threads and run interleaved; ratios are
nnc / torch over the medians (< 1: nnc is faster). Targets are those of the performance issue.
"""
import numpy as np

from _harness import SETTLE_BLAS, Threads, fmt_stats, measure, say, table, torch_or_none, verdict

TARGET_PREDICT = 0.6     # nnc / torch, prediction throughput at batch 256 and batch-1 latency
TARGET_FLOAT64 = 0.8     # nnc / torch, a float64 training step


def _predict_cases(rng, torch):
    import models
    for kind, batch in (("mlp", 256), ("lenet5", 256), ("lenet5", 1)):
        model = models.nnc_model(kind, seed=0)
        shape = (batch, 784) if kind == "mlp" else (batch, 1, 28, 28)
        x = rng.random(shape, dtype=np.float32)
        tfn = None
        if torch is not None:
            tm = models.torch_model(kind, models.weights(model)).eval()
            tx = torch.from_numpy(x)

            def tfn(tm=tm, tx=tx):
                with torch.inference_mode():
                    return tm(tx)
        name = ("MLP" if kind == "mlp" else "LeNet-5") + (
            f" predict, batch {batch}" if batch > 1 else " predict, one image (latency)")
        yield name, (lambda m=model, x=x, b=batch: m.predict(x, batch_size=b)), tfn, TARGET_PREDICT


def _float64_cases(rng, torch):
    import nnc
    import models
    for kind, batch in (("mlp", 128), ("lenet5", 64)):
        model = models.nnc_model(kind, seed=0, dtype="float64")
        model.compile(nnc.optim.SGD(0.01), "softmax_cross_entropy")
        shape = (batch, 784) if kind == "mlp" else (batch, 1, 28, 28)
        x = rng.random(shape)
        y = rng.integers(0, 10, batch).astype(np.int64)
        tfn = models.torch_sgd_step(kind, model, x, y) if torch is not None else None
        name = ("MLP" if kind == "mlp" else "LeNet-5") + f" float64 training step, batch {batch}"
        yield name, (lambda m=model, x=x, y=y: m.train_on_batch(x, y)), tfn, TARGET_FLOAT64


def run(opts, n_threads):
    import nnc
    if nnc.backend.native is None:
        say("inference: the native backend is not built; group skipped")
        return "", []
    torch = torch_or_none()
    rng = np.random.default_rng(0)
    rows, records = [], []
    for name, nfn, tfn, target in list(_predict_cases(rng, torch)) + list(_float64_cases(rng, torch)):
        if opts.only_case and opts.only_case not in name:
            continue
        contenders = {"nnc": nfn} if tfn is None else {"nnc": nfn, "torch": tfn}
        with Threads(n_threads):
            st = measure(contenders, repeats=opts.repeats, target_s=opts.target_s, isolate=("torch",),
                         settle_s=SETTLE_BLAS)
        r = st["nnc"]["median"] / st["torch"]["median"] if "torch" in st else None
        rows.append([name, fmt_stats(st["nnc"]), fmt_stats(st.get("torch")), "-" if r is None else f"{r:.2f}",
                     f"<= {target}", verdict(r, target)])
        records.append({"group": "inference", "case": name, "threads": n_threads, "stats": st, "ratio": r,
                        "target": target})
    hdr = ["case", "nnc median (min-max)", "torch median (min-max)", "nnc/torch", "target", "check"]
    return f"### Inference and float64, {n_threads} thread(s)\n\n" + table(hdr, rows), records
