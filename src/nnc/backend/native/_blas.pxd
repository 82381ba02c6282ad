# The one place nnc talks to BLAS. See _blas.pyx.
ctypedef fused floating:
    float
    double

cdef void gemm(bint trans_a, bint trans_b, int M, int N, int K,
               floating alpha, const floating *A, int lda,
               const floating *B, int ldb,
               floating beta, floating *C, int ldc) noexcept nogil

cdef void gemm_threads(bint trans_a, bint trans_b, int M, int N, int K,
                       floating alpha, const floating *A, int lda,
                       const floating *B, int ldb,
                       floating beta, floating *C, int ldc, int nthreads) noexcept nogil
