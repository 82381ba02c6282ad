/* Body of csrc/batchnorm.c, instantiated for float and double (see nnc_generic.h).
 *
 * Work is split by channel: a thread owns whole channels, so every per-channel sum runs in one fixed
 * order whatever the thread count. Images (N, C, H, W) take one channel per block and walk its N planes
 * of S = H*W values; dense data (N, C) takes blocks of 64 neighbouring features and walks the rows.
 * The loops live in small helpers compiled per CPU (NNC_TARGET_CLONES, nnc_math.h): the sums are
 * in double, and without AVX a double vector holds only two of them. Most of the speed comes from the
 * 8-lane sums below (benchmarks/README.md has the figures). */
#include <math.h>

#ifndef NNC_BN_ONCE
#define NNC_BN_ONCE
enum { NNC_BN_MAXBLOCK = 64 };   /* features per block of dense data */
static int nnc_bn_block(int S) { return S == 1 ? NNC_BN_MAXBLOCK : 1; }
#define NNC_BN_AT(n, c, s) (((size_t)(n) * C + (c)) * S + (s))
/* A single running sum is a chain of dependent additions (about 4 cycles each, not vectorizable):
 * a plane's values go round-robin into 8 partial sums instead, added pairwise at the end. A fixed
 * order, whatever the CPU or the thread count. */
#define NNC_BN_LANES 8
/* Each value is visited three times (two sums and the normalization; twice in the backward), so a
 * thread team pays for itself on a quarter of the usual size (measured; benchmarks/README.md). */
#define NNC_BN_OMP_MIN (NNC_OMP_MIN / 4)
static double nnc_bn_fold(const double *acc)
{
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}
#endif

/* ---- images: one plane of S values of one channel ------------------------------------------- */

/* acc[s % 8] += p[s] (mode 0), += (p[s] - m)^2 (mode 1). */
NNC_TARGET_CLONES
static void NNC_FN(bn_plane_sums_)(const NNC_T *p, int S, double m, int mode, double *acc)
{
    int s = 0;
    if (mode == 0) {
        for (; s + NNC_BN_LANES <= S; s += NNC_BN_LANES)
            for (int k = 0; k < NNC_BN_LANES; k++)
                acc[k] += p[s + k];
        for (; s < S; s++)
            acc[s % NNC_BN_LANES] += p[s];
        return;
    }
    for (; s + NNC_BN_LANES <= S; s += NNC_BN_LANES)
        for (int k = 0; k < NNC_BN_LANES; k++) {
            double d = p[s + k] - m;
            acc[k] += d * d;
        }
    for (; s < S; s++) {
        double d = p[s] - m;
        acc[s % NNC_BN_LANES] += d * d;
    }
}

/* sb[s % 8] += g[s],  sg[s % 8] += g[s] h[s]: dbeta and dgamma. */
NNC_TARGET_CLONES
static void NNC_FN(bn_plane_dot_)(const NNC_T *g, const NNC_T *h, int S, double *sb, double *sg)
{
    int s = 0;
    for (; s + NNC_BN_LANES <= S; s += NNC_BN_LANES)
        for (int k = 0; k < NNC_BN_LANES; k++) {
            sb[k] += g[s + k];
            sg[k] += (double)g[s + k] * h[s + k];
        }
    for (; s < S; s++) {
        sb[s % NNC_BN_LANES] += g[s];
        sg[s % NNC_BN_LANES] += (double)g[s] * h[s];
    }
}

/* xhat = (x - m) * is,  out = g * xhat + b. */
NNC_TARGET_CLONES
static void NNC_FN(bn_plane_norm_)(const NNC_T *restrict x, int S, NNC_T m, NNC_T is, NNC_T g, NNC_T b,
                                   NNC_T *restrict xhat, NNC_T *restrict out)
{
    for (int s = 0; s < S; s++) {
        NNC_T h = (x[s] - m) * is;
        xhat[s] = h;
        out[s] = g * h + b;
    }
}

/* dx = k * (scale * dout - db - xhat * dg) in training; k * dout in inference, which does not read
 * xhat (a NaN or inf there must not reach dx through xhat * 0: NaN in, NaN out only where read). */
NNC_TARGET_CLONES
static void NNC_FN(bn_plane_dx_)(const NNC_T *restrict dout, const NNC_T *restrict xhat, int S, NNC_T k,
                                 NNC_T scale, NNC_T db, NNC_T dg, int training, NNC_T *restrict dx)
{
    if (!training) {
        for (int s = 0; s < S; s++)
            dx[s] = k * dout[s];
        return;
    }
    for (int s = 0; s < S; s++)
        dx[s] = k * (scale * dout[s] - db - xhat[s] * dg);
}

