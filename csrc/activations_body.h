/* Body of csrc/activations.c, instantiated for float and double (see nnc_generic.h).
 * The math of each activation is a one-line static function; the dispatch picks one of them
 * once, outside the element loop (a switch per element would stop the loop vectorizing). */

/* Each activation is a short static inline function over one element, written without branches:
 * both arms of a select are computed, then nnc_select (nnc_math.h) picks one. A branch per element
 * neither vectorizes nor predicts (on random data it made leaky_relu many times slower than relu). */

/* Stable logistic: e = exp(-|x|) is in (0, 1], so nothing overflows, and for x < 0 the result
 * e / (1 + e) keeps its relative accuracy down to the denormals. */
static inline NNC_T NNC_FN(sigmoid_)(NNC_T x)
{
    NNC_T e = nnc_exp_nonpos(-nnc_fabs(x));
    NNC_T s = 1 / (1 + e);
    NNC_T es = e * s;
    return nnc_select(x >= 0, s, es);
}

/* log(1 + e^x) = log1p(e^-|x|) + max(x, 0): no overflow for large x, no lost digits for small. */
static inline NNC_T NNC_FN(softplus_)(NNC_T x)
{
    NNC_T pos = x > 0 ? x : 0;
    return nnc_log1p(nnc_exp_nonpos(-nnc_fabs(x))) + pos;
}

/* alpha (e^x - 1) for x <= 0, x above: elu, and selu without its scale. */
static inline NNC_T NNC_FN(elu_)(NNC_T x, NNC_T alpha)
{
    NNC_T neg = alpha * nnc_expm1(x);
    return nnc_select(x > 0, x, neg);
}

/* Phi(x), the standard normal CDF: the tail Phi(-|x|) below 0 and one minus it above, so the left tail
 * (where GELU's output lives for negative x) keeps its relative accuracy instead of cancelling in 1 + erf. */
static inline NNC_T NNC_FN(Phi_)(NNC_T x)
{
    NNC_T e = nnc_normal_tail(nnc_fabs(x));
    return nnc_select(x < 0, e, 1 - e);
}

/* Exact GELU, x * Phi(x) (PyTorch's default, not the tanh fit). */
static inline NNC_T NNC_FN(gelu_)(NNC_T x)
{
    return x * NNC_FN(Phi_)(x);
}

/* d/dx [x Phi(x)] = Phi(x) + x phi(x). */
static inline NNC_T NNC_FN(gelu_grad_)(NNC_T x)
{
    NNC_T Phi = NNC_FN(Phi_)(x);
    NNC_T phi = nnc_normal_pdf(x);      /* shares its exponential with Phi */
    return Phi + x * phi;
}

/* GELU's tanh approximation (Hendrycks & Gimpel 2016; PyTorch's approximate="tanh"):
 * 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as x sigmoid(2u), the same
 * function (1 + tanh(u) = 2 sigmoid(2u)) without the cancellation of 1 + tanh(u) in the left tail.
 * The cube overflows to inf beyond |x| ~ 1e13, where sigmoid(+-inf) is still the right limit. */
static inline NNC_T NNC_FN(gelu_tanh_u2_)(NNC_T x)
{
    return (NNC_T)(2 * NNC_SQRT_2_OVER_PI) * (x + (NNC_T)NNC_GELU_TANH_C * (x * x * x));
}

static inline NNC_T NNC_FN(gelu_tanh_)(NNC_T x)
{
    return x * NNC_FN(sigmoid_)(NNC_FN(gelu_tanh_u2_)(x));
}

/* d/dx [x s(v)], v = 2u: s + x s(v) s(-v) v', v' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2), where
 * s(v) s(-v) = e / (1 + e)^2 with e = exp(-|v|), so neither factor is a cancelling 1 - s. sigmoid_'s
 * lines are written out here: calling it for v and -v gave the same bits but ran slower. */
static inline NNC_T NNC_FN(gelu_tanh_grad_)(NNC_T x)
{
    NNC_T v = NNC_FN(gelu_tanh_u2_)(x);
    NNC_T e = nnc_exp_nonpos(-nnc_fabs(v));
    NNC_T d = 1 / (1 + e);
    NNC_T s = nnc_select(v >= 0, d, e * d);
    NNC_T dv = (NNC_T)(2 * NNC_SQRT_2_OVER_PI) * (1 + (NNC_T)(3 * NNC_GELU_TANH_C) * (x * x));
    return s + x * (e * d * d) * dv;
}

/* d/dx [x s(x)] = s + x s (1 - s). */
static inline NNC_T NNC_FN(swish_grad_)(NNC_T x)
{
    NNC_T s = NNC_FN(sigmoid_)(x);
    return s * (1 + x * (1 - s));
}

