/* Pooling kernels (see pool.h). */
#include "pool.h"

/* GCC will not turn a float comparison into a vector select while it assumes comparisons may trap
 * (-ftrapping-math, the default). nnc never reads the FP exception flags, and the results are the
 * same bits either way (this is not -ffast-math: no reassociation, NaN and inf kept), so the 2x2
 * max-pool loop says so for itself and vectorizes. Other compilers get the plain loop. */
#if defined(__GNUC__) && !defined(__clang__)
#define NNC_NO_TRAPPING_MATH __attribute__((optimize("no-trapping-math")))
#else
#define NNC_NO_TRAPPING_MATH
#endif

#define NNC_BODY "pool_body.h"
#include "nnc_instantiate.h"
