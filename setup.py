"""Build the native backend: Cython modules in nnc/backend/native over the C kernels in csrc/.

OpenMP is probed by compiling, linking and running a tiny `#pragma omp parallel` program.
On success `-fopenmp` is added; on failure the build goes on serially with a loud warning.
  NNC_NO_OPENMP=1       force a serial build
  NNC_REQUIRE_OPENMP=1  make a missing OpenMP an error (CI sets it)
  NNC_DEBUG=1           Cython bounds checks on, -O0 -g (for hunting index bugs)
Each .pyx names the C files it needs in a `# distutils: sources = ...` line at its top.
"""
import glob
import os
import subprocess
import sys
import tempfile
import warnings

from setuptools import Extension, setup
from setuptools._distutils.ccompiler import new_compiler
from setuptools._distutils.sysconfig import customize_compiler

HERE = os.path.dirname(os.path.abspath(__file__))

OPENMP_PROBE = r"""
#include <omp.h>
#include <stdio.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    printf("%d\n", n);
    return n > 0 ? 0 : 1;
}
"""


def _env_flag(name):
    return os.environ.get(name, "0").lower() not in ("", "0", "false", "no")


def openmp_works():
    """Return True when the C compiler can build and run an OpenMP program."""
    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(OPENMP_PROBE)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=["-fopenmp"])
            exe = os.path.join(tmp, "probe")
            compiler.link_executable(objs, exe, extra_postargs=["-fopenmp"])
            subprocess.run([exe], check=True, capture_output=True, timeout=30)
        except Exception:  # any failure means: no usable OpenMP
            return False
    return True


def openmp_flags():
    if _env_flag("NNC_NO_OPENMP"):
        print("nnc: NNC_NO_OPENMP set, building without OpenMP", file=sys.stderr)
        return [], ["-Wno-unknown-pragmas"], False
    if openmp_works():
        return ["-fopenmp"], ["-fopenmp"], True
    msg = ("nnc: the C compiler cannot build OpenMP programs; building the native backend "
           "SERIALLY (one thread). Install a compiler with OpenMP (gcc, or clang with libomp) for threads.")
    if _env_flag("NNC_REQUIRE_OPENMP"):
        raise RuntimeError(msg + " NNC_REQUIRE_OPENMP=1 makes this an error.")
    warnings.warn(msg)
    print("*" * 78 + "\n" + msg + "\n" + "*" * 78, file=sys.stderr)
    return [], ["-Wno-unknown-pragmas"], False


def extensions():
    from Cython.Build import cythonize

    link_omp, compile_omp, has_omp = openmp_flags()
    debug = _env_flag("NNC_DEBUG")
    opt = ["-O0", "-g"] if debug else ["-O3"]
    # No -march=native (non-portable wheels), no -ffast-math (breaks NaN/inf semantics gradchecks rely on).
    exts = []
    for pyx in sorted(glob.glob(os.path.join("nnc", "backend", "native", "*.pyx"))):
        name = os.path.splitext(pyx)[0].replace(os.sep, ".")
        exts.append(Extension(
            name, [pyx],
            include_dirs=["csrc"],
            # the C sources include type-generic bodies and nnc_math.h: rebuild when any header changes
            depends=sorted(glob.glob(os.path.join("csrc", "*.h"))),
            extra_compile_args=opt + compile_omp,
            extra_link_args=link_omp,
            define_macros=[("NNC_HAS_OPENMP", "1" if has_omp else "0")],
        ))
    directives = {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": True,
        "binding": True,  # so inspect.signature works on native kernels (tests compare signatures)
        "embedsignature": True,
    }
    return cythonize(exts, compiler_directives=directives,
                     compile_time_env={"NNC_HAS_OPENMP": has_omp})


setup(ext_modules=extensions())
