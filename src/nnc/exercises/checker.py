"""check(): run a student's kernel against the reference on the catalogue's cases, in plain words.

Each case compares every output with the reference's (shape, dtype, values: the max relative error
and the first wrong entry), and, where they differ, tries the catalogue's mistakes: when the
student's output equals the reference's output transformed by a mistake, its hint is shown.
Backward exercises get the cache of the REFERENCE forward, so a backward can be written alone;
when the student's own forward is found too, the pair is checked by finite differences.
"""
import copy
import inspect
import os
import traceback
from dataclasses import asdict, dataclass, field
from typing import List, Optional

import numpy as np

from ..backend import reference as R
from ..gradcheck import numerical_gradient, relative_error, worst_entries

TOL = {np.dtype(np.float64): (1e-6, 1e-3), np.dtype(np.float32): (1e-3, 1e-2)}  # (rtol, floor as a share of max|E|)
PAIR_TOL = 1e-5


@dataclass
class CaseResult:
    """The outcome of one case: passed, a message in words when it failed, the largest relative
    error of the outputs, the first wrong entry and the hints of the catalogue's matching mistakes."""
    label: str
    passed: bool
    message: str = ""
    max_relative_error: Optional[float] = None
    first_wrong: Optional[dict] = None       # {"output", "index", "got", "expected"}
    hints: List[str] = field(default_factory=list)


@dataclass
class CheckReport:
    """What check() returns: one CaseResult per case; ok is True when there are cases and all passed.
    print(report) gives the report in words, report.to_dict() the same as plain data."""
    exercise: str
    solution: str
    cases: List[CaseResult]
    not_implemented: bool = False

    @property
    def ok(self):
        return bool(self.cases) and all(c.passed for c in self.cases)

    def to_dict(self):
        return {"exercise": self.exercise, "ok": self.ok, "passed": sum(c.passed for c in self.cases),
                "total": len(self.cases), "not_implemented": self.not_implemented,
                "reference_solution": self.solution, "cases": [asdict(c) for c in self.cases]}

    def __str__(self):
        lines = [f"exercise {self.exercise} (the reference solution is {self.solution})"]
        for c in self.cases:
            lines.append(f"  {'PASS' if c.passed else 'FAIL'}  {c.label}"
                         + (f"  (max relative error {c.max_relative_error:.1e})"
                            if c.max_relative_error is not None and c.passed else ""))
            if c.message:
                lines += [f"        {line}" for line in c.message.splitlines()]
            lines += [f"        hint: {h}" for h in c.hints]
        n = sum(c.passed for c in self.cases)
        verdict = "all pass" if self.ok else "write the body of the function first" if self.not_implemented \
            else "fix the failing cases, the first one first"
        lines.append(f"{n} of {len(self.cases)} cases pass: {verdict}")
        return "\n".join(lines)


def _where(exc):
    """' (at my_conv.py line 12)': the last frame of the traceback outside nnc."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not os.path.abspath(f.filename).startswith(here)]
    return f" (at {os.path.basename(frames[-1].filename)} line {frames[-1].lineno})" if frames else ""


class _Refused(Exception):
    """The student's call failed; the message says how, in plain words."""
    def __init__(self, message, not_implemented=False):
        super().__init__(message)
        self.not_implemented = not_implemented


