"""Stepping into a kernel with pdb, straight to its first line of math.

Stepping with `s` from `model.forward(x)` to `y = x @ W` takes some fifty steps, most of them through the
model's, the layer's and the kernel's argument checks. Three ways to land on the math line itself:

1. One call (the model or layer runs under a Python backend, and pdb stops in the first kernel it reaches):

       >>> nnc.debug.step_into(model, x)              # or step_into(model.layers[2], a, training=True)
       > .../nnc/backend/reference/dense.py(18)dense_forward()
       -> y = x @ W
       (Pdb) p x.shape, W.shape                       # look around; n, s, u, d, w as usual
       (Pdb) c                                        # the rest of the forward pass runs on

   `step_into(layer, dout, backward=True)` stops in the backward kernel instead (after a forward);
   `kernel="conv2d_forward"` stops in that kernel only. Under the native backend (compiled, not
   steppable) step_into runs the block under "textbook": the reference kernels with conv, batch norm
   and max pooling written as scalar loops (nnc/backend/textbook.py).

2. Around any code, a breakpoint per kernel name (the first one reached stops):

       >>> with nnc.debug.break_at("conv2d_backward", backend="textbook"):
       ...     model.train_on_batch(x, y)

3. In a pdb session you started yourself (`breakpoint()` before model.forward), two commands:

       >>> nnc.debug.math_line("dense_forward")       # where to break: (file, line, its code)
       ('.../nnc/backend/reference/dense.py', 18, 'y = x @ W')
       (Pdb) b .../nnc/backend/reference/dense.py:18   # that file and line
       (Pdb) c

`math_line(kernel)` finds the line: the first statement of the kernel after its argument checks (the
calls to check_* and the `if ...: raise` lines), so the breakpoint follows the code when it changes.
"""
import ast
import inspect
import pdb
import signal
import sys
import textwrap

from . import backend as _backend

__all__ = ["math_line", "break_at", "step_into", "Break"]

# Kernel helpers that only check and unpack their arguments (besides check_*/_check* functions).
_CHECK_HELPERS = ("_dout",)


def _python_backend(name):
    """The backend module whose kernels pdb can step into: `name`, or the active one when it is a Python
    backend, else "textbook"."""
    if name is None:
        name = _backend.name() if _backend.name() != "native" else "textbook"
    if name == "native":
        raise ValueError("nnc.debug: the native kernels are compiled C, pdb cannot step into them; "
                         "use backend='textbook' or 'reference'")
    return name, _backend._module(name)


def _is_sizes(node):
    """Bookkeeping read off the arguments: `x.shape`, `W.shape[0]`, `x_shape[2:]`, `len(x)`, `x.dtype.type`,
    a name for the kernel (`fn = "..."`), or a tuple of them."""
    if isinstance(node, ast.Tuple):
        return all(_is_sizes(e) for e in node.elts)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Name):
        return node.id.endswith("shape")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return True
    if isinstance(node, ast.Attribute) and node.attr == "type":      # x.dtype.type
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr in ("shape", "ndim", "size", "dtype")


def _is_check(stmt):
    """A statement that only checks or unpacks the arguments: `check_...(...)`, `a, b = check_...(...)`, an
    `if` that raises, or sizes read off the arguments (`N, C, H, W = x.shape`)."""
    if isinstance(stmt, ast.Assign) and _is_sizes(stmt.value):
        return True
    if isinstance(stmt, ast.If):
        return not stmt.orelse and all(isinstance(s, ast.Raise) or _is_check(s) for s in stmt.body)
    value = getattr(stmt, "value", None) if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
    if not isinstance(value, ast.Call):
        return False
    f = value.func
    called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
    return called.lstrip("_").startswith("check") or called in _CHECK_HELPERS


def math_line(kernel, backend=None):
    """(filename, lineno, source line) of the first line of math of `kernel` ("dense_forward", ...) in the
    given backend ("reference", "textbook"; None: the active one, "textbook" when that is native)."""
    name, module = _python_backend(backend)
    if kernel not in getattr(module, "__all__", ()):
        raise ValueError(f"nnc.debug: backend {name!r} has no kernel {kernel!r}; its kernels are "
                         f"{', '.join(sorted(module.__all__))}")
    fn = inspect.unwrap(getattr(module, kernel))
    lines, start = inspect.getsourcelines(fn)
    body = ast.parse(textwrap.dedent("".join(lines))).body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]                                                  # the docstring
    stmt = next((s for s in body if not _is_check(s)), body[-1])
    lineno = start + stmt.lineno - 1
    return fn.__code__.co_filename, lineno, lines[stmt.lineno - 1].strip()


