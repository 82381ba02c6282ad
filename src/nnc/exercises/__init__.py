"""Exercise mode: write a kernel yourself, check it against nnc's, then train with it.

    import nnc.exercises as ex
    ex.names()                                   # the catalogue
    ex.start("conv2d_forward", "my_conv.py")     # a stub: signature, shapes, equation, TODO
    ex.check("conv2d_forward", my_conv2d)        # PASS/FAIL per case, first wrong entry, hints
    ex.plug("dense_backward", my_backward).train()   # a model learns Fashion-MNIST with your code
    with ex.plug("dense_backward", my_backward): ...  # or use it in your own training loop

From the shell (for automatic grading): `python -m nnc.exercises list`,
`python -m nnc.exercises start NAME FILE`, `python -m nnc.exercises check NAME FILE [--json]`
(exit status 0 when every case passes).
The solutions are nnc's reference kernels (nnc/backend/reference/*.py); each report names its one.
"""
import importlib.util
import os

from .._names import unknown_name
from .catalogue import EXERCISES
from .checker import CaseResult, CheckReport, run_check
from .plug import Plug

__all__ = ["names", "describe", "start", "check", "plug", "load", "CheckReport", "CaseResult"]


def _get(name):
    if name not in EXERCISES:
        raise unknown_name("exercise", name, EXERCISES)
    return EXERCISES[name]


def names():
    """The exercises, in the order of the course."""
    return list(EXERCISES)


def describe(name):
    """One exercise in plain text: the function to write, its shapes and equation, the solution's place."""
    ex = _get(name)
    return f"{ex.name}{ex.signature}  ({ex.summary})\n{ex.doc}\nreference solution: {ex.solution}"


def _stub(ex, filename):
    doc = "\n    ".join(ex.doc.splitlines())
    imports = "import numpy as np\n" + (ex.imports + "\n" if ex.imports else "")
    pair = (f"\nThis backward is checked with the cache of nnc's {ex.forward}; write your own {ex.forward}\n"
            f"in this file too and check() also compares the two by finite differences.\n" if ex.is_backward else "")
    return (f'"""Exercise {ex.name}: {ex.summary}.\n\n'
            f"Write the body of {ex.name} below, then check it:\n"
            f"    python -m nnc.exercises check {ex.name} {os.path.basename(filename)}\n"
            f"or in Python: nnc.exercises.check(\"{ex.name}\", {ex.name}){pair}\n"
            + ("Stride and padding are an int or an (h, w) pair.\n" if "stride" in ex.signature else "") +
            f"Try it yourself first; the reference solution is {ex.solution}.\n"
            f'"""\n{imports}\n\n'
            f"def {ex.name}{ex.signature}:\n"
            f'    """{doc}\n    """\n'
            f"    # TODO: your code here; return {', '.join(ex.outputs)}\n"
            f"    raise NotImplementedError(\"{ex.name}: write this function\")\n")


def start(name, filename, overwrite=False):
    """Write a stub for exercise `name` to `filename` (refuses to replace an existing file, which
    may hold your work, unless overwrite=True). Returns the path."""
    ex = _get(name)
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"start: filename must be a path such as 'my_{name}.py', got {type(filename).__name__}")
    if os.path.exists(filename) and not overwrite:
        raise FileExistsError(f"start: {os.fspath(filename)!r} exists already (it may hold your work); "
                              "choose another file name, or pass overwrite=True to replace it")
    with open(filename, "w", encoding="utf-8") as f:
        f.write(_stub(ex, os.fspath(filename)))
    return os.fspath(filename)


def load(name, filename):
    """(your function, your forward or None) from the file `filename` for exercise `name`."""
    ex = _get(name)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"check: no file {os.fspath(filename)!r}; write one with "
                                f"`python -m nnc.exercises start {name} {os.fspath(filename)}`")
    spec = importlib.util.spec_from_file_location(f"nnc_exercise_{name}", filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, ex.name, None)
    if not callable(fn):
        raise AttributeError(f"check: {os.fspath(filename)!r} defines no function {ex.name}; "
                             f"the exercise looks for `def {ex.name}{ex.signature}:`")
    fwd = getattr(module, ex.forward, None) if ex.is_backward else None
    return fn, fwd if callable(fwd) else None


def check(name, fn, forward=None):
    """Run your `fn` for exercise `name` against the reference on fixed and random cases -> CheckReport
    (print it; `report.ok`, `report.to_dict()`). Backward exercises also compare your backward with
    finite differences of your forward: `forward=` or the forward function beside fn in its module."""
    return run_check(_get(name), fn, forward)


def plug(name, fn):
    """Your kernel in place of nnc's: `with plug(name, fn):` for a block, `plug(name, fn).train()` to
    see it train a small model on the Fashion-MNIST sample."""
    ex = _get(name)
    if not callable(fn):
        raise TypeError(f"plug: fn must be your function (a callable), got {type(fn).__name__}")
    if ex.kernel is None and ex.name not in ("sgd_momentum_update", "adam_update"):
        raise ValueError(f"plug: the layers never call {name} directly (conv2d_forward does the whole "
                         f"convolution), so it cannot be plugged in; check it with check({name!r}, fn)")
    return Plug(ex, fn)
