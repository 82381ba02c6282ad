/* Body of csrc/update.c, instantiated for float and double (see nnc_generic.h). Equations: update.h.
 * Each line is one rounded operation of the reference, in its order; `restrict` lets the compiler
 * drop its overlap tests, and each chunk is compiled per CPU (NNC_TARGET_CLONES). */

NNC_TARGET_CLONES
static void NNC_FN(axpy_chunk_)(ptrdiff_t n, const nnc_hyper *h, const NNC_T *restrict g, NNC_T *restrict p,
                                NNC_T *restrict unused1, NNC_T *restrict unused2)
{
    const NNC_T a = (NNC_T)h->alpha;
    (void)unused1, (void)unused2;
    for (ptrdiff_t i = 0; i < n; i++)
        p[i] += a * g[i];
}

NNC_TARGET_CLONES
static void NNC_FN(momentum_chunk_)(ptrdiff_t n, const nnc_hyper *h, const NNC_T *restrict g,
                                    NNC_T *restrict p, NNC_T *restrict v, NNC_T *restrict unused)
{
    (void)unused;
    const NNC_T mu = (NNC_T)h->mu, a = (NNC_T)-h->lr;
    for (ptrdiff_t i = 0; i < n; i++) {
        v[i] *= mu;
        v[i] += a * g[i];
    }
    if (h->nesterov)
        for (ptrdiff_t i = 0; i < n; i++) {
            p[i] += mu * v[i];
            p[i] += a * g[i];
        }
    else
        for (ptrdiff_t i = 0; i < n; i++)
            p[i] += v[i];
}

NNC_TARGET_CLONES
static void NNC_FN(adam_chunk_)(ptrdiff_t n, const nnc_hyper *h, const NNC_T *restrict g, NNC_T *restrict p,
                                NNC_T *restrict m, NNC_T *restrict v)
{
    const NNC_T b1 = (NNC_T)h->beta_1, ob1 = (NNC_T)(1 - h->beta_1), b2 = (NNC_T)h->beta_2,
                ob2 = (NNC_T)(1 - h->beta_2), c1 = (NNC_T)h->c1, c2 = (NNC_T)h->c2, lr = (NNC_T)h->lr,
                eps = (NNC_T)h->eps, decay = (NNC_T)h->decay;
    if (h->decoupled)       /* AdamW: the decay first, on the current weights */
        for (ptrdiff_t i = 0; i < n; i++)
            p[i] *= decay;
    for (ptrdiff_t i = 0; i < n; i++) {
        m[i] = b1 * m[i];
        m[i] = m[i] + ob1 * g[i];
        v[i] = b2 * v[i];
        v[i] = v[i] + ob2 * g[i] * g[i];
        const NNC_T m_hat = m[i] / c1, v_hat = v[i] / c2;
        p[i] -= lr * m_hat / (nnc_sqrt(v_hat) + eps);
    }
}

NNC_TARGET_CLONES
static void NNC_FN(rmsprop_chunk_)(ptrdiff_t n, const nnc_hyper *h, const NNC_T *restrict g, NNC_T *restrict p,
                                   NNC_T *restrict E, NNC_T *restrict unused)
{
    (void)unused;
    const NNC_T rho = (NNC_T)h->rho, orho = (NNC_T)(1 - h->rho), lr = (NNC_T)h->lr, eps = (NNC_T)h->eps;
    for (ptrdiff_t i = 0; i < n; i++) {
        E[i] = rho * E[i];
        E[i] = E[i] + orho * g[i] * g[i];
        p[i] -= lr * g[i] / (nnc_sqrt(E[i]) + eps);
    }
}

NNC_TARGET_CLONES
static void NNC_FN(adagrad_chunk_)(ptrdiff_t n, const nnc_hyper *h, const NNC_T *restrict g, NNC_T *restrict p,
                                   NNC_T *restrict G, NNC_T *restrict unused)
{
    (void)unused;
    const NNC_T lr = (NNC_T)h->lr, eps = (NNC_T)h->eps;
    for (ptrdiff_t i = 0; i < n; i++) {
        G[i] = G[i] + g[i] * g[i];
        p[i] -= lr * g[i] / (nnc_sqrt(G[i]) + eps);
    }
}

NNC_TARGET_CLONES
static void NNC_FN(adadelta_chunk_)(ptrdiff_t n, const nnc_hyper *h, const NNC_T *restrict g, NNC_T *restrict p,
                                    NNC_T *restrict Eg, NNC_T *restrict Edx)
{
    const NNC_T rho = (NNC_T)h->rho, orho = (NNC_T)(1 - h->rho), lr = (NNC_T)h->lr, eps = (NNC_T)h->eps;
    for (ptrdiff_t i = 0; i < n; i++) {
        Eg[i] = rho * Eg[i];
        Eg[i] = Eg[i] + orho * g[i] * g[i];
        const NNC_T dx = -nnc_sqrt(Edx[i] + eps) / nnc_sqrt(Eg[i] + eps) * g[i];
        Edx[i] = rho * Edx[i];
        Edx[i] = Edx[i] + orho * dx * dx;
        p[i] += lr * dx;
    }
}

enum { NNC_FN(UPDATE_CHUNK_) = 16384 };   /* elements per OpenMP work item */

/* One chunk function per rule, in the order of nnc_rule (update.h). */
typedef void (*NNC_FN(rule_chunk_))(ptrdiff_t, const nnc_hyper *, const NNC_T *, NNC_T *, NNC_T *, NNC_T *);

void NNC_FN(nnc_opt_step)(nnc_rule rule, const nnc_hyper *h, ptrdiff_t n, const NNC_T *g, NNC_T *theta,
                          NNC_T *s1, NNC_T *s2, int nthreads)
{
    static const NNC_FN(rule_chunk_) rules[] = {NNC_FN(axpy_chunk_), NNC_FN(momentum_chunk_), NNC_FN(adam_chunk_),
                                                NNC_FN(rmsprop_chunk_), NNC_FN(adagrad_chunk_),
                                                NNC_FN(adadelta_chunk_)};
    const ptrdiff_t chunk = NNC_FN(UPDATE_CHUNK_), nchunks = (n + chunk - 1) / chunk;
    #pragma omp parallel for schedule(static) num_threads(nthreads) if(n > NNC_OMP_MIN)
    for (ptrdiff_t c = 0; c < nchunks; c++) {
        ptrdiff_t i0 = c * chunk, len = n - i0 < chunk ? n - i0 : chunk;
        rules[rule](len, h, g + i0, theta + i0, s1 ? s1 + i0 : NULL, s2 ? s2 + i0 : NULL);
    }
}

void NNC_FN(nnc_axpy)(ptrdiff_t n, double alpha, const NNC_T *x, NNC_T *y, int nthreads)
{
    nnc_hyper h = {0};
    h.alpha = alpha;
    NNC_FN(nnc_opt_step)(NNC_RULE_AXPY, &h, n, x, y, NULL, NULL, nthreads);
}