/* v > 0 ? pos : neg, both arms computed (see the comment at the top). */
static inline NNC_T NNC_FN(pick_)(NNC_T v, NNC_T pos, NNC_T neg) { return nnc_select(v > 0, pos, neg); }

/* r, or v itself where v is NaN: a gradient that only compares v (relu's, leaky's) is NaN for a NaN
 * input too (NaN in, NaN out: nnc/backend/_checks.py). Bits elsewhere are those of r. */
static inline NNC_T NNC_FN(nan_through_)(NNC_T v, NNC_T r) { return nnc_select(v != v, v, r); }

/* The element loops run on chunks of NNC_ACT_CHUNK elements: OpenMP splits the chunks over the
 * threads, and each chunk goes to a kernel compiled for the CPU found at load time
 * (NNC_TARGET_CLONES in nnc_math.h); the dispatch costs one indirect call per chunk. */
#ifndef NNC_ACT_CHUNK
#define NNC_ACT_CHUNK 4096
#endif

#define NNC_ACT_LOOP(expr)                                                          \
    _Pragma("omp simd")                                                             \
    for (ptrdiff_t i = 0; i < n; i++) {                                             \
        NNC_T v = x[i];                                                             \
        out[i] = (expr);                                                            \
    }

NNC_TARGET_CLONES
static void NNC_FN(act_forward_chunk_)(int kind, const NNC_T *x, ptrdiff_t n, NNC_T a, NNC_T *out)
{
    const NNC_T selu_a = (NNC_T)NNC_SELU_ALPHA, selu_s = (NNC_T)NNC_SELU_SCALE;
    switch (kind) {
    case NNC_ACT_IDENTITY:   NNC_ACT_LOOP(v) break;
    case NNC_ACT_STEP:       NNC_ACT_LOOP(v >= 0 ? 1 : (v < 0 ? 0 : v)) break;  /* step(0) = 1, NaN stays */
    case NNC_ACT_SIGMOID:    NNC_ACT_LOOP(NNC_FN(sigmoid_)(v)) break;
    case NNC_ACT_TANH:       NNC_ACT_LOOP(nnc_tanh(v)) break;
    case NNC_ACT_RELU:       NNC_ACT_LOOP(v <= 0 ? 0 : v) break;          /* NaN passes */
    case NNC_ACT_LEAKY_RELU: NNC_ACT_LOOP(NNC_FN(pick_)(v, v, a * v)) break;
    case NNC_ACT_ELU:        NNC_ACT_LOOP(NNC_FN(elu_)(v, a)) break;
    case NNC_ACT_SELU:       NNC_ACT_LOOP(selu_s * NNC_FN(elu_)(v, selu_a)) break;
    case NNC_ACT_GELU:       NNC_ACT_LOOP(NNC_FN(gelu_)(v)) break;
    case NNC_ACT_SWISH:      NNC_ACT_LOOP(v * NNC_FN(sigmoid_)(v)) break;
    case NNC_ACT_SOFTPLUS:   NNC_ACT_LOOP(NNC_FN(softplus_)(v)) break;
    case NNC_ACT_SOFTSIGN:   NNC_ACT_LOOP(v / (1 + nnc_fabs(v))) break;
    case NNC_ACT_GELU_TANH:  NNC_ACT_LOOP(NNC_FN(gelu_tanh_)(v)) break;
    default: break;  /* unreachable: the Cython caller only passes known kinds */
    }
}
#undef NNC_ACT_LOOP

void NNC_FN(nnc_act_forward)(int kind, const NNC_T *x, ptrdiff_t n, double alpha, NNC_T *out, int nthreads)
{
    ptrdiff_t nchunks = (n + NNC_ACT_CHUNK - 1) / NNC_ACT_CHUNK;
    #pragma omp parallel for schedule(static) num_threads(nthreads) if(n > nnc_act_omp_min_(kind))
    for (ptrdiff_t c = 0; c < nchunks; c++) {
        ptrdiff_t i0 = c * NNC_ACT_CHUNK, len = n - i0 < NNC_ACT_CHUNK ? n - i0 : NNC_ACT_CHUNK;
        NNC_FN(act_forward_chunk_)(kind, x + i0, len, (NNC_T)alpha, out + i0);
    }
}

/* In the backward loop v = x[i], y = out[i], g = dout[i]. */
#define NNC_ACT_LOOP(expr)                                                          \
    _Pragma("omp simd")                                                             \
    for (ptrdiff_t i = 0; i < n; i++) {                                             \
        NNC_T v = x[i], y = out[i], g = dout[i];                                    \
        (void)v; (void)y;                                                           \
        dx[i] = (expr);                                                             \
    }

