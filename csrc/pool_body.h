/* Body of csrc/pool.c, instantiated for float and double (see nnc_generic.h). */
#include <string.h>

/* The 2x2 stride-2 unpadded window (the common case): two input rows give one output row. The running
 * maximum is chosen with selects instead of branches (random data makes every branch a coin toss), in
 * the order v0 = r0[2ow], v1 = r0[2ow+1], v2 = r1[2ow], v3 = r1[2ow+1]: a plain > keeps the first
 * maximum. The vector loop takes n output cells at once (n = 8, or 4 for rows of 4 to 7 cells): two loads
 * per input row and a deinterleave give v0..v3 as vectors; the last block of a row overlaps the one
 * before it instead of running a scalar tail (it writes the same values again). A row holding a NaN is
 * redone with the NaN rule below. The vectors are GCC's generic vectors, lowered per CPU by
 * NNC_TARGET_CLONES. */
#define PV8_ NNC_FN(nnc_pool_v8_)
#define PI8_ NNC_FN(nnc_pool_i8_)
#define PV4_ NNC_FN(nnc_pool_v4_)
#define PI4_ NNC_FN(nnc_pool_i4_)
typedef NNC_T PV8_ __attribute__((vector_size(8 * sizeof(NNC_T))));
typedef NNC_BITS PI8_ __attribute__((vector_size(8 * sizeof(NNC_T))));
typedef NNC_T PV4_ __attribute__((vector_size(4 * sizeof(NNC_T))));
typedef NNC_BITS PI4_ __attribute__((vector_size(4 * sizeof(NNC_T))));

/* One block of n cells from column ow of an output row; VT/IT the value and mask vectors of n lanes,
 * ev/od the shuffles that pick the even and the odd lanes of two vectors; nan collects v != v. */
#define NNC_POOL2X2_BLOCK_(VT, IT, n, ev, od, nan) do {                                                   \
        VT a_, b_, c_, d_;                                                                                 \
        memcpy(&a_, r0 + 2 * ow, sizeof a_); memcpy(&b_, r0 + 2 * ow + n, sizeof b_);                      \
        memcpy(&c_, r1 + 2 * ow, sizeof c_); memcpy(&d_, r1 + 2 * ow + n, sizeof d_);                      \
        const VT v0 = __builtin_shuffle(a_, b_, ev), v1 = __builtin_shuffle(a_, b_, od);                   \
        const VT v2 = __builtin_shuffle(c_, d_, ev), v3 = __builtin_shuffle(c_, d_, od);                   \
        nan |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3);                                          \
        const IT c1 = v1 > v0;                                    /* all ones where true */              \
        const VT m1 = (VT)((c1 & (IT)v1) | (~c1 & (IT)v0));                                                \
        const IT c2 = v2 > m1;                                                                             \
        const VT m2 = (VT)((c2 & (IT)v2) | (~c2 & (IT)m1));                                                \
        const IT c3 = v3 > m2;                                                                             \
        const VT m3 = (VT)((c3 & (IT)v3) | (~c3 & (IT)m2));                                                \
        IT off = c1 & 1;                                          /* offset of the winner in its window */ \
        off = (c2 & W) | (~c2 & off);                                                                      \
        off = (c3 & (W + 1)) | (~c3 & off);                                                                \
        memcpy(orow + ow, &m3, sizeof m3);                                                                 \
        for (int j = 0; j < n; j++)                                                                        \
            arow[ow + j] = base + 2 * (ow + j) + (int)off[j];                                              \
    } while (0)

/* A whole row in blocks of n, the last one moved back to end at Wo; nan set if any input was a NaN. */
#define NNC_POOL2X2_ROW_(VT, IT, n, ev, od) do {                                                          \
        IT nv = {0};                                                                                       \
        for (int ow = 0;; ow += n) {                                                                       \
            if (ow > Wo - n)                                                                               \
                ow = Wo - n;                                                                               \
            NNC_POOL2X2_BLOCK_(VT, IT, n, ev, od, nv);                                                     \
            if (ow == Wo - n)                                                                              \
                break;                                                                                     \
        }                                                                                                  \
        for (int j = 0; j < n; j++)                                                                        \
            nan |= nv[j] != 0;                                                                             \
    } while (0)

