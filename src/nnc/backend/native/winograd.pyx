# distutils: sources = csrc/winograd.c
"""3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016), native:
the transforms in C (csrc/winograd.h, which gives the equations), the 16 products over tiles through
the convolution's blocked GEMM (_blas.pyx), OpenMP over groups of images.

The convolution (conv.pyx) takes this path for the forward, and for dx in the backward, of 3x3 layers
at stride 1 with 16+ channels (use_winograd): 2.25x fewer multiplications than im2col + GEMM, the same
result to float rounding. The groups depend on the shape only, so the bits do not depend on the
thread count."""
import numpy as np
cimport cython
from cython.parallel cimport parallel, prange, threadid

from ._blas cimport floating, gemm_blocked
from ._geom cimport group_threads, groups_per_round, images_per_group, make_geom, nnc_conv_geom

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
    void nnc_wino_dout_f32(const float *dout, int cnt, int C_out, int Ho, int Wo, int th, int tw, float *Ud,
                           float *scratch) noexcept nogil
    void nnc_wino_dout_f64(const double *dout, int cnt, int C_out, int Ho, int Wo, int th, int tw, double *Ud,
                           double *scratch) noexcept nogil
    void nnc_wino_dw_f32(const float *M, int C, int C_out, float *dW) noexcept nogil
    void nnc_wino_dw_f64(const double *M, int C, int C_out, double *dW) noexcept nogil

__all__ = []        # no kernels of its own: conv2d_forward and conv2d_backward call in

_TILES = 64         # tiles (2x2 output blocks) per group: larger groups measured no faster
_DW_TILES = 256     # the weight gradient's groups: its GEMMs reduce over the tiles, which wants them long


def use_winograd(k, s, d, int C, int C_out, long tiles):
    """Whether a convolution takes Winograd's F(2x2, 3x3): 3x3 kernels at stride 1 and dilation 1 with at
    least 16 channels in and out (thinner GEMMs (T, C) @ (C, C_out) are not worth the transforms) and at
    least 512 output tiles in the batch (below that the filter transform, once per call, costs more than
    the GEMMs save). Measured against im2col in benchmarks/README.md."""
    return k == (3, 3) and s == (1, 1) and d == (1, 1) and C >= 16 and C_out >= 16 and tiles >= 512


def _workspace(int nb, int C, int C_out, int H, int W, int th, int tw):
    """Values per group: V (16, T, C), M (16, T, C_out), then the larger of the two transforms' scratch."""
    cdef long T = <long> nb * th * tw
    return 16 * T * (C + C_out) + max(<long> nb * H * W * C + C, <long> nb * 4 * th * tw * C_out)


cdef inline void _group(const floating *x, const floating *U, const floating *b, nnc_conv_geom *g, int cnt,
                        floating *ws, floating *out, int gemm_nthreads) noexcept nogil:
    """cnt images: V = input transform; M[xi] = V[xi] @ U[xi], 16 GEMMs; out = output transform (+ b
    unless b is NULL)."""
    cdef int th = (g.Ho + 1) // 2, tw = (g.Wo + 1) // 2
    cdef int T = cnt * th * tw, xi
    cdef floating *V = ws
    cdef floating *M = ws + <size_t> 16 * T * g.C
    cdef floating *scratch = M + <size_t> 16 * T * g.C_out
    if floating is float:
        nnc_wino_input_f32(x, cnt, g.C, g.H, g.W, g.ph, g.pw, th, tw, V, scratch)
    else:
        nnc_wino_input_f64(x, cnt, g.C, g.H, g.W, g.ph, g.pw, th, tw, V, scratch)
    for xi in range(16):
        gemm_blocked(False, False, T, g.C_out, g.C, V + <size_t> xi * T * g.C, g.C,
                     U + <size_t> xi * g.C * g.C_out, g.C_out, M + <size_t> xi * T * g.C_out, g.C_out, 0, 0,
                     gemm_nthreads)
    if floating is float:
        nnc_wino_output_f32(M, cnt, g.C_out, th, tw, g.Ho, g.Wo, b, out, scratch)
    else:
        nnc_wino_output_f64(M, cnt, g.C_out, th, tw, g.Ho, g.Wo, b, out, scratch)


