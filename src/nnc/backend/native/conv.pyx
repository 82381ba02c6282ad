# distutils: sources = csrc/im2col.c csrc/direct.c
"""2-D convolution, native: im2col (csrc/im2col.c) + BLAS GEMM per group of images, OpenMP over the
groups; 3x3 stride-1 layers with 16+ channels by Winograd's F(2x2, 3x3) instead (winograd.pyx), and
3x3 and 5x5 stride-1 layers with few input channels directly (csrc/direct.c, use_direct).

Same names, arguments and results as nnc/backend/reference/conv.py. Column layout: csrc/im2col.h.
The scheme was chosen by measurement (benchmarks/README.md has the figures):
  groups       the batch is cut into groups of nb images, nb from the shape only (about _FWD_COLS
               columns per GEMM forward, _BWD_COLS backward). A group's columns sit side by side,
               (K, nb*Ho*Wo), so a 7x7 image does not mean a 49-column GEMM; the result is unpacked to
               NCHW (forward) and dout packed the same way (backward). dW of a group is one GEMM whose
               reduction runs over all its columns.
  GEMM blocks  forward and W.T @ dout run as a fixed grid of small blocks (gemm_blocked, _blas.pyx),
               which scipy's OpenBLAS takes through its no-copy small-matrix kernels.
  dW           computed transposed, dW.T (K, C_out) = col @ dout_g.T, where OpenBLAS runs that order
               faster (_dw_transposed), in row blocks small enough for those kernels.
  winograd     the forward of 3x3 stride-1 convolutions with 16+ channels (use_winograd), the
               backward's dx, which is the same kind of convolution, and dW, by the transposed
               algorithm F(3x3, 2x2) (winograd.pyx).
  direct       thin 3x3 and 5x5 stride-1 layers (C*kh*kw <= _DIRECT_MAX_K, use_direct): each output row
               summed in vector registers from shifted rows of the padded image, no im2col copies;
               for 5x5 over 16+ images (use_direct_backward) the backward too: dW row by row against
               dout, dx as the direct convolution of dout with the kernel flipped (where its own
               reduction C_out*kh*kw is thin too; otherwise im2col's backward).
  workspace    a fresh np.empty per call: a per-thread cache reused across calls measured no faster
               (the allocator already reuses the freed block).
Threads: OpenMP shares the groups (one workspace slice per thread, single-threaded BLAS); when there
are fewer groups than threads (small batches, N=1 at inference), the groups run in turn and the
threads share each GEMM's blocks instead (group_threads, _geom.pxd).

Determinism: the groups and the GEMM block grids depend on the shape only, so every output element
comes from the same BLAS call whatever the thread count; dW is summed per group, and the groups are
added in group order; db is summed per image (fixed-order partials) and then over images in order.
So the bits do not depend on the thread count (tests check 1 vs 2 threads).
"""
import numpy as np
cimport cython
from cython.parallel cimport parallel, prange, threadid
from libc.string cimport memset

from nnc._threads import get_num_threads
from nnc.backend._cache_checks import check_conv_cache
from nnc.backend._checks import check_col2im, check_conv, check_float, check_window
from nnc.backend.caches import Conv2DCache
from ._blas cimport BLOCK_MACS, floating, gemm_blocked
from ._geom cimport group_threads, groups_per_round, images_per_group, make_geom, nnc_conv_geom
from .winograd import use_winograd, winograd_conv2d, winograd_conv2d_dw

cdef extern from "im2col.h":
    void nnc_im2col_ld_f32(const float *data_im, const nnc_conv_geom *g, float *data_col, size_t ld_col) noexcept nogil
    void nnc_im2col_ld_f64(const double *data_im, const nnc_conv_geom *g, double *data_col,
                           size_t ld_col) noexcept nogil
    void nnc_col2im_ld_f32(float *data_col, size_t ld_col, const nnc_conv_geom *g, float *data_im) noexcept nogil
    void nnc_col2im_ld_f64(double *data_col, size_t ld_col, const nnc_conv_geom *g, double *data_im) noexcept nogil
    void nnc_im2col_batch_f32(const float *x, const nnc_conv_geom *g, float *cols, int nthreads) noexcept nogil
    void nnc_im2col_batch_f64(const double *x, const nnc_conv_geom *g, double *cols, int nthreads) noexcept nogil
    void nnc_col2im_batch_f32(const float *cols, const nnc_conv_geom *g, float *x, int nthreads) noexcept nogil
    void nnc_col2im_batch_f64(const double *cols, const nnc_conv_geom *g, double *x, int nthreads) noexcept nogil
    void nnc_unpack_images_f32(const float *data, int C_out, int nb, int P, const float *b, float *out) noexcept nogil
    void nnc_unpack_images_f64(const double *data, int C_out, int nb, int P, const double *b,
                               double *out) noexcept nogil
    void nnc_pack_images_f32(const float *dout, int nb, int C_out, int P, float *data) noexcept nogil
    void nnc_pack_images_f64(const double *dout, int nb, int C_out, int P, double *data) noexcept nogil
    void nnc_add_bias_planes_f32(const float *b, int C_out, int P, float *out_n) noexcept nogil
    void nnc_add_bias_planes_f64(const double *b, int C_out, int P, double *out_n) noexcept nogil
    void nnc_plane_sums_f32(const float *dout_n, int C_out, int P, float *db_n) noexcept nogil
    void nnc_plane_sums_f64(const double *dout_n, int C_out, int P, double *db_n) noexcept nogil

