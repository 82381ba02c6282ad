/* Activations, instantiated for float and double from activations_body.h.
 * nnc_math.h's nnc_exp_nonpos/nnc_expm1/nnc_log1p/nnc_tanh/nnc_fabs pick the vectorizable float version
 * or libm's double one from the argument type, so the body is written once. */
#include "activations.h"
#include "nnc_math.h"

/* Klambauer et al. 2017, "Self-Normalizing Neural Networks", eq. 14 (the values PyTorch uses). */
#define NNC_SELU_ALPHA 1.6732632423543772848170429916717
#define NNC_SELU_SCALE 1.0507009873554804934193349852946
#define NNC_GELU_TANH_C 0.044715   /* the cubic coefficient of GELU's tanh approximation */

#define NNC_BODY "activations_body.h"
#include "nnc_instantiate.h"
