/* The optimizers' in-place update y += alpha * x (see update.h). */
#include "update.h"
#include "nnc_math.h"  /* NNC_TARGET_CLONES */

#define NNC_BODY "update_body.h"
#include "nnc_instantiate.h"
