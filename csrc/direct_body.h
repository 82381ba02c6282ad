/* Body of csrc/direct.c, instantiated for float and double (see nnc_generic.h). Equations: direct.h.
 * The vectors are GCC's generic vectors: each NNC_TARGET_CLONES clone lowers them to its own registers
 * (4 SSE, 2 AVX or 1 AVX-512 register per vector). */
#include <stddef.h>
#include <string.h>

#define VEC_ NNC_FN(nnc_direct_vec_)
typedef NNC_T VEC_ __attribute__((vector_size(NNC_DIRECT_VBYTES)));
#define VL_ ((int)(NNC_DIRECT_VBYTES / sizeof(NNC_T)))
#define LOAD_(v, p) memcpy(&(v), (p), sizeof(VEC_))    /* an unaligned load */

/* xp (C, Hp, ld) gets the image x (C, H, W) at row ph, column pw; the border keeps the zeros the caller
 * wrote once. */
static void NNC_FN(direct_pad_)(const NNC_T *restrict x, const nnc_conv_geom *g, size_t ld, NNC_T *restrict xp)
{
    const size_t Hp = (size_t)g->H + 2 * g->ph;
    for (int c = 0; c < g->C; c++)
        for (int h = 0; h < g->H; h++)
            memcpy(xp + ((size_t)c * Hp + h + g->ph) * ld + g->pw, x + ((size_t)c * g->H + h) * g->W,
                   (size_t)g->W * sizeof(NNC_T));
}

/* OB output channels o .. o+OB-1 of one image over NS <= 8 "strips" (a strip: one vector of an output row;
 * strip s is row s / nblk, columns (s % nblk) * VL_ ..), strips s0 .. s0+NS-1; Wr = W + o*K, out at plane o.
 * OB and NS are constants where this is inlined, so the OB * NS accumulators live in registers, and
 * that many independent chains of FMAs keep the vector units busy. */
static inline __attribute__((always_inline)) void
NNC_FN(direct_strips_)(const NNC_T *restrict xp, const nnc_conv_geom *g, size_t ld, const NNC_T *restrict Wr,
                       const NNC_T *restrict b, NNC_T *restrict out, int s0, const int OB, const int NS)
{
    const int C = g->C, kh = g->kh, kw = g->kw, Wo = g->Wo, K = g->K, nblk = (Wo + VL_ - 1) / VL_;
    const size_t Hp = (size_t)g->H + 2 * g->ph, P = (size_t)g->Ho * Wo;
    const NNC_T *xr[8];
    int oh[8], w0[8];
    VEC_ acc[4][8];
    for (int s = 0; s < NS; s++) {
        oh[s] = (s0 + s) / nblk;
        w0[s] = (s0 + s) % nblk * VL_;
        xr[s] = xp + (size_t)oh[s] * ld + w0[s];
        for (int ob = 0; ob < OB; ob++)
            acc[ob][s] = (VEC_){0} + (b ? b[ob] : (NNC_T)0);
    }
    for (int c = 0; c < C; c++)
        for (int i = 0; i < kh; i++) {
            const size_t row = ((size_t)c * Hp + i) * ld;
            const NNC_T *wr = Wr + (c * kh + i) * kw;
            for (int j = 0; j < kw; j++) {
                VEC_ xv[8];
                for (int s = 0; s < NS; s++)
                    LOAD_(xv[s], xr[s] + row + j);
                for (int ob = 0; ob < OB; ob++) {
                    const NNC_T w = wr[(size_t)ob * K + j];
                    for (int s = 0; s < NS; s++)
                        acc[ob][s] += w * xv[s];
                }
            }
        }
    for (int s = 0; s < NS; s++) {
        const int m = Wo - w0[s] < VL_ ? Wo - w0[s] : VL_;
        for (int ob = 0; ob < OB; ob++)
            memcpy(out + ob * P + (size_t)oh[s] * Wo + w0[s], &acc[ob][s], (size_t)m * sizeof(NNC_T));
    }
}

/* OB output channels of one image: its strips 8 / OB at a time (8 chains of FMAs), the rest 2 and 1 at a time. */
static inline __attribute__((always_inline)) void
NNC_FN(direct_channels_)(const NNC_T *restrict xp, const nnc_conv_geom *g, size_t ld, const NNC_T *restrict Wr,
                         const NNC_T *restrict b, NNC_T *restrict out, const int OB)
{
    const int strips = g->Ho * ((g->Wo + VL_ - 1) / VL_), NS = 8 / OB;
    int s = 0;
    for (; s + NS <= strips; s += NS)
        NNC_FN(direct_strips_)(xp, g, ld, Wr, b, out, s, OB, NS);
    for (; s + 2 <= strips; s += 2)
        NNC_FN(direct_strips_)(xp, g, ld, Wr, b, out, s, OB, 2);
    if (s < strips)
        NNC_FN(direct_strips_)(xp, g, ld, Wr, b, out, s, OB, 1);
}

