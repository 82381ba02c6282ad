/* direct.h: stride-1 convolution computed directly, for the layers im2col serves badly.
 *
 * A layer with few input channels and a small kernel (the first layer of a network on grey images:
 * C = 1, 5x5, K = C*kh*kw = 25) makes im2col write K copies of every pixel, and the GEMM that follows
 * has a reduction of 25 and a handful of output channels: both are bound by memory, not arithmetic.
 * Here every output row is built in vector registers from shifted rows of the zero-padded image:
 *     out[n, o, oh, ow] = b[o] + sum_{c, i, j} W[o, c, i, j] xp[n, c, oh + i, ow + j]
 *     dW[o, c, i, j]    = sum_{n, oh, ow} dout[n, o, oh, ow] xp[n, c, oh + i, ow + j]
 * xp the input padded by (ph, pw) zeros on each side. The input gradient is the forward of dout padded
 * by (kh-1-ph, kw-1-pw) with W flipped and its channel axes swapped (conv.pyx does that).
 *
 * Vectors run along ow, a row at a time, NNC_DIRECT_VBYTES bytes wide (16 floats, 8 doubles); the
 * padded copy is wide enough that a vector read past the row end stays inside it, and the lanes past
 * Wo are never summed or stored, so what they hold cannot reach a result.
 *
 * Determinism: every output value and every dW lane is computed by one thread, in a fixed order (dW: over
 * the images, then the rows; then the vector blocks and the lanes of a row in order), so the bits do not
 * depend on the thread count.
 *
 * The caller checked (nnc/backend/_checks.py check_conv, conv.pyx use_direct): stride 1, dilation 1,
 * kw == 5 for the weight gradient (any for the forward), all sizes positive, Ho = H + 2ph - kh + 1 >= 1 (same for W), the
 * products below < INT_MAX per image, pointers C-contiguous and not overlapping, and the scratch sizes
 * given by nnc_direct_scratch.
 */
#ifndef NNC_DIRECT_H
#define NNC_DIRECT_H

#include <stddef.h>
#include "im2col.h"   /* nnc_conv_geom */

#define NNC_DIRECT_VBYTES 64
#define NNC_DIRECT_KW 5     /* the kernel width of the weight gradient (5x5 only: 3x3 is faster by im2col) */

/* Values of scratch per image of the padded copy: C * (H + 2ph) * ld, ld = Wo rounded up to whole
 * vectors + kw - 1 (itemsize: 4 or 8). The forward wants one image per thread, the weight gradient one
 * per image of a chunk. */
size_t nnc_direct_image_values(const nnc_conv_geom *g, int itemsize);

/* out (N, C_out, Ho, Wo) = the convolution of x (N, C, H, W) with W (C_out, C, kh, kw), + b unless b is
 * NULL. OpenMP over the images; scratch: nthreads * nnc_direct_image_values values. */
void nnc_direct_forward_f32(const float *x, const nnc_conv_geom *g, const float *W, const float *b, float *out,
                            float *scratch, int nthreads);
void nnc_direct_forward_f64(const double *x, const nnc_conv_geom *g, const double *W, const double *b,
                            double *out, double *scratch, int nthreads);

/* Values of scratch the weight gradient wants: chunk padded images and every task's accumulators. */
size_t nnc_direct_dw_scratch_f32(const nnc_conv_geom *g, int chunk);
size_t nnc_direct_dw_scratch_f64(const nnc_conv_geom *g, int chunk);

/* dW (C_out, C, kh, kw) = the weight gradient of dout (N, C_out, Ho, Wo) against x (N, C, H, W),
 * overwritten. The images are taken chunk images at a time (padded into scratch, on the calling thread);
 * OpenMP over groups of the tasks (o block, c, i), the rows of dW, contiguous and of about equal work (output
 * channels), taken dynamically, each group taking a few images through all of its tasks at a time.
 * Unless dx is NULL, the same team also computes dx (N, C, H, W) = the direct forward of dout with the
 * flipped kernel Wf (C, C_out, kh, kw) in the geometry gx (padding kh-1-ph, kw-1-pw), dx_scratch holding
 * nthreads * nnc_direct_image_values(gx) values. */
void nnc_direct_dw_f32(const float *x, const float *dout, const nnc_conv_geom *g, float *dW, float *scratch,
                       int chunk, const nnc_conv_geom *gx, const float *Wf, float *dx, float *dx_scratch,
                       int nthreads);
void nnc_direct_dw_f64(const double *x, const double *dout, const nnc_conv_geom *g, double *dW, double *scratch,
                       int chunk, const nnc_conv_geom *gx, const double *Wf, double *dx, double *dx_scratch,
                       int nthreads);

#endif
