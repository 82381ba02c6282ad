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
            double sum[NNC_BN_MAXBLOCK] = {0}, sq[NNC_BN_MAXBLOCK] = {0};
            for (int n = 0; n < N; n++)
                for (int c = c0; c < c1; c++)
                    for (int s = 0; s < S; s++)
                        sum[c - c0] += x[NNC_BN_AT(n, c, s)];
            /* Two passes (mean first, then squared deviations): E[x^2] - E[x]^2 cancels badly. */
            for (int n = 0; n < N; n++)
                for (int c = c0; c < c1; c++) {
                    double m = sum[c - c0] / M;
                    for (int s = 0; s < S; s++) {
                        double d = x[NNC_BN_AT(n, c, s)] - m;
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
        for (int n = 0; n < N; n++)
            for (int c = c0; c < c1; c++)
                for (int s = 0; s < S; s++) {
                    size_t i = NNC_BN_AT(n, c, s);
                    sb[c - c0] += dout[i];
                    sg[c - c0] += (double)dout[i] * xhat[i];
                }
        for (int c = c0; c < c1; c++) {
            dbeta[c] = (NNC_T)sb[c - c0];
            dgamma[c] = (NNC_T)sg[c - c0];
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
