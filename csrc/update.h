/* update.h: the in-place parameter updates of the optimizers.
 *
 *   nnc_axpy:      y += alpha * x over n elements (plain SGD: theta += -lr * g)
 *   nnc_opt_step:  one step of an optimizer's rule over n parameters theta, their gradients g and the
 *                  rule's state (s1, s2), each element updated in one pass with no temporary arrays.
 *
 * The arithmetic is written in the order nnc/backend/reference/update.py writes it (the papers'
 * equations, one NumPy operation per line), in the parameters' type, with the hyperparameters rounded
 * to that type first, as NumPy does; update.c is compiled without floating-point contraction (no fused
 * multiply-add), so every result is the reference's to the bit, on every CPU.
 * All arrays: C-contiguous, same dtype, n elements, not overlapping (checked by the Cython caller).
 * Element-wise: any split over threads gives the same bits. */
#ifndef NNC_UPDATE_H
#define NNC_UPDATE_H

#include <stddef.h>

typedef enum nnc_rule {
    NNC_RULE_AXPY,      /* theta <- theta + alpha g  (nnc_axpy: y <- y + alpha x) */
    NNC_RULE_MOMENTUM,  /* s1 = velocity v:  v <- mu v - lr g;  theta <- theta + v
                           (nesterov: theta <- theta + mu v - lr g)  */
    NNC_RULE_ADAM,      /* s1 = m, s2 = v:  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g g;
                           theta <- theta - lr (m / c1) / (sqrt(v / c2) + eps), after theta <- decay theta */
    NNC_RULE_RMSPROP,   /* s1 = E:  E <- rho E + (1 - rho) g g;  theta <- theta - lr g / (sqrt(E) + eps) */
    NNC_RULE_ADAGRAD,   /* s1 = G:  G <- G + g g;  theta <- theta - lr g / (sqrt(G) + eps) */
    NNC_RULE_ADADELTA   /* s1 = Eg, s2 = Edx:  Eg <- rho Eg + (1 - rho) g g;
                           dx = -sqrt(Edx + eps) / sqrt(Eg + eps) g;  Edx <- rho Edx + (1 - rho) dx dx;
                           theta <- theta + lr dx */
} nnc_rule;

/* The hyperparameters of one step; each rule reads the ones its equation names. */
typedef struct nnc_hyper {
    double alpha;       /* axpy's factor */
    double lr;
    double mu;          /* momentum */
    int nesterov;
    double beta_1, beta_2;
    double c1, c2;      /* Adam's bias corrections 1 - beta_1^t, 1 - beta_2^t */
    double decay;       /* AdamW's factor 1 - lr * weight_decay, applied first when weight decay is on */
    int decoupled;      /* AdamW: apply decay */
    double rho;
    double eps;
} nnc_hyper;

void nnc_axpy_f32(ptrdiff_t n, double alpha, const float *x, float *y, int nthreads);
void nnc_axpy_f64(ptrdiff_t n, double alpha, const double *x, double *y, int nthreads);

/* s2 is NULL for the rules with one state array. */
void nnc_opt_step_f32(nnc_rule rule, const nnc_hyper *h, ptrdiff_t n, const float *g, float *theta, float *s1,
                      float *s2, int nthreads);
void nnc_opt_step_f64(nnc_rule rule, const nnc_hyper *h, ptrdiff_t n, const double *g, double *theta,
                      double *s1, double *s2, int nthreads);

#endif