cdef extern from "direct.h":
    size_t nnc_direct_image_values(const nnc_conv_geom *g, int itemsize) noexcept nogil
    void nnc_direct_forward_f32(const float *x, const nnc_conv_geom *g, const float *W, const float *b, float *out,
                                float *scratch, int nthreads) noexcept nogil
    void nnc_direct_forward_f64(const double *x, const nnc_conv_geom *g, const double *W, const double *b,
                                double *out, double *scratch, int nthreads) noexcept nogil
    size_t nnc_direct_dw_scratch_f32(const nnc_conv_geom *g, int chunk) noexcept nogil
    size_t nnc_direct_dw_scratch_f64(const nnc_conv_geom *g, int chunk) noexcept nogil
    void nnc_direct_dw_f32(const float *x, const float *dout, const nnc_conv_geom *g, float *dW, float *scratch,
                           int chunk, const nnc_conv_geom *gx, const float *Wf, float *dx, float *dx_scratch,
                           int nthreads) noexcept nogil
    void nnc_direct_dw_f64(const double *x, const double *dout, const nnc_conv_geom *g, double *dW,
                           double *scratch, int chunk, const nnc_conv_geom *gx, const double *Wf, double *dx,
                           double *dx_scratch, int nthreads) noexcept nogil

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward"]

cdef enum:
    _DW_COLS = 384      # dW (C_out x K) in column blocks (a fixed grid threads can share); narrower
                        # blocks measured slower on one thread (the dW GEMM is not a small-kernel shape)
    _DW_ROWS = 96       # dW.T (K x C_out) in row blocks of about this many rows, same reason

# Columns per GEMM: a group holds about ceil(target / (Ho*Wo)) images (at most the batch). Forward: the
# blocked GEMM already runs small blocks at full speed, so groups only save calls on small images (and
# cost an unpack copy). Backward: dW's reduction runs over the group's columns, which wants it long.
_FWD_COLS = 256
_BWD_COLS = 768
# The direct convolution: the widest reduction it takes (C*kh*kw; above it im2col's GEMM is the faster),
# and the padded images of the weight gradient's chunks (bytes; the sums over a chunk stay in cache).
_DIRECT_MAX_K = 400
_DIRECT_CHUNK_BYTES = 1 << 24


def _dw_transposed(int C_out):
    """Whether the backward computes the weight gradient transposed, dW.T (K, C_out) = col (K, L) @
    dout_g.T (L, C_out), rather than dW = dout_g (C_out, L) @ col.T. The two ask OpenBLAS for the same
    reduction over L with the operands in opposite orders, and it packs and runs the first faster from
    16 output channels on; below that the GEMM is tiny and the first order slower."""
    return C_out >= 16


cdef class _Geometry:
    """One call's nnc_conv_geom (csrc/im2col.h), handed from the Python level to the loops below."""
    cdef nnc_conv_geom g

    def __init__(self, tuple xs, int C_out, tuple k, tuple s, tuple p, tuple d, tuple o, int nb=1):
        self.g = make_geom(xs, C_out, k, s, p, d, o, nb, _dw_transposed(C_out))


cdef inline void _im2col_group(const floating *x, nnc_conv_geom *g, int cnt, floating *col) noexcept nogil:
    """cnt images x (cnt, C, H, W) -> col (K, cnt*P), image n in columns n*P .. n*P+P-1."""
    cdef size_t ld = <size_t> cnt * g.P, img = <size_t> g.C * g.H * g.W
    cdef int n
    for n in range(cnt):
        if floating is float:
            nnc_im2col_ld_f32(x + n * img, g, col + <size_t> n * g.P, ld)
        else:
            nnc_im2col_ld_f64(x + n * img, g, col + <size_t> n * g.P, ld)


cdef inline void _col2im_group(floating *col, nnc_conv_geom *g, int cnt, floating *dx) noexcept nogil:
    """dx (cnt, C, H, W) = col2im of the column block col (K, cnt*P); col is used as scratch."""
    cdef size_t ld = <size_t> cnt * g.P, img = <size_t> g.C * g.H * g.W
    cdef int n
    memset(dx, 0, cnt * img * sizeof(floating))
    for n in range(cnt):
        if floating is float:
            nnc_col2im_ld_f32(col + <size_t> n * g.P, ld, g, dx + n * img)
        else:
            nnc_col2im_ld_f64(col + <size_t> n * g.P, ld, g, dx + n * img)


