"""Sweeps beyond one process: a grid search over nnc models on a Dask LocalCluster (worker processes on this
machine) and on joblib's default process backend equals the serial run bit for bit, and each worker uses its
share of the cores (OMP_NUM_THREADS in workers, threadpoolctl's limits)."""
import os

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import nnc
from nnc.sklearn import MLPClassifier

distributed = pytest.importorskip("distributed")

GRID = {"hidden_layer_sizes": [(8,), (32,)], "learning_rate_init": [1e-3, 1e-2]}


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(200, n_features=10, n_informative=6, n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def search(n_jobs=None):
    return GridSearchCV(MLPClassifier(max_iter=8, random_state=0), GRID, cv=3, n_jobs=n_jobs)


@pytest.fixture(scope="module")
def serial(data):
    return search().fit(*data)


def assert_same_search(a, b, X):
    for key in ("mean_test_score", "std_test_score", "split0_test_score", "rank_test_score"):
        np.testing.assert_array_equal(a.cv_results_[key], b.cv_results_[key])
    assert a.best_params_ == b.best_params_
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def worker_threads():
    """What the native kernels use in this process, and the environment's OMP_NUM_THREADS."""
    return nnc.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def test_grid_search_on_a_dask_local_cluster_equals_the_serial_run(data, serial):
    X, y = data
    environ = dict(os.environ)
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      silence_logs=40) as cluster, distributed.Client(cluster) as client:
            with joblib.parallel_backend("dask"):
                on_dask = search(n_jobs=-1).fit(X, y)
            # Dask's nannies start workers with OMP_NUM_THREADS=1, and nnc follows it: 2 workers x 1 thread.
            threads = client.run(worker_threads)
    finally:
        # A nanny writes its pre-spawn-environ (OMP_NUM_THREADS=1, ...) into this process's environment, where
        # the later tests' child processes would inherit it.
        os.environ.clear()
        os.environ.update(environ)
    assert_same_search(on_dask, serial, X)
    assert sorted(threads.values()) == [(1, "1"), (1, "1")]


def test_grid_search_on_joblib_processes_equals_the_serial_run(data, serial):
    X, y = data
    with joblib.parallel_backend("loky", n_jobs=2):
        in_processes = search(n_jobs=2).fit(X, y)
        threads = joblib.Parallel(n_jobs=2)(joblib.delayed(worker_threads)() for _ in range(2))
    assert_same_search(in_processes, serial, X)
    # loky gives each of the 2 workers its share of the cores through OMP_NUM_THREADS, and nnc follows it.
    assert all(env is not None and n == int(env) for n, env in threads), threads


def test_threadpoolctl_limits_the_native_kernels():
    before = nnc.get_num_threads()
    with threadpool_limits(limits=1):
        assert nnc.get_num_threads() == 1
    assert nnc.get_num_threads() == before
    with threadpool_limits(limits=1, user_api="openmp"):
        with nnc.threads(2) as n:              # an explicit nnc setting is the user's choice and wins
            assert nnc.get_num_threads() == n
