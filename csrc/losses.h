/* losses.h: loss kernels. A forward writes the loss of each sample into rowloss[N] (double, one
 * row per thread iteration, the row summed in order) and returns the sum of rowloss over
 * n = 0..N-1 in order: the same bits for any thread count. The caller divides to get the mean.
 * A backward writes d(loss sum)/d(output) times `scale` (the caller's 1/N or 1/(N*M)).
 *
 * Assumed checked by the Cython caller (nnc/backend/_checks.py): C-contiguous arrays of one dtype,
 * N > 0, M > 0, K > 0, labels in [0, K) in the forward (the backward checks them as it reads them),
 * targets finite, eps in (0, 0.5), delta > 0. */
#ifndef NNC_LOSSES_H
#define NNC_LOSSES_H

#include <stddef.h>
#include <stdint.h>

/* Elementwise losses on output y and target t viewed as (N, M); loss of a sample = sum over its M
 * elements of l(y, t):
 *   MSE        (y - t)^2
 *   MAE        |y - t|
 *   HUBER      r^2 / 2 if |r| <= delta else delta (|r| - delta / 2),  r = y - t,  param = delta
 *   BCE        -(t log p + (1 - t) log(1 - p)),  p = clip(y, eps, 1 - eps),  param = eps
 *   BCE_LOGITS max(y, 0) - y t + log1p(exp(-|y|))   (= BCE of sigmoid(y), without overflow)
 *   CCE        -t log p,  p = clip(y, eps, 1 - eps),  param = eps
 *   KL         tc log(tc / p),  tc = clip(t, eps, 1), p = clip(y, eps, 1),  param = eps
 * The gradient of a clipped loss is 0 where y lies outside the clip range (the derivative of
 * the clipped function; inside the range, boundaries included, it is the formula's). */
typedef enum {
    NNC_LOSS_MSE = 0,
    NNC_LOSS_MAE,
    NNC_LOSS_HUBER,
    NNC_LOSS_BCE,
    NNC_LOSS_BCE_LOGITS,
    NNC_LOSS_CCE,
    NNC_LOSS_KL
} nnc_elem_loss_kind;

double nnc_elem_loss_forward_f32(int kind, const float *y, const float *t, int N, ptrdiff_t M, double param,
                                 double *rowloss, int nthreads);
double nnc_elem_loss_forward_f64(int kind, const double *y, const double *t, int N, ptrdiff_t M, double param,
                                 double *rowloss, int nthreads);
/* dy[i] = scale * dl/dy (y[i], t[i]) for the n = N * M elements. */
void nnc_elem_loss_backward_f32(int kind, const float *y, const float *t, ptrdiff_t n, double param, double scale,
                                float *dy, int nthreads);
void nnc_elem_loss_backward_f64(int kind, const double *y, const double *t, ptrdiff_t n, double param, double scale,
                                double *dy, int nthreads);

/* Losses on scores s (N, K) with integer class ids labels (N,):
 *   CCE         -log clip(s[y], eps, 1 - eps)                       param = eps
 *   HINGE_WW    sum_{j != y} max(0, s_j - s_y + delta)  (Weston-Watkins)   param = delta
 *   HINGE_OVA   sum_j max(0, 1 - t_j s_j),  t_j = +1 if j == y else -1 (one-vs-all)
 * Hinge subgradients take 0 at the kink (a margin exactly 0 contributes nothing).
 * NaN in, NaN out (nnc/backend/_checks.py): a NaN anywhere in a row makes its loss NaN, and its
 * gradient NaN wherever the formula reads it (a NaN margin is neither active nor inactive).
 * The forward assumes labels checked in [0, K) (the caller checked its input). The backward reads
 * them from a cache, so it checks each as it reads it: rows with a label outside [0, K) are skipped
 * (left unwritten) and counted, and the count is returned (0: all good) for the caller to raise. */
typedef enum {
    NNC_LABEL_CCE = 0,
    NNC_LABEL_HINGE_WW,
    NNC_LABEL_HINGE_OVA
} nnc_label_loss_kind;

double nnc_label_loss_forward_f32(int kind, const float *s, const int64_t *labels, int N, int K, double param,
                                  double *rowloss, int nthreads);
double nnc_label_loss_forward_f64(int kind, const double *s, const int64_t *labels, int N, int K, double param,
                                  double *rowloss, int nthreads);
ptrdiff_t nnc_label_loss_backward_f32(int kind, const float *s, const int64_t *labels, int N, int K, double param,
                                      double scale, float *ds, int nthreads);
ptrdiff_t nnc_label_loss_backward_f64(int kind, const double *s, const int64_t *labels, int N, int K, double param,
                                      double scale, double *ds, int nthreads);

/* Fused softmax cross-entropy on logits z (N, K). Exactly one of t (N, K target rows) and labels
 * (N,) is non-NULL. prob (N, K) receives softmax(z) for the backward pass.
 *   loss_n = sum_k t_k (logsumexp(z_n) - z_nk)      (labels: logsumexp(z_n) - z_ny)
 * computed as log(sum_k exp(z_k - m)) - (z_k - m), m the row max: stable for logits ~1e4. */
double nnc_softmax_ce_forward_f32(const float *z, const float *t, const int64_t *labels, int N, int K,
                                  float *prob, double *rowloss, int nthreads);
double nnc_softmax_ce_forward_f64(const double *z, const double *t, const int64_t *labels, int N, int K,
                                  double *prob, double *rowloss, int nthreads);
/* dz = scale * (prob * sum_k t_k - t)   (= scale * (prob - onehot) for labels or rows summing to 1).
 * With labels: each is checked as it is read, like nnc_label_loss_backward; returns the count outside [0, K). */
ptrdiff_t nnc_softmax_ce_backward_f32(const float *prob, const float *t, const int64_t *labels, int N, int K,
                                      double scale, float *dz, int nthreads);
ptrdiff_t nnc_softmax_ce_backward_f64(const double *prob, const double *t, const int64_t *labels, int N, int K,
                                      double scale, double *dz, int nthreads);

#endif