cdef inline void _forward_group(const floating *x, const floating *Wm, const floating *b, nnc_conv_geom *g,
                                int cnt, floating *ws, floating *out, int gemm_nthreads) noexcept nogil:
    """cnt images: out (cnt, C_out, P) = Wm (C_out, K) @ col (K, cnt*P) + b (b NULL: no bias), unpacked
    to NCHW. One image writes straight into out; several go through ws (C_out, cnt*P) after the columns."""
    cdef size_t ld = <size_t> cnt * g.P
    cdef const floating *col = x
    cdef floating *res = out
    if not (g.direct and cnt == 1):
        _im2col_group(x, g, cnt, ws)
        col = ws
    if cnt > 1:
        res = ws + <size_t> g.K * ld
    gemm_blocked(False, False, g.C_out, <int> ld, g.K, Wm, g.K, col, <int> ld, res, <int> ld, 0, 0, gemm_nthreads)
    if cnt > 1:
        if floating is float:
            nnc_unpack_images_f32(res, g.C_out, cnt, g.P, b, out)
        else:
            nnc_unpack_images_f64(res, g.C_out, cnt, g.P, b, out)
    elif b != NULL:
        if floating is float:
            nnc_add_bias_planes_f32(b, g.C_out, g.P, out)
        else:
            nnc_add_bias_planes_f64(b, g.C_out, g.P, out)


def _forward(const floating[:, :, :, ::1] x, const floating[:, ::1] Wm, const floating[::1] b,
             floating[:, :, ::1] out, floating[:, ::1] ws, _Geometry geo, int nthreads):
    """out (N, C_out, P) = the convolution of x with Wm (C_out, K) (+ b unless b is None)."""
    cdef nnc_conv_geom *g = &geo.g
    cdef const floating *bias = NULL
    if b is not None:
        bias = &b[0]
    cdef int grp, n0, tid = 0, outer, inner
    cdef int ngroups = (g.N + g.nb - 1) // g.nb
    group_threads(ngroups, nthreads, &outer, &inner)
    if outer == 1:   # the groups in turn on this thread (a team of one would make gemm's team a nested one,
        with nogil:  # which libgomp starts afresh on every call)
            for grp in range(ngroups):
                n0 = grp * g.nb
                _forward_group(&x[n0, 0, 0, 0], &Wm[0, 0], bias, g, min(g.nb, g.N - n0), &ws[0, 0],
                               &out[n0, 0, 0], inner)
        return
    with nogil, parallel(num_threads=outer):
        tid = threadid()
        for grp in prange(ngroups, schedule="static"):
            n0 = grp * g.nb
            _forward_group(&x[n0, 0, 0, 0], &Wm[0, 0], bias, g, min(g.nb, g.N - n0), &ws[tid, 0],
                           &out[n0, 0, 0], inner)


cdef inline void _image_sums(const floating *dout, int cnt, int C_out, int P, floating *db) noexcept nogil:
    """db[n, o] = the sum of dout[n, o, :] for cnt images (fixed-order sums per image: db's partials)."""
    cdef int n
    for n in range(cnt):
        if floating is float:
            nnc_plane_sums_f32(dout + <size_t> n * C_out * P, C_out, P, db + <size_t> n * C_out)
        else:
            nnc_plane_sums_f64(dout + <size_t> n * C_out * P, C_out, P, db + <size_t> n * C_out)


