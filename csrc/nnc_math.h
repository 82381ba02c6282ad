/* nnc_math.h: exp (of x <= 0), expm1, log1p, tanh and the normal tail for float that GCC can vectorize,
 * and a type-generic front.
 *
 * Why: the elementwise kernels call exp & co. once per element. libm's expf is a function call
 * the vectorizer cannot see through (glibc's vector variants need -ffast-math, which the build
 * forbids because it breaks NaN/inf handling), so a sigmoid ran many times slower than PyTorch's
 * vectorized (Sleef) math. These are short, branch-free (select-based) static inline functions,
 * so a plain `for` loop over them vectorizes at -O3.
 *
 * Accuracy (float32, checked against float64 libm by tests/test_activations.py over a dense sweep
 * of [-100, 100] plus tiny values, +-inf and NaN): exp, expm1 within ~2 ulp; log1p within ~2 ulp.
 * Overflow gives +inf, underflow gives 0 (denormal results are rounded correctly, not flushed),
 * NaN in gives NaN out.
 *
 * double keeps libm: double is the teaching and gradient-check dtype, where correctness matters
 * more than speed. The nnc_exp_nonpos/nnc_expm1/nnc_log1p/nnc_tanh/nnc_normal_tail/nnc_normal_pdf
 * macros pick the float or the double version from the argument type (like <tgmath.h>), so a kernel
 * body written once with NNC_T (nnc_generic.h) gets the fast float path and the libm double path.
 *
 * Algorithm (exp): Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, with ln2 split in a short
 * high part (n * hi exact) and a low part; exp(r) = 1 + r + r^2 P(r), P a degree-5 polynomial fitted
 * (Lawson-weighted least squares on Chebyshev nodes, relative error 2.4e-10) for this file;
 * then the result is scaled by 2^(n + 64), a normal number, and by 2^-64, so denormal results need no
 * special case.
 * The rounding to an integer uses the 1.5 * 2^23 trick (no SSE4.1 round instruction needed). */
#ifndef NNC_MATH_H
#define NNC_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Runtime CPU dispatch for the hot loops: GCC compiles a function marked NNC_TARGET_CLONES three
 * times, for baseline x86-64 (SSE2), x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512), and picks one
 * when the library is loaded (an ifunc resolver). The binary stays portable (no -march=native) and
 * still uses wide vectors where the CPU has them (the AVX-512 clone runs a sigmoid markedly faster than
 * the AVX2 one; benchmarks/README.md). Only with GCC >= 12 on x86-64 glibc (ifunc needs glibc);
 * elsewhere the macro is empty and the baseline code runs. The clones may differ in the last ulp
 * (FMA contraction), never in thread-count dependence. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__) && defined(__GLIBC__) \
    && !defined(NNC_NO_TARGET_CLONES)
#define NNC_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NNC_TARGET_CLONES
#endif

static inline float nnc_f32_from_bits_(int32_t i) { float f; memcpy(&f, &i, sizeof f); return f; }
static inline int32_t nnc_bits_from_f32_(float f) { int32_t i; memcpy(&i, &f, sizeof i); return i; }

/* nnc_select_f32/_f64 and nnc_row_max_f32/_f64, written once (nnc_generic_body.h). */
#define NNC_BODY "nnc_generic_body.h"
#include "nnc_instantiate.h"

/* expm1(r) - r for |r| <= ln2/2: r^2 (1/2 + r/6 + ...), the fitted P. */
static inline float nnc_expm1_tail_f32_(float r)
{
    float p = 1.984599915e-04f;
    p = p * r + 1.394062130e-03f;
    p = p * r + 8.333389133e-03f;
    p = p * r + 4.166636096e-02f;
    p = p * r + 1.666666637e-01f;
    p = p * r + 5.000000044e-01f;
    return r * r * p;
}

/* n = round(x / ln2) for x already clamped to a sane range, as an int (returned) and as a float (*nf). */
static inline int32_t nnc_round_ln2_f32_(float x, float *nf)
{
    const float magic = 12582912.0f;                 /* 1.5 * 2^23: adding it rounds to an integer */
    float t = x * 1.44269504088896341f + magic;      /* log2(e) */
    *nf = t - magic;
    /* unsigned: a NaN x (any sign and payload) must not overflow a signed subtraction (UBSan) */
    return (int32_t)((uint32_t)nnc_bits_from_f32_(t) - (uint32_t)nnc_bits_from_f32_(magic));
}

/* ln2 = 0.693359375 - 2.12194440e-4: the high part has 9 significant bits, so nf * hi is exact. */
#define NNC_LN2_HI_F32 0.693359375f
#define NNC_LN2_LO_F32 -2.12194440e-4f

/* Cody-Waite reduction of x (already clamped to a sane range): x = n ln2 + r. Returns r, sets *n. */
static inline float nnc_reduce_ln2_f32_(float x, int32_t *n)
{
    float nf;
    *n = nnc_round_ln2_f32_(x, &nf);
    return (x - nf * NNC_LN2_HI_F32) - nf * NNC_LN2_LO_F32;
}

