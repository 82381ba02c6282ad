# distutils: sources = csrc/im2col.c csrc/winograd.c
"""2-D convolution, native: im2col (csrc/im2col.c) + BLAS GEMM per group of images, OpenMP over the groups;
3x3 stride-1 layers with 16+ channels by Winograd's F(2x2, 3x3) (csrc/winograd.c) instead.

Same names, arguments and results as nnc/backend/reference/conv.py. Column layout: csrc/im2col.h.

Scheme (chosen by measurement, one thread, float32, batch 64, 3x3 pad 1, 16->32 at 28x28, 32->64 at
14x14, 64->128 at 7x7; medians on the shared 2-core dev VMs, Intel Xeon and AMD Zen 4):
  groups       the batch is cut into groups of nb images, nb from the shape only (about 256 columns
               per GEMM forward, 768 backward; forward, a multiple of 8 groups when there are few, so
               that threads get equal shares). A group's columns sit side by side, (K, nb*Ho*Wo), so a
               7x7 image does not mean a 49-column GEMM; the result is unpacked to NCHW (forward) and
               dout packed the same way (backward). dW of a group is one GEMM whose reduction runs over
               all its columns (64->128 backward 14.3 -> 9.8 ms against one image per GEMM).
  GEMM blocks  forward and W.T @ dout run as a fixed grid of 32-row blocks of at most 1e6
               multiply-adds (_gemm_blocked): scipy's OpenBLAS takes those through its no-copy
               small-matrix kernels (16->32 forward 6.9 -> 4.5 ms).
  dW           computed transposed, dW.T (K, C_out) = col @ dout_g.T, in row blocks small enough for
               those kernels where they exist (see _dw_transposed; Zen 4 backward 16->32 14.2 -> 12.1 ms,
               32->64 12.0 -> 10.7, 64->128 11.3 -> 10.5).
  winograd     the forward of 3x3 stride-1 convolutions with 16+ channels runs Winograd's F(2x2, 3x3)
               instead (csrc/winograd.h, _use_winograd): 16 GEMMs over tiles, 2.25x fewer
               multiplications, 1.3-1.7x faster in all. The backward's dx is the same kind of
               convolution and takes it too (32->64 at 14x14 backward 5.59 -> 4.57 ms, 2 threads);
               dW stays an im2col GEMM.
  im2col       stride 1 with 'same' width copies each kernel tap's rows as one shifted block and
               zeroes the wrapped border cells; col2im adds them back the same way.
  workspace    a fresh np.empty per call: a per-thread cache reused across calls measured no faster
               (within 1%; the allocator already reuses the freed block).
Threads: OpenMP shares the groups (one workspace slice per thread, single-threaded BLAS); when there
are fewer groups than threads (small batches, N=1 at inference), the groups run in turn and the
threads share each GEMM's blocks instead.

Determinism: the groups and the GEMM block grids depend on the shape only, so every output element
comes from the same BLAS call whatever the thread count; dW is summed per group, and the groups are
added in group order; db is summed per image (fixed-order partials) and then over images in order.
So the bits do not depend on the thread count (tests check 1 vs 2 threads).
"""
import numpy as np
cimport cython
from cython.parallel cimport parallel, prange, threadid
from libc.string cimport memset

from nnc._config import get_num_threads
from nnc.backend._cache_checks import check_conv_cache
from nnc.backend._checks import check_col2im, check_conv, check_float, check_window
from nnc.backend.caches import Conv2DCache
from ._blas cimport floating, gemm

