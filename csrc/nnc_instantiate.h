/* Include NNC_BODY twice: once for float (suffix _f32), once for double (suffix _f64).
 * See nnc_generic.h. No include guard on purpose. */
#include "nnc_generic.h"

#define NNC_T float
#define NNC_SFX f32
#define NNC_BITS int32_t    /* an integer as wide as NNC_T, for bit tricks */
#include NNC_BODY
#undef NNC_T
#undef NNC_SFX
#undef NNC_BITS

#define NNC_T double
#define NNC_SFX f64
#define NNC_BITS int64_t
#include NNC_BODY
#undef NNC_T
#undef NNC_SFX
#undef NNC_BITS

#undef NNC_BODY
