/* Body of csrc/winograd.c, instantiated for float and double (see nnc_generic.h). Layout: winograd.h.
 * The group is first transposed to channels-last, (cnt, H, W, C): the transforms then run along the
 * channels, in full vectors whatever the image size (along a row of tiles, a 7x7 image gives 4), and the
 * GEMMs take V and M as (T, C) and (T, C_out) per xi:  M[xi][t][o] = sum_c V[xi][t][c] U[xi][c][o],
 * with U as (C, C_out), so that OpenBLAS takes its no-copy kernels. Measured faster than the row-wise
 * layout, most on small images (benchmarks/README.md). */
#include <string.h>

/* U[.][c][o] for one input channel c and every o: a loop along o, whose writes are contiguous. */
NNC_TARGET_CLONES
static void NNC_FN(wino_filter_channel_)(const NNC_T *restrict W, int C_out, int C, int c, NNC_T *restrict U)
{
    const size_t stride = (size_t)C_out * C;   /* between two xi */
    NNC_T *u0 = U + (size_t)c * C_out;
    #pragma omp simd
    for (int o = 0; o < C_out; o++) {
        const NNC_T *g = W + ((size_t)o * C + c) * 9;
        NNC_T t[4][3], u[4][4];
        for (int j = 0; j < 3; j++) {          /* t = G g */
            t[0][j] = g[j];
            t[1][j] = (g[j] + g[3 + j] + g[6 + j]) / 2;
            t[2][j] = (g[j] - g[3 + j] + g[6 + j]) / 2;
            t[3][j] = g[6 + j];
        }
        for (int i = 0; i < 4; i++) {          /* u = t G^T */
            u[i][0] = t[i][0];
            u[i][1] = (t[i][0] + t[i][1] + t[i][2]) / 2;
            u[i][2] = (t[i][0] - t[i][1] + t[i][2]) / 2;
            u[i][3] = t[i][2];
        }
        for (int xi = 0; xi < 16; xi++)
            u0[xi * stride + o] = u[xi / 4][xi % 4];
    }
}

void NNC_FN(nnc_wino_filter)(const NNC_T *W, int C_out, int C, NNC_T *U, int nthreads)
{
    #pragma omp parallel for schedule(static) num_threads(nthreads) if ((size_t)C * C_out * 16 > NNC_OMP_MIN)
    for (int c = 0; c < C; c++)
        NNC_FN(wino_filter_channel_)(W, C_out, C, c, U);
}

/* 64-byte vectors (16 floats, 8 doubles) and their lane indices, for the block transpose below. */
#define WVEC_ NNC_FN(nnc_wino_vec_)
#define WIDX_ NNC_FN(nnc_wino_idx_)
typedef NNC_T WVEC_ __attribute__((vector_size(64)));
typedef NNC_BITS WIDX_ __attribute__((vector_size(64)));

/* dst[c * ld_dst + r] = src[r * ld_src + c] for r < rows, c < cols. Whole L x L blocks (L lanes a vector)
 * are transposed in registers: L rows loaded, log2(L) rounds of pairwise lane shuffles (round b swaps the
 * b x b sub-blocks off the diagonal of each 2b x 2b block), L rows stored; the edges value by value. */
