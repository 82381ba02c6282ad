"""Row-major GEMM on top of scipy's Fortran (column-major) BLAS, callable without the GIL.

    C (M x N) = alpha * op(A) @ op(B) + beta * C,   op(X) = X or X.T,   all row-major.

Why the swap: a row-major matrix is the column-major storage of its transpose, so computing the
row-major C = op(A) op(B) is the same as asking column-major BLAS for C^T = op(B)^T op(A)^T.
We therefore pass B before A and N before M, and keep the leading dimensions (the row lengths
of the row-major arrays). Every kernel calls this; none re-derives the swap.
"""
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