cdef inline void _backward_group(const floating *x, const floating *dout, const floating *Wm, nnc_conv_geom *g,
                                 int cnt, floating *ws, floating *dW_part, floating *db, floating *dx,
                                 int gemm_nthreads) noexcept nogil:
    """cnt images: dW_part = dout_g (C_out, cnt*P) @ col.T (or its transpose, (K, C_out), when g.dw_t)
    unless dW_part is NULL;  dx = col2im(Wm.T @ dout_g) unless dx is NULL;  db[n] = row sums unless db is
    NULL. dout_g is dout packed side by side (C_out, cnt*P); the columns' buffer is reused for Wm.T @ dout_g."""
    cdef size_t ld = <size_t> cnt * g.P
    cdef const floating *col = x
    cdef const floating *dg = dout
    cdef floating *dcol = ws
    cdef int n, rb
    if dW_part != NULL and not (g.direct and cnt == 1):
        _im2col_group(x, g, cnt, ws)
        col = ws
    if cnt > 1:
        dg = ws + <size_t> g.K * ld
        if floating is float:
            nnc_pack_images_f32(dout, cnt, g.C_out, g.P, <floating *> dg)
        else:
            nnc_pack_images_f64(dout, cnt, g.C_out, g.P, <floating *> dg)
    if dW_part == NULL:
        pass
    elif g.dw_t:
        rb = 32         # the widest row block (32, 16 or 8) that OpenBLAS's small kernels take
        while rb > 8 and <long> rb * g.C_out * ld > BLOCK_MACS:
            rb //= 2
        if <long> rb * g.C_out * ld > BLOCK_MACS:
            n = (g.K + _DW_ROWS - 1) // _DW_ROWS        # row blocks of about _DW_ROWS, balanced
            rb = (g.K + n - 1) // n
        gemm_blocked(False, True, g.K, g.C_out, <int> ld, col, <int> ld, dg, <int> ld, dW_part, g.C_out, rb,
                     g.C_out, gemm_nthreads)
    else:
        gemm_blocked(False, True, g.C_out, g.K, <int> ld, dg, <int> ld, col, <int> ld, dW_part, g.K, g.C_out,
                     _DW_COLS, gemm_nthreads)
    if dx != NULL:
        if g.direct and cnt == 1:
            dcol = dx
        gemm_blocked(True, False, g.K, <int> ld, g.C_out, Wm, g.K, dg, <int> ld, dcol, <int> ld, 0, 0,
                     gemm_nthreads)
        if not (g.direct and cnt == 1):
            _col2im_group(dcol, g, cnt, dx)
    if db != NULL:
        _image_sums(dout, cnt, g.C_out, g.P, db)


def _backward(const floating[:, :, :, ::1] x, const floating[:, :, ::1] dout, const floating[:, ::1] Wm,
              floating[:, :, :, ::1] dx, floating[:, :, ::1] dW_parts, floating[:, ::1] db_parts,
              floating[:, ::1] ws, _Geometry geo, int first_group, int ngroups, int nthreads):
    """Groups first_group .. first_group+ngroups-1: dW of group i goes to dW_parts[i - first_group] (None: not
    wanted), the per-image bias sums to db_parts (None: no bias), dx (None: not wanted)."""
    cdef nnc_conv_geom *g = &geo.g
    cdef int grp, n0, tid = 0, outer, inner
    cdef floating *dx_p = NULL if dx is None else &dx[0, 0, 0, 0]
    cdef floating *db_p = NULL if db_parts is None else &db_parts[0, 0]
    cdef floating *dW_p = NULL if dW_parts is None else &dW_parts[0, 0, 0]
    cdef size_t part = 0 if dW_parts is None else <size_t> dW_parts.shape[1] * dW_parts.shape[2]
    cdef size_t img = <size_t> g.C * g.H * g.W
    group_threads(ngroups, nthreads, &outer, &inner)
    if outer == 1:   # in turn on this thread, as in _forward
        with nogil:
            for grp in range(ngroups):
                n0 = (first_group + grp) * g.nb
                _backward_group(&x[n0, 0, 0, 0], &dout[n0, 0, 0], &Wm[0, 0], g, min(g.nb, g.N - n0), &ws[0, 0],
                                NULL if dW_p == NULL else dW_p + grp * part,
                                NULL if db_p == NULL else db_p + <size_t> n0 * g.C_out,
                                NULL if dx_p == NULL else dx_p + n0 * img, inner)
        return
    with nogil, parallel(num_threads=outer):
        tid = threadid()
        for grp in prange(ngroups, schedule="static"):
            n0 = (first_group + grp) * g.nb
            _backward_group(&x[n0, 0, 0, 0], &dout[n0, 0, 0], &Wm[0, 0], g, min(g.nb, g.N - n0), &ws[tid, 0],
                            NULL if dW_p == NULL else dW_p + grp * part,
                            NULL if db_p == NULL else db_p + <size_t> n0 * g.C_out,
                            NULL if dx_p == NULL else dx_p + n0 * img, inner)


def _direct_values(_Geometry geo, int itemsize):
    """Scratch values per image of the direct convolution's padded copy (csrc/direct.h)."""
    return nnc_direct_image_values(&geo.g, itemsize)


def _group_workspace(int ngroups, int nthreads, int K, int C_out, int nb, int P, dtype):
    """One workspace row per thread (at most one per group) for the im2col loops: the group's columns
    (K, nb*P), and after them, when a group holds several images, its packed (C_out, nb*P) block."""
    return np.empty((min(nthreads, ngroups), (K + (C_out if nb > 1 else 0)) * nb * P), dtype=dtype)


