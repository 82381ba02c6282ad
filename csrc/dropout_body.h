/* Body of csrc/dropout.c, instantiated for float and double (see nnc_generic.h). */

void NNC_FN(nnc_dropout_apply)(const NNC_T *x, const unsigned char *keep, NNC_T scale, size_t planes,
                               size_t plane_size, NNC_T *out, int nthreads)
{
    /* Element-wise, no reduction: any split over planes gives the same bits. The signed loop
     * index keeps the OpenMP loop form that every compiler accepts. */
    long long np_ = (long long)planes;
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if (planes * plane_size > NNC_OMP_MIN)
    for (long long p = 0; p < np_; p++) {
        const NNC_T *xp = x + (size_t)p * plane_size;
        NNC_T *op = out + (size_t)p * plane_size;
        if (keep[p]) {
            for (size_t s = 0; s < plane_size; s++)
                op[s] = xp[s] * scale;
        } else {
            for (size_t s = 0; s < plane_size; s++)
                op[s] = 0;
        }
    }
}
