/* Body of csrc/batchnorm.c, instantiated for float and double (see nnc_generic.h). */
#include <math.h>

#ifndef NNC_BN_BLOCK_DEFINED
#define NNC_BN_BLOCK_DEFINED
/* Channels handled by one loop iteration: 64 neighbouring features for dense data (S == 1), so the
 * inner loop runs along a contiguous row piece; one channel for images, whose planes are contiguous. */
enum { NNC_BN_MAXBLOCK = 64 };
static int nnc_bn_block(int S) { return S == 1 ? NNC_BN_MAXBLOCK : 1; }
#define NNC_BN_AT(n, c, s) (((size_t)(n) * C + (c)) * S + (s))
#endif

void NNC_FN(nnc_batchnorm_forward)(const NNC_T *x, int N, int C, int S, const NNC_T *gamma, const NNC_T *beta,
                                   NNC_T *running_mean, NNC_T *running_var, NNC_T momentum, NNC_T eps,
                                   int training, NNC_T *mean, NNC_T *var, NNC_T *inv_std, NNC_T *xhat,
                                   NNC_T *out, int nthreads)
{
    int cb = nnc_bn_block(S);
    int nblocks = (C + cb - 1) / cb;
    double M = (double)N * S;
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)N * C * S > NNC_OMP_MIN && nblocks > 1)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * cb, c1 = c0 + cb < C ? c0 + cb : C;
        if (training) {
            double sum[NNC_BN_MAXBLOCK] = {0}, sq[NNC_BN_MAXBLOCK] = {0}, m[NNC_BN_MAXBLOCK];
            int w = c1 - c0;
            if (S == 1) {  /* dense (N, C): the channels of a block lie side by side in each row */
                for (int n = 0; n < N; n++) {
                    const NNC_T *row = x + (size_t)n * C + c0;
                    for (int j = 0; j < w; j++)
                        sum[j] += row[j];
                }
            } else {
                for (int n = 0; n < N; n++)
                    for (int c = c0; c < c1; c++)
                        for (int s = 0; s < S; s++)
                            sum[c - c0] += x[NNC_BN_AT(n, c, s)];
            }
            for (int j = 0; j < w; j++)
                m[j] = sum[j] / M;
            /* Two passes (mean first, then squared deviations): E[x^2] - E[x]^2 cancels badly. */
            if (S == 1) {
                for (int n = 0; n < N; n++) {
                    const NNC_T *row = x + (size_t)n * C + c0;
                    for (int j = 0; j < w; j++) {
                        double d = row[j] - m[j];
                        sq[j] += d * d;
                    }
                }
            } else {
                for (int n = 0; n < N; n++)
                    for (int c = c0; c < c1; c++)
                        for (int s = 0; s < S; s++) {
                            double d = x[NNC_BN_AT(n, c, s)] - m[c - c0];
                            sq[c - c0] += d * d;
                        }
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
        if (S == 1) {  /* dense: normalize row pieces, vectorizable across the block */
            for (int n = 0; n < N; n++) {
                size_t base = (size_t)n * C;
                for (int c = c0; c < c1; c++) {
                    NNC_T h = (x[base + c] - mean[c]) * inv_std[c];
                    xhat[base + c] = h;
                    out[base + c] = gamma[c] * h + beta[c];
                }
            }
        } else {
            for (int n = 0; n < N; n++)
                for (int c = c0; c < c1; c++) {
                    NNC_T m = mean[c], is = inv_std[c], g = gamma[c], b = beta[c];
                    for (int s = 0; s < S; s++) {
                        size_t i = NNC_BN_AT(n, c, s);
                        NNC_T h = (x[i] - m) * is;
                        xhat[i] = h;
                        out[i] = g * h + b;
                    }
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
        if ((size_t)N * C * S > NNC_OMP_MIN && nblocks > 1)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * cb, c1 = c0 + cb < C ? c0 + cb : C;
        double sb[NNC_BN_MAXBLOCK] = {0}, sg[NNC_BN_MAXBLOCK] = {0};
        if (S == 1) {  /* dense (N, C): contiguous row pieces, vectorizable across the block */
            int w = c1 - c0;
            for (int n = 0; n < N; n++) {
                const NNC_T *g = dout + (size_t)n * C + c0, *h = xhat + (size_t)n * C + c0;
                for (int j = 0; j < w; j++) {
                    sb[j] += g[j];
                    sg[j] += (double)g[j] * h[j];
                }
            }
        } else {
            for (int n = 0; n < N; n++)
                for (int c = c0; c < c1; c++)
                    for (int s = 0; s < S; s++) {
                        size_t i = NNC_BN_AT(n, c, s);
                        sb[c - c0] += dout[i];
                        sg[c - c0] += (double)dout[i] * xhat[i];
                    }
        }
        for (int c = c0; c < c1; c++) {
            dbeta[c] = (NNC_T)sb[c - c0];
            dgamma[c] = (NNC_T)sg[c - c0];
        }
        if (S == 1) {  /* dense: dx row pieces, vectorizable across the block */
            NNC_T k[NNC_BN_MAXBLOCK], db[NNC_BN_MAXBLOCK], dg[NNC_BN_MAXBLOCK];
            int w = c1 - c0;
            for (int j = 0; j < w; j++) {
                k[j] = gamma[c0 + j] * inv_std[c0 + j] / (training ? M : 1);
                db[j] = training ? dbeta[c0 + j] : 0;
                dg[j] = training ? dgamma[c0 + j] : 0;
            }
            NNC_T scale = training ? M : 1;
            for (int n = 0; n < N; n++) {
                size_t base = (size_t)n * C + c0;
                for (int j = 0; j < w; j++)
                    dx[base + j] = k[j] * (scale * dout[base + j] - db[j] - xhat[base + j] * dg[j]);
            }
            continue;
        }
        for (int n = 0; n < N; n++)
            for (int c = c0; c < c1; c++) {
                NNC_T k = gamma[c] * inv_std[c];
                if (training) {
                    NNC_T db = dbeta[c], dg = dgamma[c];
                    k /= M;
                    for (int s = 0; s < S; s++) {
                        size_t i = NNC_BN_AT(n, c, s);
                        dx[i] = k * (M * dout[i] - db - xhat[i] * dg);
                    }
                } else {
                    for (int s = 0; s < S; s++) {
                        size_t i = NNC_BN_AT(n, c, s);
                        dx[i] = k * dout[i];
                    }
                }
            }
    }
}
