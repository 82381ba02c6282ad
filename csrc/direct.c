/* Direct stride-1 convolution for small kernels over few channels (equations and contract: direct.h). */
#include "direct.h"
#include "nnc_generic.h"   /* NNC_OMP_MIN */
#include "nnc_math.h"      /* NNC_TARGET_CLONES */
#ifdef _OPENMP
#include <omp.h>
#endif

static inline int nnc_direct_thread_(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Row length of the padded copy: the output row in whole vectors, plus the kernel's reach. */
static inline size_t nnc_direct_ld_(const nnc_conv_geom *g, int itemsize)
{
    const int vl = NNC_DIRECT_VBYTES / itemsize;
    return (size_t)(g->Wo + vl - 1) / vl * vl + g->kw - 1;
}

size_t nnc_direct_image_values(const nnc_conv_geom *g, int itemsize)
{
    return (size_t)g->C * (g->H + 2 * g->ph) * nnc_direct_ld_(g, itemsize);
}

#define NNC_BODY "direct_body.h"
#include "nnc_instantiate.h"