NNC_TARGET_CLONES
static void NNC_FN(act_backward_chunk_)(int kind, const NNC_T *x, const NNC_T *out, const NNC_T *dout, ptrdiff_t n,
                                        NNC_T a, NNC_T *dx)
{
    const NNC_T selu_a = (NNC_T)NNC_SELU_ALPHA, selu_s = (NNC_T)NNC_SELU_SCALE;
    switch (kind) {
    case NNC_ACT_IDENTITY:   NNC_ACT_LOOP(g) break;
    case NNC_ACT_SIGMOID:    NNC_ACT_LOOP(g * y * (1 - y)) break;
    case NNC_ACT_TANH:       NNC_ACT_LOOP(g * (1 - y * y)) break;
    case NNC_ACT_RELU:       NNC_ACT_LOOP(v > 0 ? g : (v <= 0 ? 0 : v)) break;   /* subgradient 0 at 0 */
    case NNC_ACT_LEAKY_RELU: NNC_ACT_LOOP(NNC_FN(nan_through_)(v, NNC_FN(pick_)(v, g, a * g))) break;
    case NNC_ACT_ELU:        NNC_ACT_LOOP(NNC_FN(pick_)(v, g, g * (y + a))) break;  /* alpha e^x = y + alpha */
    case NNC_ACT_SELU:       NNC_ACT_LOOP(NNC_FN(pick_)(v, selu_s * g, g * (y + selu_s * selu_a))) break;
    case NNC_ACT_GELU:       NNC_ACT_LOOP(g * NNC_FN(gelu_grad_)(v)) break;
    case NNC_ACT_SWISH:      NNC_ACT_LOOP(g * NNC_FN(swish_grad_)(v)) break;
    case NNC_ACT_SOFTPLUS:   NNC_ACT_LOOP(g * NNC_FN(sigmoid_)(v)) break;
    case NNC_ACT_SOFTSIGN:   NNC_ACT_LOOP(g / ((1 + nnc_fabs(v)) * (1 + nnc_fabs(v)))) break;
    case NNC_ACT_GELU_TANH:  NNC_ACT_LOOP(g * NNC_FN(gelu_tanh_grad_)(v)) break;
    default: break;  /* NNC_ACT_STEP has no backward; the caller refuses it */
    }
}
#undef NNC_ACT_LOOP

void NNC_FN(nnc_act_backward)(int kind, const NNC_T *x, const NNC_T *out, const NNC_T *dout, ptrdiff_t n,
                              double alpha, NNC_T *dx, int nthreads)
{
    ptrdiff_t nchunks = (n + NNC_ACT_CHUNK - 1) / NNC_ACT_CHUNK;
    #pragma omp parallel for schedule(static) num_threads(nthreads) if(n > nnc_act_omp_min_(kind))
    for (ptrdiff_t c = 0; c < nchunks; c++) {
        ptrdiff_t i0 = c * NNC_ACT_CHUNK, len = n - i0 < NNC_ACT_CHUNK ? n - i0 : NNC_ACT_CHUNK;
        NNC_FN(act_backward_chunk_)(kind, x + i0, out + i0, dout + i0, len, (NNC_T)alpha, dx + i0);
    }
}

/* One sample's row of PReLU (CPU-dispatched, like the element loops above). */
NNC_TARGET_CLONES
static void NNC_FN(prelu_row_)(const NNC_T *restrict x, const NNC_T *restrict alpha, ptrdiff_t M,
                               NNC_T *restrict out)
{
    for (ptrdiff_t m = 0; m < M; m++)
        out[m] = nnc_select(x[m] > 0, x[m], alpha[m] * x[m]);   /* branch-free: vectorizes */
}

void NNC_FN(nnc_prelu_forward)(const NNC_T *x, const NNC_T *alpha, int N, ptrdiff_t M, NNC_T *out, int nthreads)
{
    #pragma omp parallel for schedule(static) num_threads(nthreads) if((ptrdiff_t)N * M > NNC_OMP_MIN_STREAM)
    for (int s = 0; s < N; s++)
        NNC_FN(prelu_row_)(x + (size_t)s * M, alpha, M, out + (size_t)s * M);
}

