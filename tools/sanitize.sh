#!/usr/bin/env bash
# Run nnc's kernel tests under AddressSanitizer + UndefinedBehaviorSanitizer.
#
#   bash tools/sanitize.sh                      # the kernel tests (below)
#   bash tools/sanitize.sh tests/test_conv.py -k backward   # any pytest arguments instead
#
# From the repository root, with the dev venv active (its Cython and pytest build and run the copy).
# The dev build in place is left alone: the files of the working tree (tracked and untracked, not
# ignored, so uncommitted edits are tested too) are copied to a scratch directory, built there with
# NNC_SANITIZE=1 (setup.py: -fsanitize=address,undefined -O1 -g, UB is fatal; the OpenMP probe is
# built without those flags), and the tests run from the copy with PYTHONPATH=<copy>/src.
# Python itself is not instrumented, so libasan is preloaded, and leak detection is off (the
# interpreter keeps objects alive at exit by design). NNC_SANITIZE_KEEP=1 keeps the copy;
# NNC_SANITIZE_DIR=<dir> builds in <dir> and keeps it, so a second run rebuilds only what changed.
set -euo pipefail

root=$(git rev-parse --show-toplevel)
cd "$root"
python=${PYTHON:-python}
# A relative PYTHON (build/venv/bin/python) must survive the cd into the scratch copy below; the
# venv's symlink is kept (resolving it would leave the venv).
case "$python" in
    /*) ;;
    */*) python="$(cd "$(dirname "$python")" && pwd)/$(basename "$python")" ;;
esac
libasan=$(gcc -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
    echo "sanitize.sh: gcc's libasan.so not found ($libasan); install gcc's sanitizer runtime" >&2
    exit 2
fi

if [ -n "${NNC_SANITIZE_DIR:-}" ]; then
    # a kept build directory: copied over again and rebuilt incrementally (setup.py), never removed
    work=$(mkdir -p "$NNC_SANITIZE_DIR" && cd "$NNC_SANITIZE_DIR" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/nnc-sanitize.XXXXXX")
    if [ "${NNC_SANITIZE_KEEP:-0}" != 1 ]; then
        trap 'rm -rf "$work"' EXIT
    fi
fi

# Files deleted in the working tree but still in the index are skipped (tar --ignore-failed-read).
git ls-files -z --cached --others --exclude-standard \
    | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$work"

echo "sanitize.sh: building in $work with NNC_SANITIZE=1" >&2
(cd "$work" && NNC_SANITIZE=1 "$python" setup.py -q build_ext --inplace >"$work/build.log" 2>&1) || {
    tail -n 40 "$work/build.log" >&2
    exit 1
}

if [ "$#" -eq 0 ]; then
    set -- tests/test_activations.py tests/test_backend.py tests/test_batchnorm.py tests/test_conv.py \
        tests/test_dense.py tests/test_dropout.py tests/test_losses.py tests/test_pool.py tests/test_update.py \
        tests/test_hostile_kernels.py tests/test_fuzz.py
fi

export PYTHONPATH="$work/src${PYTHONPATH:+:$PYTHONPATH}"
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
cd "$work"
# Make sure the copy's sanitized build is what runs, not the dev build.
LD_PRELOAD="$libasan" "$python" -c '
import sys, nnc.backend.native.activations as a
print("sanitize.sh: running", a.__file__, a.BUILD_INFO, file=sys.stderr)
sys.exit(0 if "sanitize=1" in a.BUILD_INFO and a.__file__.startswith(sys.argv[1]) else 1)
' "$work" || { echo "sanitize.sh: the sanitized build did not load" >&2; exit 1; }
LD_PRELOAD="$libasan" "$python" -m pytest -q -p no:cacheprovider "$@"
