/* Body of csrc/losses.c, instantiated for float and double (see nnc_generic.h).
 * Losses are accumulated in double whatever NNC_T is: a float32 batch mean over 10^5 terms
 * would otherwise lose digits. Gradients are elementwise and stay in NNC_T. */

/* Sum rowloss[0..N-1] in index order: the one reduction, fixed whatever the thread count. */
static double NNC_FN(ordered_sum_)(const double *rowloss, int N)
{
    double total = 0;
    for (int r = 0; r < N; r++)
        total += rowloss[r];
    return total;
}

static inline NNC_T NNC_FN(clip_)(NNC_T v, NNC_T lo, NNC_T hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* rowloss[r] = sum_m expr, with v = y[r, m] and u = t[r, m] as doubles. */
#define NNC_ROW_LOOP(expr)                                                                       \
    _Pragma("omp parallel for schedule(static) num_threads(nthreads) if((ptrdiff_t)N * M > NNC_OMP_MIN)") \
    for (int r = 0; r < N; r++) {                                                                \
        const NNC_T *yr = y + (size_t)r * M, *tr = t + (size_t)r * M;                            \
        double acc = 0;                                                                          \
        for (ptrdiff_t m = 0; m < M; m++) {                                                      \
            double v = yr[m], u = tr[m];                                                         \
            (void)u;                                                                             \
            acc += (expr);                                                                       \
        }                                                                                        \
        rowloss[r] = acc;                                                                        \
    }

double NNC_FN(nnc_elem_loss_forward)(int kind, const NNC_T *y, const NNC_T *t, int N, ptrdiff_t M, double param,
                                     double *rowloss, int nthreads)
{
    const double delta = param;
    /* The clip bounds in the array's own precision (1 - 1e-7 rounds to 1 - 2^-23 in float32),
     * the same numbers the reference's np.clip uses. */
    const double lo = (NNC_T)param, hi = (NNC_T)(1 - param);
    switch (kind) {
    case NNC_LOSS_MSE:   NNC_ROW_LOOP((v - u) * (v - u)) break;
    case NNC_LOSS_MAE:   NNC_ROW_LOOP(fabs(v - u)) break;
    case NNC_LOSS_HUBER:
        NNC_ROW_LOOP(fabs(v - u) <= delta ? 0.5 * (v - u) * (v - u) : delta * (fabs(v - u) - 0.5 * delta)) break;
    case NNC_LOSS_BCE: {
        NNC_ROW_LOOP(-(u * log(NNC_FN(clip_)(v, lo, hi)) + (1 - u) * log(1 - NNC_FN(clip_)(v, lo, hi)))) break;
    }
    case NNC_LOSS_BCE_LOGITS: NNC_ROW_LOOP((v > 0 ? v : 0) - v * u + log1p(exp(-fabs(v)))) break;
    case NNC_LOSS_CCE:   NNC_ROW_LOOP(-u * log(NNC_FN(clip_)(v, lo, hi))) break;
    case NNC_LOSS_KL: {
        NNC_ROW_LOOP(NNC_FN(clip_)(u, lo, 1) * log(NNC_FN(clip_)(u, lo, 1) / NNC_FN(clip_)(v, lo, 1))) break;
    }
    default: break;  /* unreachable: the Cython caller passes known kinds only */
    }
    return NNC_FN(ordered_sum_)(rowloss, N);
}
#undef NNC_ROW_LOOP

/* dy[i] = scale * expr, with v = y[i], u = t[i] in NNC_T. */
#define NNC_ELEM_LOOP(expr)                                                                     \
    _Pragma("omp parallel for schedule(static) num_threads(nthreads) if(n > NNC_OMP_MIN)")      \
    for (ptrdiff_t i = 0; i < n; i++) {                                                         \
        NNC_T v = y[i], u = t[i];                                                               \
        dy[i] = sc * (expr);                                                                    \
    }

void NNC_FN(nnc_elem_loss_backward)(int kind, const NNC_T *y, const NNC_T *t, ptrdiff_t n, double param,
                                    double scale, NNC_T *dy, int nthreads)
{
    const NNC_T sc = (NNC_T)scale, delta = (NNC_T)param;
    const NNC_T lo = (NNC_T)param, hi = (NNC_T)(1 - param);
    switch (kind) {
    case NNC_LOSS_MSE:   NNC_ELEM_LOOP(2 * (v - u)) break;
    case NNC_LOSS_MAE:   NNC_ELEM_LOOP(v > u ? 1 : (v < u ? -1 : (v == u ? 0 : v - u))) break;  /* 0 at 0; NaN stays */
    case NNC_LOSS_HUBER: NNC_ELEM_LOOP(v - u > delta ? delta : (v - u < -delta ? -delta : v - u)) break;
    case NNC_LOSS_BCE:   NNC_ELEM_LOOP(v < lo || v > hi ? 0 : (v - u) / (v * (1 - v))) break;
    case NNC_LOSS_BCE_LOGITS: {  /* sigmoid(v) - u, the sigmoid written without overflow */
        NNC_ELEM_LOOP((v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v))) - u) break;
    }
    case NNC_LOSS_CCE:   NNC_ELEM_LOOP(v < lo || v > hi ? 0 : -u / v) break;
    case NNC_LOSS_KL:    NNC_ELEM_LOOP(v < lo || v > 1 ? 0 : -NNC_FN(clip_)(u, lo, 1) / v) break;
    default: break;
    }
}
#undef NNC_ELEM_LOOP