def _check_direct(_Geometry geo, x_shape, w_shape, out_shape, long have, long need, int nthreads):
    """What csrc/direct.h assumes of a call, checked against the arrays: stride 1, dilation 1, padding >= 0,
    positive sizes, the shapes of the geometry, the scratch size, at least one thread (these functions are
    internal, but C trusts nothing unchecked)."""
    cdef nnc_conv_geom *g = &geo.g
    want = ((g.N, g.C, g.H, g.W), (g.C_out, g.C, g.kh, g.kw), (g.N, g.C_out, g.Ho, g.Wo))
    if (g.sh, g.sw, g.dh, g.dw) != (1, 1, 1, 1) or (tuple(x_shape)[:4], tuple(w_shape)[:4], tuple(out_shape)[:4]) != want \
            or min(g.N, g.C, g.H, g.W, g.C_out, g.kh, g.kw, g.Ho, g.Wo) < 1 or min(g.ph, g.pw) < 0 or nthreads < 1 \
            or g.Ho != g.H + 2 * g.ph - g.kh + 1 or g.Wo != g.W + 2 * g.pw - g.kw + 1 or have < need:
        raise ValueError(f"direct convolution: arrays {tuple(x_shape)}, {tuple(w_shape)}, {tuple(out_shape)} and "
                         f"{have} scratch values do not fit its geometry {want} (stride 1, padding "
                         f"{(g.ph, g.pw)}, {need} scratch values, {nthreads} threads)")


def _check_disjoint(name, outputs, inputs):
    """The C loops take their pointers as restrict: no output may overlap another output or an input."""
    outs = [np.asarray(a) for a in outputs if a is not None]
    ins = [np.asarray(a) for a in inputs if a is not None]
    for i, a in enumerate(outs):
        for b in outs[i + 1:] + ins:
            if np.may_share_memory(a, b):
                raise ValueError(f"{name}: an output array overlaps another array of the call")


def _direct_forward(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] W, const floating[::1] b,
                    floating[:, :, :, ::1] out, floating[::1] scratch, _Geometry geo, int nthreads):
    """out = the convolution of x with W (+ b unless None), computed directly (csrc/direct.h)."""
    cdef const floating *bias = NULL if b is None else &b[0]
    _check_direct(geo, x.shape, W.shape, out.shape, scratch.shape[0], nthreads * _direct_values(geo, x.itemsize),
                  nthreads)
    _check_disjoint("_direct_forward", (out, scratch), (x, W, b))
    with nogil:
        if floating is float:
            nnc_direct_forward_f32(&x[0, 0, 0, 0], &geo.g, &W[0, 0, 0, 0], bias, &out[0, 0, 0, 0], &scratch[0],
                                   nthreads)
        else:
            nnc_direct_forward_f64(&x[0, 0, 0, 0], &geo.g, &W[0, 0, 0, 0], bias, &out[0, 0, 0, 0], &scratch[0],
                                   nthreads)


def _direct_dw_values(_Geometry geo, int chunk, int itemsize):
    """Scratch values of the direct weight gradient: chunk padded images and the tasks' accumulators."""
    return nnc_direct_dw_scratch_f32(&geo.g, chunk) if itemsize == 4 else nnc_direct_dw_scratch_f64(&geo.g, chunk)


def _direct_dw(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dout, floating[:, :, :, ::1] dW,
               floating[::1] scratch, _Geometry geo, int chunk, int nthreads, _Geometry geo_dx=None,
               const floating[:, :, :, ::1] W_flipped=None, floating[:, :, :, ::1] dx=None,
               floating[::1] dx_scratch=None):
    """dW = the weight gradient of dout against x, computed directly (csrc/direct.h), chunk images at a time;
    with geo_dx, W_flipped, dx and dx_scratch, dx too (the forward of dout with W flipped, geometry geo_dx),
    by the same OpenMP team."""
    _check_direct(geo, x.shape, dW.shape, dout.shape, scratch.shape[0], _direct_dw_values(geo, chunk, x.itemsize),
                  nthreads)
    if geo.g.kw != 5 or not 1 <= chunk <= geo.g.N:
        raise ValueError(f"_direct_dw: a 5x5 kernel and 1 <= chunk <= N wanted, got kw={geo.g.kw}, chunk={chunk}")
    cdef nnc_conv_geom *gx = NULL
    cdef const floating *wf = NULL
    cdef floating *dx_p = NULL
    cdef floating *dxs = NULL
    if geo_dx is not None or W_flipped is not None or dx is not None or dx_scratch is not None:
        if geo_dx is None or W_flipped is None or dx is None or dx_scratch is None:
            raise ValueError("_direct_dw: dx wants geo_dx, W_flipped, dx and dx_scratch together")
        _check_direct(geo_dx, dout.shape, W_flipped.shape, dx.shape, dx_scratch.shape[0],
                      nthreads * _direct_values(geo_dx, x.itemsize), nthreads)
        if tuple(dx.shape)[:4] != tuple(x.shape)[:4]:
            raise ValueError(f"_direct_dw: dx has shape {tuple(dx.shape)[:4]}, x {tuple(x.shape)[:4]}")
        gx, wf, dx_p, dxs = &geo_dx.g, &W_flipped[0, 0, 0, 0], &dx[0, 0, 0, 0], &dx_scratch[0]
    _check_disjoint("_direct_dw", (dW, scratch, dx, dx_scratch), (x, dout, W_flipped))
    with nogil:
        if floating is float:
            nnc_direct_dw_f32(&x[0, 0, 0, 0], &dout[0, 0, 0, 0], &geo.g, &dW[0, 0, 0, 0], &scratch[0], chunk,
                              gx, wf, dx_p, dxs, nthreads)
        else:
            nnc_direct_dw_f64(&x[0, 0, 0, 0], &dout[0, 0, 0, 0], &geo.g, &dW[0, 0, 0, 0], &scratch[0], chunk,
                              gx, wf, dx_p, dxs, nthreads)


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """x (N, C, H, W) -> cols (N, C*kh*kw, Ho*Wo), row (c*kh + i)*kw + j, column oh*Wo + ow:
    cols[n, (c, i, j), (oh, ow)] = xp[n, c, oh*sh + i*dh, ow*sw + j*dw]."""
    check_float("im2col", "x", x, 4, "(N, C, H, W)")
    k, s, p, d, o = check_window("im2col", x.shape, kernel_size, stride, padding, dilation)
    N, C = x.shape[:2]
    cols = np.empty((N, C * k[0] * k[1], o[0] * o[1]), dtype=x.dtype)
    _im2col_batch(x, cols, _Geometry(x.shape, 1, k, s, p, d, o), get_num_threads())
    return cols


