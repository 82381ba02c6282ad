/* Body of csrc/dense.c, instantiated for float and double (see nnc_generic.h). */
#include <string.h>

void NNC_FN(nnc_broadcast_rows)(const NNC_T *b, int rows, int cols, NNC_T *out, int nthreads)
{
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)rows * cols > NNC_OMP_MIN)
    for (int i = 0; i < rows; i++)
        memcpy(out + (size_t)i * cols, b, (size_t)cols * sizeof(NNC_T));
}

void NNC_FN(nnc_colsum)(const NNC_T *a, int rows, int cols, NNC_T *out, int nthreads)
{
    /* Threads split the columns into blocks; each block walks every row in order, so the sum
     * order of out[j] is i = 0, 1, ..., rows-1 for any thread count. Rows stay contiguous
     * inside a block, which keeps the inner loop vectorizable. */
    enum { BLOCK = 64 };
    int nblocks = (cols + BLOCK - 1) / BLOCK;
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if ((size_t)rows * cols > NNC_OMP_MIN && nblocks > 1)
    for (int blk = 0; blk < nblocks; blk++) {
        int j0 = blk * BLOCK;
        int j1 = j0 + BLOCK < cols ? j0 + BLOCK : cols;
        for (int j = j0; j < j1; j++)
            out[j] = 0;
        for (int i = 0; i < rows; i++) {
            const NNC_T *row = a + (size_t)i * cols;
            for (int j = j0; j < j1; j++)
                out[j] += row[j];
        }
    }
}