NNC_NO_TRAPPING_MATH NNC_TARGET_CLONES
static void NNC_FN(nnc_maxpool2x2_plane)(const NNC_T *restrict plane, int W, int Ho, int Wo,
                                         NNC_T *restrict o, int *restrict a)
{
    const PI8_ ev8 = {0, 2, 4, 6, 8, 10, 12, 14}, od8 = {1, 3, 5, 7, 9, 11, 13, 15};
    const PI4_ ev4 = {0, 2, 4, 6}, od4 = {1, 3, 5, 7};
    for (int oh = 0; oh < Ho; oh++) {
        const NNC_T *restrict r0 = plane + (size_t)(2 * oh) * W;
        const NNC_T *restrict r1 = r0 + W;
        NNC_T *restrict orow = o + (size_t)oh * Wo;
        int *restrict arow = a + (size_t)oh * Wo;
        const int base = 2 * oh * W;
        int nan = 0;
        if (Wo >= 8)
            NNC_POOL2X2_ROW_(PV8_, PI8_, 8, ev8, od8);
        else if (Wo >= 4)
            NNC_POOL2X2_ROW_(PV4_, PI4_, 4, ev4, od4);
        else {
            for (int ow = 0; ow < Wo; ow++) {
                const NNC_T v0 = r0[2 * ow], v1 = r0[2 * ow + 1], v2 = r1[2 * ow], v3 = r1[2 * ow + 1];
                const int c1 = v1 > v0;
                const NNC_T b1 = c1 ? v1 : v0;
                const int c2 = v2 > b1;
                const NNC_T b2 = c2 ? v2 : b1;
                const int c3 = v3 > b2;
                orow[ow] = c3 ? v3 : b2;
                arow[ow] = base + 2 * ow + (c3 ? W + 1 : c2 ? W : c1);
            }
            for (int iw = 0; iw < 2 * Wo; iw++)
                nan |= (r0[iw] != r0[iw]) | (r1[iw] != r1[iw]);
        }
        if (!nan)
            continue;
        for (int ow = 0; ow < Wo; ow++) {  /* the general rule: the first NaN wins, as numpy's argmax */
            const NNC_T v[4] = {r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]};
            const int offs[4] = {0, 1, W, W + 1};
            NNC_T best = v[0];
            int off = 0;
            for (int k = 1; k < 4; k++)
                if (v[k] > best || (v[k] != v[k] && best == best)) {
                    best = v[k];
                    off = offs[k];
                }
            orow[ow] = best;
            arow[ow] = base + 2 * ow + off;
        }
    }
}
#undef NNC_POOL2X2_BLOCK_
#undef NNC_POOL2X2_ROW_
#undef PV8_
#undef PI8_
#undef PV4_
#undef PI4_

/* 2x2 stride 2 unpadded average pooling of one plane: the same sums in the same order as the general
 * loop ((a + b) + c) + d, written so that the compiler vectorizes them. */
static void NNC_FN(nnc_avgpool2x2_plane)(const NNC_T *restrict plane, int W, int Ho, int Wo, NNC_T scale,
                                         NNC_T *restrict o)
{
    for (int oh = 0; oh < Ho; oh++) {
        const NNC_T *restrict r0 = plane + (size_t)(2 * oh) * W;
        const NNC_T *restrict r1 = r0 + W;
        NNC_T *restrict orow = o + (size_t)oh * Wo;
        for (int ow = 0; ow < Wo; ow++)
            orow[ow] = (((r0[2 * ow] + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1]) * scale;
    }
}

/* One plane, any window: max pooling with its argmax (the first maximum; the first NaN wins, like
 * numpy's argmax) or average pooling, window by window over the output cells. */
static void NNC_FN(maxpool_plane_)(const NNC_T *plane, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                                   int Ho, int Wo, NNC_T *o, int *a)
{
    for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++) {
            const nnc_window win = nnc_pool_window(oh, ow, H, W, kh, kw, sh, sw, ph, pw);
            int where = win.r0 * W + win.c0;
            NNC_T best = plane[where];
            for (int ih = win.r0; ih < win.r1; ih++)
                for (int iw = win.c0; iw < win.c1; iw++) {
                    const NNC_T v = plane[ih * W + iw];
                    if (v > best || (v != v && best == best)) {   /* strict >: the first maximum stays */
                        best = v;
                        where = ih * W + iw;
                    }
                }
            o[oh * Wo + ow] = best;
            a[oh * Wo + ow] = where;
        }
}

