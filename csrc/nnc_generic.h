/* nnc_generic.h: write a kernel body once, get a float and a double version.
 *
 * A family keeps its loops in a body file (e.g. dense_body.h) that uses
 *   NNC_T         the element type (float or double)
 *   NNC_FN(name)  the function name with the type suffix: name_f32 or name_f64
 * and its .c file instantiates it with
 *   #define NNC_BODY "dense_body.h"
 *   #include "nnc_instantiate.h"
 * There are no hand-kept float/double copies anywhere in csrc/.
 */
#ifndef NNC_GENERIC_H
#define NNC_GENERIC_H

#include <stddef.h>

#define NNC_CAT_(a, b) a##_##b
#define NNC_CAT(a, b) NNC_CAT_(a, b)
#define NNC_FN(name) NNC_CAT(name, NNC_SFX)

/* Below this many elements an OpenMP team costs more than it saves. Waking a team of threads that sleep
 * while they wait (OMP_WAIT_POLICY=PASSIVE, nnc's default) costs about as much as simple arithmetic on a
 * couple of hundred thousand elements (benchmarks/README.md). Used as `if(n > NNC_OMP_MIN)`. */
#define NNC_OMP_MIN 262144

/* The kernels that only stream memory with a compare or a multiply per element (ReLU-like activations, the
 * pools) take 25-45 us for 300,000 floats on one thread, less than a passive team's wake-up costs them:
 * one thread and two break even near a million elements (benchmarks/README.md), so they go parallel from
 * this many. */
#define NNC_OMP_MIN_STREAM 1048576

/* Fixed chunk for reductions that must not depend on the thread count: partial sums are taken over
 * chunks of this many rows and combined in chunk order, so 1, 2 or 16 threads give the same bits. */
#define NNC_REDUCE_CHUNK 256

#endif
