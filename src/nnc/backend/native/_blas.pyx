"""Row-major GEMM on top of scipy's Fortran (column-major) BLAS, callable without the GIL.

    C (M x N) = alpha * op(A) @ op(B) + beta * C,   op(X) = X or X.T,   all row-major.

Why the swap: a row-major matrix is the column-major storage of its transpose, so computing the
row-major C = op(A) op(B) is the same as asking column-major BLAS for C^T = op(B)^T op(A)^T.
We therefore pass B before A and N before M, and keep the leading dimensions (the row lengths
of the row-major arrays). Every kernel calls this; none re-derives the swap.
"""
from cython.parallel cimport prange
from scipy.linalg.cython_blas cimport sgemm, dgemm


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
# blocks made the MLP's dense backward 20% slower than 4, at 1 and at 2 threads.
cdef enum:
    MIN_SPLIT = 64
    MAX_PARTS = 4


cdef void gemm_threads(bint trans_a, bint trans_b, int M, int N, int K,
                       floating alpha, const floating *A, int lda,
                       const floating *B, int ldb,
                       floating beta, floating *C, int ldc, int nthreads) noexcept nogil:
    """gemm() with the output cut into row (or column) blocks that OpenMP threads share out, each
    block a single-threaded BLAS call.

    Why not let BLAS thread itself: scipy's OpenBLAS keeps its own pthread pool, whose threads
    busy-wait after each call; on top of nnc's OpenMP team (which busy-waits too) the two pools fight
    for the same cores and a 2-core step ran several times slower. nnc therefore keeps that BLAS at
    one thread (nnc._config) and does all threading with OpenMP, here and in the conv loops.
    The blocks depend on the shape only, never on nthreads: OpenBLAS may round differently in edge
    panels of different shapes, so a thread-dependent split would change the last bits."""
    cdef int parts, t, r0, r1
    cdef bint split_rows = M >= N
    cdef int extent = M if split_rows else N
    parts = extent // MIN_SPLIT
    if parts > MAX_PARTS:
        parts = MAX_PARTS
    if parts <= 1:
        gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
        return
    for t in prange(parts, num_threads=nthreads if nthreads < parts else parts, schedule="static"):
        r0 = <int> ((<long long> extent * t) // parts)
        r1 = <int> ((<long long> extent * (t + 1)) // parts)
        if split_rows:  # rows r0..r1 of op(A) and of C
            gemm(trans_a, trans_b, r1 - r0, N, K, alpha,
                 A + (r0 if trans_a else <size_t> r0 * lda), lda, B, ldb, beta, C + <size_t> r0 * ldc, ldc)
        else:           # columns r0..r1 of op(B) and of C
            gemm(trans_a, trans_b, M, r1 - r0, K, alpha, A, lda,
                 B + (<size_t> r0 * ldb if trans_b else r0), ldb, beta, C + r0, ldc)


include "_build.pxi"
