/*
 * Float exp, expm1, tanh, sigmoid and erf without branches or calls, so
 * that clang vectorises the loops that use them in the elementwise kernels
 * and the GEMM epilogue.
 */
#ifndef ONNXC_RT_VMATH_H
#define ONNXC_RT_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* 2^n for n in [-126, 127]; other n give a wrong value but no UB. */
static inline float
rt_pow2i(int32_t n)
{
    uint32_t bits = (uint32_t)(n + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

#define RT_LOG2E_F 1.44269504088896341f
#define RT_LN2_HI_F                                                            \
    0.693145751953125f /* 14 bits, so n * RT_LN2_HI_F is exact */
#define RT_LN2_LO_F 1.42860676533018704e-06f

/*
 * Split x = n ln2 + r with |r| <= ln2 / 2 (Cody and Waite's two-part ln2),
 * and return e^r - 1 from its Taylor series to r^8, whose truncation error
 * is below 3e-10 relative.  x must be finite and at most 128 ln2.
 */
static inline float
rt_expm1_reduced(float x, int32_t *n)
{
    float k = rintf(x * RT_LOG2E_F);
    float r = (x - k * RT_LN2_HI_F) - k * RT_LN2_LO_F;
    *n = (int32_t)k;
    float p = 1.0f / 40320;
    p = p * r + 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    return r + r * r * p;
}

/*
 * e^x within about 1 ulp (the unit test's sweep finds 0.96), with
 * subnormal results, and 0 and inf beyond the float range.
 */
static inline float
rt_expf(float x)
{
    float c = x != x ? 0 : x;
    c = c < -104.0f ? -104.0f : c;
    c = c > 89.0f ? 89.0f : c;
    int32_t n;
    float q = rt_expm1_reduced(c, &n);
    /* Two factors, so that 2^n below 2^-126 or at 2^128 still scales. */
    float y = (1.0f + q) * rt_pow2i(n / 2) * rt_pow2i(n - n / 2);
    return x != x ? x : y;
}

/* e^x - 1 without cancellation near 0: 2^n (q + (1 - 2^-n)). */
static inline float
rt_expm1f(float x)
{
    float c = x != x ? 0 : x;
    c = c < -25.0f ? -25.0f : c; /* e^-25 - 1 rounds to -1 */
    c = c > 88.0f ? 88.0f : c;
    int32_t n;
    float q = rt_expm1_reduced(c, &n);
    float one_minus = n > 24 ? 1.0f : 1.0f - rt_pow2i(-n);
    float y = (q + one_minus) * rt_pow2i(n / 2) * rt_pow2i(n - n / 2);
    y = x > 88.72283935546875f ? INFINITY : y;
    return x != x ? x : y;
}

/* tanh |x| = t / (t + 2) with t = e^(2|x|) - 1; it is 1.0f from |x| = 9. */
static inline float
rt_tanhf(float x)
{
    float a = fabsf(x);
    a = a > 9.0f ? 9.0f : a;
    float t = rt_expm1f(2 * a);
    return copysignf(t / (t + 2), x);
}

/* 1 / (1 + e^-x), from e^-|x| so that it never overflows. */
static inline float
rt_sigmoidf(float x)
{
    float e = rt_expf(-fabsf(x));
    float s = 1 / (1 + e);
    return x >= 0 ? s : e * s;
}

/*
 * erf within about 2.5 ulp (the unit test's sweep against double erf
 * finds 2.35).  Below 0.875 it is x P(x^2); from there to 4 it is
 * 1 - e^(-x^2) G(1/x); above 4 it rounds to 1.  P and G are least-squares
 * polynomial fits to erf(x)/x and erfc(x) e^(x^2).
 */
static inline float
rt_erff(float x)
{
    float a = fabsf(x);
    float s = a * a;
    float p = 8.737570440377864e-05f;
    p = p * s - 0.0008225862073947655f;
    p = p * s + 0.005208074742617771f;
    p = p * s - 0.02686214424666622f;
    p = p * s + 0.11283743996540431f;
    p = p * s - 0.3761263691267595f;
    p = p * s + 1.1283791670106458f;
    float small = a * p;

    float b = a < 0.875f ? 0.875f : a;
    b = b > 4.0f ? 4.0f : b;
    float u = 1 / b - 0.6964285714285714f;
    float g = 0.014171026851618614f;
    g = g * u + 0.0020340204568406275f;
    g = g * u - 0.02449837713061123f;
    g = g * u + 0.03261466426785678f;
    g = g * u - 0.030764762652712413f;
    g = g * u + 0.009450149080139669f;
    g = g * u + 0.048313335983754375f;
    g = g * u - 0.16245520167250307f;
    g = g * u + 0.3583543908422313f;
    g = g * u + 0.3323958799109066f;
    float large = 1 - rt_expf(-b * b) * g;

    float y = a < 0.875f ? small : large;
    y = a >= 4.0f ? 1.0f : y;
    return copysignf(y, x);
}

#endif
