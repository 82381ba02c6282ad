"""nnc.sklearn.MLPClassifier against scikit-learn's MLPClassifier, and a sweep of 16 models on Dask.

    python benchmarks/sklearn_compare.py [--quick] [--rounds 3] [--threads N] [--json out.json]

Part 1: both classifiers get the same settings dict (hidden_layer_sizes, solver "adam", learning_rate_init,
alpha, batch_size, max_iter, random_state; tol=0 and n_iter_no_change=max_iter so that both run every epoch)
and the same data: the built-in Fashion-MNIST sample (4,000 training and 1,000 test images, pixels / 255) and
scikit-learn's 8x8 digits (1,347 / 450, pixels / 16). Each round fits both, in an order that alternates from
round to round, and times predict on the test set; the table gives test accuracy (the same in every round: both
are seeded) and the medians. Both sides use the process's default threads (nnc: OpenMP, scikit-learn: numpy's
BLAS), 2 on the development machine; --threads N runs part 1 inside threadpoolctl's threadpool_limits(N), which
caps both.

Part 2: 16 small MLPs (4 widths x 2 learning rates x 2 alphas on the digits) trained through joblib's Dask
backend on a LocalCluster of 1 worker with 2 threads for nnc (OMP_NUM_THREADS=2) and of 2 workers with 1
thread each; the clusters start once and the rounds alternate. The sweep's scores must equal the serial run's.
"""
import argparse
import contextlib
import json
import logging
import os
import statistics
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import nnc
from nnc.sklearn import MLPClassifier as NNCMLP


def fashion():
    (x, y), (xt, yt) = nnc.datasets.load_sample()
    return x.reshape(len(x), -1) / 255.0, y, xt.reshape(len(xt), -1) / 255.0, yt


def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0, stratify=y)
    return X_train, y_train, X_test, y_test


def settings(max_iter):
    return dict(hidden_layer_sizes=(128,), solver="adam", learning_rate_init=1e-3, alpha=1e-4, batch_size=200,
                max_iter=max_iter, tol=0.0, n_iter_no_change=max_iter, shuffle=True, random_state=0)


def compare(data, max_iter, rounds):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SKMLP
    X, y, Xt, yt = data
    contenders = {"nnc": NNCMLP, "scikit-learn": SKMLP}
    fit_s, predict_s, accuracy = {k: [] for k in contenders}, {k: [] for k in contenders}, {}
    for r in range(rounds):
        order = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
        for name in order:
            clf = contenders[name](**settings(max_iter))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0 = time.perf_counter()
                clf.fit(X, y)
                fit_s[name].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            pred = clf.predict(Xt)
            predict_s[name].append(time.perf_counter() - t0)
            accuracy[name] = float(np.mean(pred == yt))
    return {name: {"accuracy": accuracy[name], "fit_s": statistics.median(fit_s[name]),
                   "predict_s": statistics.median(predict_s[name]), "fit_each_s": fit_s[name]}
            for name in contenders}


GRID = [dict(hidden_layer_sizes=(h,), learning_rate_init=lr, alpha=a)
        for h in (16, 32, 64, 128) for lr in (1e-3, 1e-2) for a in (1e-4, 1e-2)]


def fit_one(params, data, max_iter):
    X, y, Xt, yt = data
    clf = NNCMLP(max_iter=max_iter, batch_size=64, random_state=0, **params).fit(X, y)
    return clf.score(Xt, yt)


def sweep(data, max_iter, rounds):
    import joblib
    from distributed import Client, LocalCluster
    serial = [fit_one(p, data, max_iter) for p in GRID]
    layouts = {"1 worker x 2 threads": (1, "2"), "2 workers x 1 thread": (2, "1")}
    logging.getLogger("distributed").setLevel(logging.ERROR)   # the scheduler's INFO lines at shutdown
    clients, times, threads_seen = {}, {k: [] for k in layouts}, {}
    try:
        for name, (workers, threads) in layouts.items():
            # A nanny puts its pre-spawn-environ (OMP_NUM_THREADS=1 by default) into its own process's environment
            # unless the variable is set there already, and the workers it spawns inherit it: set it first.
            saved = dict(os.environ)
            os.environ["OMP_NUM_THREADS"] = threads
            try:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=40)
            finally:
                os.environ.clear()
                os.environ.update(saved)
            clients[name] = Client(cluster)
            clients[name].run(lambda: fit_one(GRID[0], data, 1))    # warm: imports and first calls
            threads_seen[name] = sorted(clients[name].run(nnc.get_num_threads).values())
        for r in range(rounds):
            for name in (list(layouts) if r % 2 == 0 else list(layouts)[::-1]):
                with clients[name].as_current(), joblib.parallel_backend("dask"):
                    t0 = time.perf_counter()
                    scores = joblib.Parallel(n_jobs=-1)(joblib.delayed(fit_one)(p, data, max_iter) for p in GRID)
                    times[name].append(time.perf_counter() - t0)
                assert scores == serial, f"{name}: the sweep's scores differ from the serial run's"
    finally:
        for client in clients.values():
            cluster = client.cluster
            client.close()
            cluster.close()
    return {name: {"median_s": statistics.median(t), "each_s": t, "nnc_threads_per_worker": threads_seen[name]}
            for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (3 instead of 20)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--threads", type=int, default=None,
                        help="part 1 inside threadpoolctl.threadpool_limits(N): numpy's BLAS and nnc's OpenMP alike")
    args = parser.parse_args(argv)
    max_iter = 3 if args.quick else 20
    import sklearn
    with threadpool_limits(args.threads) if args.threads else contextlib.nullcontext():
        threads = nnc.get_num_threads()
    print(f"nnc {nnc.__version__} ({threads} threads in part 1), scikit-learn {sklearn.__version__}, "
          f"python {sys.version.split()[0]}; {max_iter} epochs, median of {args.rounds} rounds")
    results = {"compare": {}, "sweep": None}
    print("\n| data | classifier | test accuracy | fit | predict | fit nnc / scikit-learn |")
    print("|------|------------|---------------|-----|---------|------------------------|")
    cases = (("Fashion-MNIST sample 4000/1000, 784-128-10", fashion), ("digits 1347/450, 64-128-10", digits))
    for label, load in cases:
        with threadpool_limits(args.threads) if args.threads else contextlib.nullcontext():
            res = compare(load(), max_iter, args.rounds)
        results["compare"][label] = res
        ratio = res["nnc"]["fit_s"] / res["scikit-learn"]["fit_s"]
        for name, r in res.items():
            print(f"| {label} | {name} | {r['accuracy']:.3f} | {r['fit_s']:.2f} s | {1e3 * r['predict_s']:.1f} ms | "
                  + (f"{ratio:.2f} |" if name == "nnc" else " |"))
    res = sweep(digits(), max_iter, args.rounds)
    results["sweep"] = res
    base = res["1 worker x 2 threads"]["median_s"]
    print("\n| sweep of 16 MLPs on digits, Dask LocalCluster | nnc threads per worker | median | each round "
          "| / 1 worker x 2 threads |")
    print("|---|---|---|---|---|")
    for name, r in res.items():
        each = ", ".join(f"{t:.2f}" for t in r["each_s"])
        print(f"| {name} | {r['nnc_threads_per_worker']} | {r['median_s']:.2f} s | {each} | "
              f"{r['median_s'] / base:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