def _forward(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] Wt, const floating[::1] b,
             floating[:, :, :, ::1] out, floating[:, ::1] U, floating[:, ::1] ws, tuple p, int nb, int nthreads):
    """out = the convolution of x with Wt (C_out, C, 3, 3) (+ b unless b is None), groups of nb images."""
    cdef nnc_conv_geom g = make_geom((x.shape[0], x.shape[1], x.shape[2], x.shape[3]), Wt.shape[0], (3, 3),
                                     (1, 1), p, (1, 1), (out.shape[2], out.shape[3]), nb)
    cdef const floating *bias = NULL
    if b is not None:
        bias = &b[0]
    cdef int grp, n0, tid = 0, outer, inner
    cdef int ngroups = (g.N + nb - 1) // nb
    group_threads(ngroups, nthreads, &outer, &inner)
    with nogil:
        if floating is float:
            nnc_wino_filter_f32(&Wt[0, 0, 0, 0], g.C_out, g.C, &U[0, 0], nthreads)
        else:
            nnc_wino_filter_f64(&Wt[0, 0, 0, 0], g.C_out, g.C, &U[0, 0], nthreads)
    if outer == 1:   # in turn on this thread: a team of one would make the GEMMs' team a nested one
        with nogil:
            for grp in range(ngroups):
                n0 = grp * nb
                _group(&x[n0, 0, 0, 0], &U[0, 0], bias, &g, min(nb, g.N - n0), &ws[0, 0], &out[n0, 0, 0, 0], inner)
        return
    with nogil, parallel(num_threads=outer):
        tid = threadid()
        for grp in prange(ngroups, schedule="static"):
            n0 = grp * nb
            _group(&x[n0, 0, 0, 0], &U[0, 0], bias, &g, min(nb, g.N - n0), &ws[tid, 0], &out[n0, 0, 0, 0], inner)


cdef inline void _dw_group(const floating *x, const floating *dout, nnc_conv_geom *g, int cnt, floating *ws,
                           floating *Mw, int gemm_nthreads) noexcept nogil:
    """cnt images: V = input transform of x, Ud = dout transform; Mw[xi] (C, C_out) = V[xi].T @ Ud[xi]."""
    cdef int th = (g.Ho + 1) // 2, tw = (g.Wo + 1) // 2
    cdef int T = cnt * th * tw, xi
    cdef floating *V = ws
    cdef floating *Ud = ws + <size_t> 16 * T * g.C
    cdef floating *scratch = Ud + <size_t> 16 * T * g.C_out
    if floating is float:
        nnc_wino_input_f32(x, cnt, g.C, g.H, g.W, g.ph, g.pw, th, tw, V, scratch)
        nnc_wino_dout_f32(dout, cnt, g.C_out, g.Ho, g.Wo, th, tw, Ud, scratch)
    else:
        nnc_wino_input_f64(x, cnt, g.C, g.H, g.W, g.ph, g.pw, th, tw, V, scratch)
        nnc_wino_dout_f64(dout, cnt, g.C_out, g.Ho, g.Wo, th, tw, Ud, scratch)
    for xi in range(16):
        gemm_blocked(True, False, g.C, g.C_out, T, V + <size_t> xi * T * g.C, g.C,
                     Ud + <size_t> xi * T * g.C_out, g.C_out, Mw + <size_t> xi * g.C * g.C_out, g.C_out, 0, 0,
                     gemm_nthreads)


