/* im2col / col2im and the small per-image helpers of the convolution (layout: see im2col.h). */
#include "im2col.h"
#include "nnc_math.h"  /* NNC_TARGET_CLONES */

/* First output index o >= 0 with o*s >= a, i.e. ceil(a / s) clamped at 0 (a may be negative). */
static inline int nnc_first_at_least(int a, int s)
{
    return a <= 0 ? 0 : (a + s - 1) / s;
}

/* The output positions ow whose input column iw = ow*s - p + j*d falls inside [0, W):
 * [lo, hi) clamped to [0, Wo). Computed once per kernel tap, so the inner loop has no bounds tests. */
static inline void nnc_valid_range(int W, int Wo, int s, int p, int jd, int *lo, int *hi)
{
    int a = nnc_first_at_least(p - jd, s);
    int b = nnc_first_at_least(W + p - jd, s);
    *lo = a < Wo ? a : Wo;
    *hi = b < Wo ? b : Wo;
    if (*hi < *lo)
        *hi = *lo;
}

/* Stride 1 with 'same' width: the valid output rows [oh_lo, oh_hi) of a kernel tap are the cells
 * [q0, q1) of one flat row of the columns, cell q reading pixel q + shift of the plane (H*W cells).
 * Clip the span to the cells whose pixel lies inside the plane (the others are border cells, zeroed
 * by the caller); it can come out empty: a 1-wide image with a wide padded kernel. */
static inline void nnc_shifted_span(int H, int W, int oh_lo, int oh_hi, long shift, long *q0, long *q1)
{
    *q0 = (long)oh_lo * W;
    *q1 = (long)oh_hi * W;
    if (*q0 + shift < 0)
        *q0 = -shift;
    if (*q1 + shift > (long)H * W)
        *q1 = (long)H * W - shift;
}

#define NNC_BODY "im2col_body.h"
#include "nnc_instantiate.h"
