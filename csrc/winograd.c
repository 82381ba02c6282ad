/* Winograd F(2x2, 3x3) transforms of the 3x3 stride-1 convolution (see winograd.h). */
#include "winograd.h"
#include "nnc_math.h"  /* NNC_TARGET_CLONES */

#define NNC_BODY "winograd_body.h"
#include "nnc_instantiate.h"
