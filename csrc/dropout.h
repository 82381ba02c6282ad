/* dropout.h: apply an inverted-dropout mask. The mask itself is drawn in Python from the numpy
 * Generator the caller passes (so a seed fixes it, whatever the backend); C only applies it.
 *
 * x, out: `planes` contiguous planes of `plane_size` elements each (C order);
 * keep:   one byte per plane, 0 = dropped, 1 = kept.
 *   plain dropout:       planes = x.size, plane_size = 1 (one mask entry per element)
 *   spatial dropout 2D:  planes = N * C,  plane_size = H * W (whole channels dropped)
 * out[p, s] = keep[p] ? x[p, s] * scale : 0, with scale = 1 / (1 - rate). The backward pass is the
 * same operation on dout. out may not alias x. Sizes were checked by the Cython caller. */
#ifndef NNC_DROPOUT_H
#define NNC_DROPOUT_H

#include <stddef.h>

void nnc_dropout_apply_f32(const float *x, const unsigned char *keep, float scale, size_t planes,
                           size_t plane_size, float *out, int nthreads);
void nnc_dropout_apply_f64(const double *x, const unsigned char *keep, double scale, size_t planes,
                           size_t plane_size, double *out, int nthreads);

#endif
