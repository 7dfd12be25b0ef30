#include "vector_kernels.h"
#include <stdint.h>
#include <string.h>

// Each kernel's body is written once, as an always-inline function, and compiled twice: inside a
// baseline wrapper and inside an AVX2 + FMA wrapper, where clang vectorises the loop 8 lanes wide.
// The math below uses only multiplies, adds, selects and bit moves, so both loops vectorise.
#define INLINE static inline __attribute__((always_inline))

INLINE float as_float(int32_t i) { float f; memcpy(&f, &i, 4); return f; }
INLINE int32_t as_int(float f) { int32_t i; memcpy(&i, &f, 4); return i; }

// e^x: x = n·ln2 + r, e^r by Cephes' degree-6 polynomial, 2^n through the exponent bits
// (FastMath.swift's fastExp, same constants).
INLINE float fast_exp(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.0f ? 88.0f : x;
    const float shifter = 12582912.0f;                 // 1.5·2²³: rounds x·log2 e to an integer
    float shifted = x * 1.44269504f + shifter;
    float n = shifted - shifter;
    float r = x - n * 0.693359375f + n * 2.1219444e-4f;
    float p = 1.98756915e-4f;
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.3334519e-3f;
    p = p * r + 4.1665796e-2f;
    p = p * r + 1.66666655e-1f;
    p = p * r + 5.0000001e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t bits = (as_int(shifted) - 0x4B400000 + 127) << 23;
    return p * as_float(bits);
}

// erf(x), Abramowitz & Stegun 7.1.26 refined, odd-extended: max abs error 1.5e-7 (A&S).
INLINE float fast_erf(float x) {
    float ax = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float poly = 1.061405429f;
    poly = poly * t - 1.453152027f;
    poly = poly * t + 1.421413741f;
    poly = poly * t - 0.284496736f;
    poly = poly * t + 0.254829592f;
    float y = 1.0f - poly * t * fast_exp(-ax * ax);
    return x < 0 ? -y : y;
}

// tanh(x) = 1 − 2/(e^{2x} + 1); below |x| < 1/16 the series x − x³/3 + 2x⁵/15 − 17x⁷/315, where
// the subtraction would cancel.
INLINE float fast_tanh(float x) {
    float e = fast_exp(2.0f * x);
    float big = 1.0f - 2.0f / (e + 1.0f);
    float x2 = x * x;
    float series = -17.0f / 315.0f;
    series = series * x2 + 2.0f / 15.0f;
    series = series * x2 - 1.0f / 3.0f;
    float small = x + x * x2 * series;
    float ax = x < 0 ? -x : x;
    return ax < 0.0625f ? small : big;
}

