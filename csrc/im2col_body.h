/* Body of csrc/im2col.c, instantiated for float and double (see nnc_generic.h). Layout: im2col.h. */
#include <string.h>

void NNC_FN(nnc_im2col)(const NNC_T *data_im, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, int dh, int dw, NNC_T *data_col)
{
    const int height_col = (H + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    const int width_col = (W + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    for (int c = 0; c < C; c++) {
        const NNC_T *plane = data_im + (size_t)c * H * W;
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                NNC_T *row = data_col + ((size_t)(c * kh + i) * kw + j) * height_col * width_col;
                int lo, hi;
                nnc_valid_range(W, width_col, sw, pw, j * dw, &lo, &hi);
                for (int oh = 0; oh < height_col; oh++) {
                    NNC_T *dst = row + (size_t)oh * width_col;
                    const int ih = oh * sh - ph + i * dh;
                    if (ih < 0 || ih >= H) {  /* the whole output row reads the zero padding */
                        memset(dst, 0, (size_t)width_col * sizeof(NNC_T));
                        continue;
                    }
                    const long base = (long)ih * W - pw + j * dw;  /* plane[base + ow*sw] = x[ih, iw] */
                    for (int ow = 0; ow < lo; ow++)
                        dst[ow] = 0;
                    if (sw == 1)
                        memcpy(dst + lo, plane + base + lo, (size_t)(hi - lo) * sizeof(NNC_T));
                    else
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow] = plane[base + (long)ow * sw];
                    for (int ow = hi; ow < width_col; ow++)
                        dst[ow] = 0;
                }
            }
        }
    }
}

void NNC_FN(nnc_col2im)(const NNC_T *data_col, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, int dh, int dw, NNC_T *data_im)
{
    /* Same walk as im2col with the copy reversed into +=; padding cells are simply dropped. */
    const int height_col = (H + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    const int width_col = (W + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    for (int c = 0; c < C; c++) {
        NNC_T *plane = data_im + (size_t)c * H * W;
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                const NNC_T *row = data_col + ((size_t)(c * kh + i) * kw + j) * height_col * width_col;
                int lo, hi;
                nnc_valid_range(W, width_col, sw, pw, j * dw, &lo, &hi);
                for (int oh = 0; oh < height_col; oh++) {
                    const int ih = oh * sh - ph + i * dh;
                    if (ih < 0 || ih >= H)
                        continue;
                    const NNC_T *src = row + (size_t)oh * width_col;
                    const long base = (long)ih * W - pw + j * dw;
                    for (int ow = lo; ow < hi; ow++)
                        plane[base + (long)ow * sw] += src[ow];
                }
            }
        }
    }
}

void NNC_FN(nnc_im2col_batch)(const NNC_T *x, int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                              int ph, int pw, int dh, int dw, NNC_T *cols, int nthreads)
{
    const int height_col = (H + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    const int width_col = (W + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    const size_t plane_rows = (size_t)kh * kw * height_col * width_col;  /* column entries of one channel */
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)N * C * plane_rows > NNC_OMP_MIN)
    for (long nc = 0; nc < (long)N * C; nc++)
        NNC_FN(nnc_im2col)(x + (size_t)nc * H * W, 1, H, W, kh, kw, sh, sw, ph, pw, dh, dw,
                           cols + (size_t)nc * plane_rows);
}

void NNC_FN(nnc_col2im_batch)(const NNC_T *cols, int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                              int ph, int pw, int dh, int dw, NNC_T *x, int nthreads)
{
    const int height_col = (H + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    const int width_col = (W + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    const size_t plane_rows = (size_t)kh * kw * height_col * width_col;
    /* One thread per (image, channel) plane: the only writers of a plane are its own kh*kw rows. */
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)N * C * plane_rows > NNC_OMP_MIN)
    for (long nc = 0; nc < (long)N * C; nc++) {
        memset(x + (size_t)nc * H * W, 0, (size_t)H * W * sizeof(NNC_T));
        NNC_FN(nnc_col2im)(cols + (size_t)nc * plane_rows, 1, H, W, kh, kw, sh, sw, ph, pw, dh, dw,
                           x + (size_t)nc * H * W);
    }
}

void NNC_FN(nnc_add_bias_planes)(const NNC_T *b, int C_out, int P, NNC_T *out_n)
{
    for (int o = 0; o < C_out; o++) {
        NNC_T *row = out_n + (size_t)o * P;
        for (int q = 0; q < P; q++)
            row[q] += b[o];
    }
}

void NNC_FN(nnc_plane_sums)(const NNC_T *dout_n, int C_out, int P, NNC_T *db_n)
{
    for (int o = 0; o < C_out; o++) {
        const NNC_T *row = dout_n + (size_t)o * P;
        NNC_T s = 0;
        for (int q = 0; q < P; q++)
            s += row[q];
        db_n[o] = s;
    }
}