static void NNC_FN(avgpool_plane_)(const NNC_T *plane, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                                   int Ho, int Wo, NNC_T scale, NNC_T *o)
{
    for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++) {
            const nnc_window win = nnc_pool_window(oh, ow, H, W, kh, kw, sh, sw, ph, pw);
            NNC_T s = 0;
            for (int ih = win.r0; ih < win.r1; ih++)
                for (int iw = win.c0; iw < win.c1; iw++)
                    s += plane[ih * W + iw];
            o[oh * Wo + ow] = s * scale;
        }
}

/* The forward of max pooling (argmax given) and of average pooling (argmax NULL), a plane per
 * iteration: the 2x2 stride-2 unpadded planes by the special cases above, the others by the general ones. */
static void NNC_FN(pool_forward_)(const NNC_T *x, int NC, int H, int W, int kh, int kw, int sh, int sw, int ph,
                                  int pw, NNC_T *out, int *argmax, int nthreads)
{
    const nnc_pool_out po = nnc_pool_output(H, W, kh, kw, sh, sw, ph, pw);
    const int Ho = po.Ho, Wo = po.Wo, two_by_two = po.two_by_two;
    const NNC_T scale = (NNC_T)1 / (NNC_T)(kh * kw);
    const size_t omp_min = two_by_two ? NNC_OMP_MIN_STREAM : NNC_OMP_MIN;   /* the 2x2 loops stream */
    #pragma omp parallel for schedule(static) num_threads(nthreads) if ((size_t)NC * H * W > omp_min)
    for (int p = 0; p < NC; p++) {
        const NNC_T *plane = x + (size_t)p * H * W;
        NNC_T *o = out + (size_t)p * Ho * Wo;
        if (argmax && two_by_two)
            NNC_FN(nnc_maxpool2x2_plane)(plane, W, Ho, Wo, o, argmax + (size_t)p * Ho * Wo);
        else if (argmax)
            NNC_FN(maxpool_plane_)(plane, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, o, argmax + (size_t)p * Ho * Wo);
        else if (two_by_two)
            NNC_FN(nnc_avgpool2x2_plane)(plane, W, Ho, Wo, scale, o);
        else
            NNC_FN(avgpool_plane_)(plane, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, scale, o);
    }
}

void NNC_FN(nnc_maxpool2d_forward)(const NNC_T *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                   int ph, int pw, NNC_T *out, int *argmax, int nthreads)
{
    NNC_FN(pool_forward_)(x, NC, H, W, kh, kw, sh, sw, ph, pw, out, argmax, nthreads);
}

void NNC_FN(nnc_avgpool2d_forward)(const NNC_T *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                   int ph, int pw, NNC_T *out, int nthreads)
{
    NNC_FN(pool_forward_)(x, NC, H, W, kh, kw, sh, sw, ph, pw, out, NULL, nthreads);
}

ptrdiff_t NNC_FN(nnc_maxpool2d_backward)(const NNC_T *dout, const int *argmax, int NC, int H, int W, int Ho,
                                         int Wo, NNC_T *dx, int nthreads)
{
    const unsigned HW = (unsigned)H * (unsigned)W;
    ptrdiff_t bad = 0;
    /* Zero the plane, then add each dout at its argmax. The plane (a few KB) stays in L1 between the
     * two, so the scatter is cheap: cheaper, measured, than a branch-free 2x2 special case that wrote
     * every cell once (dout or 0).
     * The bounds test is one never-taken branch per value; it replaced two slower passes of the caller
     * over argmax (max() and min()). Figures: benchmarks/README.md. */
    #pragma omp parallel for schedule(static) num_threads(nthreads) reduction(+:bad) \
        if ((size_t)NC * H * W > NNC_OMP_MIN_STREAM)
    for (int p = 0; p < NC; p++) {
        NNC_T *plane = dx + (size_t)p * H * W;
        const NNC_T *g = dout + (size_t)p * Ho * Wo;
        const int *a = argmax + (size_t)p * Ho * Wo;
        memset(plane, 0, (size_t)H * W * sizeof(NNC_T));
        for (int q = 0; q < Ho * Wo; q++) {  /* in output order, so overlapping windows add in a fixed order */
            unsigned i = (unsigned)a[q];      /* a negative index becomes a large one */
            if (i < HW)
                plane[i] += g[q];
            else
                bad++;
        }
    }
    return bad;
}