INLINE float gelu_value(float x, int tanh_form) {
    if (tanh_form) return 0.5f * x * (1.0f + fast_tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    return 0.5f * x * (1.0f + fast_erf(x * 0.70710678118654752f));
}

// GELU(x) and GELU'(x) together.
INLINE void gelu_with_derivative(float x, int tanh_form, float *value, float *derivative) {
    if (tanh_form) {
        float x2 = x * x;
        float t = fast_tanh(0.79788456080286536f * (x + 0.044715f * x2 * x));
        float inner = 0.79788456080286536f * (1.0f + 3.0f * 0.044715f * x2);
        *value = 0.5f * x * (1.0f + t);
        *derivative = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * inner;
    } else {
        float cdf = 0.5f * (1.0f + fast_erf(x * 0.70710678118654752f));
        float density = 0.39894228040143268f * fast_exp(-0.5f * x * x);
        *value = x * cdf;
        *derivative = cdf + x * density;
    }
}

// The loops. `tanh_form` is hoisted out by the callers' two branches, so each loop body is
// branch-free.
INLINE void gelu_loop(const float *restrict x, float *restrict y, size_t n, int tanh_form) {
    if (tanh_form) { for (size_t i = 0; i < n; i++) y[i] = gelu_value(x[i], 1); }
    else { for (size_t i = 0; i < n; i++) y[i] = gelu_value(x[i], 0); }
}

INLINE void gelu_backward_loop(const float *restrict x, const float *restrict dy, float *restrict dx, size_t n, int tanh_form) {
    float v, d;
    if (tanh_form) { for (size_t i = 0; i < n; i++) { gelu_with_derivative(x[i], 1, &v, &d); dx[i] = dy[i] * d; } }
    else { for (size_t i = 0; i < n; i++) { gelu_with_derivative(x[i], 0, &v, &d); dx[i] = dy[i] * d; } }
}

INLINE void gated_gelu_loop(const float *restrict x, float *restrict y, size_t rows, size_t h, int tanh_form) {
    for (size_t r = 0; r < rows; r++) {
        const float *a = x + r * 2 * h, *b = a + h;
        float *out = y + r * h;
        if (tanh_form) { for (size_t j = 0; j < h; j++) out[j] = gelu_value(a[j], 1) * b[j]; }
        else { for (size_t j = 0; j < h; j++) out[j] = gelu_value(a[j], 0) * b[j]; }
    }
}

INLINE void gated_gelu_backward_loop(const float *restrict x, const float *restrict dy, float *restrict dx,
                                     size_t rows, size_t h, int tanh_form) {
    for (size_t r = 0; r < rows; r++) {
        const float *a = x + r * 2 * h, *b = a + h, *g = dy + r * h;
        float *da = dx + r * 2 * h, *db = da + h;
        float v, d;
        if (tanh_form) {
            for (size_t j = 0; j < h; j++) { gelu_with_derivative(a[j], 1, &v, &d); da[j] = g[j] * b[j] * d; db[j] = g[j] * v; }
        } else {
            for (size_t j = 0; j < h; j++) { gelu_with_derivative(a[j], 0, &v, &d); da[j] = g[j] * b[j] * d; db[j] = g[j] * v; }
        }
    }
}

// Row normalisations. `reassociate` lets clang split each row's sums over vector lanes.
INLINE void layer_norm_loop(const float *restrict x, float *restrict y, float *restrict mean, float *restrict rstd,
                            const float *gamma, const float *beta, size_t first_row, size_t rows, size_t c,
                            size_t per_group, float eps) {
#pragma clang fp reassociate(on)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        float sum = 0;
        for (size_t j = 0; j < c; j++) sum += xr[j];
        float m = sum / (float)c, sq = 0;
        for (size_t j = 0; j < c; j++) { float d = xr[j] - m; sq += d * d; }
        float s = 1.0f / __builtin_sqrtf(sq / (float)c + eps);
        mean[r] = m; rstd[r] = s;
        size_t g = (first_row + r) / per_group;
        const float *gr = gamma ? gamma + g * c : NULL, *br = beta ? beta + g * c : NULL;
        if (gr && br) { for (size_t j = 0; j < c; j++) yr[j] = (xr[j] - m) * s * gr[j] + br[j]; }
        else if (gr) { for (size_t j = 0; j < c; j++) yr[j] = (xr[j] - m) * s * gr[j]; }
        else if (br) { for (size_t j = 0; j < c; j++) yr[j] = (xr[j] - m) * s + br[j]; }
        else { for (size_t j = 0; j < c; j++) yr[j] = (xr[j] - m) * s; }
    }
}

INLINE void layer_norm_backward_loop(const float *restrict x, const float *restrict dy, float *restrict dx,
                                     const float *gamma, const float *mean, const float *rstd,
                                     size_t first_row, size_t rows, size_t c, size_t per_group) {
#pragma clang fp reassociate(on)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c, *g = dy + r * c;
        float *d = dx + r * c;
        float m = mean[r], s = rstd[r], meanU = 0, meanUX = 0;
        const float *gr = gamma ? gamma + ((first_row + r) / per_group) * c : NULL;
        if (gr) { for (size_t j = 0; j < c; j++) { float u = g[j] * gr[j]; meanU += u; meanUX += u * (xr[j] - m) * s; } }
        else { for (size_t j = 0; j < c; j++) { meanU += g[j]; meanUX += g[j] * (xr[j] - m) * s; } }
        meanU /= (float)c; meanUX /= (float)c;
        if (gr) { for (size_t j = 0; j < c; j++) d[j] = s * (g[j] * gr[j] - meanU - (xr[j] - m) * s * meanUX); }
        else { for (size_t j = 0; j < c; j++) d[j] = s * (g[j] - meanU - (xr[j] - m) * s * meanUX); }
    }
}