NNC_TARGET_CLONES
static void NNC_FN(wino_transpose_ld_)(const NNC_T *restrict src, size_t rows, size_t cols, size_t ld_src,
                                       NNC_T *restrict dst, size_t ld_dst)
{
    enum { L = 64 / sizeof(NNC_T) };
    WIDX_ lo[4], hi[4];
    for (int s = 0, b = 1; b < L; s++, b <<= 1)
        for (int l = 0; l < L; l++) {
            lo[s][l] = (l & b) ? L + l - b : l;
            hi[s][l] = (l & b) ? L + l : l + b;
        }
    const size_t R = rows / L * L, Cb = cols / L * L;
    for (size_t r0 = 0; r0 < R; r0 += L)
        for (size_t c0 = 0; c0 < Cb; c0 += L) {
            WVEC_ v[L];             /* unrolled whole, so that v lives in registers */
            #pragma GCC unroll 16
            for (int i = 0; i < L; i++)
                memcpy(&v[i], src + (r0 + i) * ld_src + c0, sizeof(WVEC_));
            #pragma GCC unroll 4
            for (int s = 0; s < 4; s++) {
                const int b = 1 << s;
                if (b >= L)
                    break;
                #pragma GCC unroll 16
                for (int i = 0; i < L; i++)
                    if (!(i & b)) {
                        const WVEC_ a = v[i], c = v[i + b];
                        v[i] = __builtin_shuffle(a, c, lo[s]);
                        v[i + b] = __builtin_shuffle(a, c, hi[s]);
                    }
            }
            #pragma GCC unroll 16
            for (int j = 0; j < L; j++)
                memcpy(dst + (c0 + j) * ld_dst + r0, &v[j], sizeof(WVEC_));
        }
    for (size_t c = Cb; c < cols; c++)          /* the right edge of the whole-row blocks */
        for (size_t r = 0; r < R; r++)
            dst[c * ld_dst + r] = src[r * ld_src + c];
    for (size_t c = 0; c < cols; c++)           /* the bottom rows */
        for (size_t r = R; r < rows; r++)
            dst[c * ld_dst + r] = src[r * ld_src + c];
}

/* dst (cols, rows) = src (rows, cols) transposed. */
static void NNC_FN(wino_transpose_)(const NNC_T *restrict src, size_t rows, size_t cols, NNC_T *restrict dst)
{
    NNC_FN(wino_transpose_ld_)(src, rows, cols, cols, dst, rows);
}

/* The cnt images (cnt, C, P) channels-last into dst (cnt, P, C), then a row of C zeros after them (the cells
 * outside the image); returns that row. dst holds cnt * P * C + C values. */
static const NNC_T *NNC_FN(wino_channels_last_)(const NNC_T *src, int cnt, int C, size_t P, NNC_T *dst)
{
    NNC_T *zeros = dst + (size_t)cnt * P * C;
    memset(zeros, 0, (size_t)C * sizeof(NNC_T));
    for (int n = 0; n < cnt; n++)
        NNC_FN(wino_transpose_)(src + (size_t)n * C * P, (size_t)C, P, dst + (size_t)n * P * C);
    return zeros;
}

NNC_TARGET_CLONES
static void NNC_FN(wino_input_tile_)(const NNC_T *const *d, int C, size_t stride, NNC_T *restrict v)
{
    /* d[4 r + s]: the C channels of patch cell (r, s); v: V[0][t][0], V[xi] `stride` apart */
    #pragma omp simd
    for (int c = 0; c < C; c++) {
        NNC_T t[4][4];
        for (int s = 0; s < 4; s++) {
            const NNC_T d0 = d[s][c], d1 = d[4 + s][c], d2 = d[8 + s][c], d3 = d[12 + s][c];
            t[0][s] = d0 - d2;
            t[1][s] = d1 + d2;
            t[2][s] = d2 - d1;
            t[3][s] = d1 - d3;
        }
        for (int r = 0; r < 4; r++) {
            v[(4 * r + 0) * stride + c] = t[r][0] - t[r][2];
            v[(4 * r + 1) * stride + c] = t[r][1] + t[r][2];
            v[(4 * r + 2) * stride + c] = t[r][2] - t[r][1];
            v[(4 * r + 3) * stride + c] = t[r][1] - t[r][3];
        }
    }
}

void NNC_FN(nnc_wino_input)(const NNC_T *x, int cnt, int C, int H, int W, int ph, int pw, int th, int tw,
                               NNC_T *V, NNC_T *scratch)
{
    const size_t T = (size_t)cnt * th * tw, stride = T * C, HW = (size_t)H * W;
    NNC_T *xt = scratch;
    const NNC_T *zeros = NNC_FN(wino_channels_last_)(x, cnt, C, HW, xt);
    for (int n = 0; n < cnt; n++)
        for (int ti = 0; ti < th; ti++)
            for (int tj = 0; tj < tw; tj++) {
                const NNC_T *d[16];
                for (int r = 0; r < 4; r++)
                    for (int s = 0; s < 4; s++) {
                        const int ih = 2 * ti - ph + r, iw = 2 * tj - pw + s;
                        d[4 * r + s] = (ih >= 0 && ih < H && iw >= 0 && iw < W)
                                           ? xt + ((size_t)n * HW + (size_t)ih * W + iw) * C : zeros;
                    }
                const size_t t = ((size_t)n * th + ti) * tw + tj;
                NNC_FN(wino_input_tile_)(d, C, stride, V + t * C);
            }
}

