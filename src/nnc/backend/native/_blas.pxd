# The one place nnc talks to BLAS. See _blas.pyx.
ctypedef fused floating:
    float
    double

cdef void gemm(bint trans_a, bint trans_b, int M, int N, int K,
               floating alpha, const floating *A, int lda,
               const floating *B, int ldb,
               floating beta, floating *C, int ldc) noexcept nogil

# Below this many multiply-adds (M*N*K) a GEMM runs on the calling thread, as one BLAS call (see _blas.pyx).
cdef enum:
    GEMM_THREADS_MIN_MACS = 16777216    # 1 << 24

cdef void gemm_threads(bint trans_a, bint trans_b, int M, int N, int K,
                       floating alpha, const floating *A, int lda,
                       const floating *B, int ldb,
                       floating beta, floating *C, int ldc, int nthreads) noexcept nogil

# gemm_blocked's blocks: rows of C per BLAS call, and at most this many multiply-adds (M*N*K) per call,
# the shapes OpenBLAS's small-matrix kernels take (see _blas.pyx).
cdef enum:
    BLOCK_ROWS = 32
    BLOCK_MACS = 1000000

cdef void gemm_blocked(bint trans_a, bint trans_b, int M, int N, int K, const floating *A, int lda,
                       const floating *B, int ldb, floating *C, int ldc, int rb, int cb,
                       int nthreads) noexcept nogil
