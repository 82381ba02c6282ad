"""No import circles inside nnc: a module never imports, even from inside a function, a module that
imports it back (docs/contributing.md, "Imports"). Read from the source with ast; nothing is run."""
import ast
import pathlib

import nnc

SRC = pathlib.Path(nnc.__file__).parent
KNOWN = []   # circles allowed for now: none


def _modules():
    """{module name: (path, is_package)} for every .py file of nnc."""
    mods = {}
    for path in SRC.rglob("*.py"):
        parts = ["nnc", *path.relative_to(SRC).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        mods[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return mods


def _imports(name, path, is_pkg, mods):
    """The nnc modules `name` imports anywhere in its file (a package's own face excluded)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target in mods and mods[target][1]:     # from a package: its submodules, or its face
                out.update(f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target for a in node.names)
            else:
                out.add(target)
    return {m for m in out if m in mods and m != name and not name.startswith(m + ".")}


def _circles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    mods = _modules()
    graph = {name: _imports(name, path, is_pkg, mods) for name, (path, is_pkg) in mods.items()}
    circles = [sorted(c) for c in _circles(graph) if c not in KNOWN]
    assert not circles, f"import circles: {circles}"


def test_the_check_sees_a_circle():
    assert _circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}]