NNC_TARGET_CLONES
static void NNC_FN(direct_image_)(const NNC_T *restrict xp, const nnc_conv_geom *g, size_t ld,
                                  const NNC_T *restrict W, const NNC_T *restrict b, NNC_T *restrict out)
{
    const size_t P = (size_t)g->Ho * g->Wo;
    int o = 0;
    for (; o + 4 <= g->C_out; o += 4)
        NNC_FN(direct_channels_)(xp, g, ld, W + (size_t)o * g->K, b ? b + o : NULL, out + o * P, 4);
    for (; o + 2 <= g->C_out; o += 2)
        NNC_FN(direct_channels_)(xp, g, ld, W + (size_t)o * g->K, b ? b + o : NULL, out + o * P, 2);
    for (; o < g->C_out; o++)
        NNC_FN(direct_channels_)(xp, g, ld, W + (size_t)o * g->K, b ? b + o : NULL, out + o * P, 1);
}

void NNC_FN(nnc_direct_forward)(const NNC_T *x, const nnc_conv_geom *g, const NNC_T *W, const NNC_T *b, NNC_T *out,
                                NNC_T *scratch, int nthreads)
{
    const size_t ld = nnc_direct_ld_(g, sizeof(NNC_T)), per = nnc_direct_image_values(g, sizeof(NNC_T));
    const size_t img = (size_t)g->C * g->H * g->W, oimg = (size_t)g->C_out * g->Ho * g->Wo;
    const long macs = (long)g->N * g->C_out * g->Ho * g->Wo * g->K;
    #pragma omp parallel num_threads(nthreads) if(nthreads > 1 && g->N > 1 && macs > NNC_OMP_MIN)
    {
        NNC_T *xp = scratch + (size_t)nnc_direct_thread_() * per;
        memset(xp, 0, per * sizeof(NNC_T));
        #pragma omp for schedule(static)
        for (int n = 0; n < g->N; n++) {
            NNC_FN(direct_pad_)(x + n * img, g, ld, xp);
            NNC_FN(direct_image_)(xp, g, ld, W, b, out + n * oimg);
        }
    }
}

/* One row of the weight gradient's sums: acc[ob][j] += dv[ob] * (the padded row xr shifted by j). */
static inline __attribute__((always_inline)) void
NNC_FN(direct_dw_step_)(VEC_ acc[4][NNC_DIRECT_KW], const VEC_ dv[4], const NNC_T *xr, const int OB, const int KW)
{
    for (int j = 0; j < KW; j++) {
        VEC_ xv;
        LOAD_(xv, xr + j);
        for (int ob = 0; ob < OB; ob++)
            acc[ob][j] += dv[ob] * xv;
    }
}

/* dW[o .. o+OB-1, c, i, 0..KW-1] += the sums over cnt padded images xp (cnt, C, Hp, ld) and their dout
 * (cnt, C_out, Ho, Wo) (dend: the end of the whole dout array); dw = dW + ((o*C + c)*kh + i)*kw.
 * OB * KW accumulator vectors (constants where this is inlined: registers, independent chains); at the
 * end of each vector block of the rows their lanes inside the row are summed in lane order. */
static inline __attribute__((always_inline)) void
NNC_FN(direct_dw_rows_)(const NNC_T *restrict xp, const NNC_T *restrict dout, const NNC_T *dend,
                        const nnc_conv_geom *g, size_t ld, int cnt, int o, int c, int i, NNC_T *restrict dw,
                        const int OB, const int KW)
{
    const int Ho = g->Ho, Wo = g->Wo;
    const size_t Hp = (size_t)g->H + 2 * g->ph, P = (size_t)Ho * Wo, dwo = (size_t)g->K;  /* dW[o+1] - dW[o] */
    for (int w0 = 0; w0 < Wo; w0 += VL_) {
        VEC_ acc[4][NNC_DIRECT_KW];
        for (int ob = 0; ob < OB; ob++)
            for (int j = 0; j < KW; j++)
                acc[ob][j] = (VEC_){0};
        for (int n = 0; n < cnt; n++) {
            const NNC_T *dr = dout + ((size_t)n * g->C_out + o) * P + w0;
            const NNC_T *xr = xp + (((size_t)n * g->C + c) * Hp + i) * ld + w0;
            /* A vector from a row near the end of dout would read past the array (a row narrower than a
             * vector reaches into the rows after it): the rows from `rows` on come from a copy, below. */
            const ptrdiff_t room = dend - (dr + (size_t)(OB - 1) * P) - VL_;   /* room left after row 0 */
            const int rows = room < 0 ? 0 : (room / Wo + 1 < Ho ? (int)(room / Wo) + 1 : Ho);
            for (int oh = 0; oh < rows; oh++) {
                VEC_ dv[4];
                for (int ob = 0; ob < OB; ob++)
                    LOAD_(dv[ob], dr + ob * P + (size_t)oh * Wo);
                NNC_FN(direct_dw_step_)(acc, dv, xr + (size_t)oh * ld, OB, KW);
            }
            for (int oh = rows; oh < Ho; oh++) {
                NNC_T row[4][VL_];
                VEC_ dv[4];
                memset(row, 0, sizeof row);
                for (int ob = 0; ob < OB; ob++) {
                    const NNC_T *d = dr + ob * P + (size_t)oh * Wo;
                    memcpy(row[ob], d, (size_t)(d + VL_ > dend ? dend - d : VL_) * sizeof(NNC_T));
                    LOAD_(dv[ob], row[ob]);
                }
                NNC_FN(direct_dw_step_)(acc, dv, xr + (size_t)oh * ld, OB, KW);
            }
        }
        const int m = Wo - w0 < VL_ ? Wo - w0 : VL_;
        for (int ob = 0; ob < OB; ob++)
            for (int j = 0; j < KW; j++) {
                const VEC_ a = acc[ob][j];
                NNC_T s = 0;
                for (int t = 0; t < m; t++)
                    s += a[t];
                dw[ob * dwo + j] += s;
            }
    }
}