/* ---- dense data: features c0 .. c0+w-1 of every row (w <= 64) ------------------------------------ */

/* sum[j] = sum_n x[n, c0+j] (mode 0) or sum_n (x[n, c0+j] - m[j])^2 (mode 1); independent across j,
 * so the loop over j vectorizes with each sum still in row order. */
NNC_TARGET_CLONES
static void NNC_FN(bn_cols_sums_)(const NNC_T *x, int N, int C, int c0, int w, const double *m, int mode,
                                  double *sum)
{
    for (int j = 0; j < w; j++)
        sum[j] = 0;
    for (int n = 0; n < N; n++) {
        const NNC_T *row = x + (size_t)n * C + c0;
        if (mode == 0)
            #pragma omp simd
            for (int j = 0; j < w; j++)
                sum[j] += row[j];
        else
            #pragma omp simd
            for (int j = 0; j < w; j++) {
                double d = row[j] - m[j];
                sum[j] += d * d;
            }
    }
}

NNC_TARGET_CLONES
static void NNC_FN(bn_cols_norm_)(const NNC_T *restrict x, int N, int C, int c0, int w,
                                  const NNC_T *restrict mean, const NNC_T *restrict inv_std,
                                  const NNC_T *restrict gamma, const NNC_T *restrict beta,
                                  NNC_T *restrict xhat, NNC_T *restrict out)
{
    const NNC_T *m = mean + c0, *is = inv_std + c0, *g = gamma + c0, *b = beta + c0;
    for (int n = 0; n < N; n++) {
        /* row pointers and an explicit simd loop: left to itself, GCC vectorized over n with gathers */
        const NNC_T *xr = x + (size_t)n * C + c0;
        NNC_T *hr = xhat + (size_t)n * C + c0, *orow = out + (size_t)n * C + c0;
        #pragma omp simd
        for (int j = 0; j < w; j++) {
            NNC_T h = (xr[j] - m[j]) * is[j];
            hr[j] = h;
            orow[j] = g[j] * h + b[j];
        }
    }
}

NNC_TARGET_CLONES
static void NNC_FN(bn_cols_dot_)(const NNC_T *g, const NNC_T *h, int N, int C, int c0, int w, double *sb,
                                 double *sg)
{
    for (int j = 0; j < w; j++)
        sb[j] = sg[j] = 0;
    for (int n = 0; n < N; n++) {
        const NNC_T *gr = g + (size_t)n * C + c0, *hr = h + (size_t)n * C + c0;
        #pragma omp simd
        for (int j = 0; j < w; j++) {
            sb[j] += gr[j];
            sg[j] += (double)gr[j] * hr[j];
        }
    }
}

NNC_TARGET_CLONES
static void NNC_FN(bn_cols_dx_)(const NNC_T *restrict dout, const NNC_T *restrict xhat, int N, int C, int c0,
                                int w, const NNC_T *restrict k, NNC_T scale, const NNC_T *restrict db,
                                const NNC_T *restrict dg, int training, NNC_T *restrict dx)
{
    for (int n = 0; n < N; n++) {
        const NNC_T *gr = dout + (size_t)n * C + c0, *hr = xhat + (size_t)n * C + c0;
        NNC_T *dr = dx + (size_t)n * C + c0;
        if (!training) {    /* as bn_plane_dx_: inference does not read xhat */
            #pragma omp simd
            for (int j = 0; j < w; j++)
                dr[j] = k[j] * gr[j];
            continue;
        }
        #pragma omp simd
        for (int j = 0; j < w; j++)
            dr[j] = k[j] * (scale * gr[j] - db[j] - hr[j] * dg[j]);
    }
}

/* ---- the two kernels ------------------------------------------------------------------------ */