def _im2col_batch(const floating[:, :, :, ::1] x, floating[:, :, ::1] cols, _Geometry geo, int nthreads):
    with nogil:
        if floating is float:
            nnc_im2col_batch_f32(&x[0, 0, 0, 0], &geo.g, &cols[0, 0, 0], nthreads)
        else:
            nnc_im2col_batch_f64(&x[0, 0, 0, 0], &geo.g, &cols[0, 0, 0], nthreads)


def _col2im_batch(const floating[:, :, ::1] cols, floating[:, :, :, ::1] x, _Geometry geo, int nthreads):
    with nogil:
        if floating is float:
            nnc_col2im_batch_f32(&cols[0, 0, 0], &geo.g, &x[0, 0, 0, 0], nthreads)
        else:
            nnc_col2im_batch_f64(&cols[0, 0, 0], &geo.g, &x[0, 0, 0, 0], nthreads)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
    """The adjoint of im2col: cols (N, C*kh*kw, Ho*Wo) -> x (N, C, H, W), where every column entry is
    ADDED back to the pixel it was copied from (overlapping windows sum; padding is dropped)."""
    x_shape, (k, s, p, d, o) = check_col2im("col2im", cols, x_shape, kernel_size, stride, padding, dilation)
    x = np.empty(x_shape, dtype=cols.dtype)
    _col2im_batch(cols, x, _Geometry(x_shape, 1, k, s, p, d, o), get_num_threads())
    return x


def conv2d_forward(x, W, b, stride=1, padding=0, dilation=1):
    """Convolution as im2col + GEMM, per image: out[n] (C_out, Ho*Wo) = W.reshape(C_out, -1) @ cols[n] + b
    (3x3 stride-1 layers with 16+ channels: Winograd's F(2x2, 3x3), the same numbers to float rounding).

    x (N, C_in, H, W), W (C_out, C_in, kh, kw), b (C_out,) or None -> (out (N, C_out, Ho, Wo), Conv2DCache)."""
    return _conv2d_forward(x, W, b, stride, padding, dilation)


def use_direct(k, s, d, int C):
    """Whether a convolution is computed directly (csrc/direct.h) rather than by im2col + GEMM: stride 1,
    dilation 1, a 3x3 or 5x5 kernel over at most _DIRECT_MAX_K = C*kh*kw values per output (few input
    channels: im2col would copy each pixel kh*kw times for a GEMM too thin to pay for it). Measured
    against im2col in benchmarks/README.md."""
    return s == (1, 1) and d == (1, 1) and k in ((3, 3), (5, 5)) and C * k[0] * k[1] <= _DIRECT_MAX_K


def use_direct_backward(k, s, d, int C, int N):
    """Whether the backward of a convolution that use_direct takes is computed directly too: for 5x5
    kernels over batches of 16 or more. The 3x3 weight gradient (3 taps a row against 4 dout rows) and the
    small batches measured faster through im2col (benchmarks/README.md)."""
    return k == (5, 5) and N >= 16 and use_direct(k, s, d, C)


def _direct_conv(x, W, b, p, o, nthreads):
    """out (N, C_out, Ho, Wo) of a convolution that use_direct takes."""
    N, C_out = x.shape[0], W.shape[0]
    geo = _Geometry(x.shape, C_out, W.shape[2:], (1, 1), p, (1, 1), o)
    out = np.empty((N, C_out) + o, dtype=x.dtype)
    scratch = np.empty(nthreads * _direct_values(geo, x.itemsize), dtype=x.dtype)
    _direct_forward(x, W, b, out, scratch, geo, nthreads)
    return out


