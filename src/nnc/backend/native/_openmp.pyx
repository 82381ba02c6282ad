"""What the build knows about OpenMP: whether it is compiled in and the runtime's default team size."""

cdef extern from *:
    """
    #if NNC_HAS_OPENMP
    #include <omp.h>
    static int nnc_omp_enabled(void) { return 1; }
    static int nnc_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int nnc_omp_enabled(void) { return 0; }
    static int nnc_omp_max_threads(void) { return 1; }
    #endif
    """
    int nnc_omp_enabled() nogil
    int nnc_omp_max_threads() nogil


def openmp_enabled():
    """True when the native kernels were compiled with OpenMP."""
    return bool(nnc_omp_enabled())


def max_threads():
    """The OpenMP runtime's default team size (honours OMP_NUM_THREADS); 1 without OpenMP."""
    return nnc_omp_max_threads()


include "_build.pxi"
