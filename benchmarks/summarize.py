"""Combine several runs of benchmarks/run.py into one set of tables: every run's ratio and their median.

    python benchmarks/run.py --quick --json run1.json      # three times, or more
    python benchmarks/summarize.py run1.json run2.json run3.json

On a shared machine one run's figure can be off by 10-30% (a neighbour's burst lands on one case), while
the median over a few runs hardly moves; the tables in benchmarks/README.md come from this script. Times
are medians over the runs of each run's median; ratios are nnc / PyTorch, as in run.py; ok/MISS is judged
on the median ratio.
"""
import json
import statistics
import sys

from _harness import fmt_ratio, fmt_time, table, verdict


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _each(values, fmt=fmt_ratio):
    return ", ".join(fmt(v) for v in values)


def kernels(runs):
    cases = [{(c["case"], c["pass"]): c for c in r["groups"].get("kernels", []) if "stats" in c} for r in runs]
    rows = []
    for key, first in cases[0].items():
        cs = [k[key] for k in cases if key in k]
        ratios = [c.get("ratio") for c in cs]
        med = _median(ratios)
        peak = _median([c.get("peak_fraction") for c in cs])
        rows.append([key[0], key[1], fmt_time(_median([c["stats"]["nnc"]["median"] for c in cs])),
                     fmt_time(_median([c["stats"].get("torch", {}).get("median") for c in cs])),
                     _each(ratios), fmt_ratio(med), "" if first.get("target") is None else f"<= {first['target']:g}",
                     verdict(med, first.get("target")), "" if peak is None else f"{peak * 100:.0f}%"])
    return table(["case", "pass", "nnc", "PyTorch", "nnc / PyTorch, each run", "median", "target", "check",
                  "nnc % sgemm peak"], rows)


def e2e(runs):
    cases = [{(c["case"], c["framework"]): c for c in r["groups"].get("e2e", [])} for r in runs]
    rows = []
    for case in dict.fromkeys(c for c, _ in cases[0]):
        n = [k[(case, "nnc")] for k in cases if (case, "nnc") in k]
        t = [k[(case, "torch")] for k in cases if (case, "torch") in k]
        sk = [k[(case, "sklearn")]["ratio_vs_torch"] for k in cases if (case, "sklearn") in k]
        spin = [k[(case, "nnc-spin")]["ratio_vs_torch"] for k in cases if (case, "nnc-spin") in k]
        limit = [c["x_flop_limit"] for c in n if c.get("x_flop_limit")]
        ratios = [c.get("ratio_vs_torch") for c in n]
        med, target = _median(ratios), n[0].get("target")
        rows.append([case, fmt_time(_median([c["epoch_median"] for c in n])),
                     fmt_time(_median([c["epoch_median"] for c in t])), _each(ratios), fmt_ratio(med),
                     "" if target is None else f"<= {target:g}", verdict(med, target),
                     fmt_ratio(_median(spin)) if spin else "", f"{_median(limit):.2f}" if limit else "",
                     fmt_ratio(_median(sk)) if sk else "",
                     f"{n[0]['maxrss_mb']:.0f} / {t[0]['maxrss_mb']:.0f} MB" if t else ""])
    return table(["model", "nnc epoch", "PyTorch epoch", "nnc / PyTorch, each run", "median", "target", "check",
                  "nnc spinning / PyTorch", "nnc x FLOP limit", "scikit-learn / PyTorch", "peak RSS nnc / torch"],
                 rows)


def scaling(runs):
    groups = [r["groups"].get("scaling", []) for r in runs]
    rows = []
    for i, c in enumerate(groups[0]):
        cs = [g[i] for g in groups if i < len(g) and g[i]["case"] == c["case"] and g[i]["threads"] == c["threads"]]
        nnc = [x["speedup"]["nnc"] for x in cs]
        med, target = _median(nnc), c.get("target_speedup")
        rows.append([c["case"], c["threads"], fmt_time(_median([x["stats"]["nnc"]["median"] for x in cs])),
                     _each(nnc, lambda v: f"{v:.2f}x"), f"{med:.2f}x",
                     _each([x["speedup"].get("torch") for x in cs], lambda v: "-" if v is None else f"{v:.2f}x"),
                     "" if target is None else f">= {target:g}x", verdict(med, target, higher_is_better=True)])
    return table(["case", "threads", "nnc", "nnc speed-up, each run", "median", "PyTorch speed-up, each run",
                  "target", "check"], rows)


def ladder(runs):
    groups = [r["groups"].get("ladder", []) for r in runs]
    rows = []
    for i, c in enumerate(groups[0]):
        cs = [g[i] for g in groups if i < len(g) and g[i]["rung"] == c["rung"]]
        rows.append([c["case"], c["rung"], fmt_time(_median([x["seconds"] for x in cs]))])
    return table(["layer", "rung", "time per call (median of runs)"], rows)


def main(paths):
    if not paths:
        sys.exit(__doc__)
    runs = [json.load(open(p)) for p in paths]
    print(f"{len(runs)} run(s): " + ", ".join(paths) + "\n")
    for title, fn in (("kernels", kernels), ("end to end", e2e), ("ladder", ladder), ("scaling", scaling)):
        if any(r["groups"].get(title.split()[0] if title != "end to end" else "e2e") for r in runs):
            print(f"### {title}\n\n{fn(runs)}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
