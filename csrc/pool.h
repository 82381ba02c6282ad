/* pool.h: max and average pooling over NCHW planes, OpenMP over the N*C planes.
 *
 * x (N, C, H, W); out and argmax (N, C, Ho, Wo) with Ho = (H + 2ph - kh)/sh + 1 (integer division).
 * Padded cells: max pooling ignores them (each window is clipped to the image); average pooling counts
 * them as zeros (divides by kh*kw, PyTorch's count_include_pad=True).
 * argmax holds the flat index ih*W + iw of the first maximum in row-major window order (a NaN wins, as
 * numpy's argmax decides), so both backends break ties the same way.
 * Assumes the Cython caller checked (nnc/backend/_checks.py check_pool_window, the backward's whole cache
 * in _cache_checks.py): sizes positive with N*C*H*W, kh*kw and H + 2ph + sh (W likewise) <= INT_MAX,
 * ph <= kh/2 and pw <= kw/2 (every window holds a real cell), Ho, Wo >= 1, C-contiguous aligned
 * non-aliasing arrays.
 * Backward scatters overlap when stride < kernel, so threads split planes, never positions of one plane.
 */
#ifndef NNC_POOL_H
#define NNC_POOL_H

#include <stddef.h>

void nnc_maxpool2d_forward_f32(const float *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                               int ph, int pw, float *out, int *argmax, int nthreads);
void nnc_maxpool2d_forward_f64(const double *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                               int ph, int pw, double *out, int *argmax, int nthreads);
/* dx (NC, H, W) is overwritten (zeroed here, then dout scattered to the argmax cells, adding).
 * argmax is the one input no shape check can vouch for (a cache can be altered): an index outside
 * [0, H*W) is skipped, never written through, and counted; the return value is that count, and the
 * caller raises when it is not 0. */
ptrdiff_t nnc_maxpool2d_backward_f32(const float *dout, const int *argmax, int NC, int H, int W, int Ho, int Wo,
                                     float *dx, int nthreads);
ptrdiff_t nnc_maxpool2d_backward_f64(const double *dout, const int *argmax, int NC, int H, int W, int Ho, int Wo,
                                     double *dx, int nthreads);

void nnc_avgpool2d_forward_f32(const float *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                               int ph, int pw, float *out, int nthreads);
void nnc_avgpool2d_forward_f64(const double *x, int NC, int H, int W, int kh, int kw, int sh, int sw,
                               int ph, int pw, double *out, int nthreads);
/* dx (NC, H, W) is overwritten: every real cell of a window receives dout / (kh*kw), overlaps add. */
void nnc_avgpool2d_backward_f32(const float *dout, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                int ph, int pw, float *dx, int nthreads);
void nnc_avgpool2d_backward_f64(const double *dout, int NC, int H, int W, int kh, int kw, int sh, int sw,
                                int ph, int pw, double *dx, int nthreads);

/* out[p] = mean of plane p of x (NC, HW); dx[p, :] = dout[p] / HW. */
void nnc_global_avgpool2d_forward_f32(const float *x, int NC, int HW, float *out, int nthreads);
void nnc_global_avgpool2d_forward_f64(const double *x, int NC, int HW, double *out, int nthreads);
void nnc_global_avgpool2d_backward_f32(const float *dout, int NC, int HW, float *dx, int nthreads);
void nnc_global_avgpool2d_backward_f64(const double *dout, int NC, int HW, double *dx, int nthreads);

#endif
