"""Execute the gallery's notebooks top to bottom, as a student who downloaded them would.

    python tools/run_notebooks.py [DIR]     # DIR: where the docs build wrote them (docs/auto_examples)

sphinx-gallery turns every script of examples/ into a notebook during the docs build; this runs each
one in a fresh Jupyter kernel (nbclient, ipykernel: the docs extra), from an empty working directory so
that nothing next to the repository's scripts can help, in quick mode (NNC_GALLERY_QUICK=1, the small
versions). A cell that raises fails the run with the notebook's name and the error.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else ROOT / "docs" / "auto_examples"
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        sys.exit(f"run_notebooks: no notebooks in {folder}; build the docs first "
                 "(python -m sphinx -b html docs docs/_build/html)")
    os.environ["NNC_GALLERY_QUICK"] = "1"        # the kernels inherit it
    os.environ.setdefault("MPLBACKEND", "Agg")
    failed = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as cwd:
            client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}})
            try:
                client.execute()
                status = "ok"
            except CellExecutionError as e:
                failed.append(path.name)
                status = "FAILED\n" + "\n".join(str(e).splitlines()[-15:])
        print(f"{path.name}: {status} ({time.perf_counter() - start:.1f} s)", flush=True)
    print(f"notebooks: {len(notebooks) - len(failed)} of {len(notebooks)} ran top to bottom")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