double NNC_FN(nnc_label_loss_forward)(int kind, const NNC_T *s, const int64_t *labels, int N, int K, double param,
                                      double *rowloss, int nthreads)
{
    const NNC_T lo = (NNC_T)param, hi = (NNC_T)(1 - param);
    #pragma omp parallel for schedule(static) num_threads(nthreads) if((ptrdiff_t)N * K > NNC_OMP_MIN)
    for (int r = 0; r < N; r++) {
        const NNC_T *sr = s + (size_t)r * K;
        int y = (int)labels[r];
        double acc = 0;
        /* !(margin <= 0) rather than margin > 0: a NaN margin is added, so the loss says NaN. */
        if (kind == NNC_LABEL_CCE) {
            int nan = 0;    /* the loss reads s[y] only, but a NaN elsewhere in the row must show too */
            for (int j = 0; j < K; j++)
                nan |= sr[j] != sr[j];
            acc = nan ? NAN : -log((double)NNC_FN(clip_)(sr[y], lo, hi));
        } else if (kind == NNC_LABEL_HINGE_WW) {
            for (int j = 0; j < K; j++) {
                double margin = (double)sr[j] - sr[y] + param;
                if (j != y && !(margin <= 0))
                    acc += margin;
            }
        } else {  /* NNC_LABEL_HINGE_OVA */
            for (int j = 0; j < K; j++) {
                double margin = 1 - (j == y ? 1.0 : -1.0) * sr[j];
                if (!(margin <= 0))
                    acc += margin;
            }
        }
        rowloss[r] = acc;
    }
    return NNC_FN(ordered_sum_)(rowloss, N);
}

ptrdiff_t NNC_FN(nnc_label_loss_backward)(int kind, const NNC_T *s, const int64_t *labels, int N, int K,
                                          double param, double scale, NNC_T *ds, int nthreads)
{
    const NNC_T sc = (NNC_T)scale, lo = (NNC_T)param, hi = (NNC_T)(1 - param);
    ptrdiff_t bad = 0;
    #pragma omp parallel for schedule(static) num_threads(nthreads) reduction(+:bad) \
        if((ptrdiff_t)N * K > NNC_OMP_MIN)
    for (int r = 0; r < N; r++) {
        const NNC_T *sr = s + (size_t)r * K;
        NNC_T *dr = ds + (size_t)r * K;
        if ((uint64_t)labels[r] >= (uint64_t)K) {   /* a negative id becomes a large one */
            bad++;
            continue;
        }
        int y = (int)labels[r];
        if (kind == NNC_LABEL_CCE) {
            /* the gradient of the one-hot form -t_j / p_j: 0 off the true class, NaN where p_j is */
            for (int j = 0; j < K; j++)
                dr[j] = sr[j] == sr[j] ? 0 : sr[j];
            if (!(sr[y] < lo || sr[y] > hi))
                dr[y] = -sc / sr[y];
        } else if (kind == NNC_LABEL_HINGE_WW) {
            /* Same margins, same double arithmetic as the forward, so forward and backward agree
             * on which margins are active. Each active j pushes s_j up and s_y down; a NaN margin
             * makes its own entry and the true class's NaN. */
            int active = 0, nan = 0;
            for (int j = 0; j < K; j++) {
                double margin = (double)sr[j] - sr[y] + param;
                dr[j] = 0;
                if (j != y && margin > 0) {
                    dr[j] = sc;
                    active++;
                } else if (j != y && margin != margin) {
                    dr[j] = (NNC_T)margin;
                    nan = 1;
                }
            }
            dr[y] = nan ? (NNC_T)NAN : -sc * active;
        } else {  /* NNC_LABEL_HINGE_OVA */
            for (int j = 0; j < K; j++) {
                double tj = j == y ? 1.0 : -1.0, margin = 1 - tj * sr[j];
                dr[j] = margin > 0 ? (NNC_T)(-tj) * sc : (margin <= 0 ? 0 : (NNC_T)margin);
            }
        }
    }
    return bad;
}

