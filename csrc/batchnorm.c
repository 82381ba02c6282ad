#include "batchnorm.h"
#include "nnc_math.h"  /* NNC_TARGET_CLONES */

#define NNC_BODY "batchnorm_body.h"
#include "nnc_instantiate.h"
