/* Small helpers every kernel family shares, written once for float and double: nnc_math.h
 * instantiates this body through nnc_instantiate.h (NNC_T, NNC_FN, NNC_BITS). No include guard on purpose. */

/* c ? a : b without a branch. GCC turns `c ? a : a * b` into a branch it will not if-convert
 * (under the default -ftrapping-math the product may not run speculatively), and such a loop does
 * not vectorize; a select written with integer masks always does. Use it wherever an arm of a
 * select does floating-point arithmetic. */
static inline NNC_T NNC_FN(nnc_select)(int c, NNC_T a, NNC_T b)
{
    NNC_BITS ia, ib, m = -(NNC_BITS)(c != 0);
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    ia = (ia & m) | (ib & ~m);
    memcpy(&a, &ia, sizeof a);
    return a;
}

/* The largest of x[0..n-1], n >= 1: the shift of a softmax row (activations and the fused softmax
 * cross-entropy), so that every exponent is <= 0. A SIMD reduction: the maximum of numbers does
 * not depend on the order. */
static inline NNC_T NNC_FN(nnc_row_max)(const NNC_T *x, int n)
{
    NNC_T mx = x[0];
    #pragma omp simd reduction(max:mx)
    for (int k = 1; k < n; k++)
        mx = x[k] > mx ? x[k] : mx;
    return mx;
}
