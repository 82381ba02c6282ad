/* The optimizers' in-place updates (see update.h). */

/* No fused multiply-add (fp-contract): a*b + c rounded twice, as NumPy does, so the native updates
 * equal the reference's to the bit whatever the CPU. No errno from sqrt (its argument is never
 * negative here; a NaN passes through), so that the sqrt loops vectorize. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off", "no-math-errno")
#elif defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include "update.h"
#include "nnc_math.h"  /* NNC_TARGET_CLONES, nnc_sqrt */

#define NNC_BODY "update_body.h"
#include "nnc_instantiate.h"
