/* Loss kernels, instantiated for float and double from losses_body.h.
 * <tgmath.h> makes log/exp/log1p/fabs follow the argument type (see activations.c). */
#include <tgmath.h>
#include "losses.h"
#include "nnc_math.h"

#define NNC_BODY "losses_body.h"
#include "nnc_instantiate.h"
