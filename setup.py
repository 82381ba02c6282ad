"""Build the native backend: Cython modules in src/nnc/backend/native over the C kernels in csrc/.

OpenMP is probed by compiling, linking and running a tiny `#pragma omp parallel` program.
On success `-fopenmp` is added; on failure the build goes on serially with a loud warning.
  NNC_NO_OPENMP=1       force a serial build
  NNC_REQUIRE_OPENMP=1  make a missing OpenMP an error (CI sets it)
  NNC_DEBUG=1           Cython bounds checks on, -O0 -g (for hunting index bugs)
  NNC_SANITIZE=1        AddressSanitizer + UBSan, -O1 -g (see tools/sanitize.sh for running the tests under it)
Each .pyx names the C files it needs in a `# distutils: sources = ...` line at its top.

These options, with the compiler, are the build's identity: each module carries them as BUILD_INFO
(`nnc.show_config()` prints them), and a build whose identity differs from the last one in build/
recompiles everything, so an old build can never leave a hybrid of two configurations behind.
"""
import glob
import os
import subprocess
import sys
import tempfile
import warnings

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools._distutils.ccompiler import new_compiler
from setuptools._distutils.sysconfig import customize_compiler

NATIVE = os.path.join("src", "nnc", "backend", "native")
STAMP = os.path.join("build", "nnc-build-identity.txt")
CSRC = os.path.abspath("csrc") + os.sep
SHARED_UTILITY = "nnc.backend.native._cyutility"

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


def _compiler():
    compiler = new_compiler()
    customize_compiler(compiler)
    return compiler


def openmp_works():
    """Return True when the C compiler can build and run an OpenMP program. The probe is built with
    the compiler's plain flags: sanitizer flags (NNC_SANITIZE) would need their runtime preloaded to run."""
    compiler = _compiler()
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


def _compiler_name():
    cc = _compiler().compiler_so[0]
    try:
        version = subprocess.run([cc, "-dumpfullversion", "-dumpversion"], capture_output=True,
                                 text=True, timeout=30).stdout.split()
    except Exception:
        version = []
    return os.path.basename(cc) + ("-" + version[0] if version else "")


def build_options():
    """(compile args, link args, macros, identity) for this environment's build options."""
    link_omp, compile_omp, has_omp = openmp_flags()
    debug, sanitize = _env_flag("NNC_DEBUG"), _env_flag("NNC_SANITIZE")
    if sanitize:
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"]
        opt, link = ["-O1", "-g"] + san, san
    elif debug:
        opt, link = ["-O0", "-g"], []
    else:
        # -g0 overrides the -g that Python's own CFLAGS carry: debug info was most of the installed size.
        opt, link = ["-O3", "-g0"], ["-Wl,--strip-debug"]
    # No -march=native (non-portable wheels), no -ffast-math (breaks NaN/inf semantics gradchecks rely on).
    identity = (f"openmp={int(has_omp)} debug={int(debug)} sanitize={int(sanitize)} "
                f"compiler={_compiler_name()}")
    macros = [("NNC_HAS_OPENMP", "1" if has_omp else "0"), ("NNC_BUILD_INFO", f'"{identity}"')]
    return opt + compile_omp, link + link_omp, macros, has_omp, debug or sanitize, identity


def _stamp(identity):
    """What build/ remembers: the identity, and the Cython version (the modules share Cython's utility module,
    so a new Cython rebuilds them all together)."""
    import Cython
    return f"{identity} cython={Cython.__version__}"


def _identity_changed(identity):
    try:
        with open(STAMP) as f:
            return f.read().strip() != _stamp(identity)
    except OSError:
        return True


class BuildExt(build_ext):
    """build_ext that compiles in parallel, and recompiles everything when the build's identity changed."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1
        if _identity_changed(IDENTITY):
            self.force = True

    def build_extensions(self):
        # The C that Cython generates only converts arguments and calls the kernels in csrc/, yet it is
        # ten times their size: at -O1 it compiles in half the time (install time) and a call costs
        # 0.1 us more (benchmarks/README.md). The kernels keep -O3.
        compile_one = self.compiler._compile

        def _compile(obj, src, ext, cc_args, extra_postargs, pp_opts):
            if not os.path.abspath(src).startswith(CSRC) and "-O3" in extra_postargs:
                extra_postargs = ["-O1" if a == "-O3" else a for a in extra_postargs]
            compile_one(obj, src, ext, cc_args, extra_postargs, pp_opts)
        self.compiler._compile = _compile
        super().build_extensions()

    def run(self):
        super().run()
        os.makedirs(os.path.dirname(STAMP), exist_ok=True)
        with open(STAMP, "w") as f:
            f.write(_stamp(IDENTITY) + "\n")


def extensions():
    global IDENTITY
    from Cython.Build import cythonize

    compile_args, link_args, macros, has_omp, checks, IDENTITY = build_options()
    exts = []
    for pyx in sorted(glob.glob(os.path.join(NATIVE, "*.pyx"))):
        name = os.path.relpath(os.path.splitext(pyx)[0], "src").replace(os.sep, ".")
        exts.append(Extension(
            name, [pyx],
            include_dirs=["csrc"],
            # the C sources include type-generic bodies and nnc_math.h: rebuild when any header changes
            depends=sorted(glob.glob(os.path.join("csrc", "*.h")) + glob.glob(os.path.join(NATIVE, "*.pxi"))),
            extra_compile_args=compile_args,
            extra_link_args=link_args,
            define_macros=macros,
        ))
    # Cython's memoryview support, written once into a module of its own instead of into every module
    # (Cython >= 3.1): the generated C shrinks by 40%, and with it the compile time.
    exts.append(Extension(SHARED_UTILITY, [], extra_compile_args=compile_args, extra_link_args=link_args,
                          define_macros=macros))
    directives = {
        "language_level": 3,
        "boundscheck": checks,
        "wraparound": checks,
        "initializedcheck": checks,
        "cdivision": True,
        "binding": True,  # so inspect.signature works on native kernels (tests compare signatures)
        "embedsignature": True,
    }
    # Generated C goes to build/, not into the package: it is not shipped.
    return cythonize(exts, compiler_directives=directives, build_dir=os.path.join("build", "cython"),
                     compile_time_env={"NNC_HAS_OPENMP": has_omp}, force=_identity_changed(IDENTITY),
                     nthreads=0 if sys.platform == "win32" else (os.cpu_count() or 1), quiet=True,
                     shared_utility_qualified_name=SHARED_UTILITY)


IDENTITY = ""
setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