class _KernelPdb(pdb.Pdb):
    """pdb that forgets its kernel breakpoints once it has stopped at one: the student continues with `c`,
    and the rest of the pass runs on (a later kernel does not stop it again)."""

    def __init__(self, places, **kwargs):
        super().__init__(**kwargs)
        self.places = places

    def interaction(self, frame, traceback):
        self.forget_places()
        super().interaction(frame, traceback)

    def forget_places(self):
        for filename, lineno in self.places:
            if lineno in self.get_file_breaks(filename):
                self.clear_break(filename, lineno)
        self.places = []


class Break:
    """Breakpoints at the math lines of some kernels, active from creation until stop() (or the end of a
    `with` block). `.pdb` is the pdb.Pdb that stops there; `.places` the (filename, lineno) pairs."""

    def __init__(self, kernels, backend=None, stdin=None, stdout=None, frame=None):
        self._name, module = _python_backend(backend)
        self._switch = _backend.using(self._name) if backend is not None else None
        places = []
        for k in kernels:
            filename, lineno, _ = math_line(k, self._name)
            places.append((filename, lineno))
        self.places = list(places)
        self.pdb = _KernelPdb(places, stdin=stdin, stdout=stdout, readrc=stdin is None)
        for filename, lineno in places:
            err = self.pdb.set_break(filename, lineno)
            if err:
                raise RuntimeError(f"nnc.debug: cannot set a breakpoint at {filename}:{lineno}: {err}")
        if self._switch is not None:
            self._switch.__enter__()
        # What pdb.set_trace() followed by `c` does, without stopping in between: trace the frames from here
        # up, and stop only at a breakpoint.
        self._frame = frame or sys._getframe(1)
        self._previous_trace = sys.gettrace()
        self._previous_sigint = signal.getsignal(signal.SIGINT)   # pdb's `c` replaces it and never puts it back
        self.pdb.reset()
        f = self._frame
        while f is not None:
            f.f_trace = self.pdb.trace_dispatch
            self.pdb.botframe = f
            f = f.f_back
        self.pdb.set_continue()
        sys.settrace(self.pdb.trace_dispatch)

    def stop(self):
        """Remove the breakpoints and stop tracing (the backend goes back if break_at switched it)."""
        sys.settrace(self._previous_trace)
        f = self._frame
        while f is not None:
            f.f_trace = None
            f = f.f_back
        self.pdb.forget_places()
        if signal.getsignal(signal.SIGINT) == self.pdb.sigint_handler:
            try:
                signal.signal(signal.SIGINT, self._previous_sigint)
            except ValueError:   # not the main thread: pdb could not have installed it either
                pass
            pdb.Pdb._previous_sigint_handler = None
        if self._switch is not None:
            switch, self._switch = self._switch, None
            switch.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def break_at(*kernels, backend=None, stdin=None, stdout=None):
    """Stop in pdb at the first line of math of whichever of `kernels` runs first, from now on:

        with nnc.debug.break_at("dense_forward"):
            model.forward(x)

    backend None keeps the active backend (it must be "reference" or "textbook"); a name switches to it
    until stop() or the end of the `with` block. stdin/stdout go to pdb.Pdb (scripted sessions, tests)."""
    if not kernels:
        raise TypeError("nnc.debug.break_at: name at least one kernel, e.g. break_at('dense_forward')")
    if backend is None and _backend.name() == "native":
        raise ValueError("nnc.debug.break_at: the active backend is native (compiled: pdb cannot step into it); "
                         "pass backend='textbook' or 'reference', or call nnc.use('textbook') first")
    return Break(kernels, backend, stdin, stdout, frame=sys._getframe(1))


def step_into(target, x, training=False, backward=False, kernel=None, backend=None, stdin=None, stdout=None):
    """Run target.forward(x, training) (target.backward(x) when backward=True) and stop in pdb at the first
    line of math of the first kernel it calls; returns what forward/backward returns.

    target is a layer or a model; kernel names one kernel to stop in instead of the first; backend: as in
    break_at, except that a native active backend means "textbook" for this call."""
    name, module = _python_backend(backend)
    suffix = "_backward" if backward else "_forward"
    kernels = [kernel] if kernel is not None else [k for k in module.__all__ if k.endswith(suffix)]
    with Break(kernels, name, stdin, stdout, frame=sys._getframe()):
        return target.backward(x) if backward else target.forward(x, training=training)
