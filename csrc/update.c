/* The optimizers' in-place updates (see update.h). */

/* Compiled with -ffp-contract=off -fno-math-errno (update.pyx's distutils line): no fused multiply-add,
 * so a*b + c is rounded twice, as NumPy does, and the native updates equal the reference's to the bit
 * whatever the CPU; no errno from sqrt (its argument is never negative here; a NaN passes through),
 * so that the sqrt loops vectorize. */
#include "update.h"
#include "nnc_math.h"  /* NNC_TARGET_CLONES, nnc_sqrt */

#define NNC_BODY "update_body.h"
#include "nnc_instantiate.h"
