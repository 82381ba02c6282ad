/* Body of csrc/im2col.c, instantiated for float and double (see nnc_generic.h). Layout: im2col.h. */
#include <string.h>

/* The shifted copy of stride 1 'same' width reads (or adds) whole flat rows, so the cells of each output
 * row that wrapped around from the neighbouring image row, ow < lo and ow >= hi, hold the wrong pixel:
 * set them to 0 (im2col: they are padding; col2im: adding 0 leaves the pixel as it is). */
static inline void NNC_FN(zero_wrapped_)(NNC_T *row, int W, int oh_lo, int oh_hi, int lo, int hi)
{
    for (int oh = oh_lo; oh < oh_hi; oh++) {
        NNC_T *cells = row + (size_t)oh * W;
        for (int ow = 0; ow < lo; ow++)
            cells[ow] = 0;
        for (int ow = hi; ow < W; ow++)
            cells[ow] = 0;
    }
}

NNC_TARGET_CLONES
void NNC_FN(nnc_im2col_ld)(const NNC_T *restrict data_im, const nnc_conv_geom *g, NNC_T *restrict data_col,
                           size_t ld_col)
{
    const int C = g->C, H = g->H, W = g->W, kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw;
    const int ph = g->ph, pw = g->pw, dh = g->dh, dw = g->dw, height_col = g->Ho, width_col = g->Wo;
    /* 'Same' width at stride 1 (3x3 pad 1 and friends): a row of the columns is the plane shifted by
     * one offset, so the valid rows are ONE contiguous copy; only the cells that wrapped around from the
     * neighbouring image row (the left/right border) are zeroed afterwards. */
    const int shifted = sh == 1 && sw == 1 && width_col == W;
    for (int c = 0; c < C; c++) {
        const NNC_T *plane = data_im + (size_t)c * H * W;
        for (int i = 0; i < kh; i++) {
            int oh_lo, oh_hi;  /* output rows whose input row lies inside the image */
            nnc_valid_range(H, height_col, sh, ph, i * dh, &oh_lo, &oh_hi);
            for (int j = 0; j < kw; j++) {
                NNC_T *row = data_col + (size_t)((c * kh + i) * kw + j) * ld_col;
                int lo, hi;
                nnc_valid_range(W, width_col, sw, pw, j * dw, &lo, &hi);
                memset(row, 0, (size_t)oh_lo * width_col * sizeof(NNC_T));
                memset(row + (size_t)oh_hi * width_col, 0,
                       (size_t)(height_col - oh_hi) * width_col * sizeof(NNC_T));
                if (oh_lo >= oh_hi)
                    continue;
                if (shifted) {
                    /* row[q] = plane[q + shift] over the valid rows, clipped to the plane */
                    const long shift = (long)(i * dh - ph) * W + j * dw - pw;
                    long q0, q1;
                    nnc_shifted_span(H, W, oh_lo, oh_hi, shift, &q0, &q1);
                    if (q1 > q0)
                        memcpy(row + q0, plane + q0 + shift, (size_t)(q1 - q0) * sizeof(NNC_T));
                    NNC_FN(zero_wrapped_)(row, W, oh_lo, oh_hi, lo, hi);
                    continue;
                }
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    NNC_T *dst = row + (size_t)oh * width_col;
                    const int ih = oh * sh - ph + i * dh;
                    const NNC_T *src = plane + (long)ih * W - pw + j * dw;  /* src[ow*sw] = x[ih, iw] */
                    for (int ow = 0; ow < lo; ow++)
                        dst[ow] = 0;
                    if (sw == 1)
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow] = src[ow];
                    else
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow] = src[(long)ow * sw];
                    for (int ow = hi; ow < width_col; ow++)
                        dst[ow] = 0;
                }
            }
        }
    }
}

