"""Every public class and public module-level function of nnc has a docstring (issue 13).

Walks the package as the API reference does: every module whose dotted path has no private part
(no component starting with "_"), except the compiled nnc.backend.native. In each, the names not
starting with "_" that are classes or functions defined in that module (not imported into it) must
have a docstring. A dataclass's automatic one (its signature, "Name(field: type, ...)") does not count.
Methods are not checked: one that overrides a documented base-class method inherits its text.
"""
import dataclasses
import importlib
import inspect
import pkgutil

import nnc


def _public_modules():
    for info in pkgutil.walk_packages(nnc.__path__, "nnc."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") for p in parts) or info.name.startswith("nnc.backend.native"):
            continue
        yield importlib.import_module(info.name)


def _undocumented():
    missing = []
    for mod in [nnc, *_public_modules()]:
        for name, obj in vars(mod).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            doc = (obj.__doc__ or "").strip()
            if dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("):
                doc = ""    # the signature dataclasses write when a class has no docstring
            if not doc:
                missing.append(f"{mod.__name__}.{name}")
    return missing


def test_walk_finds_the_package():
    names = {m.__name__ for m in _public_modules()}
    assert {"nnc.initializers", "nnc.callbacks", "nnc.optim.schedules", "nnc.layers.kernel"} <= names
    assert not any(n.startswith("nnc.backend.native") or "._" in n for n in names)


def test_every_public_class_and_function_has_a_docstring():
    missing = _undocumented()
    assert not missing, (f"{len(missing)} public classes/functions without a docstring (one line saying "
                         "what it is, then the shapes and the equation where they apply):\n  "
                         + "\n  ".join(missing))