def _dw_groups(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dout, floating[:, ::1] parts,
               floating[:, ::1] ws, tuple p, int nb, int first_group, int ngroups, int nthreads):
    """Groups first_group .. first_group+ngroups-1 of nb images: group i's Mw into parts[i - first_group]."""
    cdef nnc_conv_geom g = make_geom((x.shape[0], x.shape[1], x.shape[2], x.shape[3]), dout.shape[1], (3, 3),
                                     (1, 1), p, (1, 1), (dout.shape[2], dout.shape[3]), nb)
    cdef int grp, n0, tid = 0, outer, inner
    group_threads(ngroups, nthreads, &outer, &inner)
    if outer == 1:   # in turn on this thread, as in _forward
        with nogil:
            for grp in range(ngroups):
                n0 = (first_group + grp) * nb
                _dw_group(&x[n0, 0, 0, 0], &dout[n0, 0, 0, 0], &g, min(nb, g.N - n0), &ws[0, 0], &parts[grp, 0],
                          inner)
        return
    with nogil, parallel(num_threads=outer):
        tid = threadid()
        for grp in prange(ngroups, schedule="static"):
            n0 = (first_group + grp) * nb
            _dw_group(&x[n0, 0, 0, 0], &dout[n0, 0, 0, 0], &g, min(nb, g.N - n0), &ws[tid, 0], &parts[grp, 0],
                      inner)


def _dw_output(const floating[:, :, ::1] M, floating[:, :, :, ::1] dW):
    with nogil:
        if floating is float:
            nnc_wino_dw_f32(&M[0, 0, 0], M.shape[1], M.shape[2], &dW[0, 0, 0, 0])
        else:
            nnc_wino_dw_f64(&M[0, 0, 0], M.shape[1], M.shape[2], &dW[0, 0, 0, 0])


def winograd_conv2d_dw(x, dout, tuple p, int nthreads, int round_groups=0):
    """dW (C_out, C, 3, 3) of the 3x3 stride-1 convolution of x (N, C, H, W) with padding p, given dout
    (N, C_out, Ho, Wo): dW[o, c, u, v] = sum over n, i, j of dout[n, o, i, j] * x_padded[n, c, i + u, j + v],
    by F(3x3, 2x2). The groups' sums are added in group order, so the bits do not depend on the thread
    count, nor on round_groups (groups per round; 0: groups_per_round's choice). Arguments checked by the
    caller."""
    N, C, H, Wd = x.shape
    C_out, Ho, Wo = dout.shape[1:]
    th, tw = (Ho + 1) // 2, (Wo + 1) // 2
    nb = images_per_group(N, th * tw, _DW_TILES)
    ngroups = (N + nb - 1) // nb
    T = nb * th * tw
    scratch = max(nb * H * Wd * C + C, nb * Ho * Wo * C_out + C_out)     # the two transforms' (winograd.h)
    ws = np.empty((min(nthreads, ngroups), 16 * T * (C + C_out) + scratch), dtype=x.dtype)
    per_round = groups_per_round(ngroups, 16 * C * C_out, x.dtype.itemsize) if round_groups == 0 else round_groups
    parts = np.empty((per_round, 16, C, C_out), dtype=x.dtype)
    M = np.zeros((16, C, C_out), dtype=x.dtype)
    for first in range(0, ngroups, per_round):
        count = min(per_round, ngroups - first)
        _dw_groups(x, dout, parts.reshape(parts.shape[0], -1), ws, p, nb, first, count, nthreads)
        for g in range(count):     # fixed order, so the sum does not depend on the thread count
            M += parts[g]
    dW = np.empty((C_out, C, 3, 3), dtype=x.dtype)
    _dw_output(M, dW)
    return dW


def winograd_conv2d(x, W, b, tuple p, tuple o, int nthreads):
    """out (N, C_out, Ho, Wo) of the 3x3 stride-1 convolution of x (N, C, H, W) with W (C_out, C, 3, 3),
    padding p, bias b (C_out,) or None; o = (Ho, Wo). Arguments checked by the caller."""
    N, C, H, Wd = x.shape
    C_out = W.shape[0]
    th, tw = (o[0] + 1) // 2, (o[1] + 1) // 2
    nb = images_per_group(N, th * tw, _TILES, balance=True)
    ngroups = (N + nb - 1) // nb
    U = np.empty((16, C * C_out), dtype=x.dtype)
    ws = np.empty((min(nthreads, ngroups), _workspace(nb, C, C_out, H, Wd, th, tw)), dtype=x.dtype)
    out = np.empty((N, C_out, o[0], o[1]), dtype=x.dtype)
    _forward(x, W, b, out, U, ws, p, nb, nthreads)
    return out


include "_build.pxi"
