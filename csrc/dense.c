#include "dense.h"

#define NNC_BODY "dense_body.h"
#include "nnc_instantiate.h"