def _conv2d_forward(x, W, b, stride=1, padding=0, dilation=1, winograd=True, direct=True):
    """conv2d_forward; winograd=False keeps the layers that would take Winograd's F(2x2, 3x3) on
    im2col + GEMM, direct=False those that would be computed directly (the tests compare the schemes)."""
    k, s, p, d, o = check_conv("conv2d_forward", x, W, b, stride, padding, dilation)
    N, C, C_out = x.shape[0], x.shape[1], W.shape[0]
    nthreads = get_num_threads()
    cache = Conv2DCache(x, W, b is not None, s, p, d)
    if winograd and use_winograd(k, s, d, C, C_out, N * ((o[0] + 1) // 2) * ((o[1] + 1) // 2)):
        return winograd_conv2d(x, W, b, p, o, nthreads), cache
    if direct and use_direct(k, s, d, C):
        return _direct_conv(x, W, b, p, o, nthreads), cache
    P = o[0] * o[1]
    nb = images_per_group(N, P, _FWD_COLS, balance=True)
    ngroups = (N + nb - 1) // nb
    ws = _group_workspace(ngroups, nthreads, W[0].size, C_out, nb, P, x.dtype)
    out = np.empty((N, C_out, o[0], o[1]), dtype=x.dtype)
    _forward(x, W.reshape(C_out, -1), b, out.reshape(N, C_out, -1), ws, _Geometry(x.shape, C_out, k, s, p, d, o, nb),
             nthreads)
    return out, cache


def conv2d_backward(dout, cache, need_dx=True):
    """Gradients of conv2d_forward.  dout (N, C_out, Ho, Wo) -> (dx or None, dW, db or None).

    Per image: dW += dout[n] @ cols[n].T,  dx[n] = col2im(W.T @ dout[n]),  db = sum of dout over n, h, w.
    The columns are rebuilt from x (cheaper in memory than keeping N column matrices).
    Where the forward would take Winograd (3x3, stride 1), so does dx: for stride 1 it is the forward
    convolution of dout, padded by 2 - p, with the kernel flipped and its channel axes swapped,
    dx[n, c] = sum_o dout[n, o] (*) W[o, c, ::-1, ::-1]; and so does dW, by F(3x3, 2x2) (winograd.h)."""
    return _conv2d_backward(dout, cache, need_dx)


def _plane_sums(const floating[:, :, ::1] dout, floating[:, ::1] db_parts):
    """db_parts[n, o] = the sum of dout[n, o, :], the im2col groups' per-image sums, for the whole batch."""
    with nogil:
        _image_sums(&dout[0, 0, 0], dout.shape[0], dout.shape[1], dout.shape[2], &db_parts[0, 0])


def _winograd_dx(dout, W, p, shape, nthreads):
    """dx of a 3x3 stride-1 convolution: the forward convolution of dout, padded by 2 - p, with the kernel
    flipped and its channel axes swapped (conv2d_backward's docstring)."""
    W_flipped = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))   # (C_in, C_out, 3, 3)
    return winograd_conv2d(dout, W_flipped, None, (2 - p[0], 2 - p[1]), shape, nthreads)


def _direct_backward(x, dout, W, use_bias, p, need_dx, nthreads):
    """(dx or None, dW, db or None) of a convolution that use_direct_backward takes; dx is the direct
    convolution of dout padded by (kh-1-ph, kw-1-pw) with W flipped and its channel axes swapped."""
    N, C_out, kh, kw = x.shape[0], W.shape[0], W.shape[2], W.shape[3]
    geo = _Geometry(x.shape, C_out, (kh, kw), (1, 1), p, (1, 1), dout.shape[2:])
    per = _direct_values(geo, x.itemsize)
    # a chunk's padded images and their dout within _DIRECT_CHUNK_BYTES: a dW task's sums run over them in cache
    chunk = max(1, min(N, _DIRECT_CHUNK_BYTES // ((per + dout[0].size) * x.itemsize)))   # the shape only: same bits
    dW = np.empty_like(W)
    scratch = np.empty(_direct_dw_values(geo, chunk, x.itemsize), dtype=x.dtype)
    # dx directly where it is itself a thin direct convolution (kh-1-ph >= 0, C_out*kh*kw small; as fast as
    # im2col's with no padding, faster with 'same' padding), in the weight gradient's team; else by im2col's
    # backward without its dW
    dx = None
    if need_dx and p[0] < kh and p[1] < kw and use_direct((kh, kw), (1, 1), (1, 1), C_out):
        W_flipped = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))   # (C_in, C_out, kh, kw)
        geo_dx = _Geometry(dout.shape, x.shape[1], (kh, kw), (1, 1), (kh - 1 - p[0], kw - 1 - p[1]), (1, 1),
                           x.shape[2:])
        dx = np.empty_like(x)
        _direct_dw(x, dout, dW, scratch, geo, chunk, nthreads, geo_dx, W_flipped, dx,
                   np.empty(nthreads * _direct_values(geo_dx, x.itemsize), dtype=x.dtype))
    else:
        _direct_dw(x, dout, dW, scratch, geo, chunk, nthreads)
        if need_dx:
            dx = _im2col_dx(x, dout, W, (kh, kw), p, dout.shape[2:], nthreads)
    db = None
    if use_bias:
        db_parts = np.empty((N, C_out), dtype=x.dtype)
        _plane_sums(dout.reshape(N, C_out, -1), db_parts)
        db = db_parts.sum(axis=0)
    return dx, dW, db


