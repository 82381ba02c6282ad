/* Include NNC_BODY twice: once for float (suffix _f32), once for double (suffix _f64).
 * See nnc_generic.h. No include guard on purpose. */
#include "nnc_generic.h"

#define NNC_T float
#define NNC_SFX f32
#include NNC_BODY
#undef NNC_T
#undef NNC_SFX

#define NNC_T double
#define NNC_SFX f64
#include NNC_BODY
#undef NNC_T
#undef NNC_SFX

#undef NNC_BODY
