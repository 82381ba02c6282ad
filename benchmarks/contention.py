"""The demo's MLP on a 2-core machine shared with one busy process: 1 thread vs 2, per OpenMP wait policy.

    python benchmarks/contention.py [--quick] [--rounds 5]

Each figure is one training epoch of the demo's MLP (784-256-128-10, batch 32, SGD with momentum) on the
built-in sample, timed in a fresh process, since the OpenMP runtime reads its wait policy once, when it
loads. The policies: nnc's default (OMP_WAIT_POLICY=PASSIVE, see nnc/config.py), the runtime's own
(NNC_OMP_WAIT=default: libgomp spins 300,000 turns) and a short spin (GOMP_SPINCOUNT=300).
PyTorch's rows train the same MLP at its own defaults (1 and 2 threads; PyTorch installed).
"Busy" runs one pure-Python spinning process beside the training for the whole measurement. Rounds are
interleaved and the table gives medians; the target (issue 10) is busy 2 threads <= 1.5x busy 1 thread,
without losing the quiet 2-thread speed.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import sys, time
import numpy as np
import nnc
from nnc.layers import Dense, Flatten
threads, n = int(sys.argv[1]), int(sys.argv[2])
(x, y), _ = nnc.datasets.load_sample()
x, y = x[:n].astype(np.float32) / 255.0, y[:n]
model = nnc.Sequential([Flatten(input_shape=(28, 28)), Dense(256, activation="relu"),
                        Dense(128, activation="relu"), Dense(10)], seed=0)
model.compile(optimizer=nnc.optim.SGD(lr=0.01, momentum=0.9), loss="softmax_cross_entropy")
with nnc.threads(threads):
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)      # warm-up: a whole epoch (see WARM below)
    t = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
print(time.perf_counter() - t)
"""

# The same epoch in PyTorch at its own defaults (its libgomp spins), for the comparison beside a busy process.
# The child does not import nnc (whose OpenMP policy would then be torch's too): it reads the sample's file.
TORCH_CHILD = r"""
import importlib.util, os, sys, time
import numpy as np
import torch
threads, n = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
root = importlib.util.find_spec("nnc").submodule_search_locations[0]
with np.load(os.path.join(root, "datasets", "fashion_sample.npz")) as f:
    x = torch.from_numpy(f["x_train"][:n].reshape(n, -1).astype(np.float32) / 255.0)
    y = torch.from_numpy(f["y_train"][:n].astype(np.int64))
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(),
                            torch.nn.Linear(128, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
loss_fn = torch.nn.CrossEntropyLoss()
def epoch(m):
    for i in range(0, m, 32):
        opt.zero_grad()
        loss_fn(model(x[i:i + 32]), y[i:i + 32]).backward()
        opt.step()
epoch(n)       # warm-up: a whole epoch (see WARM below)
t = time.perf_counter()
epoch(n)
print(time.perf_counter() - t)
"""

POLICIES = {"nnc default": {}, "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
            "runtime default": {"NNC_OMP_WAIT": "default"},
            "spin 300": {"GOMP_SPINCOUNT": "300", "KMP_BLOCKTIME": "0"},
            "spin 10k": {"GOMP_SPINCOUNT": "10000", "KMP_BLOCKTIME": "0"},
            "spin 100k": {"GOMP_SPINCOUNT": "100000", "KMP_BLOCKTIME": "1"}}


TORCH = "PyTorch (its default)"
# WARM: each child trains one untimed epoch first. A fresh process's first 50 ms or so ran slowly on 2
# threads (the VM's idle core coming back; benchmarks/_harness.py, WARM_S), which made the same policy
# measure 0.11 s in one run and 0.15 s in the next.


def run_child(threads, n, env_updates, code=CHILD):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")}
    env.update(env_updates)
    out = subprocess.run([sys.executable, "-c", code, str(threads), str(n)], env=env, check=True,
                         capture_output=True, text=True, timeout=600)
    return float(out.stdout.split()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2000 samples instead of 4000")
    ap.add_argument("--rounds", type=int, default=5)
    opts = ap.parse_args(argv)
    n = 2000 if opts.quick else 4000
    policies = list(POLICIES)
    try:
        import torch  # noqa: F401
        policies.append(TORCH)
    except ImportError:
        print("PyTorch not installed: its rows are left out (pip install \".[bench]\")\n")
    cases = [(load, threads, policy) for load in ("quiet", "busy") for threads in (1, 2) for policy in policies
             if threads == 2 or policy in ("nnc default", TORCH)]
    times = {case: [] for case in cases}
    for load in ("quiet", "busy"):
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load == "busy" else None
        try:
            time.sleep(0.2)
            for _ in range(opts.rounds):
                for case in cases:
                    if case[0] == load:
                        times[case].append(run_child(case[1], n, {}, TORCH_CHILD) if case[2] == TORCH
                                           else run_child(case[1], n, POLICIES[case[2]]))
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    med = {case: statistics.median(v) for case, v in times.items()}
    print(f"one epoch of the demo MLP, {n} samples, median of {opts.rounds} interleaved runs, "
          f"{os.cpu_count()} cores\n")
    print("| load | threads | OpenMP wait | time (each run) | vs 1 thread, same load |")
    print("|---|---|---|---|---|")
    for case in cases:
        base = med[(case[0], 1, TORCH if case[2] == TORCH else "nnc default")]
        runs = ", ".join(f"{t:.3f}" for t in times[case])
        print(f"| {case[0]} | {case[1]} | {case[2]} | {med[case]:.3f} s ({runs}) | {med[case] / base:.2f}x |")


if __name__ == "__main__":
    main()