def _im2col_dx(x, dout, W, k, p, o, nthreads):
    """dx alone, by the im2col backward (stride 1, dilation 1): col2im(W.T @ dout) per group of images."""
    N, C_out, K = x.shape[0], W.shape[0], W[0].size
    P = o[0] * o[1]
    nb = images_per_group(N, P, _BWD_COLS)
    ngroups = (N + nb - 1) // nb
    ws = _group_workspace(ngroups, nthreads, K, C_out, nb, P, x.dtype)
    dx = np.empty_like(x)
    _backward(x, dout.reshape(N, C_out, -1), W.reshape(C_out, -1), dx, None, None, ws,
              _Geometry(x.shape, C_out, k, (1, 1), p, (1, 1), o, nb), 0, ngroups, nthreads)
    return dx


def _conv2d_backward(dout, cache, need_dx=True, winograd=True, direct=True):
    """conv2d_backward; winograd=False computes dx by col2im and dW by im2col wherever Winograd would
    take them, direct=False wherever they would be computed directly."""
    x, W, use_bias, (k, s, p, d, o) = check_conv_cache("conv2d_backward", dout, cache)
    N, C_out = x.shape[0], W.shape[0]
    nthreads = get_num_threads()
    H, Wd = x.shape[2], x.shape[3]
    if direct and use_direct_backward(k, s, d, x.shape[1], N):       # Winograd takes no 5x5 layer
        return _direct_backward(x, dout, W, use_bias, p, need_dx, nthreads)
    wino_dx = (winograd and need_dx and p[0] <= 2 and p[1] <= 2
               and use_winograd(k, s, d, C_out, x.shape[1], N * ((H + 1) // 2) * ((Wd + 1) // 2)))
    # dW by F(3x3, 2x2) where the forward takes Winograd, unless dx needs the im2col columns anyway
    if (winograd and (wino_dx or not need_dx)
            and use_winograd(k, s, d, x.shape[1], C_out, N * ((o[0] + 1) // 2) * ((o[1] + 1) // 2))):
        dW = winograd_conv2d_dw(x, dout, p, nthreads)
        db = None
        if use_bias:
            db_parts = np.empty((N, C_out), dtype=x.dtype)
            _plane_sums(dout.reshape(N, C_out, -1), db_parts)
            db = db_parts.sum(axis=0)
        return (_winograd_dx(dout, W, p, (H, Wd), nthreads) if wino_dx else None), dW, db
    P = o[0] * o[1]
    nb = images_per_group(N, P, _BWD_COLS)
    geo = _Geometry(x.shape, C_out, k, s, p, d, o, nb)
    ngroups_total = (N + nb - 1) // nb
    K = W[0].size
    ws = _group_workspace(ngroups_total, nthreads, K, C_out, nb, P, x.dtype)
    dx = np.empty_like(x) if need_dx and not wino_dx else None
    dW_shape = (K, C_out) if _dw_transposed(C_out) else (C_out, K)
    per_round = groups_per_round(ngroups_total, K * C_out, x.dtype.itemsize)
    dW_parts = np.empty((per_round,) + dW_shape, dtype=x.dtype)
    db_parts = np.zeros((N, C_out), dtype=x.dtype) if use_bias else None
    dWm = np.zeros(dW_shape, dtype=x.dtype)
    for first in range(0, ngroups_total, per_round):
        count = min(per_round, ngroups_total - first)
        _backward(x, dout.reshape(N, C_out, -1), W.reshape(C_out, -1), dx, dW_parts, db_parts, ws, geo,
                  first, count, nthreads)
        for g in range(count):     # fixed order, so the sum does not depend on the thread count
            dWm += dW_parts[g]
    db = db_parts.sum(axis=0) if use_bias else None
    if _dw_transposed(C_out):
        dWm = np.ascontiguousarray(dWm.T)
    if wino_dx:
        dx = _winograd_dx(dout, W, p, (H, Wd), nthreads)
    return (dx if need_dx else None), dWm.reshape(W.shape), db


include "_build.pxi"
