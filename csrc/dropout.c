#include "dropout.h"

#define NNC_BODY "dropout_body.h"
#include "nnc_instantiate.h"