INLINE void rms_norm_loop(const float *restrict x, float *restrict y, float *restrict scale, const float *gamma,
                          size_t first_row, size_t rows, size_t c, size_t per_group, float eps) {
#pragma clang fp reassociate(on)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        float sq = 0;
        for (size_t j = 0; j < c; j++) sq += xr[j] * xr[j];
        float s = 1.0f / (__builtin_sqrtf(sq / (float)c) + eps);
        scale[r] = s;
        const float *gr = gamma ? gamma + ((first_row + r) / per_group) * c : NULL;
        if (gr) { for (size_t j = 0; j < c; j++) yr[j] = xr[j] * s * gr[j]; }
        else { for (size_t j = 0; j < c; j++) yr[j] = xr[j] * s; }
    }
}

INLINE void rms_norm_backward_loop(const float *restrict x, const float *restrict dy, float *restrict dx,
                                   const float *gamma, const float *scale,
                                   size_t first_row, size_t rows, size_t c, size_t per_group) {
#pragma clang fp reassociate(on)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c, *g = dy + r * c;
        float *d = dx + r * c;
        float s = scale[r], dot = 0, sq = 0;
        const float *gr = gamma ? gamma + ((first_row + r) / per_group) * c : NULL;
        if (gr) { for (size_t j = 0; j < c; j++) { dot += g[j] * gr[j] * xr[j]; sq += xr[j] * xr[j]; } }
        else { for (size_t j = 0; j < c; j++) { dot += g[j] * xr[j]; sq += xr[j] * xr[j]; } }
        float rms = __builtin_sqrtf(sq / (float)c);
        float k = rms > 0 ? dot * s * s / ((float)c * rms) : 0;
        if (gr) { for (size_t j = 0; j < c; j++) d[j] = s * g[j] * gr[j] - xr[j] * k; }
        else { for (size_t j = 0; j < c; j++) d[j] = s * g[j] - xr[j] * k; }
    }
}

// Row order is fixed (r = 0, 1, …), so each column's sum is bit-reproducible.
INLINE void norm_parameter_gradients_loop(const float *restrict x, const float *restrict dy, const float *mean,
                                          const float *scale, float *dgamma, float *dbeta, size_t rows, size_t c,
                                          size_t per_group, size_t col0, size_t col1) {
    for (size_t r = 0; r < rows; r++) {
        size_t g = r / per_group;
        const float *xr = x + r * c, *gr = dy + r * c;
        float m = mean ? mean[r] : 0, s = scale[r];
        if (dgamma) { float *o = dgamma + g * c; for (size_t j = col0; j < col1; j++) o[j] += gr[j] * ((xr[j] - m) * s); }
        if (dbeta) { float *o = dbeta + g * c; for (size_t j = col0; j < col1; j++) o[j] += gr[j]; }
    }
}

// The depthwise convolution, eight channels at a time in clang's generic vectors: 8-lane AVX
// registers in the AVX2 build, pairs of SSE registers in the baseline one. Taps whose input
// falls outside the image are skipped (zero padding) rather than read from a padded copy.
// (Macros, not functions: a function passing these vectors would trip -Wpsabi in the baseline build.)
typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));
#define load8(p) (*(const v8 *)(p))
#define store8(p, v) (*(v8 *)(p) = (v))
INLINE size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

INLINE void depthwise_cl_rows_loop(const float *x, const float *taps, const float *bias, float *y,
                                   size_t height, size_t width, size_t c, size_t k, size_t row0, size_t row1) {
    size_t half = k / 2;
    for (size_t job = row0; job < row1; job++) {
        size_t image = job / height, oh = job % height;
        size_t i0 = half > oh ? half - oh : 0, i1 = min_size(k, height + half - oh);
        const float *imageStart = x + image * height * width * c;
        for (size_t ow = 0; ow < width; ow++) {
            size_t j0 = half > ow ? half - ow : 0, j1 = min_size(k, width + half - ow);
            float *out = y + (job * width + ow) * c;
            size_t ch = 0;
            for (; ch + 8 <= c; ch += 8) {
                v8 acc = {0};
                if (bias) acc = load8(bias + ch);
                for (size_t i = i0; i < i1; i++) {
                    // the input pixel under tap (i, j0), the first inside the image
                    const float *row = imageStart + ((oh + i - half) * width + ow + j0 - half) * c + ch;
                    const float *tapRow = taps + (i * k + j0) * c + ch;
                    for (size_t j = 0; j < j1 - j0; j++) acc += load8(row + j * c) * load8(tapRow + j * c);
                }
                store8(out + ch, acc);
            }
            for (; ch < c; ch++) {
                float acc = bias ? bias[ch] : 0;
                for (size_t i = i0; i < i1; i++)
                    for (size_t j = j0; j < j1; j++)
                        acc += imageStart[((oh + i - half) * width + (ow + j - half)) * c + ch] * taps[(i * k + j) * c + ch];
                out[ch] = acc;
            }
        }
    }
}