/* The blocks of output channels a dW task takes: C_out / 4 blocks of 4, then one of 2, one of 1. */
static inline int NNC_FN(direct_oblocks_)(int C_out) { return C_out / 4 + (C_out % 4 >= 2) + (C_out % 2); }

static inline void NNC_FN(direct_oblock_)(int C_out, int blk, int *o, int *ob)
{
    const int full = C_out / 4;
    if (blk < full) {
        *o = 4 * blk, *ob = 4;
    } else if (blk == full && C_out % 4 >= 2) {
        *o = 4 * full, *ob = 2;
    } else {
        *o = C_out - 1, *ob = 1;
    }
}

#define DW_CASE_(OB, KW) NNC_FN(direct_dw_rows_)(xp, dout, dend, g, ld, cnt, o, c, i, dw, OB, KW)
#define DW_WIDTHS_(OB) do { if (g->kw == 3) DW_CASE_(OB, 3); else DW_CASE_(OB, 5); } while (0)

NNC_TARGET_CLONES
static void NNC_FN(direct_dw_task_)(const NNC_T *restrict xp, const NNC_T *restrict dout, const NNC_T *dend,
                                    const nnc_conv_geom *g, size_t ld, int cnt, int task, NNC_T *restrict dW)
{
    const int i = task % g->kh, c = (task / g->kh) % g->C;
    int o, ob;
    NNC_FN(direct_oblock_)(g->C_out, task / (g->kh * g->C), &o, &ob);
    NNC_T *dw = dW + (((size_t)o * g->C + c) * g->kh + i) * g->kw;
    if (ob == 4)
        DW_WIDTHS_(4);
    else if (ob == 2)
        DW_WIDTHS_(2);
    else
        DW_WIDTHS_(1);
}

#undef DW_CASE_
#undef DW_WIDTHS_

void NNC_FN(nnc_direct_dw)(const NNC_T *x, const NNC_T *dout, const nnc_conv_geom *g, NNC_T *dW, NNC_T *scratch,
                           int chunk, int nthreads)
{
    const size_t ld = nnc_direct_ld_(g, sizeof(NNC_T)), per = nnc_direct_image_values(g, sizeof(NNC_T));
    const size_t img = (size_t)g->C * g->H * g->W, oimg = (size_t)g->C_out * g->Ho * g->Wo;
    const NNC_T *dend = dout + (size_t)g->N * oimg;
    const int tasks = NNC_FN(direct_oblocks_)(g->C_out) * g->C * g->kh;
    const long macs = (long)g->N * g->C_out * g->Ho * g->Wo * g->K;
    memset(dW, 0, (size_t)g->C_out * g->K * sizeof(NNC_T));
    memset(scratch, 0, (size_t)chunk * per * sizeof(NNC_T));
    for (int n0 = 0; n0 < g->N; n0 += chunk) {
        const int cnt = g->N - n0 < chunk ? g->N - n0 : chunk;
        #pragma omp parallel num_threads(nthreads) if(nthreads > 1 && macs > NNC_OMP_MIN)
        {
            #pragma omp for schedule(static)
            for (int n = 0; n < cnt; n++)
                NNC_FN(direct_pad_)(x + (n0 + n) * img, g, ld, scratch + n * per);
            #pragma omp for schedule(static)
            for (int t = 0; t < tasks; t++)
                NNC_FN(direct_dw_task_)(scratch, dout + n0 * oimg, dend, g, ld, cnt, t, dW);
        }
    }
}

#undef VEC_
#undef VL_
#undef LOAD_