void NNC_FN(nnc_batchnorm_forward)(const NNC_T *x, int N, int C, int S, const NNC_T *gamma, const NNC_T *beta,
                                   NNC_T *running_mean, NNC_T *running_var, NNC_T momentum, NNC_T eps,
                                   int training, NNC_T *mean, NNC_T *var, NNC_T *inv_std, NNC_T *xhat,
                                   NNC_T *out, int nthreads)
{
    int cb = nnc_bn_block(S);
    int nblocks = (C + cb - 1) / cb;
    double M = (double)N * S;
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)N * C * S > NNC_BN_OMP_MIN && nblocks > 1)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * cb, c1 = c0 + cb < C ? c0 + cb : C, w = c1 - c0;
        if (training) {
            /* Two passes (mean first, then squared deviations): E[x^2] - E[x]^2 cancels badly. */
            double sum[NNC_BN_MAXBLOCK], sq[NNC_BN_MAXBLOCK], m[NNC_BN_MAXBLOCK];
            if (S == 1) {
                NNC_FN(bn_cols_sums_)(x, N, C, c0, w, m, 0, sum);
                for (int j = 0; j < w; j++)
                    m[j] = sum[j] / M;
                NNC_FN(bn_cols_sums_)(x, N, C, c0, w, m, 1, sq);
            } else {  /* one channel: c0 */
                double acc[NNC_BN_LANES] = {0}, acq[NNC_BN_LANES] = {0};
                for (int n = 0; n < N; n++)
                    NNC_FN(bn_plane_sums_)(x + NNC_BN_AT(n, c0, 0), S, 0, 0, acc);
                sum[0] = nnc_bn_fold(acc);
                m[0] = sum[0] / M;
                for (int n = 0; n < N; n++)
                    NNC_FN(bn_plane_sums_)(x + NNC_BN_AT(n, c0, 0), S, m[0], 1, acq);
                sq[0] = nnc_bn_fold(acq);
            }
            for (int c = c0; c < c1; c++) {
                mean[c] = (NNC_T)(sum[c - c0] / M);
                var[c] = (NNC_T)(sq[c - c0] / M);
                running_mean[c] = momentum * running_mean[c] + (1 - momentum) * mean[c];
                running_var[c] = momentum * running_var[c] + (1 - momentum) * var[c];
            }
        } else {
            for (int c = c0; c < c1; c++) {
                mean[c] = running_mean[c];
                var[c] = running_var[c];
            }
        }
        for (int c = c0; c < c1; c++)
            inv_std[c] = (NNC_T)1 / (NNC_T)sqrt(var[c] + eps);
        if (S == 1) {
            NNC_FN(bn_cols_norm_)(x, N, C, c0, w, mean, inv_std, gamma, beta, xhat, out);
        } else {
            for (int n = 0; n < N; n++) {
                size_t i = NNC_BN_AT(n, c0, 0);
                NNC_FN(bn_plane_norm_)(x + i, S, mean[c0], inv_std[c0], gamma[c0], beta[c0], xhat + i, out + i);
            }
        }
    }
}

void NNC_FN(nnc_batchnorm_backward)(const NNC_T *dout, const NNC_T *xhat, int N, int C, int S,
                                    const NNC_T *gamma, const NNC_T *inv_std, int training, NNC_T *dx,
                                    NNC_T *dgamma, NNC_T *dbeta, int nthreads)
{
    int cb = nnc_bn_block(S);
    int nblocks = (C + cb - 1) / cb;
    NNC_T M = (NNC_T)N * (NNC_T)S;
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)N * C * S > NNC_BN_OMP_MIN && nblocks > 1)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * cb, c1 = c0 + cb < C ? c0 + cb : C, w = c1 - c0;
        double sb[NNC_BN_MAXBLOCK], sg[NNC_BN_MAXBLOCK];
        if (S == 1) {
            NNC_FN(bn_cols_dot_)(dout, xhat, N, C, c0, w, sb, sg);
        } else {
            double ab[NNC_BN_LANES] = {0}, ag[NNC_BN_LANES] = {0};
            for (int n = 0; n < N; n++)
                NNC_FN(bn_plane_dot_)(dout + NNC_BN_AT(n, c0, 0), xhat + NNC_BN_AT(n, c0, 0), S, ab, ag);
            sb[0] = nnc_bn_fold(ab);
            sg[0] = nnc_bn_fold(ag);
        }
        /* training:  dx = gamma * inv_std / M * (M * dout - dbeta - xhat * dgamma)
         * inference: dx = gamma * inv_std * dout  (the same line with M = 1 and the sums left out) */
        NNC_T k[NNC_BN_MAXBLOCK], db[NNC_BN_MAXBLOCK], dg[NNC_BN_MAXBLOCK];
        for (int c = c0; c < c1; c++) {
            dbeta[c] = (NNC_T)sb[c - c0];
            dgamma[c] = (NNC_T)sg[c - c0];
            k[c - c0] = gamma[c] * inv_std[c] / (training ? M : 1);
            db[c - c0] = training ? dbeta[c] : 0;
            dg[c - c0] = training ? dgamma[c] : 0;
        }
        NNC_T scale = training ? M : 1;
        if (S == 1) {
            NNC_FN(bn_cols_dx_)(dout, xhat, N, C, c0, w, k, scale, db, dg, training, dx);
        } else {
            for (int n = 0; n < N; n++) {
                size_t i = NNC_BN_AT(n, c0, 0);
                NNC_FN(bn_plane_dx_)(dout + i, xhat + i, S, k[0], scale, db[0], dg[0], training, dx + i);
            }
        }
    }
}
