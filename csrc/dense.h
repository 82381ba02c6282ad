/* dense.h: helpers of the dense (affine) kernels y = x @ W + b. The GEMMs themselves go through BLAS
 * (nnc/backend/native/_blas.pyx); these are the row broadcast and the column reduction around them.
 * All arrays are C-contiguous row-major; sizes were checked by the Cython caller (positive, < INT_MAX). */
#ifndef NNC_DENSE_H
#define NNC_DENSE_H

/* out[i, j] = b[j] for i < rows, j < cols.  b: (cols,), out: (rows, cols). */
void nnc_broadcast_rows_f32(const float *b, int rows, int cols, float *out, int nthreads);
void nnc_broadcast_rows_f64(const double *b, int rows, int cols, double *out, int nthreads);

/* out[j] = sum_i a[i, j].  a: (rows, cols), out: (cols,), overwritten.
 * Deterministic: rows are summed in a fixed order whatever the thread count. */
void nnc_colsum_f32(const float *a, int rows, int cols, float *out, int nthreads);
void nnc_colsum_f64(const double *a, int rows, int cols, double *out, int nthreads);

#endif
