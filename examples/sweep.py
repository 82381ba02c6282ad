"""A hyperparameter sweep: serially, on worker processes and on a Dask cluster
===========================================================================

nnc's MLPClassifier is a scikit-learn estimator, so ``GridSearchCV`` sweeps it like any other: here 2 widths x
2 learning rates x 3 folds = 12 trainings on scikit-learn's 8x8 digits. The same search runs three ways: in
this process, on joblib's worker processes (``n_jobs=2``), and through joblib's Dask backend on a cluster
(``with joblib.parallel_backend("dask"): search.fit(X, y)``). Every training is seeded (``random_state=0``) and
nnc's results do not depend on the thread count, so the three give the same scores, every bit. Each worker
uses its share of the cores: joblib's and Dask's workers start with ``OMP_NUM_THREADS`` set, and nnc follows it.

By default the Dask cluster is a ``LocalCluster`` of 2 worker processes on this machine; ``--scheduler
tcp://HOST:8786`` sends the search to a real cluster instead (its workers need nnc and scikit-learn installed).

    python examples/sweep.py [--quick] [--out DIR] [--scheduler tcp://HOST:8786]
"""
import time

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from nnc.gallery import options, plt, save, table
from nnc.sklearn import MLPClassifier

GRID = {"hidden_layer_sizes": [(16,), (64,)], "learning_rate_init": [1e-3, 1e-2]}


def search(max_iter, n_jobs=None):
    return GridSearchCV(MLPClassifier(max_iter=max_iter, batch_size=64, random_state=0), GRID, cv=3, n_jobs=n_jobs)


def dask_client(address):
    """A client for the cluster at `address`, or for a new LocalCluster of 2 single-threaded worker processes."""
    from distributed import Client, LocalCluster
    if address:
        return Client(address)
    return Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=40))


def main(argv=None):
    args = options("sweep", "a grid search over nnc MLPs: serial, on processes, on Dask", argv,
                   extra=lambda ap: ap.add_argument("--scheduler", default=None,
                                                    help="a Dask scheduler's address, e.g. tcp://HOST:8786 "
                                                         "(default: a LocalCluster on this machine)"))
    X, y = load_digits(return_X_y=True)
    X = X / 16.0                              # pixels 0..16 -> 0..1
    max_iter = 5 if args.quick else 30

    # %%
    # The same search three ways
    runs, rows = {}, []
    t0 = time.perf_counter()
    runs["serial (this process)"] = search(max_iter).fit(X, y)
    rows.append(("serial (this process)", time.perf_counter() - t0))
    t0 = time.perf_counter()
    runs["joblib processes, n_jobs=2"] = search(max_iter, n_jobs=2).fit(X, y)
    rows.append(("joblib processes, n_jobs=2", time.perf_counter() - t0))
    client = dask_client(args.scheduler)
    try:
        where = args.scheduler or "LocalCluster, 2 workers x 1 thread"
        t0 = time.perf_counter()
        with joblib.parallel_backend("dask"):
            runs[f"Dask ({where})"] = search(max_iter, n_jobs=-1).fit(X, y)
        rows.append((f"Dask ({where})", time.perf_counter() - t0))
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None and not args.scheduler:
            cluster.close()

    serial = runs["serial (this process)"].cv_results_["mean_test_score"]
    rows = [(name, seconds, "yes" if np.array_equal(runs[name].cv_results_["mean_test_score"], serial) else "NO")
            for name, seconds in rows]
    print(f"\n{len(runs['serial (this process)'].cv_results_['params']) * 3} trainings of {max_iter} epochs each")
    table(rows, ["where", "seconds", "same scores as serial"])
    print("(the joblib row includes starting its worker processes; the Dask cluster was started before its row)")
    best = runs["serial (this process)"]
    print(f"\nbest: {best.best_params_}, mean cross-validated accuracy {best.best_score_:.3f}")

    # %%
    # The scores of the grid
    fig, ax = plt.subplots(figsize=(6, 3.5))
    res = best.cv_results_
    for lr in GRID["learning_rate_init"]:
        pick = [i for i, p in enumerate(res["params"]) if p["learning_rate_init"] == lr]
        widths = [res["params"][i]["hidden_layer_sizes"][0] for i in pick]
        ax.errorbar(widths, res["mean_test_score"][pick], yerr=res["std_test_score"][pick], marker="o", capsize=3,
                    label=f"learning_rate_init={lr:g}")
    ax.set_xscale("log", base=2)
    sizes = [h[0] for h in GRID["hidden_layer_sizes"]]
    ax.set_xticks(sizes, [str(h) for h in sizes])
    ax.minorticks_off()
    ax.set_xlabel("hidden units")
    ax.set_ylabel("cross-validated accuracy")
    ax.set_title(f"MLP on the 8x8 digits, {max_iter} epochs")
    ax.legend()
    fig.tight_layout()
    save(fig, args.out, "sweep_scores.png")
    return rows


if __name__ == "__main__":
    main()