def _call(fn, name, ex, args, kwargs):
    try:
        inspect.signature(fn).bind(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise _Refused(f"your function cannot be called as the exercise calls it ({e}); "
                       f"it must take {name}{ex.signature}") from None
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise _Refused(f"not implemented yet: {name} raises NotImplementedError; write its body "
                       "(replace the TODO and the raise)", not_implemented=True) from None
    except Exception as e:  # noqa: BLE001 - any bug in student code is reported, never a crash
        raise _Refused(f"your function raised {type(e).__name__}: {e}{_where(e)}") from None


def _as_outputs(ex, result, who="your function"):
    names = ex.outputs
    if len(names) == 1:
        if isinstance(result, tuple):
            raise _Refused(f"{who} returned a tuple of {len(result)}; return the array {names[0]} alone")
        return {names[0]: result}
    if not isinstance(result, tuple) or len(result) != len(names):
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        raise _Refused(f"{who} must return the tuple ({', '.join(names)}), got {got}")
    return dict(zip(names, result))


def _compare(name, got, expected, dtype):
    """None when got matches expected, else (message, max relative error or None, first wrong or None)."""
    if expected is None:
        return None if got is None else (f"{name} must be None here (no bias: use_bias is False)", None, None)
    if got is None:
        return f"{name} is None; it must be computed", None, None
    if isinstance(expected, float):
        try:
            got = float(got)
        except (TypeError, ValueError):
            return f"{name} must be a number (a float), got {type(got).__name__}", None, None
        e = np.array([expected]); g = np.array([got])
    else:
        if not isinstance(got, np.ndarray):
            return f"{name} must be a numpy array, got {type(got).__name__}", None, None
        if got.shape != expected.shape:
            return f"{name} has shape {got.shape}, expected {expected.shape}", None, None
        if got.dtype != expected.dtype:
            return (f"{name} has dtype {got.dtype}, expected {expected.dtype} (the dtype of the input): create "
                    f"arrays with dtype=x.dtype, e.g. np.zeros(shape, dtype=x.dtype)"), None, None
        e, g = expected.astype(np.float64), got.astype(np.float64)
    rtol, floor = TOL.get(np.dtype(dtype), TOL[np.dtype(np.float64)])
    finite = np.isfinite(e)
    if np.any(finite & ~np.isfinite(g)):
        i = tuple(int(k) for k in np.argwhere(finite & ~np.isfinite(g))[0])
        return (f"{name}{list(i) if e.ndim else ''} is {g[i]} where the answer is finite ({e[i]:.6g}): an overflow or "
                "a division by zero (for exp(), subtract each row's max first)", None,
                {"output": name, "index": list(i), "got": float(g[i]), "expected": float(e[i])})
    scale = max(float(np.max(np.abs(e[finite]))) if finite.any() else 0.0, 1e-300)
    rel = np.where(finite, np.abs(g - e) / np.maximum(np.abs(e), floor * scale), 0.0)
    worst = float(rel.max()) if rel.size else 0.0
    if worst <= rtol:
        return None
    i = tuple(int(k) for k in np.argwhere(rel > rtol)[0])
    shown = f"{name}[{', '.join(map(str, i))}]" if isinstance(expected, np.ndarray) else name
    return (f"{name}: max relative error {worst:.1e}; first wrong entry {shown} = {g[i]:.6g}, expected {e[i]:.6g}",
            worst, {"output": name, "index": list(i), "got": float(g[i]), "expected": float(e[i])})


def _close(a, b):
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-8 * max(np.abs(b).max(initial=0), 1e-30))


def _hints(ex, got, expected, ctx):
    hints = []
    for m in ex.mistakes:
        try:
            wrong = m.wrong(expected, ctx)
        except Exception:  # noqa: BLE001 - a mistake that does not apply to this case
            continue
        # per output: a mistake in db alone (db / N) must be named even though dx and dW are right
        matched = [k for k, w in wrong.items() if k in got and _close(got[k], w) and not _close(expected[k], w)]
        if matched:
            hints.append(m.hint if set(matched) == set(wrong) else f"{', '.join(matched)}: {m.hint}")
    return hints


def _loss_like(ex):
    return ex.forward is not None and "losses" in getattr(R, ex.forward).__module__