/* The shift in unsigned arithmetic: on the NaN path n + 127 can be negative, and a signed left shift of
 * it is undefined (UBSan); the bits are the same as the two's-complement shift everywhere else. */
static inline float nnc_pow2i_f32_(int32_t n) { return nnc_f32_from_bits_((int32_t)((uint32_t)(n + 127) << 23)); }

/* p 2^n for n in [-150, 63] and 2^-30 <= |p| < 2: 2^(n + 64) is a normal number, so p 2^(n + 64) is
 * exact and only the final product with the constant 2^-64 rounds: denormal results come out right. */
static inline float nnc_scale2n_f32_(float p, int32_t n)
{
    return p * nnc_pow2i_f32_(n + 64) * 0x1p-64f;
}

/* e^x for x <= 0: 0 below -103.97, NaN for NaN. Every exponential the kernels take has such an argument
 * (-|x| in sigmoid, swish and softplus; x - max in softmax), so there is no overflow to guard against,
 * and 2^n needs one factor: 5 vector operations fewer than a general e^x, with the same result bit
 * for bit. */
static inline float nnc_exp_nonpos_f32(float x)
{
    /* Clamping keeps n >= -150; the comparison is false for NaN, which passes through. */
    float xc = nnc_select_f32(x < -104.0f, -104.0f, x);
    int32_t n;
    float r = nnc_reduce_ln2_f32_(xc, &n);
    return nnc_scale2n_f32_(1.0f + (r + nnc_expm1_tail_f32_(r)), n);
}

/* e^x - 1, accurate near 0 (no cancellation): expm1(x) = 2^n expm1(r) + (2^n - 1), written as
 * 2 (s expm1(r) + (s - 1/2)) with s = 2^(n-1) so that n = 128 still has a normal s. */
static inline float nnc_expm1_f32(float x)
{
    float xc = nnc_select_f32(x > 89.0f, 89.0f, x);
    xc = nnc_select_f32(xc < -30.0f, -30.0f, xc);                  /* expm1(-30) = -1 in float */
    int32_t n;
    float r = nnc_reduce_ln2_f32_(xc, &n);
    float em1 = r + nnc_expm1_tail_f32_(r);
    float s = nnc_pow2i_f32_(n - 1);
    return nnc_select_f32(n == 0, em1, 2.0f * (s * em1 + (s - 0.5f)));   /* n == 0: tiny results unhalved */
}

/* log(1 + u) for u >= 0, +inf included (what softplus and the logistic losses need: u = e^-|x|); NaN for NaN.
 * w = 1 + u rounds; c = u - (w - 1) is the part lost, exactly, and log(1 + u) = log(w) + c / w.
 * log(w) = k ln2 + log(m), m = w / 2^k in [sqrt(1/2), sqrt(2)), log(m) = 2 atanh(f / (2 + f)), f = m - 1. */
static inline float nnc_log1p_f32(float u)
{
    float w = 1.0f + u;
    float c = u - (w - 1.0f);
    /* k: m in [0.707, 1.414). Unsigned add and shift (a NaN or inf w would overflow the signed ones, which
     * UBSan flags); the arithmetic right shift of the sum as int32 is GCC's (implementation-defined). */
    uint32_t wb = (uint32_t)nnc_bits_from_f32_(w);
    int32_t e = ((int32_t)(wb + (0x3f800000u - 0x3f3504f3u)) >> 23) - 127;
    float m = nnc_f32_from_bits_((int32_t)(wb - ((uint32_t)e << 23)));
    float f = m - 1.0f;
    float s = f / (2.0f + f), s2 = s * s;
    float p = 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    float logm = 2.0f * s + 2.0f * s * s2 * p;
    float k = (float)e;
    float res = k * 0.693359375f + (logm + (k * -2.12194440e-4f + c / w));
    return nnc_select_f32(u == INFINITY || u != u, u, res);
}

/* tanh(x) = t / (t + 2), t = expm1(2|x|), sign restored; |x| clamped at 10 where tanh is 1 in float. */
static inline float nnc_tanh_f32(float x)
{
    float a = fabsf(x);
    a = nnc_select_f32(a > 10.0f, 10.0f, a);
    float t = nnc_expm1_f32(2.0f * a);
    return copysignf(t / (t + 2.0f), x);
}

/* ---- The normal distribution's tail and density, for GELU -----------------------------------------
 * Both come from one exponential e^(-a^2/2), so GELU's backward, which needs Phi and phi, pays for it
 * once (GCC merges the two inlined copies). Against the earlier form exp(-a^2/2 + Q(t)), which
 * needed a second exponential for phi and a degree-10 Q, this makes GELU's forward and backward
 * markedly faster (benchmarks/README.md). */

#define NNC_INV_SQRT_2PI 0.39894228040143267793994605993438   /* 1 / sqrt(2 pi) */
#define NNC_SQRT1_2 0.70710678118654752440084436210485        /* 1 / sqrt(2) */
#define NNC_SQRT_2_OVER_PI 0.79788456080286535587989211986876 /* sqrt(2 / pi) */
#define NNC_GAUSS_MAX_F32 14.5f   /* beyond, e^(-a^2/2) / 2.5 rounds to 0 in float: inputs are clamped here */