/* Positions m0..m1-1 of one sample: dx = dout * (x > 0 ? 1 : alpha), dalpha += (x > 0 ? 0 : dout * x). */
NNC_TARGET_CLONES
static void NNC_FN(prelu_backward_row_)(const NNC_T *restrict x, const NNC_T *restrict alpha,
                                        const NNC_T *restrict dout, ptrdiff_t m0, ptrdiff_t m1,
                                        NNC_T *restrict dx, NNC_T *restrict dalpha)
{
    for (ptrdiff_t m = m0; m < m1; m++) {
        NNC_T v = x[m], g = dout[m];
        dx[m] = nnc_select(v != v, v, nnc_select(v > 0, g, alpha[m] * g));   /* NaN in, NaN out */
        dalpha[m] += nnc_select(v > 0, (NNC_T)0, g * v);
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
        if((ptrdiff_t)N * M > NNC_OMP_MIN_STREAM && nblocks > 1)
    for (ptrdiff_t blk = 0; blk < nblocks; blk++) {
        ptrdiff_t m0 = blk * BLOCK, m1 = m0 + BLOCK < M ? m0 + BLOCK : M;
        for (ptrdiff_t m = m0; m < m1; m++)
            dalpha[m] = 0;
        for (int s = 0; s < N; s++) {
            size_t off = (size_t)s * M;
            NNC_FN(prelu_backward_row_)(x + off, alpha, dout + off, m0, m1, dx + off, dalpha);
        }
    }
}

/* Softmax of rows r0..r1-1 (one CPU-dispatched kernel per block of rows, see NNC_ACT_CHUNK).
 * The sum is a SIMD reduction: its order depends on the vector width of the CPU, never on the
 * thread count (each row is one thread's). */
NNC_TARGET_CLONES
static void NNC_FN(softmax_rows_)(const NNC_T *x, ptrdiff_t r0, ptrdiff_t r1, int cols, NNC_T *out)
{
    for (ptrdiff_t r = r0; r < r1; r++) {
        const NNC_T *xr = x + (size_t)r * cols;
        NNC_T *o = out + (size_t)r * cols;
        const NNC_T mx = nnc_row_max(xr, cols);
        /* Subtracting the row max makes every exponent <= 0: no overflow, and the largest term
         * is exactly 1, so the sum is >= 1 and the division is safe. */
        NNC_T sum = 0;
        #pragma omp simd reduction(+:sum)
        for (int k = 0; k < cols; k++) {
            NNC_T e = nnc_exp_nonpos(xr[k] - mx);
            o[k] = e;
            sum += e;
        }
        NNC_T inv = 1 / sum;
        for (int k = 0; k < cols; k++)
            o[k] *= inv;
    }
}

/* Rows per parallel iteration: blocks of about NNC_ACT_CHUNK elements. */
static ptrdiff_t NNC_FN(row_block_)(int cols) { return cols >= NNC_ACT_CHUNK ? 1 : NNC_ACT_CHUNK / cols; }

void NNC_FN(nnc_softmax_forward)(const NNC_T *x, ptrdiff_t rows, int cols, NNC_T *out, int nthreads)
{
    ptrdiff_t rb = NNC_FN(row_block_)(cols), nblocks = (rows + rb - 1) / rb;
    #pragma omp parallel for schedule(static) num_threads(nthreads) if(rows * cols > NNC_OMP_MIN)
    for (ptrdiff_t b = 0; b < nblocks; b++)
        NNC_FN(softmax_rows_)(x, b * rb, (b + 1) * rb < rows ? (b + 1) * rb : rows, cols, out);
}

NNC_TARGET_CLONES
static void NNC_FN(softmax_grad_rows_)(const NNC_T *out, const NNC_T *dout, ptrdiff_t r0, ptrdiff_t r1, int cols,
                                       NNC_T *dx)
{
    for (ptrdiff_t r = r0; r < r1; r++) {
        const NNC_T *y = out + (size_t)r * cols, *g = dout + (size_t)r * cols;
        NNC_T *d = dx + (size_t)r * cols;
        NNC_T dot = 0;
        #pragma omp simd reduction(+:dot)
        for (int k = 0; k < cols; k++)
            dot += g[k] * y[k];
        for (int k = 0; k < cols; k++)
            d[k] = y[k] * (g[k] - dot);
    }
}

void NNC_FN(nnc_softmax_backward)(const NNC_T *out, const NNC_T *dout, ptrdiff_t rows, int cols, NNC_T *dx,
                                  int nthreads)
{
    ptrdiff_t rb = NNC_FN(row_block_)(cols), nblocks = (rows + rb - 1) / rb;
    #pragma omp parallel for schedule(static) num_threads(nthreads) if(rows * cols > NNC_OMP_MIN)
    for (ptrdiff_t b = 0; b < nblocks; b++)
        NNC_FN(softmax_grad_rows_)(out, dout, b * rb, (b + 1) * rb < rows ? (b + 1) * rb : rows, cols, dx);
}