INLINE void depthwise_cl_weight_gradient_loop(const float *x, const float *dy, float *acc,
                                              size_t height, size_t width, size_t c, size_t k) {
    size_t half = k / 2, taps = k * k;
    for (size_t oh = 0; oh < height; oh++) {
        size_t i0 = half > oh ? half - oh : 0, i1 = min_size(k, height + half - oh);
        const float *gradRow = dy + oh * width * c;
        for (size_t ow = 0; ow < width; ow++)
            for (size_t ch = 0; ch < c; ch++) acc[taps * c + ch] += gradRow[ow * c + ch];
        for (size_t i = i0; i < i1; i++) {
            const float *inputRow = x + (oh + i - half) * width * c;
            for (size_t j = 0; j < k; j++) {
                // output pixels whose tap (i, j) lands inside the row
                size_t w0 = half > j ? half - j : 0, w1 = min_size(width, width + half - j);
                if (w0 >= w1) continue;
                float *slot = acc + (i * k + j) * c;
                size_t ch = 0;
                for (; ch + 8 <= c; ch += 8) {
                    v8 sum = {0};
                    for (size_t ow = w0; ow < w1; ow++)
                        sum += load8(gradRow + ow * c + ch) * load8(inputRow + (ow + j - half) * c + ch);
                    store8(slot + ch, load8(slot + ch) + sum);
                }
                for (; ch < c; ch++) {
                    float sum = 0;
                    for (size_t ow = w0; ow < w1; ow++) sum += gradRow[ow * c + ch] * inputRow[(ow + j - half) * c + ch];
                    slot[ch] += sum;
                }
            }
        }
    }
}

INLINE double sum_of_squares_loop(const float *restrict x, size_t n) {
#pragma clang fp reassociate(on)
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (double)x[i] * (double)x[i];
    return sum;
}

INLINE void adamw_loop(float *restrict w, const float *restrict grad, float *restrict m, float *restrict v, size_t n,
                       float clip, float beta1, float beta2, float c1, float c2, float lr, float eps, float decay) {
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] * clip;
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;
        float update = (m[i] / c1) / (__builtin_sqrtf(v[i] / c2) + eps);
        w[i] = w[i] * decay - lr * update;
    }
}

INLINE void softmax_rows_loop(float *restrict x, size_t rows, size_t c, float scale) {
#pragma clang fp reassociate(on)
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * c;
        float m = row[0];
        for (size_t j = 1; j < c; j++) m = row[j] > m ? row[j] : m;
        float sum = 0;
        for (size_t j = 0; j < c; j++) { float e = fast_exp((row[j] - m) * scale); row[j] = e; sum += e; }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < c; j++) row[j] *= inv;
    }
}

INLINE void softmax_backward_rows_loop(float *restrict g, const float *restrict y, size_t rows, size_t c, float scale) {
#pragma clang fp reassociate(on)
    for (size_t r = 0; r < rows; r++) {
        float *gr = g + r * c;
        const float *yr = y + r * c;
        float dot = 0;
        for (size_t j = 0; j < c; j++) dot += gr[j] * yr[j];
        for (size_t j = 0; j < c; j++) gr[j] = scale * yr[j] * (gr[j] - dot);
    }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))
