/* batchnorm.h: batch normalization (Ioffe & Szegedy 2015), forward and backward.
 *
 * Layout: x is seen as (N, C, S), C-contiguous: S = 1 for dense data (N, F) with C = F, and
 * S = H * W for images (N, C, H, W). Statistics are per channel c, over the N * S values
 * x[n, c, s]. Parameter arrays gamma, beta, running_mean, running_var, mean, var, inv_std,
 * dgamma, dbeta are (C,). All sizes positive and checked by the Cython caller (N * S and C fit in int).
 *
 * Determinism: every channel is summed by one thread, n = 0..N-1 then s = 0..S-1, in double;
 * threads only split the channels, so the result does not depend on the thread count. */
#ifndef NNC_BATCHNORM_H
#define NNC_BATCHNORM_H

/* training != 0:  mean, var = batch mean and biased variance of x (written to mean, var);
 *                 running_mean = momentum * running_mean + (1 - momentum) * mean   (in place; same
 *                 for var; Keras' convention, momentum = 0.99 keeps 99% of the old value).
 * training == 0:  mean, var = copies of running_mean, running_var (running stats untouched).
 * Then inv_std = 1 / sqrt(var + eps), xhat = (x - mean) * inv_std, out = gamma * xhat + beta. */
void nnc_batchnorm_forward_f32(const float *x, int N, int C, int S, const float *gamma, const float *beta,
                               float *running_mean, float *running_var, float momentum, float eps,
                               int training, float *mean, float *var, float *inv_std, float *xhat,
                               float *out, int nthreads);
void nnc_batchnorm_forward_f64(const double *x, int N, int C, int S, const double *gamma, const double *beta,
                               double *running_mean, double *running_var, double momentum, double eps,
                               int training, double *mean, double *var, double *inv_std, double *xhat,
                               double *out, int nthreads);

/* dbeta = sum dout, dgamma = sum dout * xhat (per channel), and with M = N * S
 *   training:   dx = gamma * inv_std / M * (M * dout - dbeta - xhat * dgamma)
 *   inference:  dx = gamma * inv_std * dout          (the statistics are constants then) */
void nnc_batchnorm_backward_f32(const float *dout, const float *xhat, int N, int C, int S, const float *gamma,
                                const float *inv_std, int training, float *dx, float *dgamma, float *dbeta,
                                int nthreads);
void nnc_batchnorm_backward_f64(const double *dout, const double *xhat, int N, int C, int S,
                                const double *gamma, const double *inv_std, int training, double *dx,
                                double *dgamma, double *dbeta, int nthreads);

#endif
