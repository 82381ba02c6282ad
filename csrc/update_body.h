/* Body of csrc/update.c, instantiated for float and double (see nnc_generic.h). */

/* One chunk, compiled per CPU (NNC_TARGET_CLONES): restrict lets the compiler drop its overlap test. */
NNC_TARGET_CLONES
static void NNC_FN(axpy_chunk_)(ptrdiff_t n, NNC_T a, const NNC_T *restrict x, NNC_T *restrict y)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

void NNC_FN(nnc_axpy)(ptrdiff_t n, double alpha, const NNC_T *x, NNC_T *y, int nthreads)
{
    enum { CHUNK = 16384 };
    const NNC_T a = (NNC_T)alpha;
    ptrdiff_t nchunks = (n + CHUNK - 1) / CHUNK;
    #pragma omp parallel for schedule(static) num_threads(nthreads) if(n > NNC_OMP_MIN)
    for (ptrdiff_t c = 0; c < nchunks; c++) {
        ptrdiff_t i0 = c * CHUNK, len = n - i0 < CHUNK ? n - i0 : CHUNK;
        NNC_FN(axpy_chunk_)(len, a, x + i0, y + i0);
    }
}
