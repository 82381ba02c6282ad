#include "batchnorm.h"

#define NNC_BODY "batchnorm_body.h"
#include "nnc_instantiate.h"