cdef extern from "im2col.h":
    void nnc_im2col_f32(const float *data_im, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, int dh, int dw, float *data_col) noexcept nogil
    void nnc_im2col_f64(const double *data_im, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, int dh, int dw, double *data_col) noexcept nogil
    void nnc_im2col_ld_f32(const float *data_im, int C, int H, int W, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, float *data_col, size_t ld_col) noexcept nogil
    void nnc_im2col_ld_f64(const double *data_im, int C, int H, int W, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, double *data_col, size_t ld_col) noexcept nogil
    void nnc_col2im_ld_f32(float *data_col, size_t ld_col, int C, int H, int W, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, float *data_im) noexcept nogil
    void nnc_col2im_ld_f64(double *data_col, size_t ld_col, int C, int H, int W, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, double *data_im) noexcept nogil
    void nnc_unpack_images_f32(const float *data, int C_out, int nb, int P, const float *b, float *out) noexcept nogil
    void nnc_unpack_images_f64(const double *data, int C_out, int nb, int P, const double *b,
                               double *out) noexcept nogil
    void nnc_pack_images_f32(const float *dout, int nb, int C_out, int P, float *data) noexcept nogil
    void nnc_pack_images_f64(const double *dout, int nb, int C_out, int P, double *data) noexcept nogil
    void nnc_col2im_f32(const float *data_col, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, int dh, int dw, float *data_im) noexcept nogil
    void nnc_col2im_f64(const double *data_col, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, int dh, int dw, double *data_im) noexcept nogil
    void nnc_im2col_batch_f32(const float *x, int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                              int ph, int pw, int dh, int dw, float *cols, int nthreads) noexcept nogil
    void nnc_im2col_batch_f64(const double *x, int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                              int ph, int pw, int dh, int dw, double *cols, int nthreads) noexcept nogil
    void nnc_col2im_batch_f32(const float *cols, int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                              int ph, int pw, int dh, int dw, float *x, int nthreads) noexcept nogil
    void nnc_col2im_batch_f64(const double *cols, int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                              int ph, int pw, int dh, int dw, double *x, int nthreads) noexcept nogil
    void nnc_add_bias_planes_f32(const float *b, int C_out, int P, float *out_n) noexcept nogil
    void nnc_add_bias_planes_f64(const double *b, int C_out, int P, double *out_n) noexcept nogil
    void nnc_plane_sums_f32(const float *dout_n, int C_out, int P, float *db_n) noexcept nogil
    void nnc_plane_sums_f64(const double *dout_n, int C_out, int P, double *db_n) noexcept nogil

cdef extern from "winograd.h":
    void nnc_wino_filter_f32(const float *W, int C_out, int C, float *U, int nthreads) noexcept nogil
    void nnc_wino_filter_f64(const double *W, int C_out, int C, double *U, int nthreads) noexcept nogil
    void nnc_wino_input_f32(const float *x, int cnt, int C, int H, int W, int ph, int pw, int th, int tw,
                            float *V, float *scratch) noexcept nogil
    void nnc_wino_input_f64(const double *x, int cnt, int C, int H, int W, int ph, int pw, int th, int tw,
                            double *V, double *scratch) noexcept nogil
    void nnc_wino_output_f32(const float *M, int cnt, int C_out, int th, int tw, int Ho, int Wo, const float *b,
                             float *out, float *scratch) noexcept nogil
    void nnc_wino_output_f64(const double *M, int cnt, int C_out, int th, int tw, int Ho, int Wo, const double *b,
                             double *out, double *scratch) noexcept nogil

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward"]

cdef enum:
    _ROUND = 64         # groups per round: bounds the partial-sum buffer whatever the batch

# Columns per GEMM: a group holds about ceil(target / (Ho*Wo)) images (at most the batch). Forward: the
# blocked GEMM below already runs small blocks at full speed, so groups only save calls on small images
# (and cost an unpack copy). Backward: dW's reduction runs over the group's columns, which wants it long.
_FWD_COLS = 256
_WINO_TILES = 64        # Winograd tiles (2x2 output blocks) per group: 128 and 256 measured no faster
_BWD_COLS = 768


