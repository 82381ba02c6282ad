"""Row-major GEMM on top of scipy's Fortran (column-major) BLAS, callable without the GIL.

    C (M x N) = alpha * op(A) @ op(B) + beta * C,   op(X) = X or X.T,   all row-major.

Why the swap: a row-major matrix is the column-major storage of its transpose, so computing the
row-major C = op(A) op(B) is the same as asking column-major BLAS for C^T = op(B)^T op(A)^T.
We therefore pass B before A and N before M, and keep the leading dimensions (the row lengths
of the row-major arrays). Every kernel calls this; none re-derives the swap.

The module is also nnc's one GEMM policy: how a product is cut into single-threaded BLAS calls that
OpenMP threads share (gemm_threads for the dense layers, gemm_blocked for the convolution), always
on a grid fixed by the shape, so that the bits never depend on the thread count.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer
from cython.parallel cimport prange

# scipy's Fortran BLAS, the OpenBLAS that `from scipy.linalg.cython_blas cimport sgemm` would reach, taken
# from the capsules that scipy exports for that cimport (their names are the C signatures, checked here as
# the cimport checks them). Taken at import, not at cimport: building nnc needs no scipy (install time).
ctypedef void (*sgemm_t)(char *transa, char *transb, int *m, int *n, int *k, float *alpha, float *a,
                         int *lda, float *b, int *ldb, float *beta, float *c, int *ldc) noexcept nogil
ctypedef void (*dgemm_t)(char *transa, char *transb, int *m, int *n, int *k, double *alpha, double *a,
                         int *lda, double *b, int *ldb, double *beta, double *c, int *ldc) noexcept nogil
cdef sgemm_t sgemm
cdef dgemm_t dgemm


def _signature(t):
    s = f"__pyx_t_5scipy_6linalg_11cython_blas_{t} *"
    return f"void (char *, char *, int *, int *, int *, {s}, {s}, int *, {s}, int *, {s}, {s}, int *)".encode()


def _load_blas():
    global sgemm, dgemm
    import scipy
    from nnc.backend import _scipy_blas
    try:
        capi = _scipy_blas.load().__pyx_capi__
        sgemm = <sgemm_t> PyCapsule_GetPointer(capi["sgemm"], _signature("s"))
        dgemm = <dgemm_t> PyCapsule_GetPointer(capi["dgemm"], _signature("d"))
    except (AttributeError, KeyError, ValueError) as e:
        raise ImportError(f"scipy {scipy.__version__}'s cython_blas does not export sgemm and dgemm as nnc reads "
                          f"them ({e}); nnc was written against scipy 1.9-1.17: install one of those "
                          "(pip install 'scipy>=1.9,<1.18') and report this scipy version") from e


_load_blas()


cdef void gemm(bint trans_a, bint trans_b, int M, int N, int K,
               floating alpha, const floating *A, int lda,
               const floating *B, int ldb,
               floating beta, floating *C, int ldc) noexcept nogil:
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    # scipy's declarations take non-const pointers; BLAS does not write A or B.
    if floating is float:
        sgemm(&tb, &ta, &N, &M, &K, &alpha, <float *> B, &ldb, <float *> A, &lda, &beta, C, &ldc)
    else:
        dgemm(&tb, &ta, &N, &M, &K, &alpha, <double *> B, &ldb, <double *> A, &lda, &beta, C, &ldc)


# The output is cut into blocks of at least MIN_SPLIT rows (or columns), at most MAX_PARTS of them,
# decided by the shape alone. Every block repacks the shared operand, so more blocks cost time: 16
# blocks made the MLP's dense backward measurably slower than 4, at 1 and at 2 threads.
cdef enum:
    MIN_SPLIT = 64
    MAX_PARTS = 4
# GEMM_THREADS_MIN_MACS (_blas.pxd): below it a GEMM (gemm_threads, gemm_blocked) runs on the calling
# thread: waking sleeping OpenMP threads (nnc's passive wait policy) costs more than the blocks they would take.
# gemm_threads then makes one BLAS call, not its blocks (each block repacks the shared operand, 5-10% of
# a small product). Either way the shape decides, never the thread count, so the bits stay the same.


cdef void gemm_threads(bint trans_a, bint trans_b, int M, int N, int K,
                       floating alpha, const floating *A, int lda,
                       const floating *B, int ldb,
                       floating beta, floating *C, int ldc, int nthreads) noexcept nogil:
    """gemm() with the output cut into row (or column) blocks that OpenMP threads share out, each
    block a single-threaded BLAS call.

    Why not let BLAS thread itself: scipy's OpenBLAS keeps its own pthread pool, whose threads
    busy-wait after each call; on top of nnc's OpenMP team (which busy-waits too) the two pools fight
    for the same cores and a 2-core step ran several times slower. nnc therefore keeps that BLAS at
    one thread (nnc.config) and does all threading with OpenMP, here and in the conv loops.
    The blocks depend on the shape only, never on nthreads: OpenBLAS may round differently in edge
    panels of different shapes, so a thread-dependent split would change the last bits."""
    cdef int parts, t, r0, r1
    cdef bint split_rows = M >= N
    cdef int extent = M if split_rows else N
    cdef long long macs = <long long> M * N * K
    parts = extent // MIN_SPLIT
    if parts > MAX_PARTS:
        parts = MAX_PARTS
    if parts <= 1 or macs < GEMM_THREADS_MIN_MACS:
        gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
        return
    for t in prange(parts, num_threads=nthreads if nthreads < parts else parts, schedule="static",
                    use_threads_if=nthreads > 1):
        r0 = <int> ((<long long> extent * t) // parts)
        r1 = <int> ((<long long> extent * (t + 1)) // parts)
        if split_rows:  # rows r0..r1 of op(A) and of C
            gemm(trans_a, trans_b, r1 - r0, N, K, alpha,
                 A + (r0 if trans_a else <size_t> r0 * lda), lda, B, ldb, beta, C + <size_t> r0 * ldc, ldc)
        else:           # columns r0..r1 of op(B) and of C
            gemm(trans_a, trans_b, M, r1 - r0, K, alpha, A, lda,
                 B + (<size_t> r0 * ldb if trans_b else r0), ldb, beta, C + r0, ldc)



cdef inline void _gemm_block(int t, int nc, int rb, int cb, bint trans_a, bint trans_b, int M, int N, int K,
                             const floating *A, int lda, const floating *B, int ldb, floating *C,
                             int ldc) noexcept nogil:
    """Block t of gemm_blocked's grid (nc blocks per row of blocks): one single-threaded BLAS call."""
    cdef int r0 = (t // nc) * rb, c0 = (t % nc) * cb
    gemm(trans_a, trans_b, min(rb, M - r0), min(cb, N - c0), K, <floating> 1,
         A + (r0 if trans_a else <size_t> r0 * lda), lda,
         B + (<size_t> c0 * ldb if trans_b else c0), ldb, <floating> 0, C + <size_t> r0 * ldc + c0, ldc)


cdef void gemm_blocked(bint trans_a, bint trans_b, int M, int N, int K, const floating *A, int lda,
                       const floating *B, int ldb, floating *C, int ldc, int rb, int cb,
                       int nthreads) noexcept nogil:
    """C (M x N) = op(A) @ op(B) as a fixed grid of blocks of C, each block one single-threaded BLAS call
    over the whole K; with nthreads > 1 the threads share the blocks. Blocks are rb x cb; rb = 0 means
    BLOCK_ROWS, cb = 0 the widest block with at most BLOCK_MACS multiply-adds.

    Why blocks: scipy's OpenBLAS runs a GEMM whose side is 8, 16 or 32 and whose M*N*K is at most 1e6
    through its no-copy small-matrix kernels, measured faster than the same work as one call with
    packing (one core, AVX-512, the conv shapes of 16..128 channels; benchmarks/README.md). Why a FIXED
    grid (from the shape only): every element of C comes from the same BLAS call whatever the thread
    count, so the bits do not depend on it."""
    cdef long cap
    if rb == 0 or rb > M:
        rb = BLOCK_ROWS if M > BLOCK_ROWS else M
    if cb == 0:
        cap = BLOCK_MACS // (<long> rb * K)
        cb = N if cap >= N else (<int> cap // 16) * 16
        if cb < 16:
            cb = 16
    if cb > N:
        cb = N
    cdef int nr = (M + rb - 1) // rb, nc = (N + cb - 1) // cb
    cdef int t
    # The conv calls this once per group from inside its own parallel loop, usually with nthreads = 1:
    # there a plain loop, since even an OpenMP region that runs on one thread costs a team set-up per call;
    # a small GEMM too stays on this thread (GEMM_THREADS_MIN_MACS, as in gemm_threads).
    if nthreads > 1 and nr * nc > 1 and <long long> M * N * K >= GEMM_THREADS_MIN_MACS:
        for t in prange(nr * nc, num_threads=nthreads, schedule="static"):
            _gemm_block(t, nc, rb, cb, trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc)
    else:
        for t in range(nr * nc):
            _gemm_block(t, nc, rb, cb, trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc)


include "_build.pxi"