/* One tile's output transform for C_out channels; HAS_B a constant where this is inlined: without a bias
 * no load through b at all (a vector load masked off a NULL b, which GCC makes of `b ? b[o] : 0`, takes a
 * slow fault-suppressing path on some CPUs). */
static inline __attribute__((always_inline)) void
NNC_FN(wino_output_cells_)(const NNC_T *restrict m, size_t stride, int C_out, const NNC_T *b, NNC_T *restrict y00,
                           NNC_T *restrict y01, NNC_T *restrict y10, NNC_T *restrict y11, const int HAS_B)
{
    /* m: M[0][t][0], M[xi] `stride` apart; y_rs: the C_out channels of output cell (r, s) of the tile */
    #pragma omp simd
    for (int o = 0; o < C_out; o++) {
        NNC_T t[2][4];
        for (int s = 0; s < 4; s++) {
            const NNC_T q0 = m[(0 + s) * stride + o], q1 = m[(4 + s) * stride + o];
            const NNC_T q2 = m[(8 + s) * stride + o], q3 = m[(12 + s) * stride + o];
            t[0][s] = q0 + q1 + q2;
            t[1][s] = q1 - q2 - q3;
        }
        const NNC_T bo = HAS_B ? b[o] : 0;
        y00[o] = t[0][0] + t[0][1] + t[0][2] + bo;
        y01[o] = t[0][1] - t[0][2] - t[0][3] + bo;
        y10[o] = t[1][0] + t[1][1] + t[1][2] + bo;
        y11[o] = t[1][1] - t[1][2] - t[1][3] + bo;
    }
}

NNC_TARGET_CLONES
static void NNC_FN(wino_output_tile_)(const NNC_T *restrict m, size_t stride, int C_out, const NNC_T *b,
                                         NNC_T *restrict y00, NNC_T *restrict y01, NNC_T *restrict y10,
                                         NNC_T *restrict y11)
{
    if (b)
        NNC_FN(wino_output_cells_)(m, stride, C_out, b, y00, y01, y10, y11, 1);
    else
        NNC_FN(wino_output_cells_)(m, stride, C_out, b, y00, y01, y10, y11, 0);
}

void NNC_FN(nnc_wino_output)(const NNC_T *M, int cnt, int C_out, int th, int tw, int Ho, int Wo,
                                const NNC_T *b, NNC_T *out, NNC_T *scratch)
{
    /* scratch: the group's output channels-last, in whole tiles: (cnt, 2 th, 2 tw, C_out) */
    const size_t T = (size_t)cnt * th * tw, stride = T * C_out, OH = 2 * (size_t)th, OW = 2 * (size_t)tw;
    for (int n = 0; n < cnt; n++)
        for (int ti = 0; ti < th; ti++)
            for (int tj = 0; tj < tw; tj++) {
                const size_t t = ((size_t)n * th + ti) * tw + tj;
                NNC_T *y0 = scratch + (((size_t)n * OH + 2 * ti) * OW + 2 * tj) * C_out, *y1 = y0 + OW * C_out;
                NNC_FN(wino_output_tile_)(M + t * C_out, stride, C_out, b, y0, y0 + C_out, y1, y1 + C_out);
            }
    const size_t P = (size_t)Ho * Wo;
    for (int n = 0; n < cnt; n++) {          /* back to NCHW, dropping the cells beyond Ho, Wo */
        const NNC_T *src = scratch + (size_t)n * OH * OW * C_out;
        NNC_T *img = out + (size_t)n * C_out * P;
        if ((size_t)Wo == OW)                 /* the rows oh < Ho are contiguous: one transpose */
            NNC_FN(wino_transpose_ld_)(src, P, (size_t)C_out, (size_t)C_out, img, P);
        else
            for (int oh = 0; oh < Ho; oh++)
                NNC_FN(wino_transpose_ld_)(src + (size_t)oh * OW * C_out, (size_t)Wo, (size_t)C_out, (size_t)C_out,
                                           img + (size_t)oh * Wo, P);
    }
}

