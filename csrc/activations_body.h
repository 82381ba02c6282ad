/* Body of csrc/activations.c, instantiated for float and double (see nnc_generic.h).
 * The math of each activation is a one-line static function; the dispatch picks one of them
 * once, outside the element loop (a switch per element would stop the loop vectorizing). */
#include <string.h>

/* Stable logistic: exp is only ever taken of a non-positive number, so it cannot overflow. */
static inline NNC_T NNC_FN(sigmoid_)(NNC_T x)
{
    if (x >= 0)
        return 1 / (1 + exp(-x));
    NNC_T e = exp(x);
    return e / (1 + e);
}

/* log(1 + e^x) = log1p(e^-|x|) + max(x, 0): no overflow for large x, no lost digits for small. */
static inline NNC_T NNC_FN(softplus_)(NNC_T x)
{
    return log1p(exp(-fabs(x))) + (x > 0 ? x : 0);
}

/* Exact GELU, x * Phi(x) with Phi the standard normal CDF (PyTorch's default, not the tanh fit). */
static inline NNC_T NNC_FN(gelu_)(NNC_T x)
{
    return (NNC_T)0.5 * x * (1 + erf(x * (NNC_T)NNC_SQRT1_2));
}

/* d/dx [x Phi(x)] = Phi(x) + x phi(x). */
static inline NNC_T NNC_FN(gelu_grad_)(NNC_T x)
{
    NNC_T Phi = (NNC_T)0.5 * (1 + erf(x * (NNC_T)NNC_SQRT1_2));
    NNC_T phi = (NNC_T)NNC_INV_SQRT_2PI * exp((NNC_T)-0.5 * x * x);
    return Phi + x * phi;
}

#define NNC_ACT_LOOP(expr)                                                          \
    _Pragma("omp parallel for schedule(static) num_threads(nthreads) if(n > NNC_OMP_MIN)") \
    for (ptrdiff_t i = 0; i < n; i++) {                                             \
        NNC_T v = x[i];                                                             \
        out[i] = (expr);                                                            \
    }

void NNC_FN(nnc_act_forward)(int kind, const NNC_T *x, ptrdiff_t n, double alpha, NNC_T *out, int nthreads)
{
    const NNC_T a = (NNC_T)alpha;
    const NNC_T selu_a = (NNC_T)NNC_SELU_ALPHA, selu_s = (NNC_T)NNC_SELU_SCALE;
    switch (kind) {
    case NNC_ACT_IDENTITY:   memcpy(out, x, (size_t)n * sizeof(NNC_T)); break;
    case NNC_ACT_STEP:       NNC_ACT_LOOP(v >= 0 ? 1 : 0) break;  /* Heaviside with step(0) = 1 */
    case NNC_ACT_SIGMOID:    NNC_ACT_LOOP(NNC_FN(sigmoid_)(v)) break;
    case NNC_ACT_TANH:       NNC_ACT_LOOP(tanh(v)) break;
    case NNC_ACT_RELU:       NNC_ACT_LOOP(v > 0 ? v : 0) break;
    case NNC_ACT_LEAKY_RELU: NNC_ACT_LOOP(v > 0 ? v : a * v) break;
    case NNC_ACT_ELU:        NNC_ACT_LOOP(v > 0 ? v : a * expm1(v)) break;
    case NNC_ACT_SELU:       NNC_ACT_LOOP(selu_s * (v > 0 ? v : selu_a * expm1(v))) break;
    case NNC_ACT_GELU:       NNC_ACT_LOOP(NNC_FN(gelu_)(v)) break;
    case NNC_ACT_SWISH:      NNC_ACT_LOOP(v * NNC_FN(sigmoid_)(v)) break;
    case NNC_ACT_SOFTPLUS:   NNC_ACT_LOOP(NNC_FN(softplus_)(v)) break;
    case NNC_ACT_SOFTSIGN:   NNC_ACT_LOOP(v / (1 + fabs(v))) break;
    default: break;  /* unreachable: the Cython caller only passes known kinds */
    }
}
#undef NNC_ACT_LOOP

/* In the backward loop v = x[i], y = out[i], g = dout[i]. */
#define NNC_ACT_LOOP(expr)                                                          \
    _Pragma("omp parallel for schedule(static) num_threads(nthreads) if(n > NNC_OMP_MIN)") \
    for (ptrdiff_t i = 0; i < n; i++) {                                             \
        NNC_T v = x[i], y = out[i], g = dout[i];                                    \
        (void)v; (void)y;                                                           \
        dx[i] = (expr);                                                             \
    }

