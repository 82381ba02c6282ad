"""nnc benchmarks: where nnc stands against PyTorch and scikit-learn, and what each step buys.

    python benchmarks/run.py [--quick] [--only NAME] [--threads 1,2] [--json out.json]

Groups (NAME for --only; any other NAME keeps the cases whose name contains it):
    kernels   every kernel, forward and forward+backward, nnc native vs PyTorch, same threads
    ladder    one conv and one dense layer: reference -> NumPy -> native 1 thread -> all threads -> PyTorch
    e2e       one training epoch of the MLP and LeNet-5 on Fashion-MNIST, nnc vs PyTorch (and
              scikit-learn for the MLP), each framework in its own process (peak RSS)
    scaling   kernels and the LeNet-5 step at 1, 2, 4, ... threads: speed-up and efficiency
    inference prediction throughput (batch 256), batch-1 latency, a float64 training step, vs PyTorch

Ratios are nnc time / peer time over medians of interleaved runs in the same process: < 1 means
nnc is faster. Nothing here is asserted; the tables say `ok`/`MISS` against the targets of the issue.
--quick (fewer repeats, a fraction of an epoch, smaller sgemm) finishes in under two minutes on 2 cores.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _import_nnc():
    """The installed nnc (`pip install .`, or `pip install -e .` for a checkout built in place)."""
    import nnc
    if not nnc.backend.native_available():
        sys.exit(f"nnc's native extension did not import ({nnc.backend.native_error()}); "
                 "build it with `pip install .` from the repository root")
    return nnc


GROUPS = ("kernels", "ladder", "e2e", "scaling", "inference")


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short run (< 2 minutes on 2 cores)")
    p.add_argument("--only", metavar="NAME", help="a group (" + ", ".join(GROUPS) + ") or a case-name substring")
    p.add_argument("--threads", metavar="LIST", help="thread counts, e.g. 1,2 (default: all cores; "
                   "scaling: 1, 2, 4, ... up to the core count)")
    p.add_argument("--json", metavar="PATH", help="write every figure and the environment here")
    p.add_argument("--repeats", type=int, help="timed rounds per case (default 5 quick, 7 full)")
    p.add_argument("--child", help=argparse.SUPPRESS)   # internal: one e2e worker process
    opts = p.parse_args(argv)
    opts.repeats = opts.repeats or (5 if opts.quick else 7)
    opts.target_s = 0.01 if opts.quick else 0.05        # length of one timed batch of calls
    opts.groups = list(GROUPS)
    opts.only_case = None
    if opts.only:
        if opts.only in GROUPS:
            opts.groups = [opts.only]
        else:
            opts.only_case = opts.only
    return opts


def main(argv=None):
    opts = parse(sys.argv[1:] if argv is None else argv)
    if opts.child:   # an e2e worker: imports only its own framework (nnc only when it is the nnc one)
        import e2e
        return e2e.child_main(opts.child)
    nnc = _import_nnc()

    import _harness as h
    t_start = time.perf_counter()
    env = h.environment()
    cores = env["affinity"]
    threads = h.thread_list(opts.threads, cores) if opts.threads else [cores]
    scaling_threads = h.thread_list(opts.threads, cores)
    h.say(f"# nnc benchmarks{' (--quick)' if opts.quick else ''}\n")
    h.say(h.env_summary(env))
    h.say(f"command: python benchmarks/run.py {' '.join(sys.argv[1:] if argv is None else argv)}\n")
    if not env["nnc_config"]["native_built"]:
        h.say("nnc's native extension is not built: only the reference backend can be measured")

    peaks = {}
    need_peak = {"kernels", "ladder", "scaling", "e2e"} & set(opts.groups)
    if need_peak and env["nnc_config"]["native_built"]:
        for n in sorted(set(threads) | set(scaling_threads if "scaling" in opts.groups else [])):
            peaks[n], rates = h.sgemm_peak(n, opts.quick)
            h.say(f"sgemm peak at {n} thread(s): {peaks[n]:.0f} GFLOP/s ("
                  + ", ".join(f"{k} {v:.0f}" for k, v in rates.items()) + ")")
        env["sgemm_peak_gflops"] = peaks
    h.say("")

    doc = {"command": ["benchmarks/run.py"] + (sys.argv[1:] if argv is None else argv), "quick": opts.quick,
           "environment": env, "groups": {}, "tables": {}}
    for group in opts.groups:
        t0 = time.perf_counter()
        h.say(f"## {group}\n")
        try:
            if group == "kernels":
                import kernels
                text, recs = kernels.run(opts, threads, peaks)
            elif group == "ladder":
                import ladder
                text, recs = ladder.run(opts, cores, peaks)
            elif group == "e2e":
                import e2e
                text, recs = e2e.run(opts, threads[-1], peaks)
            elif group == "scaling":
                import scaling
                text, recs = scaling.run(opts, scaling_threads)
            else:
                import inference
                text, recs = inference.run(opts, threads[-1])
        except Exception as exc:  # one broken group must not lose the others' figures
            import traceback
            traceback.print_exc()
            h.say(f"{group}: failed ({exc.__class__.__name__}: {exc}); continuing")
            text, recs = "", []
        doc["groups"][group] = recs
        doc["tables"][group] = text
        h.say(text)
        h.say(f"\n({group}: {time.perf_counter() - t0:.0f} s)\n")
    env["loadavg_end"] = os.getloadavg()
    doc["seconds"] = time.perf_counter() - t_start
    h.say(f"total {doc['seconds']:.0f} s; load average at end " + " ".join(f"{x:.2f}" for x in env["loadavg_end"]))
    if opts.json:
        h.write_json(opts.json, doc)
        h.say(f"wrote {opts.json}")
    del nnc
    return 0


if __name__ == "__main__":
    sys.exit(main())
