/* Body of csrc/winograd.c, instantiated for float and double (see nnc_generic.h). Layout: winograd.h.
 * The input and output transforms run along a row of tiles (tj), so that they vectorize: the input
 * plane is first copied into a zero-padded scratch (no bounds tests in the loop), and the output rows are
 * assembled in a scratch of whole tiles before the Ho x Wo part is copied out. */
#include <string.h>

void NNC_FN(nnc_wino_filter)(const NNC_T *W, int C_out, int C, NNC_T *U)
{
    const size_t stride = (size_t)C_out * C;   /* between two xi */
    for (int o = 0; o < C_out; o++)
        for (int c = 0; c < C; c++) {
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
                U[xi * stride + (size_t)o * C + c] = u[xi / 4][xi % 4];
        }
}

/* V for one row of tiles: the four padded input rows p0..p3 (patch column s of tile tj at 2*tj + s),
 * written to v[xi * stride + tj]. */
NNC_TARGET_CLONES
static void NNC_FN(wino_input_row_)(const NNC_T *restrict p0, const NNC_T *restrict p1, const NNC_T *restrict p2,
                                    const NNC_T *restrict p3, int tw, size_t stride, NNC_T *restrict v)
{
    #pragma omp simd
    for (int tj = 0; tj < tw; tj++) {
        NNC_T t[4][4];
        for (int s = 0; s < 4; s++) {              /* t = B^T d, d's rows from p0..p3 */
            const NNC_T d0 = p0[2 * tj + s], d1 = p1[2 * tj + s], d2 = p2[2 * tj + s], d3 = p3[2 * tj + s];
            t[0][s] = d0 - d2;
            t[1][s] = d1 + d2;
            t[2][s] = d2 - d1;
            t[3][s] = d1 - d3;
        }
        for (int r = 0; r < 4; r++) {              /* V = t B */
            v[(4 * r + 0) * stride + tj] = t[r][0] - t[r][2];
            v[(4 * r + 1) * stride + tj] = t[r][1] + t[r][2];
            v[(4 * r + 2) * stride + tj] = t[r][2] - t[r][1];
            v[(4 * r + 3) * stride + tj] = t[r][1] - t[r][3];
        }
    }
}

void NNC_FN(nnc_wino_input)(const NNC_T *x, int cnt, int C, int H, int W, int ph, int pw, int th, int tw,
                            NNC_T *V, NNC_T *scratch)
{
    const size_t T = (size_t)cnt * th * tw, stride = (size_t)C * T;
    const int PH = 2 * th + 2, PW = 2 * tw + 2;    /* every patch row and column of every tile */
    const int rows = H < PH - ph ? H : PH - ph, cols = W < PW - pw ? W : PW - pw;
    memset(scratch, 0, (size_t)PH * PW * sizeof(NNC_T));
    for (int n = 0; n < cnt; n++)
        for (int c = 0; c < C; c++) {
            const NNC_T *plane = x + ((size_t)n * C + c) * H * W;
            /* the image at (ph, pw) of the scratch; the border stays 0 from the memset (rows/cols beyond
             * what any patch reads are skipped, so a wide image with a narrow output does not overflow) */
            for (int ih = 0; ih < rows; ih++)
                memcpy(scratch + (size_t)(ih + ph) * PW + pw, plane + (size_t)ih * W, (size_t)cols * sizeof(NNC_T));
            NNC_T *v = V + (size_t)c * T + (size_t)n * th * tw;
            for (int ti = 0; ti < th; ti++) {
                const NNC_T *p0 = scratch + (size_t)(2 * ti) * PW;
                NNC_FN(wino_input_row_)(p0, p0 + PW, p0 + 2 * PW, p0 + 3 * PW, tw, stride, v + (size_t)ti * tw);
            }
        }
}

/* Y for one row of tiles: q[xi] at m[xi * stride + tj]; the two output rows y0, y1 (2 * tw wide). */
NNC_TARGET_CLONES
static void NNC_FN(wino_output_row_)(const NNC_T *restrict m, size_t stride, int tw, NNC_T bo,
                                     NNC_T *restrict y0, NNC_T *restrict y1)
{
    #pragma omp simd
    for (int tj = 0; tj < tw; tj++) {
        NNC_T t[2][4];
        for (int s = 0; s < 4; s++) {              /* t = A^T q */
            const NNC_T q0 = m[(0 + s) * stride + tj], q1 = m[(4 + s) * stride + tj];
            const NNC_T q2 = m[(8 + s) * stride + tj], q3 = m[(12 + s) * stride + tj];
            t[0][s] = q0 + q1 + q2;
            t[1][s] = q1 - q2 - q3;
        }
        y0[2 * tj] = t[0][0] + t[0][1] + t[0][2] + bo;      /* Y = t A */
        y0[2 * tj + 1] = t[0][1] - t[0][2] - t[0][3] + bo;
        y1[2 * tj] = t[1][0] + t[1][1] + t[1][2] + bo;
        y1[2 * tj + 1] = t[1][1] - t[1][2] - t[1][3] + bo;
    }
}

void NNC_FN(nnc_wino_output)(const NNC_T *M, int cnt, int C_out, int th, int tw, int Ho, int Wo, const NNC_T *b,
                             NNC_T *out, NNC_T *scratch)
{
    const size_t T = (size_t)cnt * th * tw, stride = (size_t)C_out * T;
    const int OW = 2 * tw;                          /* scratch rows: two per row of tiles */
    for (int n = 0; n < cnt; n++)
        for (int o = 0; o < C_out; o++) {
            const NNC_T *m = M + (size_t)o * T + (size_t)n * th * tw;
            NNC_T *plane = out + ((size_t)n * C_out + o) * Ho * Wo;
            const NNC_T bo = b ? b[o] : 0;
            for (int ti = 0; ti < th; ti++)
                NNC_FN(wino_output_row_)(m + (size_t)ti * tw, stride, tw, bo, scratch + (size_t)(2 * ti) * OW,
                                         scratch + (size_t)(2 * ti + 1) * OW);
            for (int oh = 0; oh < Ho; oh++)
                memcpy(plane + (size_t)oh * Wo, scratch + (size_t)oh * OW, (size_t)Wo * sizeof(NNC_T));
        }
}