void NNC_FN(nnc_act_backward)(int kind, const NNC_T *x, const NNC_T *out, const NNC_T *dout, ptrdiff_t n,
                              double alpha, NNC_T *dx, int nthreads)
{
    const NNC_T a = (NNC_T)alpha;
    const NNC_T selu_a = (NNC_T)NNC_SELU_ALPHA, selu_s = (NNC_T)NNC_SELU_SCALE;
    switch (kind) {
    case NNC_ACT_IDENTITY:   memcpy(dx, dout, (size_t)n * sizeof(NNC_T)); break;
    case NNC_ACT_SIGMOID:    NNC_ACT_LOOP(g * y * (1 - y)) break;
    case NNC_ACT_TANH:       NNC_ACT_LOOP(g * (1 - y * y)) break;
    case NNC_ACT_RELU:       NNC_ACT_LOOP(v > 0 ? g : 0) break;           /* subgradient 0 at 0 */
    case NNC_ACT_LEAKY_RELU: NNC_ACT_LOOP(v > 0 ? g : a * g) break;
    case NNC_ACT_ELU:        NNC_ACT_LOOP(v > 0 ? g : g * (y + a)) break;  /* alpha e^x = y + alpha */
    case NNC_ACT_SELU:       NNC_ACT_LOOP(v > 0 ? selu_s * g : g * (y + selu_s * selu_a)) break;
    case NNC_ACT_GELU:       NNC_ACT_LOOP(g * NNC_FN(gelu_grad_)(v)) break;
    case NNC_ACT_SWISH: {    /* d/dx [x s(x)] = s + x s (1 - s) */
        NNC_ACT_LOOP(g * (NNC_FN(sigmoid_)(v) * (1 + v * (1 - NNC_FN(sigmoid_)(v))))) break;
    }
    case NNC_ACT_SOFTPLUS:   NNC_ACT_LOOP(g * NNC_FN(sigmoid_)(v)) break;
    case NNC_ACT_SOFTSIGN:   NNC_ACT_LOOP(g / ((1 + fabs(v)) * (1 + fabs(v)))) break;
    default: break;  /* NNC_ACT_STEP has no backward; the caller refuses it */
    }
}
#undef NNC_ACT_LOOP

void NNC_FN(nnc_prelu_forward)(const NNC_T *x, const NNC_T *alpha, int N, ptrdiff_t M, NNC_T *out, int nthreads)
{
    #pragma omp parallel for schedule(static) num_threads(nthreads) if((ptrdiff_t)N * M > NNC_OMP_MIN)
    for (int s = 0; s < N; s++) {
        const NNC_T *xs = x + (size_t)s * M;
        NNC_T *os = out + (size_t)s * M;
        for (ptrdiff_t m = 0; m < M; m++)
            os[m] = xs[m] > 0 ? xs[m] : alpha[m] * xs[m];
    }
}

void NNC_FN(nnc_prelu_backward)(const NNC_T *x, const NNC_T *alpha, const NNC_T *dout, int N, ptrdiff_t M,
                                NNC_T *dx, NNC_T *dalpha, int nthreads)
{
    /* Threads split the per-sample positions m into blocks; each block walks the batch in order,
     * so dalpha[m] is summed over s = 0..N-1 in the same order for any thread count (the
     * scheme of nnc_colsum in dense_body.h). */
    enum { BLOCK = 64 };
    ptrdiff_t nblocks = (M + BLOCK - 1) / BLOCK;
    #pragma omp parallel for schedule(static) num_threads(nthreads) \
        if((ptrdiff_t)N * M > NNC_OMP_MIN && nblocks > 1)
    for (ptrdiff_t blk = 0; blk < nblocks; blk++) {
        ptrdiff_t m0 = blk * BLOCK, m1 = m0 + BLOCK < M ? m0 + BLOCK : M;
        for (ptrdiff_t m = m0; m < m1; m++)
            dalpha[m] = 0;
        for (int s = 0; s < N; s++) {
            size_t off = (size_t)s * M;
            for (ptrdiff_t m = m0; m < m1; m++) {
                NNC_T v = x[off + m], g = dout[off + m];
                dx[off + m] = v > 0 ? g : alpha[m] * g;
                if (v <= 0)
                    dalpha[m] += g * v;
            }
        }
    }
}

void NNC_FN(nnc_softmax_forward)(const NNC_T *x, ptrdiff_t rows, int cols, NNC_T *out, int nthreads)
{
    #pragma omp parallel for schedule(static) num_threads(nthreads) if(rows * cols > NNC_OMP_MIN)
    for (ptrdiff_t r = 0; r < rows; r++) {
        const NNC_T *xr = x + (size_t)r * cols;
        NNC_T *o = out + (size_t)r * cols;
        NNC_T mx = xr[0];
        for (int k = 1; k < cols; k++)
            mx = xr[k] > mx ? xr[k] : mx;
        /* Subtracting the row max makes every exponent <= 0: no overflow, and the largest term
         * is exactly 1, so the sum is >= 1 and the division is safe. */
        NNC_T sum = 0;
        for (int k = 0; k < cols; k++) {
            o[k] = exp(xr[k] - mx);
            sum += o[k];
        }
        NNC_T inv = 1 / sum;
        for (int k = 0; k < cols; k++)
            o[k] *= inv;
    }
}

void NNC_FN(nnc_softmax_backward)(const NNC_T *out, const NNC_T *dout, ptrdiff_t rows, int cols, NNC_T *dx,
                                  int nthreads)
{
    #pragma omp parallel for schedule(static) num_threads(nthreads) if(rows * cols > NNC_OMP_MIN)
    for (ptrdiff_t r = 0; r < rows; r++) {
        const NNC_T *y = out + (size_t)r * cols, *g = dout + (size_t)r * cols;
        NNC_T *d = dx + (size_t)r * cols;
        NNC_T dot = 0;
        for (int k = 0; k < cols; k++)
            dot += g[k] * y[k];
        for (int k = 0; k < cols; k++)
            d[k] = y[k] * (g[k] - dot);
    }
}
