/* Activations, instantiated for float and double from activations_body.h.
 * nnc_math.h's nnc_exp_nonpos/nnc_expm1/nnc_log1p/nnc_tanh/nnc_fabs pick the vectorizable float version
 * or libm's double one from the argument type, so the body is written once. */
#include "activations.h"
#include "nnc_math.h"

/* Klambauer et al. 2017, "Self-Normalizing Neural Networks", eq. 14 (the values PyTorch uses). */
#define NNC_SELU_ALPHA 1.6732632423543772848170429916717
#define NNC_SELU_SCALE 1.0507009873554804934193349852946
#define NNC_GELU_TANH_C 0.044715   /* the cubic coefficient of GELU's tanh approximation */

/* The OpenMP threshold of a kind: the kinds whose loops compute an exp, tanh or erf per element go parallel
 * from NNC_OMP_MIN elements, those that only compare or multiply from NNC_OMP_MIN_STREAM (nnc_generic.h). */
static inline ptrdiff_t nnc_act_omp_min_(int kind)
{
    switch (kind) {
    case NNC_ACT_IDENTITY: case NNC_ACT_STEP: case NNC_ACT_RELU: case NNC_ACT_LEAKY_RELU: case NNC_ACT_SOFTSIGN:
        return NNC_OMP_MIN_STREAM;
    default:
        return NNC_OMP_MIN;
    }
}

#define NNC_BODY "activations_body.h"
#include "nnc_instantiate.h"
