/* im2col.h: the column layout of nnc's convolution, decided once and written down here.
 *
 * Layout (Caffe's, per image):  for one image data_im (C, H, W) the columns are a matrix
 *     data_col (C*kh*kw, Ho*Wo),   row r = (c*kh + i)*kw + j,   column q = oh*Wo + ow,
 *     data_col[r, q] = data_im[c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]   (0 outside the image)
 * and for a batch the per-image matrices are stacked: (N, C*kh*kw, Ho*Wo).
 * With W reshaped to (C_out, C*kh*kw) the convolution of image n is one GEMM,
 *     out[n] (C_out, Ho*Wo) = W @ data_col[n],
 * whose result is already NCHW (no transpose). Why per image rather than batch-wide (C*kh*kw, N*Ho*Wo):
 *   - the column buffer is bounded by (threads x a few images), whatever the batch;
 *   - a 1x1 convolution with stride 1 and no padding needs no im2col at all (data_col[n] == x[n]);
 *   - OpenMP splits the batch with a workspace per thread, each GEMM on one BLAS thread.
 * The convolution puts the matrices of a small group of images side by side, (C*kh*kw, nb*Ho*Wo), so
 * that small images still make wide GEMMs: the _ld variants below write/read one image's block of
 * such a matrix (nnc/backend/native/conv.pyx says how nb is chosen).
 *
 * Sizes: Ho = (H + 2*ph - dh*(kh-1) - 1)/sh + 1 (integer division, PyTorch's meaning), same for Wo.
 * Every function assumes the Cython caller checked: all sizes positive, strides/dilations >= 1,
 * padding >= 0, the dilated kernel fits the padded input (Ho, Wo >= 1), H + 2*ph + sh and W + 2*pw + sw
 * <= INT_MAX (the rounded-up divisions by the stride stay in int), all products < INT_MAX per image;
 * pointers are C-contiguous, aligned and do not alias (nnc/backend/_checks.py check_window).
 *
 * The sizes travel as one nnc_conv_geom record (below), filled once by the Cython caller
 * (nnc/backend/native/_geom.pxd) and read by the C kernels and the Cython loops alike.
 */
#ifndef NNC_IM2COL_H
#define NNC_IM2COL_H

#include <stddef.h>

/* The geometry of one convolution: input (N, C, H, W), kernel (C_out, C, kh, kw), stride, padding per
 * side and dilation, output (N, C_out, Ho, Wo). The kernels below read the input, window and output
 * fields; the remaining ones describe how the Cython caller groups images for its GEMMs. */
typedef struct nnc_conv_geom {
    int N, C, H, W, C_out;
    int kh, kw, sh, sw, ph, pw, dh, dw;
    int Ho, Wo;
    int K, P;       /* C*kh*kw rows of the columns, Ho*Wo columns per image */
    int nb;         /* images per group (one GEMM) */
    int direct;     /* 1x1, stride 1, no padding: an image is its own column matrix */
    int dw_t;       /* the backward computes dW transposed (see conv.pyx, _dw_transposed) */
} nnc_conv_geom;

/* Serial, one image: data_im (C, H, W) -> columns (C*kh*kw, Ho*Wo) whose rows lie ld_col >= Ho*Wo
 * elements apart, fully overwritten: the columns of one image in a block of a wider matrix
 * (K, nb*Ho*Wo) that holds several images side by side, for one GEMM per group of images. Stride 1
 * with 'same' width (Wo == W) copies each row as one shifted block. Called from inside the OpenMP
 * loops of the convolution. */
void nnc_im2col_ld_f32(const float *data_im, const nnc_conv_geom *g, float *data_col, size_t ld_col);
void nnc_im2col_ld_f64(const double *data_im, const nnc_conv_geom *g, double *data_col, size_t ld_col);

/* Serial, one image: data_im (C, H, W) += the columns (rows ld_col apart, as im2col_ld) scattered back.
 * ACCUMULATES: overlapping windows add into the same pixel; the CALLER zeroes data_im first.
 * data_col is SCRATCH: its entries that fall on the padding are overwritten with 0 (they are dropped
 * anyway), which lets stride 1 'same' width add each row as one contiguous block. */
void nnc_col2im_ld_f32(float *data_col, size_t ld_col, const nnc_conv_geom *g, float *data_im);
void nnc_col2im_ld_f64(double *data_col, size_t ld_col, const nnc_conv_geom *g, double *data_im);

/* Batch versions, OpenMP over the N*C (image, channel) pairs: x (N, C, H, W) <-> cols (N, C*kh*kw, Ho*Wo).
 * Each pair owns kh*kw rows of cols and one plane of x, so col2im's accumulation has no races.
 * nnc_col2im_batch zeroes x itself (it overwrites x with the sum) and only reads cols. */
void nnc_im2col_batch_f32(const float *x, const nnc_conv_geom *g, float *cols, int nthreads);
void nnc_im2col_batch_f64(const double *x, const nnc_conv_geom *g, double *cols, int nthreads);
void nnc_col2im_batch_f32(const float *cols, const nnc_conv_geom *g, float *x, int nthreads);
void nnc_col2im_batch_f64(const double *cols, const nnc_conv_geom *g, double *x, int nthreads);

/* out[n, o, q] = b[o] (+=) for the bias of a convolution; out (N, C_out, P). Serial per image. */
void nnc_add_bias_planes_f32(const float *b, int C_out, int P, float *out_n);
void nnc_add_bias_planes_f64(const double *b, int C_out, int P, double *out_n);

/* db_n[o] = sum_q dout_n[o, q] for one image (vectors of partial sums, a fixed order: im2col_body.h);
 * dout_n (C_out, P), db_n (C_out,), overwritten.
 * Serial: the batch sum of these per-image partials is taken in image order by the caller. */
void nnc_plane_sums_f32(const float *dout_n, int C_out, int P, float *db_n);
void nnc_plane_sums_f64(const double *dout_n, int C_out, int P, double *db_n);

/* Between the group layout (C_out, nb*P) of a GEMM over nb images and NCHW (nb, C_out, P), serial:
 * unpack: out[n, o, q] = data[o, n*P + q] + b[o]  (b may be NULL: no bias);
 * pack:   data[o, n*P + q] = dout[n, o, q]. */
void nnc_unpack_images_f32(const float *data, int C_out, int nb, int P, const float *b, float *out);
void nnc_unpack_images_f64(const double *data, int C_out, int nb, int P, const double *b, double *out);
void nnc_pack_images_f32(const float *dout, int nb, int C_out, int P, float *data);
void nnc_pack_images_f64(const double *dout, int nb, int C_out, int P, double *data);

#endif
