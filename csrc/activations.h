/* activations.h: elementwise activations and softmax, forward and backward.
 *
 * The elementwise ones share one entry point per direction: `kind` (enum nnc_act_kind) picks the
 * function once, outside the loop, and each case is a plain loop over the n elements (any rank:
 * the caller passes the flat C-contiguous buffer). `alpha` is the slope/scale of leaky_relu and
 * elu and is ignored by the others.
 *
 * Assumed checked by the Cython caller (nnc/backend/_checks.py): pointers to C-contiguous arrays
 * of n elements (n > 0), one dtype, alpha in range; rows, cols, N, M positive and < INT_MAX. */
#ifndef NNC_ACTIVATIONS_H
#define NNC_ACTIVATIONS_H

#include <stddef.h>

typedef enum {
    NNC_ACT_IDENTITY = 0,
    NNC_ACT_STEP,        /* forward only */
    NNC_ACT_SIGMOID,
    NNC_ACT_TANH,
    NNC_ACT_RELU,
    NNC_ACT_LEAKY_RELU,
    NNC_ACT_ELU,
    NNC_ACT_SELU,
    NNC_ACT_GELU,
    NNC_ACT_SWISH,
    NNC_ACT_SOFTPLUS,
    NNC_ACT_SOFTSIGN,
    NNC_ACT_GELU_TANH
} nnc_act_kind;

/* out[i] = f(x[i]).  x, out: n elements. */
void nnc_act_forward_f32(int kind, const float *x, ptrdiff_t n, double alpha, float *out, int nthreads);
void nnc_act_forward_f64(int kind, const double *x, ptrdiff_t n, double alpha, double *out, int nthreads);

/* dx[i] = dout[i] * f'(x[i]); x and out are the forward's input and output (some derivatives
 * read one, some the other). Not defined for NNC_ACT_STEP (the caller refuses it). */
void nnc_act_backward_f32(int kind, const float *x, const float *out, const float *dout, ptrdiff_t n,
                          double alpha, float *dx, int nthreads);
void nnc_act_backward_f64(int kind, const double *x, const double *out, const double *dout, ptrdiff_t n,
                          double alpha, double *dx, int nthreads);

/* PReLU on x viewed as (N, M), M = elements per sample; alpha: (M,), already broadcast to one sample.
 * out[n, m] = x >= 0 ? x : alpha[m] * x  (x == 0 gives 0 either way). */
void nnc_prelu_forward_f32(const float *x, const float *alpha, int N, ptrdiff_t M, float *out, int nthreads);
void nnc_prelu_forward_f64(const double *x, const double *alpha, int N, ptrdiff_t M, double *out, int nthreads);

/* dx[n, m] = dout * (x > 0 ? 1 : alpha[m]);  dalpha[m] = sum_n (x <= 0 ? dout * x : 0), overwritten.
 * dalpha is summed over n = 0, 1, ..., N-1 in that order whatever the thread count. */
void nnc_prelu_backward_f32(const float *x, const float *alpha, const float *dout, int N, ptrdiff_t M,
                            float *dx, float *dalpha, int nthreads);
void nnc_prelu_backward_f64(const double *x, const double *alpha, const double *dout, int N, ptrdiff_t M,
                            double *dx, double *dalpha, int nthreads);

/* Softmax along the last axis of x viewed as (rows, cols): out[r, :] = exp(x[r, :] - max) / sum. */
void nnc_softmax_forward_f32(const float *x, ptrdiff_t rows, int cols, float *out, int nthreads);
void nnc_softmax_forward_f64(const double *x, ptrdiff_t rows, int cols, double *out, int nthreads);

/* dx[r, :] = out[r, :] * (dout[r, :] - sum_k dout[r, k] * out[r, k]). */
void nnc_softmax_backward_f32(const float *out, const float *dout, ptrdiff_t rows, int cols, float *dx, int nthreads);
void nnc_softmax_backward_f64(const double *out, const double *dout, ptrdiff_t rows, int cols, double *dx,
                              int nthreads);

#endif
