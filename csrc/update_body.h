/* Body of csrc/update.c, instantiated for float and double (see nnc_generic.h). Equations: update.h.
 * Each line is one rounded operation of the reference, in its order; `restrict` lets the compiler
 * drop its overlap tests, and each chunk is compiled per CPU (NNC_TARGET_CLONES). */

NNC_TARGET_CLONES
static void NNC_FN(axpy_chunk_)(ptrdiff_t n, NNC_T a, const NNC_T *restrict x, NNC_T *restrict y)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

NNC_TARGET_CLONES
static void NNC_FN(momentum_chunk_)(ptrdiff_t n, const nnc_hyper *h, const NNC_T *restrict g,
                                    NNC_T *restrict p, NNC_T *restrict v)
{
    const NNC_T mu = (NNC_T)h->mu, a = (NNC_T)-h->lr;
    for (ptrdiff_t i = 0; i < n; i++) {
        v[i] *= mu;
        v[i] += a * g[i];
        if (h->nesterov) {
            p[i] += mu * v[i];
            p[i] += a * g[i];
        } else {
            p[i] += v[i];
        }
    }
}

NNC_TARGET_CLONES
static void NNC_FN(adam_chunk_)(ptrdiff_t n, const nnc_hyper *h, const NNC_T *restrict g, NNC_T *restrict p,
                                NNC_T *restrict m, NNC_T *restrict v)
{
    const NNC_T b1 = (NNC_T)h->beta_1, ob1 = (NNC_T)(1 - h->beta_1), b2 = (NNC_T)h->beta_2,
                ob2 = (NNC_T)(1 - h->beta_2), c1 = (NNC_T)h->c1, c2 = (NNC_T)h->c2, lr = (NNC_T)h->lr,
                eps = (NNC_T)h->eps, decay = (NNC_T)h->decay;
    for (ptrdiff_t i = 0; i < n; i++) {
        if (h->decoupled)
            p[i] *= decay;
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
                                   NNC_T *restrict E)
{
    const NNC_T rho = (NNC_T)h->rho, orho = (NNC_T)(1 - h->rho), lr = (NNC_T)h->lr, eps = (NNC_T)h->eps;
    for (ptrdiff_t i = 0; i < n; i++) {
        E[i] = rho * E[i];
        E[i] = E[i] + orho * g[i] * g[i];
        p[i] -= lr * g[i] / (nnc_sqrt(E[i]) + eps);
    }
}

NNC_TARGET_CLONES
static void NNC_FN(adagrad_chunk_)(ptrdiff_t n, const nnc_hyper *h, const NNC_T *restrict g, NNC_T *restrict p,
                                   NNC_T *restrict G)
{
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

void NNC_FN(nnc_axpy)(ptrdiff_t n, double alpha, const NNC_T *x, NNC_T *y, int nthreads)
{
    const NNC_T a = (NNC_T)alpha;
    const ptrdiff_t chunk = NNC_FN(UPDATE_CHUNK_), nchunks = (n + chunk - 1) / chunk;
    #pragma omp parallel for schedule(static) num_threads(nthreads) if(n > NNC_OMP_MIN)
    for (ptrdiff_t c = 0; c < nchunks; c++) {
        ptrdiff_t i0 = c * chunk, len = n - i0 < chunk ? n - i0 : chunk;
        NNC_FN(axpy_chunk_)(len, a, x + i0, y + i0);
    }
}

void NNC_FN(nnc_opt_step)(nnc_rule rule, const nnc_hyper *h, ptrdiff_t n, const NNC_T *g, NNC_T *theta,
                          NNC_T *s1, NNC_T *s2, int nthreads)
{
    const ptrdiff_t chunk = NNC_FN(UPDATE_CHUNK_), nchunks = (n + chunk - 1) / chunk;
    #pragma omp parallel for schedule(static) num_threads(nthreads) if(n > NNC_OMP_MIN)
    for (ptrdiff_t c = 0; c < nchunks; c++) {
        ptrdiff_t i0 = c * chunk, len = n - i0 < chunk ? n - i0 : chunk;
        switch (rule) {
        case NNC_RULE_MOMENTUM:
            NNC_FN(momentum_chunk_)(len, h, g + i0, theta + i0, s1 + i0);
            break;
        case NNC_RULE_ADAM:
            NNC_FN(adam_chunk_)(len, h, g + i0, theta + i0, s1 + i0, s2 + i0);
            break;
        case NNC_RULE_RMSPROP:
            NNC_FN(rmsprop_chunk_)(len, h, g + i0, theta + i0, s1 + i0);
            break;
        case NNC_RULE_ADAGRAD:
            NNC_FN(adagrad_chunk_)(len, h, g + i0, theta + i0, s1 + i0);
            break;
        case NNC_RULE_ADADELTA:
            NNC_FN(adadelta_chunk_)(len, h, g + i0, theta + i0, s1 + i0, s2 + i0);
            break;
        }
    }
}