/* Rows r0..r1-1 of the fused softmax cross-entropy, in a CPU-dispatched kernel (NNC_TARGET_CLONES,
 * nnc_math.h). Three passes over the block: z - rowmax row by row; then the exponentials as ONE flat
 * loop over the whole block, so that they run in full vectors even when a row is shorter than one
 * (ten classes, the usual case; benchmarks/README.md has the figures); then per row the sum, the
 * normalization and the loss.
 * exp runs in NNC_T (vectorized for float); the row sum and the loss are accumulated in double. The
 * sums are SIMD reductions: their order depends on the vector width of the CPU, never on the thread
 * count (a row is one thread's). rowloss[r] holds the row max between the first and the last pass. */
NNC_TARGET_CLONES
static void NNC_FN(softmax_ce_rows_)(const NNC_T *z, const NNC_T *t, const int64_t *labels, int r0, int r1, int K,
                                     NNC_T *prob, double *rowloss)
{
    for (int r = r0; r < r1; r++) {
        const NNC_T *zr = z + (size_t)r * K;
        NNC_T *p = prob + (size_t)r * K;
        const NNC_T mx = nnc_row_max(zr, K);
        for (int k = 0; k < K; k++)
            p[k] = zr[k] - mx;
        rowloss[r] = mx;
    }
    NNC_T *pb = prob + (size_t)r0 * K;
    const ptrdiff_t len = (ptrdiff_t)(r1 - r0) * K;
    #pragma omp simd
    for (ptrdiff_t i = 0; i < len; i++)
        pb[i] = nnc_exp_nonpos(pb[i]);
    for (int r = r0; r < r1; r++) {
        const NNC_T *zr = z + (size_t)r * K;
        NNC_T *p = prob + (size_t)r * K;
        const double mx = rowloss[r];
        double sum = 0;     /* >= 1: the max term is exp(0) */
        #pragma omp simd reduction(+:sum)
        for (int k = 0; k < K; k++)
            sum += p[k];
        double logsum = log(sum);
        NNC_T inv = (NNC_T)(1 / sum);
        for (int k = 0; k < K; k++)
            p[k] *= inv;
        /* -log p_k = log(sum) - (z_k - m): never forms logsumexp itself, so nothing cancels
         * between two numbers of size 1e4. */
        double acc = 0;
        if (labels) {
            acc = logsum - ((double)zr[labels[r]] - mx);
        } else {
            const NNC_T *tr = t + (size_t)r * K;
            #pragma omp simd reduction(+:acc)
            for (int k = 0; k < K; k++)
                acc += tr[k] * (logsum - ((double)zr[k] - mx));
        }
        rowloss[r] = acc;
    }
}

double NNC_FN(nnc_softmax_ce_forward)(const NNC_T *z, const NNC_T *t, const int64_t *labels, int N, int K,
                                      NNC_T *prob, double *rowloss, int nthreads)
{
    int rb = K >= 4096 ? 1 : 4096 / K, nblocks = (N + rb - 1) / rb;   /* blocks of ~4096 elements */
    #pragma omp parallel for schedule(static) num_threads(nthreads) if((ptrdiff_t)N * K > NNC_OMP_MIN)
    for (int b = 0; b < nblocks; b++)
        NNC_FN(softmax_ce_rows_)(z, t, labels, b * rb, b * rb + rb < N ? b * rb + rb : N, K, prob, rowloss);
    return NNC_FN(ordered_sum_)(rowloss, N);
}

ptrdiff_t NNC_FN(nnc_softmax_ce_backward)(const NNC_T *prob, const NNC_T *t, const int64_t *labels, int N, int K,
                                          double scale, NNC_T *dz, int nthreads)
{
    const NNC_T sc = (NNC_T)scale;
    ptrdiff_t bad = 0;
    #pragma omp parallel for schedule(static) num_threads(nthreads) reduction(+:bad) \
        if((ptrdiff_t)N * K > NNC_OMP_MIN)
    for (int r = 0; r < N; r++) {
        const NNC_T *p = prob + (size_t)r * K;
        NNC_T *d = dz + (size_t)r * K;
        if (labels) {
            if ((uint64_t)labels[r] >= (uint64_t)K) {   /* checked as read: see losses.h */
                bad++;
                continue;
            }
            for (int k = 0; k < K; k++)
                d[k] = sc * p[k];
            d[labels[r]] -= sc;
        } else {
            const NNC_T *tr = t + (size_t)r * K;
            NNC_T tsum = 0;
            for (int k = 0; k < K; k++)
                tsum += tr[k];
            for (int k = 0; k < K; k++)
                d[k] = sc * (p[k] * tsum - tr[k]);
        }
    }
    return bad;
}
