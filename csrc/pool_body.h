/* Body of csrc/pool.c, instantiated for float and double (see nnc_generic.h). */
#include <string.h>

void NNC_FN(nnc_maxpool2d_forward)(const NNC_T *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                   int ph, int pw, NNC_T *out, int *argmax, int nthreads)
{
    const int Ho = (H + 2 * ph - kh) / sh + 1, Wo = (W + 2 * pw - kw) / sw + 1;
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)NC * H * W > NNC_OMP_MIN)
    for (int p = 0; p < NC; p++) {
        const NNC_T *plane = x + (size_t)p * H * W;
        NNC_T *o = out + (size_t)p * Ho * Wo;
        int *a = argmax + (size_t)p * Ho * Wo;
        for (int oh = 0; oh < Ho; oh++) {
            const int h0 = oh * sh - ph;
            const int r0 = h0 > 0 ? h0 : 0, r1 = h0 + kh < H ? h0 + kh : H;  /* window clipped to the image */
            for (int ow = 0; ow < Wo; ow++) {
                const int w0 = ow * sw - pw;
                const int c0 = w0 > 0 ? w0 : 0, c1 = w0 + kw < W ? w0 + kw : W;
                int where = r0 * W + c0;
                NNC_T best = plane[where];
                for (int ih = r0; ih < r1; ih++)
                    for (int iw = c0; iw < c1; iw++) {
                        const NNC_T v = plane[ih * W + iw];
                        /* strict > keeps the first maximum; the first NaN wins like numpy's argmax */
                        if (v > best || (v != v && best == best)) {
                            best = v;
                            where = ih * W + iw;
                        }
                    }
                o[oh * Wo + ow] = best;
                a[oh * Wo + ow] = where;
            }
        }
    }
}

void NNC_FN(nnc_maxpool2d_backward)(const NNC_T *dout, const int *argmax, int NC, int H, int W, int Ho, int Wo,
                                    NNC_T *dx, int nthreads)
{
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)NC * H * W > NNC_OMP_MIN)
    for (int p = 0; p < NC; p++) {
        NNC_T *plane = dx + (size_t)p * H * W;
        const NNC_T *g = dout + (size_t)p * Ho * Wo;
        const int *a = argmax + (size_t)p * Ho * Wo;
        memset(plane, 0, (size_t)H * W * sizeof(NNC_T));
        for (int q = 0; q < Ho * Wo; q++)  /* in output order, so overlapping windows add in a fixed order */
            plane[a[q]] += g[q];
    }
}

void NNC_FN(nnc_avgpool2d_forward)(const NNC_T *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                   int ph, int pw, NNC_T *out, int nthreads)
{
    const int Ho = (H + 2 * ph - kh) / sh + 1, Wo = (W + 2 * pw - kw) / sw + 1;
    const NNC_T scale = (NNC_T)1 / (NNC_T)(kh * kw);
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)NC * H * W > NNC_OMP_MIN)
    for (int p = 0; p < NC; p++) {
        const NNC_T *plane = x + (size_t)p * H * W;
        NNC_T *o = out + (size_t)p * Ho * Wo;
        for (int oh = 0; oh < Ho; oh++) {
            const int h0 = oh * sh - ph;
            const int r0 = h0 > 0 ? h0 : 0, r1 = h0 + kh < H ? h0 + kh : H;
            for (int ow = 0; ow < Wo; ow++) {
                const int w0 = ow * sw - pw;
                const int c0 = w0 > 0 ? w0 : 0, c1 = w0 + kw < W ? w0 + kw : W;
                NNC_T s = 0;
                for (int ih = r0; ih < r1; ih++)
                    for (int iw = c0; iw < c1; iw++)
                        s += plane[ih * W + iw];
                o[oh * Wo + ow] = s * scale;
            }
        }
    }
}

void NNC_FN(nnc_avgpool2d_backward)(const NNC_T *dout, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                    int ph, int pw, NNC_T *dx, int nthreads)
{
    const int Ho = (H + 2 * ph - kh) / sh + 1, Wo = (W + 2 * pw - kw) / sw + 1;
    const NNC_T scale = (NNC_T)1 / (NNC_T)(kh * kw);
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)NC * H * W > NNC_OMP_MIN)
    for (int p = 0; p < NC; p++) {
        NNC_T *plane = dx + (size_t)p * H * W;
        const NNC_T *g = dout + (size_t)p * Ho * Wo;
        memset(plane, 0, (size_t)H * W * sizeof(NNC_T));
        for (int oh = 0; oh < Ho; oh++) {
            const int h0 = oh * sh - ph;
            const int r0 = h0 > 0 ? h0 : 0, r1 = h0 + kh < H ? h0 + kh : H;
            for (int ow = 0; ow < Wo; ow++) {
                const int w0 = ow * sw - pw;
                const int c0 = w0 > 0 ? w0 : 0, c1 = w0 + kw < W ? w0 + kw : W;
                const NNC_T v = g[oh * Wo + ow] * scale;
                for (int ih = r0; ih < r1; ih++)
                    for (int iw = c0; iw < c1; iw++)
                        plane[ih * W + iw] += v;
            }
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
        if ((size_t)NC * HW > NNC_OMP_MIN)
    for (int p = 0; p < NC; p++) {
        const NNC_T v = dout[p] / (NNC_T)HW;
        NNC_T *plane = dx + (size_t)p * HW;
        for (int q = 0; q < HW; q++)
            plane[q] = v;
    }
}