def _images_per_group(int N, int P, int target, bint balance=False):
    """Images per group: enough that one GEMM has about target columns.
    balance (the forward): when that makes fewer than 32 groups, a number of groups that is a multiple
    of 8 where the batch allows, so that 2, 4 or 8 threads get equal shares (64->128 at 7x7, N=64: 11
    groups of 6 images became 16 of 4, forward 2 threads 2.96 -> 2.60 ms). Not in the backward, whose
    dW GEMM wants long groups (the same change made 64->128 backward 40% slower), nor with many
    groups (smaller groups cost more than the last group's imbalance).
    Depends on the shape only, never on the thread count (the dW partial sums are per group)."""
    cdef int nb = min(N, max(1, (target + P - 1) // P))
    cdef int ngroups = (N + nb - 1) // nb
    if balance and ngroups < 32 and ngroups % 8 and ngroups + 8 - ngroups % 8 <= N:
        nb = max(1, N // (ngroups + 8 - ngroups % 8))
        ngroups = (N + nb - 1) // nb
    return (N + ngroups - 1) // ngroups


cdef struct Geom:
    int N, C, H, W, C_out, kh, kw, sh, sw, ph, pw, dh, dw, K, P
    int nb              # images per group (one GEMM)
    bint direct         # 1x1, stride 1, no padding: the image itself is its column matrix
    bint dw_t           # backward computes dW.T = col @ dout_g.T (see _dw_transposed)


def _dw_transposed(int C_out):
    """Whether the backward computes the weight gradient transposed, dW.T (K, C_out) = col (K, L) @
    dout_g.T (L, C_out), rather than dW = dout_g (C_out, L) @ col.T. The two ask OpenBLAS for the same
    reduction over L with the operands in opposite orders, and it packs and runs the first much faster
    (one thread, AMD Zen 4, L = 784..3136: 16->32 81 vs 58 GFLOP/s, 32->64 93 vs 75, 64->128 96 vs 87).
    With fewer than 16 output channels the GEMM is tiny and the first order slower (1->8, L = 784: 41 vs 48)."""
    return C_out >= 16


cdef Geom _geom(tuple xs, int C_out, tuple k, tuple s, tuple p, tuple d, tuple o, int nb):
    cdef Geom g
    g.N, g.C, g.H, g.W = xs
    g.C_out = C_out
    g.kh, g.kw = k
    g.sh, g.sw = s
    g.ph, g.pw = p
    g.dh, g.dw = d
    g.K = g.C * g.kh * g.kw
    g.P = o[0] * o[1]
    g.nb = nb
    g.direct = g.kh == 1 and g.kw == 1 and g.sh == 1 and g.sw == 1 and g.ph == 0 and g.pw == 0
    g.dw_t = _dw_transposed(C_out)
    return g


cdef enum:
    _DW_COLS = 384              # dW (C_out x K) in column blocks (a fixed grid threads can share); narrower
                                # blocks measured slower on one thread (the dW GEMM is not a small-kernel shape)
    _DW_ROWS = 96               # dW.T (K x C_out) in row blocks of about this many rows, same reason
    _BLOCK_ROWS = 32            # rows of C per BLAS call
    _BLOCK_MACS = 1000000       # at most this many multiply-adds per BLAS call (M*N*K)


cdef void _gemm_blocked(bint trans_a, bint trans_b, int M, int N, int K, const floating *A, int lda,
                        const floating *B, int ldb, floating *C, int ldc, int rb, int cb,
                        int nthreads) noexcept nogil:
    """C (M x N) = op(A) @ op(B) as a fixed grid of blocks of C, each block one single-threaded BLAS call
    over the whole K; with nthreads > 1 the threads share the blocks. Blocks are rb x cb; rb = 0 means
    _BLOCK_ROWS, cb = 0 the widest block with at most _BLOCK_MACS multiply-adds.

    Why blocks: scipy's OpenBLAS runs a GEMM whose side is 8, 16 or 32 and whose M*N*K is at most 1e6
    through its no-copy small-matrix kernels, measured 130-160 GFLOPS against 85-110 for the same work
    as one call with packing (one core, AVX-512, the conv shapes of 16..128 channels). Why a FIXED grid
    (from the shape only): every element of C comes from the same BLAS call whatever the thread count,
    so the bits do not depend on it."""
    cdef long cap
    if rb == 0 or rb > M:
        rb = _BLOCK_ROWS if M > _BLOCK_ROWS else M
    if cb == 0:
        cap = _BLOCK_MACS // (<long> rb * K)
        cb = N if cap >= N else (<int> cap // 16) * 16
        if cb < 16:
            cb = 16
    if cb > N:
        cb = N
    cdef int nr = (M + rb - 1) // rb, nc = (N + cb - 1) // cb
    cdef int t, r0, c0
    if nthreads > 1 and nr * nc > 1:
        for t in prange(nr * nc, num_threads=nthreads, schedule="static"):
            r0 = (t // nc) * rb
            c0 = (t % nc) * cb
            gemm(trans_a, trans_b, min(rb, M - r0), min(cb, N - c0), K, <floating> 1,
                 A + (r0 if trans_a else <size_t> r0 * lda), lda,
                 B + (<size_t> c0 * ldb if trans_b else c0), ldb, <floating> 0, C + <size_t> r0 * ldc + c0, ldc)
    else:
        for t in range(nr * nc):
            r0 = (t // nc) * rb
            c0 = (t % nc) * cb
            gemm(trans_a, trans_b, min(rb, M - r0), min(cb, N - c0), K, <floating> 1,
                 A + (r0 if trans_a else <size_t> r0 * lda), lda,
                 B + (<size_t> c0 * ldb if trans_b else c0), ldb, <floating> 0, C + <size_t> r0 * ldc + c0, ldc)


cdef inline void _im2col_group(const floating *x, Geom *g, int cnt, floating *col) noexcept nogil:
    """cnt images x (cnt, C, H, W) -> col (K, cnt*P), image n in columns n*P .. n*P+P-1."""
    cdef size_t ld = <size_t> cnt * g.P, img = <size_t> g.C * g.H * g.W
    cdef int n
    for n in range(cnt):
        if floating is float:
            nnc_im2col_ld_f32(x + n * img, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw,
                              col + <size_t> n * g.P, ld)
        else:
            nnc_im2col_ld_f64(x + n * img, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw,
                              col + <size_t> n * g.P, ld)


cdef inline void _col2im_group(floating *col, Geom *g, int cnt, floating *dx) noexcept nogil:
    """dx (cnt, C, H, W) = col2im of the column block col (K, cnt*P); col is used as scratch."""
    cdef size_t ld = <size_t> cnt * g.P, img = <size_t> g.C * g.H * g.W
    cdef int n
    memset(dx, 0, cnt * img * sizeof(floating))
    for n in range(cnt):
        if floating is float:
            nnc_col2im_ld_f32(col + <size_t> n * g.P, ld, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
                              g.dh, g.dw, dx + n * img)
        else:
            nnc_col2im_ld_f64(col + <size_t> n * g.P, ld, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
                              g.dh, g.dw, dx + n * img)


cdef inline void _forward_group(const floating *x, const floating *Wm, const floating *b, bint use_bias,
                                Geom *g, int cnt, floating *ws, floating *out, int gemm_nthreads) noexcept nogil:
    """cnt images: out (cnt, C_out, P) = Wm (C_out, K) @ col (K, cnt*P) + b, unpacked to NCHW.
    One image writes straight into out; several go through ws (C_out, cnt*P) after the columns."""
    cdef size_t ld = <size_t> cnt * g.P
    cdef const floating *col = x
    cdef floating *res = out
    if not (g.direct and cnt == 1):
        _im2col_group(x, g, cnt, ws)
        col = ws
    if cnt > 1:
        res = ws + <size_t> g.K * ld
    _gemm_blocked(False, False, g.C_out, <int> ld, g.K, Wm, g.K, col, <int> ld, res, <int> ld, 0, 0, gemm_nthreads)
    if cnt > 1:
        if floating is float:
            nnc_unpack_images_f32(res, g.C_out, cnt, g.P, b if use_bias else NULL, out)
        else:
            nnc_unpack_images_f64(res, g.C_out, cnt, g.P, b if use_bias else NULL, out)
    elif use_bias:
        if floating is float:
            nnc_add_bias_planes_f32(b, g.C_out, g.P, out)
        else:
            nnc_add_bias_planes_f64(b, g.C_out, g.P, out)


def _forward(const floating[:, :, :, ::1] x, const floating[:, ::1] Wm, const floating[::1] b, bint use_bias,
             floating[:, :, ::1] out, floating[:, ::1] ws, tuple k, tuple s, tuple p, tuple d, tuple o,
             int nb, int nthreads):
    cdef Geom g = _geom((x.shape[0], x.shape[1], x.shape[2], x.shape[3]), Wm.shape[0], k, s, p, d, o, nb)
    cdef int grp, n0, tid = 0
    cdef int ngroups = (g.N + nb - 1) // nb
    if ngroups >= nthreads:
        with nogil, parallel(num_threads=nthreads):
            tid = threadid()
            for grp in prange(ngroups, schedule="static"):
                n0 = grp * nb
                _forward_group(&x[n0, 0, 0, 0], &Wm[0, 0], &b[0], use_bias, &g, min(nb, g.N - n0),
                               &ws[tid, 0], &out[n0, 0, 0], 1)
    else:  # fewer groups than threads: split each group's GEMM over the threads instead
        with nogil:
            for grp in range(ngroups):
                n0 = grp * nb
                _forward_group(&x[n0, 0, 0, 0], &Wm[0, 0], &b[0], use_bias, &g, min(nb, g.N - n0),
                               &ws[0, 0], &out[n0, 0, 0], nthreads)


# ---- Winograd F(2x2, 3x3): the forward, and dx in the backward (csrc/winograd.h) ----------------

_WINO = [True]          # tests switch it off to compare the two forward schemes


def _use_winograd(k, s, d, int C, int C_out, long tiles):
    """The forward takes Winograd's F(2x2, 3x3) for 3x3 kernels at stride 1 and dilation 1 with at least
    16 channels in and out (thinner GEMMs (T, C) @ (C, C_out) are not worth the transforms) and at least
    512 output tiles in the batch (below that the filter transform, once per call, costs more than the
    GEMMs save: 64->128 at 7x7 took 0.30 ms at batch 1 against im2col's 0.11). Measured against im2col,
    batch 64, 2 threads: 16->32 at 28x28 3.64 -> 2.74 ms, 32->64 at 14x14 2.78 -> 1.67, 64->128 at 7x7
    2.66 -> 1.98, 32->32 at 7x7 (batch 128) 0.98 -> 0.73; 1 thread alike."""
    return (_WINO[0] and k == (3, 3) and s == (1, 1) and d == (1, 1) and C >= 16 and C_out >= 16
            and tiles >= 512)


def _wino_workspace(int nb, int C, int C_out, int H, int W, int th, int tw):
    """Values per group: V (16, T, C), M (16, T, C_out), then the larger of the two transforms' scratch."""
    cdef long T = <long> nb * th * tw
    return 16 * T * (C + C_out) + max(<long> nb * H * W * C + C, <long> nb * 4 * th * tw * C_out)


cdef inline void _wino_group(const floating *x, const floating *U, const floating *b, bint use_bias, Geom *g,
                             int cnt, int th, int tw, floating *ws, floating *out, int gemm_nthreads) noexcept nogil:
    """cnt images: V = input transform; M[xi] = V[xi] @ U[xi], 16 GEMMs; out = output transform."""
    cdef int T = cnt * th * tw, xi
    cdef floating *V = ws
    cdef floating *M = ws + <size_t> 16 * T * g.C
    cdef floating *scratch = M + <size_t> 16 * T * g.C_out
    cdef int Ho = g.H + 2 * g.ph - 2, Wo = g.W + 2 * g.pw - 2
    if floating is float:
        nnc_wino_input_f32(x, cnt, g.C, g.H, g.W, g.ph, g.pw, th, tw, V, scratch)
    else:
        nnc_wino_input_f64(x, cnt, g.C, g.H, g.W, g.ph, g.pw, th, tw, V, scratch)
    for xi in range(16):
        _gemm_blocked(False, False, T, g.C_out, g.C, V + <size_t> xi * T * g.C, g.C,
                      U + <size_t> xi * g.C * g.C_out, g.C_out, M + <size_t> xi * T * g.C_out, g.C_out, 0, 0,
                      gemm_nthreads)
    if floating is float:
        nnc_wino_output_f32(M, cnt, g.C_out, th, tw, Ho, Wo, b if use_bias else NULL, out, scratch)
    else:
        nnc_wino_output_f64(M, cnt, g.C_out, th, tw, Ho, Wo, b if use_bias else NULL, out, scratch)


def _forward_winograd(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] Wt, const floating[::1] b,
                      bint use_bias, floating[:, :, :, ::1] out, floating[:, ::1] U, floating[:, ::1] ws, tuple p,
                      int th, int tw, int nb, int nthreads):
    cdef Geom g = _geom((x.shape[0], x.shape[1], x.shape[2], x.shape[3]), Wt.shape[0], (3, 3), (1, 1), p,
                        (1, 1), (out.shape[2], out.shape[3]), nb)
    cdef int grp, n0, tid = 0
    cdef int ngroups = (g.N + nb - 1) // nb
    with nogil:
        if floating is float:
            nnc_wino_filter_f32(&Wt[0, 0, 0, 0], g.C_out, g.C, &U[0, 0], nthreads)
        else:
            nnc_wino_filter_f64(&Wt[0, 0, 0, 0], g.C_out, g.C, &U[0, 0], nthreads)
    if ngroups >= nthreads:
        with nogil, parallel(num_threads=nthreads):
            tid = threadid()
            for grp in prange(ngroups, schedule="static"):
                n0 = grp * nb
                _wino_group(&x[n0, 0, 0, 0], &U[0, 0], &b[0], use_bias, &g, min(nb, g.N - n0), th, tw,
                            &ws[tid, 0], &out[n0, 0, 0, 0], 1)
    else:  # fewer groups than threads: the threads share each GEMM's blocks instead
        with nogil:
            for grp in range(ngroups):
                n0 = grp * nb
                _wino_group(&x[n0, 0, 0, 0], &U[0, 0], &b[0], use_bias, &g, min(nb, g.N - n0), th, tw,
                            &ws[0, 0], &out[n0, 0, 0, 0], nthreads)


cdef inline void _backward_group(const floating *x, const floating *dout, const floating *Wm, Geom *g, int cnt,
                                 bint need_dx, bint use_bias, floating *ws, floating *dW_part, floating *db,
                                 floating *dx, int gemm_nthreads) noexcept nogil:
    """cnt images: dW_part = dout_g (C_out, cnt*P) @ col.T (or its transpose, (K, C_out), when g.dw_t);
    dx = col2im(Wm.T @ dout_g);  db[n] = row sums.
    dout_g is dout packed side by side (C_out, cnt*P); the columns' buffer is reused for Wm.T @ dout_g."""
    cdef size_t ld = <size_t> cnt * g.P
    cdef const floating *col = x
    cdef const floating *dg = dout
    cdef floating *dcol = ws
    cdef int n, rb
    if not (g.direct and cnt == 1):
        _im2col_group(x, g, cnt, ws)
        col = ws
    if cnt > 1:
        dg = ws + <size_t> g.K * ld
        if floating is float:
            nnc_pack_images_f32(dout, cnt, g.C_out, g.P, <floating *> dg)
        else:
            nnc_pack_images_f64(dout, cnt, g.C_out, g.P, <floating *> dg)
    if g.dw_t:
        rb = 32         # the widest row block (32, 16 or 8) that OpenBLAS's small kernels take
        while rb > 8 and <long> rb * g.C_out * ld > _BLOCK_MACS:
            rb //= 2
        if <long> rb * g.C_out * ld > _BLOCK_MACS:
            n = (g.K + _DW_ROWS - 1) // _DW_ROWS        # row blocks of about _DW_ROWS, balanced
            rb = (g.K + n - 1) // n
        _gemm_blocked(False, True, g.K, g.C_out, <int> ld, col, <int> ld, dg, <int> ld, dW_part, g.C_out, rb,
                      g.C_out, gemm_nthreads)
    else:
        _gemm_blocked(False, True, g.C_out, g.K, <int> ld, dg, <int> ld, col, <int> ld, dW_part, g.K, g.C_out,
                      _DW_COLS, gemm_nthreads)
    if need_dx:
        if g.direct and cnt == 1:
            dcol = dx
        _gemm_blocked(True, False, g.K, <int> ld, g.C_out, Wm, g.K, dg, <int> ld, dcol, <int> ld, 0, 0,
                      gemm_nthreads)
        if not (g.direct and cnt == 1):
            _col2im_group(dcol, g, cnt, dx)
    if use_bias:
        for n in range(cnt):
            if floating is float:
                nnc_plane_sums_f32(dout + <size_t> n * g.C_out * g.P, g.C_out, g.P, db + <size_t> n * g.C_out)
            else:
                nnc_plane_sums_f64(dout + <size_t> n * g.C_out * g.P, g.C_out, g.P, db + <size_t> n * g.C_out)


def _backward(const floating[:, :, :, ::1] x, const floating[:, :, ::1] dout, const floating[:, ::1] Wm,
              floating[:, :, :, ::1] dx, floating[:, :, ::1] dW_parts, floating[:, ::1] db_parts,
              floating[:, ::1] ws, int first_group, int ngroups, tuple k, tuple s, tuple p, tuple d, tuple o,
              int nb, bint need_dx, bint use_bias, int nthreads):
    """Groups first_group .. first_group+ngroups-1 of nb images; dW of group g goes to dW_parts[g - first]."""
    cdef Geom g = _geom((x.shape[0], x.shape[1], x.shape[2], x.shape[3]), Wm.shape[0], k, s, p, d, o, nb)
    cdef int grp, n0, tid = 0
    if ngroups >= nthreads:
        with nogil, parallel(num_threads=nthreads):
            tid = threadid()
            for grp in prange(ngroups, schedule="static"):
                n0 = (first_group + grp) * nb
                _backward_group(&x[n0, 0, 0, 0], &dout[n0, 0, 0], &Wm[0, 0], &g, min(nb, g.N - n0), need_dx,
                                use_bias, &ws[tid, 0], &dW_parts[grp, 0, 0], &db_parts[n0, 0],
                                &dx[n0 if need_dx else 0, 0, 0, 0], 1)
    else:  # fewer groups than threads: split each GEMM over the threads instead (same bits)
        with nogil:
            for grp in range(ngroups):
                n0 = (first_group + grp) * nb
                _backward_group(&x[n0, 0, 0, 0], &dout[n0, 0, 0], &Wm[0, 0], &g, min(nb, g.N - n0), need_dx,
                                use_bias, &ws[0, 0], &dW_parts[grp, 0, 0], &db_parts[n0, 0],
                                &dx[n0 if need_dx else 0, 0, 0, 0], nthreads)


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """x (N, C, H, W) -> cols (N, C*kh*kw, Ho*Wo), row (c*kh + i)*kw + j, column oh*Wo + ow:
    cols[n, (c, i, j), (oh, ow)] = xp[n, c, oh*sh + i*dh, ow*sw + j*dw]."""
    check_float("im2col", "x", x, 4, "(N, C, H, W)")
    k, s, p, d, o = check_window("im2col", x.shape, kernel_size, stride, padding, dilation)
    N, C = x.shape[:2]
    cols = np.empty((N, C * k[0] * k[1], o[0] * o[1]), dtype=x.dtype)
    _im2col_batch(x, cols, k, s, p, d, get_num_threads())
    return cols


def _im2col_batch(const floating[:, :, :, ::1] x, floating[:, :, ::1] cols, tuple k, tuple s, tuple p, tuple d,
                  int nthreads):
    cdef Geom g = _geom((x.shape[0], x.shape[1], x.shape[2], x.shape[3]), 1, k, s, p, d, (1, 1), 1)
    with nogil:
        if floating is float:
            nnc_im2col_batch_f32(&x[0, 0, 0, 0], g.N, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
                                 g.dh, g.dw, &cols[0, 0, 0], nthreads)
        else:
            nnc_im2col_batch_f64(&x[0, 0, 0, 0], g.N, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
                                 g.dh, g.dw, &cols[0, 0, 0], nthreads)


def _col2im_batch(const floating[:, :, ::1] cols, floating[:, :, :, ::1] x, tuple k, tuple s, tuple p, tuple d,
                  int nthreads):
    cdef Geom g = _geom((x.shape[0], x.shape[1], x.shape[2], x.shape[3]), 1, k, s, p, d, (1, 1), 1)
    with nogil:
        if floating is float:
            nnc_col2im_batch_f32(&cols[0, 0, 0], g.N, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
                                 g.dh, g.dw, &x[0, 0, 0, 0], nthreads)
        else:
            nnc_col2im_batch_f64(&cols[0, 0, 0], g.N, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
                                 g.dh, g.dw, &x[0, 0, 0, 0], nthreads)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
    """The adjoint of im2col: cols (N, C*kh*kw, Ho*Wo) -> x (N, C, H, W), where every column entry is
    ADDED back to the pixel it was copied from (overlapping windows sum; padding is dropped)."""
    x_shape, (k, s, p, d, (Ho, Wo)) = check_col2im("col2im", cols, x_shape, kernel_size, stride, padding,
                                                  dilation)
    N, C, H, W = x_shape
    x = np.empty(x_shape, dtype=cols.dtype)
    _col2im_batch(cols, x, k, s, p, d, get_num_threads())
    return x


def _winograd(x, W, b, tuple p, tuple o, int nthreads):
    """out (N, C_out, Ho, Wo) of a 3x3 stride-1 convolution by Winograd's F(2x2, 3x3) (see _use_winograd)."""
    N, C, H, Wd = x.shape
    C_out = W.shape[0]
    th, tw = (o[0] + 1) // 2, (o[1] + 1) // 2
    nb = _images_per_group(N, th * tw, _WINO_TILES, balance=True)
    ngroups = (N + nb - 1) // nb
    U = np.empty((16, C * C_out), dtype=x.dtype)
    ws = np.empty((min(nthreads, ngroups), _wino_workspace(nb, C, C_out, H, Wd, th, tw)), dtype=x.dtype)
    out = np.empty((N, C_out, o[0], o[1]), dtype=x.dtype)
    use_bias = b is not None
    _forward_winograd(x, W, b if use_bias else np.zeros(1, x.dtype), use_bias, out, U, ws, p, th, tw, nb, nthreads)
    return out


def conv2d_forward(x, W, b, stride=1, padding=0, dilation=1):
    """Convolution as im2col + GEMM, per image: out[n] (C_out, Ho*Wo) = W.reshape(C_out, -1) @ cols[n] + b
    (3x3 stride-1 layers with 16+ channels: Winograd's F(2x2, 3x3), the same numbers to float rounding).

    x (N, C_in, H, W), W (C_out, C_in, kh, kw), b (C_out,) or None -> (out (N, C_out, Ho, Wo), Conv2DCache)."""
    k, s, p, d, o = check_conv("conv2d_forward", x, W, b, stride, padding, dilation)
    N, C, C_out = x.shape[0], x.shape[1], W.shape[0]
    nthreads = get_num_threads()
    use_bias = b is not None
    if _use_winograd(k, s, d, C, C_out, N * ((o[0] + 1) // 2) * ((o[1] + 1) // 2)):
        return _winograd(x, W, b, p, o, nthreads), Conv2DCache(x, W, use_bias, s, p, d)
    bb = b if use_bias else np.zeros(1, x.dtype)
    P = o[0] * o[1]
    nb = _images_per_group(N, P, _FWD_COLS, balance=True)
    ngroups = (N + nb - 1) // nb
    ws = np.empty((min(nthreads, ngroups), (W[0].size + (C_out if nb > 1 else 0)) * nb * P), dtype=x.dtype)
    out = np.empty((N, C_out, o[0], o[1]), dtype=x.dtype)
    _forward(x, W.reshape(C_out, -1), bb, use_bias, out.reshape(N, C_out, -1), ws, k, s, p, d, o, nb, nthreads)
    return out, Conv2DCache(x, W, use_bias, s, p, d)


def conv2d_backward(dout, cache, need_dx=True):
    """Gradients of conv2d_forward.  dout (N, C_out, Ho, Wo) -> (dx or None, dW, db or None).

    Per image: dW += dout[n] @ cols[n].T,  dx[n] = col2im(W.T @ dout[n]),  db = sum of dout over n, h, w.
    The columns are rebuilt from x (cheaper in memory than keeping N column matrices).
    Where the forward would take Winograd (3x3, stride 1), so does dx: for stride 1 it is the forward
    convolution of dout, padded by 2 - p, with the kernel flipped and its channel axes swapped,
    dx[n, c] = sum_o dout[n, o] (*) W[o, c, ::-1, ::-1]; the columns then serve dW alone."""
    x, W, use_bias, (k, s, p, d, o) = check_conv_cache("conv2d_backward", dout, cache)
    N, C_out = x.shape[0], W.shape[0]
    nthreads = get_num_threads()
    H, Wd = x.shape[2], x.shape[3]
    wino_dx = (need_dx and p[0] <= 2 and p[1] <= 2
               and _use_winograd(k, s, d, C_out, x.shape[1], N * ((H + 1) // 2) * ((Wd + 1) // 2)))
    P = o[0] * o[1]
    nb = _images_per_group(N, P, _BWD_COLS)
    ngroups_total = (N + nb - 1) // nb
    K = W[0].size
    dw_t = _dw_transposed(C_out)
    ws = np.empty((min(nthreads, ngroups_total), (K + (C_out if nb > 1 else 0)) * nb * P), dtype=x.dtype)
    dx = np.empty_like(x) if need_dx and not wino_dx else np.empty((1, 1, 1, 1), x.dtype)
    dW_shape = (K, C_out) if dw_t else (C_out, K)
    dW_parts = np.empty((min(ngroups_total, _ROUND),) + dW_shape, dtype=x.dtype)
    db_parts = np.zeros((N, C_out), dtype=x.dtype)
    dWm = np.zeros(dW_shape, dtype=x.dtype)
    for first in range(0, ngroups_total, _ROUND):
        count = min(_ROUND, ngroups_total - first)
        _backward(x, dout.reshape(N, C_out, -1), W.reshape(C_out, -1), dx, dW_parts, db_parts, ws,
                  first, count, k, s, p, d, o, nb, need_dx and not wino_dx, use_bias, nthreads)
        for g in range(count):     # fixed order, so the sum does not depend on the thread count
            dWm += dW_parts[g]
    db = db_parts.sum(axis=0) if use_bias else None
    if dw_t:
        dWm = np.ascontiguousarray(dWm.T)
    if wino_dx:
        W_flipped = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))   # (C_in, C_out, 3, 3)
        dx = _winograd(dout, W_flipped, None, (2 - p[0], 2 - p[1]), (H, Wd), nthreads)
    return (dx if need_dx else None), dWm.reshape(W.shape), db


include "_build.pxi"