/* ---- the weight gradient, by F(3x3, 2x2): the forward's algorithm transposed (winograd.h) ---- */

NNC_TARGET_CLONES
static void NNC_FN(wino_dout_tile_)(const NNC_T *const *d, int C_out, size_t stride, NNC_T *restrict u)
{
    /* d[2 p + q]: the C_out channels of dout cell (p, q) of the tile; u: Ud[0][t][0], Ud[xi] `stride` apart */
    #pragma omp simd
    for (int o = 0; o < C_out; o++) {
        const NNC_T d00 = d[0][o], d01 = d[1][o], d10 = d[2][o], d11 = d[3][o];
        NNC_T r[4][2];                         /* r = A D: rows D0, D0 + D1, D0 - D1, -D1 */
        r[0][0] = d00;       r[0][1] = d01;
        r[1][0] = d00 + d10; r[1][1] = d01 + d11;
        r[2][0] = d00 - d10; r[2][1] = d01 - d11;
        r[3][0] = -d10;      r[3][1] = -d11;
        for (int i = 0; i < 4; i++) {          /* u = r A^T: each row (a, b) -> (a, a + b, a - b, -b) */
            u[(4 * i + 0) * stride + o] = r[i][0];
            u[(4 * i + 1) * stride + o] = r[i][0] + r[i][1];
            u[(4 * i + 2) * stride + o] = r[i][0] - r[i][1];
            u[(4 * i + 3) * stride + o] = -r[i][1];
        }
    }
}

void NNC_FN(nnc_wino_dout)(const NNC_T *dout, int cnt, int C_out, int Ho, int Wo, int th, int tw, NNC_T *Ud,
                              NNC_T *scratch)
{
    const size_t T = (size_t)cnt * th * tw, stride = T * C_out, P = (size_t)Ho * Wo;
    NNC_T *dt = scratch;
    const NNC_T *zeros = NNC_FN(wino_channels_last_)(dout, cnt, C_out, P, dt);
    for (int n = 0; n < cnt; n++)
        for (int ti = 0; ti < th; ti++)
            for (int tj = 0; tj < tw; tj++) {
                const NNC_T *d[4];
                for (int p = 0; p < 2; p++)
                    for (int q = 0; q < 2; q++) {
                        const int oh = 2 * ti + p, ow = 2 * tj + q;
                        d[2 * p + q] = (oh < Ho && ow < Wo) ? dt + ((size_t)n * P + (size_t)oh * Wo + ow) * C_out
                                                            : zeros;
                    }
                const size_t t = ((size_t)n * th + ti) * tw + tj;
                NNC_FN(wino_dout_tile_)(d, C_out, stride, Ud + t * C_out);
            }
}

void NNC_FN(nnc_wino_dw)(const NNC_T *M, int C, int C_out, NNC_T *dW)
{
    const size_t stride = (size_t)C * C_out;
    for (int c = 0; c < C; c++)
        for (int o = 0; o < C_out; o++) {
            NNC_T m[4][4], t[3][4];
            for (int xi = 0; xi < 16; xi++)
                m[xi / 4][xi % 4] = M[xi * stride + (size_t)c * C_out + o];
            for (int j = 0; j < 4; j++) {      /* t = G^T m */
                t[0][j] = m[0][j] + (m[1][j] + m[2][j]) / 2;
                t[1][j] = (m[1][j] - m[2][j]) / 2;
                t[2][j] = (m[1][j] + m[2][j]) / 2 + m[3][j];
            }
            NNC_T *w = dW + ((size_t)o * C + c) * 9;
            for (int i = 0; i < 3; i++) {      /* w = t G */
                w[3 * i + 0] = t[i][0] + (t[i][1] + t[i][2]) / 2;
                w[3 * i + 1] = (t[i][1] - t[i][2]) / 2;
                w[3 * i + 2] = (t[i][1] + t[i][2]) / 2 + t[i][3];
            }
        }
}

#undef WVEC_
#undef WIDX_