NNC_TARGET_CLONES
void NNC_FN(nnc_col2im_ld)(NNC_T *restrict data_col, size_t ld_col, const nnc_conv_geom *g,
                           NNC_T *restrict data_im)
{
    /* Same walk as im2col with the copy reversed into +=; padding cells are dropped. In the shifted case
     * the wrapped-around border cells of each row are set to 0 first, so that the whole valid block
     * becomes one contiguous vector add. */
    const int C = g->C, H = g->H, W = g->W, kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw;
    const int ph = g->ph, pw = g->pw, dh = g->dh, dw = g->dw, height_col = g->Ho, width_col = g->Wo;
    const int shifted = sh == 1 && sw == 1 && width_col == W;
    for (int c = 0; c < C; c++) {
        NNC_T *plane = data_im + (size_t)c * H * W;
        for (int i = 0; i < kh; i++) {
            int oh_lo, oh_hi;
            nnc_valid_range(H, height_col, sh, ph, i * dh, &oh_lo, &oh_hi);
            for (int j = 0; j < kw; j++) {
                NNC_T *row = data_col + (size_t)((c * kh + i) * kw + j) * ld_col;
                int lo, hi;
                nnc_valid_range(W, width_col, sw, pw, j * dw, &lo, &hi);
                if (oh_lo >= oh_hi)
                    continue;
                if (shifted) {
                    const long shift = (long)(i * dh - ph) * W + j * dw - pw;
                    long q0, q1;
                    NNC_FN(zero_wrapped_)(row, W, oh_lo, oh_hi, lo, hi);
                    nnc_shifted_span(H, W, oh_lo, oh_hi, shift, &q0, &q1);
                    for (long q = q0; q < q1; q++)
                        plane[q + shift] += row[q];
                    continue;
                }
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const NNC_T *src = row + (size_t)oh * width_col;
                    const int ih = oh * sh - ph + i * dh;
                    NNC_T *dst = plane + (long)ih * W - pw + j * dw;
                    if (sw == 1)
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow] += src[ow];
                    else
                        for (int ow = lo; ow < hi; ow++)
                            dst[(long)ow * sw] += src[ow];
                }
            }
        }
    }
}

/* col2im of one plane for the batch version: the caller's columns are read-only, so the generic walk,
 * one row segment at a time (g describes one channel: g->C == 1). */
static void NNC_FN(col2im_plane_)(const NNC_T *data_col, const nnc_conv_geom *g, NNC_T *plane)
{
    const int H = g->H, W = g->W, kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw;
    const int ph = g->ph, pw = g->pw, dh = g->dh, dw = g->dw, height_col = g->Ho, width_col = g->Wo;
    for (int i = 0; i < kh; i++) {
        int oh_lo, oh_hi;
        nnc_valid_range(H, height_col, sh, ph, i * dh, &oh_lo, &oh_hi);
        for (int j = 0; j < kw; j++) {
            const NNC_T *row = data_col + ((size_t)i * kw + j) * height_col * width_col;
            int lo, hi;
            nnc_valid_range(W, width_col, sw, pw, j * dw, &lo, &hi);
            for (int oh = oh_lo; oh < oh_hi; oh++) {
                const NNC_T *src = row + (size_t)oh * width_col;
                NNC_T *dst = plane + (long)(oh * sh - ph + i * dh) * W - pw + j * dw;
                for (int ow = lo; ow < hi; ow++)
                    dst[(long)ow * sw] += src[ow];
            }
        }
    }
}

void NNC_FN(nnc_im2col_batch)(const NNC_T *x, const nnc_conv_geom *g, NNC_T *cols, int nthreads)
{
    nnc_conv_geom one = *g;     /* one (image, channel) plane at a time */
    one.C = 1;
    const size_t plane = (size_t)g->H * g->W, plane_rows = (size_t)g->kh * g->kw * g->Ho * g->Wo;
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)g->N * g->C * plane_rows > NNC_OMP_MIN)
    for (long nc = 0; nc < (long)g->N * g->C; nc++)
        NNC_FN(nnc_im2col_ld)(x + (size_t)nc * plane, &one, cols + (size_t)nc * plane_rows,
                              (size_t)g->Ho * g->Wo);
}