static void NNC_FN(nnc_avgpool2x2_backward_plane)(const NNC_T *restrict g, int H, int W, int Ho, int Wo,
                                                  NNC_T scale, NNC_T *restrict plane)
{
    for (int oh = 0; oh < Ho; oh++) {
        NNC_T *restrict r0 = plane + (size_t)(2 * oh) * W;
        NNC_T *restrict r1 = r0 + W;
        const NNC_T *restrict grow = g + (size_t)oh * Wo;
        for (int ow = 0; ow < Wo; ow++) {
            const NNC_T v = grow[ow] * scale;
            r0[2 * ow] = r0[2 * ow + 1] = r1[2 * ow] = r1[2 * ow + 1] = v;
        }
        if (2 * Wo < W)     /* odd width: the last column is in no window */
            r0[W - 1] = r1[W - 1] = 0;
    }
    if (2 * Ho < H)         /* odd height: the last row is in no window */
        memset(plane + (size_t)(H - 1) * W, 0, (size_t)W * sizeof(NNC_T));
}

void NNC_FN(nnc_avgpool2d_backward)(const NNC_T *dout, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                    int ph, int pw, NNC_T *dx, int nthreads)
{
    const nnc_pool_out po = nnc_pool_output(H, W, kh, kw, sh, sw, ph, pw);
    const int Ho = po.Ho, Wo = po.Wo, two_by_two = po.two_by_two;
    const NNC_T scale = (NNC_T)1 / (NNC_T)(kh * kw);
    const size_t omp_min = two_by_two ? NNC_OMP_MIN_STREAM : NNC_OMP_MIN;
    #pragma omp parallel for schedule(static) num_threads(nthreads) if ((size_t)NC * H * W > omp_min)
    for (int p = 0; p < NC; p++) {
        NNC_T *plane = dx + (size_t)p * H * W;
        const NNC_T *g = dout + (size_t)p * Ho * Wo;
        if (two_by_two) {  /* disjoint windows: every cell written once, no memset, no adds */
            NNC_FN(nnc_avgpool2x2_backward_plane)(g, H, W, Ho, Wo, scale, plane);
            continue;
        }
        memset(plane, 0, (size_t)H * W * sizeof(NNC_T));
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++) {
                const nnc_window win = nnc_pool_window(oh, ow, H, W, kh, kw, sh, sw, ph, pw);
                const NNC_T v = g[oh * Wo + ow] * scale;
                for (int ih = win.r0; ih < win.r1; ih++)
                    for (int iw = win.c0; iw < win.c1; iw++)
                        plane[ih * W + iw] += v;
            }
    }
}

void NNC_FN(nnc_global_avgpool2d_forward)(const NNC_T *x, int NC, int HW, NNC_T *out, int nthreads)
{
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)NC * HW > NNC_OMP_MIN)
    for (int p = 0; p < NC; p++) {
        const NNC_T *plane = x + (size_t)p * HW;
        NNC_T s = 0;
        for (int q = 0; q < HW; q++)
            s += plane[q];
        out[p] = s / (NNC_T)HW;
    }
}

void NNC_FN(nnc_global_avgpool2d_backward)(const NNC_T *dout, int NC, int HW, NNC_T *dx, int nthreads)
{
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)NC * HW > NNC_OMP_MIN_STREAM)
    for (int p = 0; p < NC; p++) {
        const NNC_T v = dout[p] / (NNC_T)HW;
        NNC_T *plane = dx + (size_t)p * HW;
        for (int q = 0; q < HW; q++)
            plane[q] = v;
    }
}
