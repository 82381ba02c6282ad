/* winograd.h: 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016).
 *
 * Each 2x2 block ("tile") of the output is computed from the 4x4 input patch under it:
 *     Y = A^T [ (G g G^T) (.) (B^T d B) ] A,    (.) the elementwise product,
 * 16 multiplications per input channel where the direct form needs 36. Over channels the elementwise
 * products become 16 matrix products, one per position xi of the 4x4 transformed patch:
 *     M[xi] (T, C_out) = V[xi] (T, C) @ U[xi] (C, C_out),   T tiles,
 * which nnc runs through BLAS like the im2col GEMM. The transforms around them move the data:
 *     U[xi][c][o]  = (G W[o, c] G^T)[xi]                          (filter, once per call)
 *     V[xi][t][c]  = (B^T d_t,c B)[xi], d the 4x4 input patch      (input, per group of images)
 *     out[n, o, 2ti + r, 2tj + s] = (A^T M_t,o A)[r, s] + b[o]      (output)
 * The weight gradient runs the same algorithm transposed, F(3x3, 2x2) (each 2x2 tile of dout against the
 * 4x4 input patch of its tile gives 3x3 values of dW[o, c], 16 multiplications where the direct form
 * needs 36), with the sums over the tiles in the transformed domain, one GEMM per xi:
 *     Ud[xi][t][o] = (A D_t,o A^T)[xi], D the 2x2 dout tile (dout transform, per group)
 *     Mw[xi] (C, C_out) = V[xi]^T (C, T) @ Ud[xi] (T, C_out), summed over the groups in order
 *     dW[o, c] = G^T Mw[., c, o] G        (4x4 -> 3x3, once per call)
 * dout cells beyond Ho, Wo (odd sizes) count as 0.
 * Tile t = (n * th + ti) * tw + tj of a group, th = ceil(Ho/2), tw = ceil(Wo/2). Patch cells outside the
 * image (padding) are 0; output cells beyond Ho, Wo (odd sizes) are dropped.
 * The caller checked: 3x3 kernel, stride 1, dilation 1, all sizes positive, Ho = H + 2ph - 2 >= 1 (same
 * for W), pointers C-contiguous and not overlapping. The input and output transforms are serial: the caller runs groups in parallel. */
#ifndef NNC_WINOGRAD_H
#define NNC_WINOGRAD_H

#include <stddef.h>

/* OpenMP over the input channels (each U value is computed once, by one thread). */
void nnc_wino_filter_f32(const float *W, int C_out, int C, float *U, int nthreads);
void nnc_wino_filter_f64(const double *W, int C_out, int C, double *U, int nthreads);

/* scratch: cnt*H*W*C + C values (the group channels-last, and a row of zeros for the padding). */
void nnc_wino_input_f32(const float *x, int cnt, int C, int H, int W, int ph, int pw, int th, int tw, float *V,
                        float *scratch);
void nnc_wino_input_f64(const double *x, int cnt, int C, int H, int W, int ph, int pw, int th, int tw, double *V,
                        double *scratch);

/* scratch: cnt * (2 th) * (2 tw) * C_out values (the output channels-last, in whole tiles). */
void nnc_wino_output_f32(const float *M, int cnt, int C_out, int th, int tw, int Ho, int Wo, const float *b,
                         float *out, float *scratch);
void nnc_wino_output_f64(const double *M, int cnt, int C_out, int th, int tw, int Ho, int Wo, const double *b,
                         double *out, double *scratch);

/* scratch: cnt*Ho*Wo*C_out + C_out values (the group's dout channels-last, and a row of zeros). */
void nnc_wino_dout_f32(const float *dout, int cnt, int C_out, int Ho, int Wo, int th, int tw, float *Ud,
                       float *scratch);
void nnc_wino_dout_f64(const double *dout, int cnt, int C_out, int Ho, int Wo, int th, int tw, double *Ud,
                       double *scratch);

/* M (16, C, C_out) -> dW (C_out, C, 3, 3). */
void nnc_wino_dw_f32(const float *M, int C, int C_out, float *dW);
void nnc_wino_dw_f64(const double *M, int C, int C_out, double *dW);

#endif