void NNC_FN(nnc_col2im_batch)(const NNC_T *cols, const nnc_conv_geom *g, NNC_T *x, int nthreads)
{
    const size_t plane = (size_t)g->H * g->W, plane_rows = (size_t)g->kh * g->kw * g->Ho * g->Wo;
    /* One thread per (image, channel) plane: the only writers of a plane are its own kh*kw rows. */
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)g->N * g->C * plane_rows > NNC_OMP_MIN)
    for (long nc = 0; nc < (long)g->N * g->C; nc++) {
        memset(x + (size_t)nc * plane, 0, plane * sizeof(NNC_T));
        NNC_FN(col2im_plane_)(cols + (size_t)nc * plane_rows, g, x + (size_t)nc * plane);
    }
}

void NNC_FN(nnc_add_bias_planes)(const NNC_T *b, int C_out, int P, NNC_T *out_n)
{
    for (int o = 0; o < C_out; o++) {
        NNC_T *row = out_n + (size_t)o * P;
        const NNC_T bo = b[o];  /* a local: b might alias row as far as the compiler knows */
        for (int q = 0; q < P; q++)
            row[q] += bo;
    }
}

/* db_n[o] = the sum of the plane o of one image, in a fixed order (so the same bits whatever the thread
 * count or the CPU): four vectors of partial sums over the plane (four independent chains of adds: one
 * running sum, or one vector of them, waits on each add's latency, and took 41 us for LeNet-5's first layer
 * at batch 64), then the vectors, then their lanes, pairwise. */
#define PSV_ NNC_FN(nnc_psum_vec_)
typedef NNC_T PSV_ __attribute__((vector_size(64)));
NNC_TARGET_CLONES
void NNC_FN(nnc_plane_sums)(const NNC_T *dout_n, int C_out, int P, NNC_T *db_n)
{
    enum { VL = 64 / sizeof(NNC_T) };
    for (int o = 0; o < C_out; o++) {
        const NNC_T *row = dout_n + (size_t)o * P;
        PSV_ a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, v;
        int q = 0;
        for (; q + 4 * VL <= P; q += 4 * VL) {
            memcpy(&v, row + q, sizeof v);          a0 += v;
            memcpy(&v, row + q + VL, sizeof v);     a1 += v;
            memcpy(&v, row + q + 2 * VL, sizeof v); a2 += v;
            memcpy(&v, row + q + 3 * VL, sizeof v); a3 += v;
        }
        for (; q + VL <= P; q += VL) {
            memcpy(&v, row + q, sizeof v);
            a0 += v;
        }
        a0 = (a0 + a1) + (a2 + a3);
        NNC_T lanes[VL];
        memcpy(lanes, &a0, sizeof lanes);
        for (int k = 0; q < P; q++, k++)
            lanes[k] += row[q];
        for (int w = VL / 2; w >= 1; w /= 2)
            for (int k = 0; k < w; k++)
                lanes[k] += lanes[k + w];
        db_n[o] = lanes[0];
    }
}
#undef PSV_

void NNC_FN(nnc_unpack_images)(const NNC_T *data, int C_out, int nb, int P, const NNC_T *b, NNC_T *out)
{
    for (int n = 0; n < nb; n++)
        for (int o = 0; o < C_out; o++) {
            const NNC_T *src = data + (size_t)o * nb * P + (size_t)n * P;
            NNC_T *dst = out + ((size_t)n * C_out + o) * P;
            const NNC_T bo = b ? b[o] : 0;
            if (b)
                for (int q = 0; q < P; q++)
                    dst[q] = src[q] + bo;
            else
                memcpy(dst, src, (size_t)P * sizeof(NNC_T));
        }
}

void NNC_FN(nnc_pack_images)(const NNC_T *dout, int nb, int C_out, int P, NNC_T *data)
{
    for (int n = 0; n < nb; n++)
        for (int o = 0; o < C_out; o++)
            memcpy(data + (size_t)o * nb * P + (size_t)n * P, dout + ((size_t)n * C_out + o) * P,
                   (size_t)P * sizeof(NNC_T));
}