/* s e^(-a^2/2) for 0 <= a <= 14.5 and 2^-30 <= s <= 1 (NaN passes through).
 * -a^2/2 = hi + lo with hi exact: ah is a with its mantissa cut to 12 significant bits, so ah^2 has
 * at most 24, and a rounded a^2 (a relative error of a^2 ulp in the result, 1e-5 at a = 13) never
 * arises; hi - n ln2_hi is exact too (both are multiples of 2^-17 and closer than 1). The sum hi + lo is rounded only to pick n.
 * n is in [-152, 0]: 2^(n + 64) is a normal number, s p 2^(n + 64) is exact, and only the final
 * product with 2^-64 rounds, so results in the denormal range are rounded once, correctly. */
static inline float nnc_gauss_f32_(float a, float s)
{
    float ah = nnc_f32_from_bits_(nnc_bits_from_f32_(a) & (int32_t)0xfffff000);
    float hi = -0.5f * (ah * ah);
    float lo = -0.5f * ((a - ah) * (a + ah));
    float nf;
    int32_t n = nnc_round_ln2_f32_(hi + lo, &nf);
    float r = ((hi - nf * NNC_LN2_HI_F32) + lo) - nf * NNC_LN2_LO_F32;
    return nnc_scale2n_f32_(s * (1.0f + (r + nnc_expm1_tail_f32_(r))), n);
}

/* The normal tail Phi(-a) = erfc(a / sqrt 2) / 2 for a >= 0, as e^(-a^2/2) R(a), where the ratio
 * R(a) = Phi(-a) e^(a^2/2) is smooth and slowly varying: R(a) = t P(t), t = 1 / (1 + a / (2 sqrt 2)),
 * P a degree-8 polynomial fitted for nnc (least squares on Chebyshev nodes of t for a in [0, 14.5],
 * reweighted toward minimax; relative error 4e-8 in exact arithmetic, 3.4e-7 evaluated in float).
 * The relative accuracy holds in the far left tail, where 1 + erf(x / sqrt 2) would cancel:
 * GELU(-5) is right to 2e-7 here; PyTorch 2.13's float GELU there is off by 4%.
 * Beyond a = 14.5 the result underflows float (a is clamped there). */
static inline float nnc_normal_tail_f32(float a)
{
    float ac = nnc_select_f32(a > NNC_GAUSS_MAX_F32, NNC_GAUSS_MAX_F32, a);
    float t = 1.0f / (1.0f + 0.35355339059f * ac);
    float p = -2.957028151e-02f;
    p = p * t + 1.424622983e-01f;
    p = p * t - 2.439622283e-01f;
    p = p * t + 1.394484043e-01f;
    p = p * t - 1.359884441e-02f;
    p = p * t + 1.014645621e-01f;
    p = p * t + 1.215212420e-01f;
    p = p * t + 1.411918700e-01f;
    p = p * t + 1.410429627e-01f;
    return nnc_gauss_f32_(ac, t * p);
}

/* The standard normal density phi(x) = e^(-x^2/2) / sqrt(2 pi). */
static inline float nnc_normal_pdf_f32(float x)
{
    float a = fabsf(x);
    float ac = nnc_select_f32(a > NNC_GAUSS_MAX_F32, NNC_GAUSS_MAX_F32, a);
    return nnc_gauss_f32_(ac, (float)NNC_INV_SQRT_2PI);
}

static inline double nnc_normal_tail_f64(double a) { return 0.5 * erfc(a * NNC_SQRT1_2); }
static inline double nnc_normal_pdf_f64(double x) { return NNC_INV_SQRT_2PI * exp(-0.5 * x * x); }

/* Type-generic front (like <tgmath.h>): float -> the functions above, double -> libm. */
#define nnc_exp_nonpos(x) _Generic((x), float: nnc_exp_nonpos_f32, default: exp)(x)
#define nnc_expm1(x) _Generic((x), float: nnc_expm1_f32, default: expm1)(x)
#define nnc_log1p(x) _Generic((x), float: nnc_log1p_f32, default: log1p)(x)
#define nnc_tanh(x) _Generic((x), float: nnc_tanh_f32, default: tanh)(x)
#define nnc_normal_tail(x) _Generic((x), float: nnc_normal_tail_f32, default: nnc_normal_tail_f64)(x)
#define nnc_normal_pdf(x) _Generic((x), float: nnc_normal_pdf_f32, default: nnc_normal_pdf_f64)(x)
#define nnc_select(c, a, b) _Generic((a), float: nnc_select_f32, default: nnc_select_f64)(c, a, b)
#define nnc_row_max(x, n) _Generic((x)[0], float: nnc_row_max_f32, default: nnc_row_max_f64)(x, n)
#define nnc_fabs(x) _Generic((x), float: fabsf, default: fabs)(x)
#define nnc_sqrt(x) _Generic((x), float: sqrtf, default: sqrt)(x)

#endif
