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
        /* dynamic: the first thread starts at once and takes images until the others have woken up (a
         * sleeping thread takes tens of microseconds to start; each image's values come out the same) */
        #pragma omp for schedule(dynamic)
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

/* Accumulator vectors of one dW task: (vector blocks of a row) x 4 channels x NNC_DIRECT_KW, in scratch. */
static inline size_t NNC_FN(direct_acc_values_)(const nnc_conv_geom *g)
{
    return (size_t)((g->Wo + VL_ - 1) / VL_) * 4 * NNC_DIRECT_KW * VL_;
}

/* The sums of dW[o .. o+OB-1, c, i, 0..KW-1] over images n_lo .. n_hi-1 of a chunk of padded images xp
 * (cnt, C, Hp, ld) and their dout (cnt, C_out, Ho, Wo) (dend: the end of the whole dout array), added
 * lane by lane into the task's accumulators accm (direct_acc_values_). OB * KW accumulator vectors in
 * registers while the rows of those images go by (constants where this is inlined: independent chains). */
static inline __attribute__((always_inline)) void
NNC_FN(direct_dw_rows_)(const NNC_T *restrict xp, const NNC_T *restrict dout, const NNC_T *dend,
                        const nnc_conv_geom *g, size_t ld, int n_lo, int n_hi, int o, int c, int i,
                        NNC_T *restrict accm, const int OB, const int KW)
{
    const int Ho = g->Ho, Wo = g->Wo;
    const size_t Hp = (size_t)g->H + 2 * g->ph, P = (size_t)Ho * Wo;
    for (int w0 = 0; w0 < Wo; w0 += VL_) {
        NNC_T *am = accm + (size_t)(w0 / VL_) * 4 * NNC_DIRECT_KW * VL_;
        VEC_ acc[4][NNC_DIRECT_KW];
        for (int ob = 0; ob < OB; ob++)
            for (int j = 0; j < KW; j++)
                LOAD_(acc[ob][j], am + (size_t)(ob * NNC_DIRECT_KW + j) * VL_);
        for (int n = n_lo; n < n_hi; n++) {
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
        for (int ob = 0; ob < OB; ob++)
            for (int j = 0; j < KW; j++)
                memcpy(am + (size_t)(ob * NNC_DIRECT_KW + j) * VL_, &acc[ob][j], sizeof(VEC_));
    }
}

/* The blocks of output channels a dW task takes: C_out / 4 blocks of 4, then one of 2, one of 1. */
static inline int NNC_FN(direct_oblocks_)(int C_out) { return C_out / 4 + (C_out % 4 >= 2) + (C_out % 2); }

/* Task t: output channels o .. o+ob-1, input channel c, kernel row i. */
static inline void NNC_FN(direct_task_)(const nnc_conv_geom *g, int task, int *o, int *ob, int *c, int *i)
{
    const int blk = task / (g->kh * g->C), full = g->C_out / 4;
    *i = task % g->kh;
    *c = (task / g->kh) % g->C;
    if (blk < full) {
        *o = 4 * blk, *ob = 4;
    } else if (blk == full && g->C_out % 4 >= 2) {
        *o = 4 * full, *ob = 2;
    } else {
        *o = g->C_out - 1, *ob = 1;
    }
}

/* The first task of group k of nt (k = 0..nt): the tasks split in contiguous runs of about equal work, a
 * task's work being its number of output channels (a 6-channel layer has 4- and 2-channel tasks). */
static int NNC_FN(direct_task_split_)(const nnc_conv_geom *g, int tasks, int k, int nt)
{
    long total = 0, done = 0;
    for (int t = 0; t < tasks; t++) {
        int o, ob, c, i;
        NNC_FN(direct_task_)(g, t, &o, &ob, &c, &i);
        total += ob;
    }
    for (int t = 0; t < tasks; t++) {
        int o, ob, c, i;
        if (done * nt >= total * k)
            return t;
        NNC_FN(direct_task_)(g, t, &o, &ob, &c, &i);
        done += ob;
    }
    return tasks;
}

#define DW_CASE_(OB) NNC_FN(direct_dw_rows_)(xp, dout, dend, g, ld, n_lo, n_hi, o, c, i, accm, OB, NNC_DIRECT_KW)

NNC_TARGET_CLONES
static void NNC_FN(direct_dw_task_)(const NNC_T *restrict xp, const NNC_T *restrict dout, const NNC_T *dend,
                                    const nnc_conv_geom *g, size_t ld, int n_lo, int n_hi, int task,
                                    NNC_T *restrict accm)
{
    int o, ob, c, i;
    NNC_FN(direct_task_)(g, task, &o, &ob, &c, &i);
    if (ob == 4)
        DW_CASE_(4);
    else if (ob == 2)
        DW_CASE_(2);
    else
        DW_CASE_(1);
}

#undef DW_CASE_

/* dW of task t from its accumulators: per vector block of the row, the lanes inside the row in lane order. */
static void NNC_FN(direct_dw_finish_)(const nnc_conv_geom *g, int task, const NNC_T *accm, NNC_T *dW)
{
    int o, ob, c, i;
    NNC_FN(direct_task_)(g, task, &o, &ob, &c, &i);
    for (int b = 0; b * VL_ < g->Wo; b++) {
        const int m = g->Wo - b * VL_ < VL_ ? g->Wo - b * VL_ : VL_;
        for (int q = 0; q < ob; q++)
            for (int j = 0; j < g->kw; j++) {
                const NNC_T *lanes = accm + ((size_t)(b * 4 + q) * NNC_DIRECT_KW + j) * VL_;
                NNC_T s = 0;
                for (int t = 0; t < m; t++)
                    s += lanes[t];
                dW[(((size_t)(o + q) * g->C + c) * g->kh + i) * g->kw + j] += s;
            }
    }
}

size_t NNC_FN(nnc_direct_dw_scratch)(const nnc_conv_geom *g, int chunk)
{
    return (size_t)chunk * nnc_direct_image_values(g, sizeof(NNC_T))
           + (size_t)NNC_FN(direct_oblocks_)(g->C_out) * g->C * g->kh * NNC_FN(direct_acc_values_)(g);
}

void NNC_FN(nnc_direct_dw)(const NNC_T *x, const NNC_T *dout, const nnc_conv_geom *g, NNC_T *dW, NNC_T *scratch,
                           int chunk, const nnc_conv_geom *gx, const NNC_T *Wf, NNC_T *dx, NNC_T *dx_scratch,
                           int nthreads)
{
    const size_t ld = nnc_direct_ld_(g, sizeof(NNC_T)), per = nnc_direct_image_values(g, sizeof(NNC_T));
    const size_t img = (size_t)g->C * g->H * g->W, oimg = (size_t)g->C_out * g->Ho * g->Wo;
    const size_t accs = NNC_FN(direct_acc_values_)(g);
    const NNC_T *dend = dout + (size_t)g->N * oimg;
    const int tasks = NNC_FN(direct_oblocks_)(g->C_out) * g->C * g->kh;
    const long macs = (long)g->N * g->C_out * g->Ho * g->Wo * g->K;
    /* Images a group of tasks takes through all of its tasks before the next ones: about 256 KiB of padded images
     * and dout, which stay in its cache while every task reads them (task by task over the whole batch,
     * the tasks would each stream the batch from memory). From the shape only, like the chunks. */
    const size_t bytes = (per + oimg) * sizeof(NNC_T);
    const int sub = bytes >= (256u << 10) ? 1 : (int)((256u << 10) / bytes);
    NNC_T *acc = scratch + (size_t)chunk * per;
    memset(dW, 0, (size_t)g->C_out * g->K * sizeof(NNC_T));
    memset(scratch, 0, NNC_FN(nnc_direct_dw_scratch)(g, chunk) * sizeof(NNC_T));
    /* The tasks in groups of about equal work, taken dynamically: the first thread starts at once and takes
     * groups until the others have woken up (a sleeping thread takes tens of microseconds to start). Which
     * thread takes a group does not change its sums: same bits. The padding is one copy, on this thread. */
    const int par = nthreads > 1 && macs > NNC_OMP_MIN;
    const int groups = par ? (tasks < 4 * nthreads ? tasks : 4 * nthreads) : 1;
    /* dx (when asked) is the direct convolution of dout (geometry gx) with the flipped kernel Wf, image by
     * image, in the first chunk's team: one wake-up of the sleeping threads for both gradients. */
    const size_t ldx = dx ? nnc_direct_ld_(gx, sizeof(NNC_T)) : 0, perx = dx ? nnc_direct_image_values(gx, sizeof(NNC_T)) : 0;
    const size_t ximg = dx ? (size_t)gx->C_out * gx->Ho * gx->Wo : 0;
    for (int n0 = 0; n0 < g->N; n0 += chunk) {
        const int cnt = g->N - n0 < chunk ? g->N - n0 : chunk;
        for (int n = 0; n < cnt; n++)
            NNC_FN(direct_pad_)(x + (n0 + n) * img, g, ld, scratch + n * per);
        const int with_dx = dx != NULL && n0 == 0;
        #pragma omp parallel num_threads(nthreads) if(par)
        {
            #pragma omp for schedule(dynamic) nowait
            for (int grp = 0; grp < groups; grp++) {
                const int t0 = NNC_FN(direct_task_split_)(g, tasks, grp, groups);
                const int t1 = NNC_FN(direct_task_split_)(g, tasks, grp + 1, groups);
                for (int lo = 0; lo < cnt; lo += sub) {
                    const int hi = cnt - lo < sub ? cnt : lo + sub;
                    for (int t = t0; t < t1; t++)
                        NNC_FN(direct_dw_task_)(scratch, dout + n0 * oimg, dend, g, ld, lo, hi, t, acc + t * accs);
                }
            }
            if (with_dx) {
                NNC_T *xp = dx_scratch + (size_t)nnc_direct_thread_() * perx;
                memset(xp, 0, perx * sizeof(NNC_T));
                #pragma omp for schedule(dynamic) nowait
                for (int n = 0; n < g->N; n++) {
                    NNC_FN(direct_pad_)(dout + n * oimg, gx, ldx, xp);
                    NNC_FN(direct_image_)(xp, gx, ldx, Wf, NULL, dx + n * ximg);
                }
            }
        }
    }
    for (int t = 0; t < tasks; t++)
        NNC_FN(direct_dw_finish_)(g, t, acc + t * accs, dW);
}

#undef VEC_
#undef VL_
#undef LOAD_