static AVX2 void gelu_avx2(const float *x, float *y, size_t n, int t) { gelu_loop(x, y, n, t); }
static AVX2 void gelu_backward_avx2(const float *x, const float *dy, float *dx, size_t n, int t) { gelu_backward_loop(x, dy, dx, n, t); }
static AVX2 void gated_gelu_avx2(const float *x, float *y, size_t rows, size_t h, int t) { gated_gelu_loop(x, y, rows, h, t); }
static AVX2 void gated_gelu_backward_avx2(const float *x, const float *dy, float *dx, size_t rows, size_t h, int t) {
    gated_gelu_backward_loop(x, dy, dx, rows, h, t);
}
static AVX2 void layer_norm_avx2(const float *x, float *y, float *mean, float *rstd, const float *gamma, const float *beta,
                                 size_t first_row, size_t rows, size_t c, size_t per_group, float eps) {
    layer_norm_loop(x, y, mean, rstd, gamma, beta, first_row, rows, c, per_group, eps);
}
static AVX2 void layer_norm_backward_avx2(const float *x, const float *dy, float *dx, const float *gamma, const float *mean,
                                          const float *rstd, size_t first_row, size_t rows, size_t c, size_t per_group) {
    layer_norm_backward_loop(x, dy, dx, gamma, mean, rstd, first_row, rows, c, per_group);
}
static AVX2 void rms_norm_avx2(const float *x, float *y, float *scale, const float *gamma,
                               size_t first_row, size_t rows, size_t c, size_t per_group, float eps) {
    rms_norm_loop(x, y, scale, gamma, first_row, rows, c, per_group, eps);
}
static AVX2 void rms_norm_backward_avx2(const float *x, const float *dy, float *dx, const float *gamma, const float *scale,
                                        size_t first_row, size_t rows, size_t c, size_t per_group) {
    rms_norm_backward_loop(x, dy, dx, gamma, scale, first_row, rows, c, per_group);
}
static AVX2 void norm_parameter_gradients_avx2(const float *x, const float *dy, const float *mean, const float *scale,
                                               float *dgamma, float *dbeta, size_t rows, size_t c, size_t per_group,
                                               size_t col0, size_t col1) {
    norm_parameter_gradients_loop(x, dy, mean, scale, dgamma, dbeta, rows, c, per_group, col0, col1);
}
static AVX2 void depthwise_cl_rows_avx2(const float *x, const float *taps, const float *bias, float *y,
                                        size_t height, size_t width, size_t c, size_t k, size_t row0, size_t row1) {
    depthwise_cl_rows_loop(x, taps, bias, y, height, width, c, k, row0, row1);
}
static AVX2 void depthwise_cl_weight_gradient_avx2(const float *x, const float *dy, float *acc,
                                                   size_t height, size_t width, size_t c, size_t k) {
    depthwise_cl_weight_gradient_loop(x, dy, acc, height, width, c, k);
}
static AVX2 double sum_of_squares_avx2(const float *x, size_t n) { return sum_of_squares_loop(x, n); }
static AVX2 void adamw_avx2(float *w, const float *grad, float *m, float *v, size_t n, float clip, float beta1, float beta2,
                            float c1, float c2, float lr, float eps, float decay) {
    adamw_loop(w, grad, m, v, n, clip, beta1, beta2, c1, c2, lr, eps, decay);
}
static AVX2 void softmax_rows_avx2(float *x, size_t rows, size_t c, float scale) { softmax_rows_loop(x, rows, c, scale); }
static AVX2 void softmax_backward_rows_avx2(float *g, const float *y, size_t rows, size_t c, float scale) {
    softmax_backward_rows_loop(g, y, rows, c, scale);
}
static int has_avx2 = -1, forced_baseline = 0;
int vk_uses_avx2(void) {
    // a benign race: every thread computes the same answer
    if (has_avx2 < 0) { __builtin_cpu_init(); has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
    return has_avx2 && !forced_baseline;
}
void vk_force_baseline(int on) { forced_baseline = on; }
#else
int vk_uses_avx2(void) { return 0; }
void vk_force_baseline(int on) { (void)on; }
#endif

#if defined(__x86_64__)
#define DISPATCH(fast, ...) do { if (vk_uses_avx2()) { fast(__VA_ARGS__); return; } } while (0)
#else
#define DISPATCH(fast, ...) do { } while (0)
#endif

void vk_gelu(const float *x, float *y, size_t n, int t) { DISPATCH(gelu_avx2, x, y, n, t); gelu_loop(x, y, n, t); }
void vk_gelu_backward(const float *x, const float *dy, float *dx, size_t n, int t) {
    DISPATCH(gelu_backward_avx2, x, dy, dx, n, t); gelu_backward_loop(x, dy, dx, n, t);
}
void vk_gated_gelu(const float *x, float *y, size_t rows, size_t h, int t) {
    DISPATCH(gated_gelu_avx2, x, y, rows, h, t); gated_gelu_loop(x, y, rows, h, t);
}
void vk_gated_gelu_backward(const float *x, const float *dy, float *dx, size_t rows, size_t h, int t) {
    DISPATCH(gated_gelu_backward_avx2, x, dy, dx, rows, h, t); gated_gelu_backward_loop(x, dy, dx, rows, h, t);
}

void vk_layer_norm(const float *x, float *y, float *mean, float *rstd, const float *gamma, const float *beta,
                   size_t first_row, size_t rows, size_t c, size_t per_group, float eps) {
    DISPATCH(layer_norm_avx2, x, y, mean, rstd, gamma, beta, first_row, rows, c, per_group, eps);
    layer_norm_loop(x, y, mean, rstd, gamma, beta, first_row, rows, c, per_group, eps);
}
void vk_layer_norm_backward(const float *x, const float *dy, float *dx, const float *gamma, const float *mean,
                            const float *rstd, size_t first_row, size_t rows, size_t c, size_t per_group) {
    DISPATCH(layer_norm_backward_avx2, x, dy, dx, gamma, mean, rstd, first_row, rows, c, per_group);
    layer_norm_backward_loop(x, dy, dx, gamma, mean, rstd, first_row, rows, c, per_group);
}
void vk_rms_norm(const float *x, float *y, float *scale, const float *gamma,
                 size_t first_row, size_t rows, size_t c, size_t per_group, float eps) {
    DISPATCH(rms_norm_avx2, x, y, scale, gamma, first_row, rows, c, per_group, eps);
    rms_norm_loop(x, y, scale, gamma, first_row, rows, c, per_group, eps);
}
void vk_rms_norm_backward(const float *x, const float *dy, float *dx, const float *gamma, const float *scale,
                          size_t first_row, size_t rows, size_t c, size_t per_group) {
    DISPATCH(rms_norm_backward_avx2, x, dy, dx, gamma, scale, first_row, rows, c, per_group);
    rms_norm_backward_loop(x, dy, dx, gamma, scale, first_row, rows, c, per_group);
}
void vk_norm_parameter_gradients(const float *x, const float *dy, const float *mean, const float *scale,
                                 float *dgamma, float *dbeta, size_t rows, size_t c, size_t per_group,
                                 size_t col0, size_t col1) {
    DISPATCH(norm_parameter_gradients_avx2, x, dy, mean, scale, dgamma, dbeta, rows, c, per_group, col0, col1);
    norm_parameter_gradients_loop(x, dy, mean, scale, dgamma, dbeta, rows, c, per_group, col0, col1);
}

void vk_depthwise_cl_rows(const float *x, const float *taps, const float *bias, float *y,
                          size_t height, size_t width, size_t c, size_t k, size_t row0, size_t row1) {
    DISPATCH(depthwise_cl_rows_avx2, x, taps, bias, y, height, width, c, k, row0, row1);
    depthwise_cl_rows_loop(x, taps, bias, y, height, width, c, k, row0, row1);
}
void vk_depthwise_cl_weight_gradient(const float *x, const float *dy, float *acc,
                                     size_t height, size_t width, size_t c, size_t k) {
    DISPATCH(depthwise_cl_weight_gradient_avx2, x, dy, acc, height, width, c, k);
    depthwise_cl_weight_gradient_loop(x, dy, acc, height, width, c, k);
}

double vk_sum_of_squares(const float *x, size_t n) {
#if defined(__x86_64__)
    if (vk_uses_avx2()) return sum_of_squares_avx2(x, n);
#endif
    return sum_of_squares_loop(x, n);
}
void vk_adamw(float *w, const float *grad, float *m, float *v, size_t n, float clip, float beta1, float beta2,
              float c1, float c2, float lr, float eps, float decay) {
    DISPATCH(adamw_avx2, w, grad, m, v, n, clip, beta1, beta2, c1, c2, lr, eps, decay);
    adamw_loop(w, grad, m, v, n, clip, beta1, beta2, c1, c2, lr, eps, decay);
}

void vk_softmax_rows(float *x, size_t rows, size_t c, float scale) {
    if (c == 0) return;
    DISPATCH(softmax_rows_avx2, x, rows, c, scale);
    softmax_rows_loop(x, rows, c, scale);
}
void vk_softmax_backward_rows(float *g, const float *y, size_t rows, size_t c, float scale) {
    DISPATCH(softmax_backward_rows_avx2, g, y, rows, c, scale);
    softmax_backward_rows_loop(g, y, rows, c, scale);
}
