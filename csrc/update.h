/* update.h: the in-place parameter update of the optimizers, y += alpha * x over n elements.
 * x and y: C-contiguous, same dtype, n elements each, not overlapping (checked by the Cython caller). */
#ifndef NNC_UPDATE_H
#define NNC_UPDATE_H

#include <stddef.h>

void nnc_axpy_f32(ptrdiff_t n, double alpha, const float *x, float *y, int nthreads);
void nnc_axpy_f64(ptrdiff_t n, double alpha, const double *x, double *y, int nthreads);

#endif