def _setup(ex, case):
    """(call args, call kwargs, context, dtype) of one case."""
    args, kw = case.make()
    ctx = {"args": case.make()[0], "kwargs": kw, "dout": None, "cache": None}
    dtype = next((a.dtype for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f"), np.float64)
    ctx["N"] = args[0].shape[0] if isinstance(args[0], np.ndarray) and args[0].ndim else 1
    if not ex.is_backward:
        return args, kw, ctx, dtype
    out, cache = getattr(R, ex.forward)(*args, **kw)
    ctx["cache"] = cache
    if _loss_like(ex):
        return (cache,), {}, ctx, dtype
    ctx["dout"] = np.random.default_rng(99).standard_normal(out.shape).astype(out.dtype)
    return (ctx["dout"], cache), {}, ctx, dtype


def _run_case(ex, fn, case):
    args, kw, ctx, dtype = _setup(ex, case)
    expected = _as_outputs(ex, ex.reference(*copy.deepcopy(args), **kw), "the reference")
    student_args = copy.deepcopy(args) if ex.is_backward else case.make()[0]
    got = _as_outputs(ex, _call(fn, ex.name, ex, student_args, kw))
    if ex.extra is not None:       # what the kernel writes in place (batch-norm running statistics)
        ref_args = case.make()[0]
        ex.reference(*ref_args, **kw)
        expected.update(ex.extra(ref_args))
        got.update(ex.extra(student_args))
    problems, worst, first = [], 0.0, None
    for name in expected:
        if name == "cache":
            continue
        bad = _compare(name, got[name], expected[name], dtype)
        if bad:
            problems.append(bad[0])
            first = first or bad[2]
            worst = max(worst, bad[1] or 0.0)
    if problems:
        return CaseResult(case.label, False, "\n".join(problems), worst or None, first, _hints(ex, got, expected, ctx))
    cache_problem = _check_cache(ex, got.get("cache"), expected.get("cache"), args, kw)
    if cache_problem:
        return CaseResult(case.label, False, cache_problem)
    return CaseResult(case.label, True, max_relative_error=_max_error(got, expected))


def _max_error(got, expected):
    errs = [relative_error(got[k], expected[k]) for k in expected
            if k != "cache" and expected[k] is not None and got[k] is not None]
    return max(errs) if errs else 0.0


def _check_cache(ex, cache, ref_cache, args, kw):
    """A forward's cache must work with the library's backward (plug() hands it there)."""
    if "cache" not in ex.outputs or not hasattr(R, ex.name.replace("_forward", "_backward")):
        return None
    bwd = getattr(R, ex.name.replace("_forward", "_backward"))
    loss = "losses" in bwd.__module__
    out = ex.reference(*copy.deepcopy(args), **kw)[0]
    dout = None if loss else np.random.default_rng(98).standard_normal(np.shape(out)).astype(args[0].dtype)
    call = (lambda c: bwd(c)) if loss else (lambda c: bwd(dout, c))
    try:
        got = call(copy.deepcopy(cache))
    except Exception as e:  # noqa: BLE001
        return (f"the output is right, but nnc's {bwd.__name__} cannot use your cache ({type(e).__name__}: {e}); "
                f"return the cache record the docstring names, with the fields in that order")
    want = call(ref_cache)
    got, want = (got if isinstance(got, tuple) else (got,)), (want if isinstance(want, tuple) else (want,))
    if not all(_close(g, w) for g, w in zip(got, want)):
        return (f"the output is right, but nnc's {bwd.__name__} gives a wrong gradient from your cache: "
                f"check what you store in it (the docstring says which fields)")
    return None


def _pair_check(ex, fn, fwd):
    """Finite differences of the student's own forward against the student's backward."""
    case = next((c for c in ex.cases[1:] if c.make()[0][0].dtype == np.float64), ex.cases[0])
    label = f"finite differences: your {ex.forward} and {ex.name} ({case.label})"
    args, kw = case.make()
    try:
        out, cache = _call(fwd, ex.forward, ex, args, kw)
        loss = _loss_like(ex)
        dout = None if loss else np.random.default_rng(97).standard_normal(np.shape(out))
        grads = _as_outputs(ex, _call(fn, ex.name, ex, (cache,) if loss else (dout, cache), {}))
    except _Refused as e:
        return CaseResult(label, False, f"could not run the pair: {e}")
    problems, worst = [], 0.0
    for name, i in ex.grads.items():
        if grads.get(name) is None or not isinstance(args[i], np.ndarray):
            continue
        base = args[i]

        def L(i=i, base=base):
            fresh = list(case.make()[0])
            fresh[i] = base
            o = fwd(*fresh, **kw)[0]
            return float(o) if loss else float(np.sum(o * dout))
        numeric = numerical_gradient(L, base)
        if np.shape(grads[name]) != numeric.shape:
            problems.append(f"{name} has shape {np.shape(grads[name])}, expected {numeric.shape}")
            continue
        err = relative_error(grads[name], numeric)
        worst = max(worst, err)
        if err > PAIR_TOL:
            problems.append(f"{name} disagrees with finite differences of your forward (relative error {err:.1e}); "
                            f"worst entry {worst_entries(grads[name], numeric, name, 1)[0]}")
    return CaseResult(label, not problems, "\n".join(problems), worst)


def run_check(ex, fn, forward=None):
    """What nnc.exercises.check runs, for the catalogue entry `ex` itself -> CheckReport.

    fn is run on every case of ex and each output compared with the reference's; for a backward
    exercise the pair (forward, fn) is also checked by finite differences, forward being the given
    one or the function named like the forward beside fn in its module. A case that fn refuses
    with NotImplementedError stops the run (every case would say the same)."""
    if not callable(fn):
        raise TypeError(f"check: fn must be your function (a callable), got {type(fn).__name__}")
    if forward is not None and not callable(forward):
        raise TypeError(f"check: forward must be your forward function or None, got {type(forward).__name__}")
    results, not_impl = [], False
    for case in ex.cases:
        try:
            results.append(_run_case(ex, fn, case))
        except _Refused as e:
            results.append(CaseResult(case.label, False, str(e)))
            if e.not_implemented:
                not_impl = True
                break          # every case would say the same
    if ex.is_backward and not not_impl:
        if forward is None:    # the student's forward, when it sits in the same module
            import sys
            forward = getattr(sys.modules.get(getattr(fn, "__module__", None)), ex.forward, None)
            forward = None if forward is getattr(R, ex.forward) else forward
        if forward is not None and ex.grads:
            results.append(_pair_check(ex, fn, forward))
    return CheckReport(ex.name, ex.solution, results, not_impl)
