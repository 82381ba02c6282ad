/* Pooling kernels (see pool.h). */
#include "pool.h"

#define NNC_BODY "pool_body.h"
#include "nnc_instantiate.h"
