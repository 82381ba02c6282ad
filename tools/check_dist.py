"""Check a source distribution and the wheel built from it (CI runs this in a venv where that wheel is
installed): the sdist carries what building and testing need, the wheel ships compiled code and no
build inputs, and the installed nnc runs its native backend.

    python tools/check_dist.py DIST_FOLDER
"""
import sys
import tarfile
import zipfile
from pathlib import Path

SDIST_NEEDS = ["setup.py", "pyproject.toml", "LICENSE", "CHANGELOG.md", "README.md", "MANIFEST.in",
               "csrc/nnc_math.h", "src/nnc/backend/native/_blas.pxd", "src/nnc/backend/native/conv.pyx",
               "src/nnc/backend/native/_build.pxi", "src/nnc/datasets/fashion_sample.npz",
               "src/nnc/datasets/NOTICE", "tests/conftest.py", "examples/lenet5.py", "benchmarks/run.py"]


def main(folder):
    folder = Path(folder)
    sdist, = folder.glob("nnc-*.tar.gz")
    wheel, = folder.glob("nnc-*.whl")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    missing = [n for n in SDIST_NEEDS if n not in names]
    assert not missing, f"the sdist lacks {missing}"
    with zipfile.ZipFile(wheel) as z:
        members = z.namelist()
    compiled = [m for m in members if m.startswith("nnc/backend/native/") and m.endswith(".so")]
    # the 11 modules of nnc.backend.native.MODULES, and _cyutility: Cython's memoryview code, shared by them
    assert len(compiled) == 12, f"the wheel has {len(compiled)} compiled modules, not 12: {compiled}"
    assert any(m.startswith("nnc/backend/native/_cyutility.") for m in compiled), compiled
    build_inputs = [m for m in members if m.endswith((".c", ".pyx", ".pxd", ".pxi", ".h", ".html"))]
    assert not build_inputs, f"the wheel ships build inputs: {build_inputs}"
    assert any(m.endswith("licenses/LICENSE") for m in members), "the wheel has no LICENSE"
    assert "nnc/datasets/NOTICE" in members, "the wheel lacks the sample's NOTICE"
    size = sum(info.file_size for info in zipfile.ZipFile(wheel).infolist())
    assert size < 12e6, f"the wheel unpacks to {size / 1e6:.1f} MB"

    import nnc   # the installed wheel: run from outside the source tree
    assert nnc.backend.name() == "native", nnc.backend.native_error()
    assert nnc.config.openmp_enabled(), nnc.config.build_info()
    print(f"sdist {sdist.name}: {len(names)} files; wheel {wheel.name}: {len(compiled)} compiled modules, "
          f"{size / 1e6:.1f} MB unpacked; installed nnc {nnc.__version__} runs the native backend")


if __name__ == "__main__":
    sys.path = [p for p in sys.path if not p.endswith("tools")]
    main(sys.argv[1])
