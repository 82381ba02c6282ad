/* Pooling kernels (see pool.h). */
#include "pool.h"
#include "nnc_math.h"      /* NNC_TARGET_CLONES */

/* GCC will not turn a float comparison into a vector select while it assumes comparisons may trap
 * (-ftrapping-math, the default). nnc never reads the FP exception flags, and the results are the
 * same bits either way (this is not -ffast-math: no reassociation, NaN and inf kept), so the 2x2
 * max-pool loop says so for itself and vectorizes. Other compilers get the plain loop. */
#if defined(__GNUC__) && !defined(__clang__)
#define NNC_NO_TRAPPING_MATH __attribute__((optimize("no-trapping-math")))
#else
#define NNC_NO_TRAPPING_MATH
#endif

/* The cells of an H x W image under the window of output cell (oh, ow), clipped to the image: rows
 * [r0, r1), columns [c0, c1) (window kh x kw, stride sh, sw, padding ph, pw; the rest is padding). */
typedef struct { int r0, r1, c0, c1; } nnc_window;

static inline nnc_window nnc_pool_window(int oh, int ow, int H, int W, int kh, int kw, int sh, int sw, int ph,
                                         int pw)
{
    const int h0 = oh * sh - ph, w0 = ow * sw - pw;
    nnc_window win = {h0 > 0 ? h0 : 0, h0 + kh < H ? h0 + kh : H, w0 > 0 ? w0 : 0, w0 + kw < W ? w0 + kw : W};
    return win;
}

/* The output size of a pooling window over an H x W image, and whether it is the common 2x2 stride-2
 * unpadded case that the special loops take. */
typedef struct { int Ho, Wo, two_by_two; } nnc_pool_out;

static inline nnc_pool_out nnc_pool_output(int H, int W, int kh, int kw, int sh, int sw, int ph, int pw)
{
    nnc_pool_out po = {(H + 2 * ph - kh) / sh + 1, (W + 2 * pw - kw) / sw + 1,
                       kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0};
    return po;
}

#define NNC_BODY "pool_body.h"
#include "nnc_instantiate.h"
