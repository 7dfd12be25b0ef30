// Elementwise and per-row kernels of the trainer (GELU, LayerNorm, RMSNorm, the channels-last
// depthwise convolution, softmax, forward and backward; the AdamW step), in C so that they can be
// compiled for AVX2 + FMA beside the baseline x86-64 build and picked at run time.
//
// Why C: Swift has no per-function target attribute, and its default x86-64 target is SSE2, so
// `SIMD8<Float>` runs as two 4-lane halves without FMA; a whole-module `-target-cpu` would make
// the binary CPU-specific. clang's `__attribute__((target("avx2,fma")))` plus a cpuid check
// keeps one portable binary. The formulas (Cephes exp, the same as TensorCore/FastMath.swift's;
// Abramowitz & Stegun erf; exp-based tanh) use only multiplies, adds and selects, so both builds
// agree with the float64 tests.
#pragma once
#include <stddef.h>

/// 1 when the AVX2 + FMA versions run on this CPU, 0 when the baseline ones do.
int vk_uses_avx2(void);
/// Tests: 1 makes every kernel take the baseline loop even on an AVX2 CPU, 0 restores the choice.
void vk_force_baseline(int on);

/// y = GELU(x); `tanh_form` 0: x·Φ(x) with erf (torch's exact GELU), 1: its tanh approximation.
void vk_gelu(const float *x, float *y, size_t n, int tanh_form);
/// dx = dy · GELU'(x).
void vk_gelu_backward(const float *x, const float *dy, float *dx, size_t n, int tanh_form);
/// Gated GELU over `rows` rows of [a | b] (2h values each): y = GELU(a) ⊙ b, (rows, h).
void vk_gated_gelu(const float *x, float *y, size_t rows, size_t h, int tanh_form);
/// Its backward: da = dy · b · GELU'(a), db = dy · GELU(a), into dx (rows, 2h).
void vk_gated_gelu_backward(const float *x, const float *dy, float *dx, size_t rows, size_t h, int tanh_form);

// Row normalisations over the last axis (C values per row), rows [first_row, first_row + rows)
// of a tensor whose pointers are already offset to `first_row`. gamma/beta (nullable) are (G, C)
// with `per_group` rows per group: row r uses gamma + (r / per_group)·C. Sums run in vector order
// (reassociated), within float32 rounding of the scalar order.

/// LayerNorm: y = (x − mean)·rstd·gamma + beta; writes each row's mean and rstd.
void vk_layer_norm(const float *x, float *y, float *mean, float *rstd, const float *gamma, const float *beta,
                   size_t first_row, size_t rows, size_t c, size_t per_group, float eps);
/// dx = rstd·(u − mean(u) − x̂·mean(u ⊙ x̂)), u = dy ⊙ gamma.
void vk_layer_norm_backward(const float *x, const float *dy, float *dx, const float *gamma, const float *mean,
                            const float *rstd, size_t first_row, size_t rows, size_t c, size_t per_group);
/// RMSNorm: y = x·s·gamma with s = 1/(‖x‖/√C + eps); writes each row's s.
void vk_rms_norm(const float *x, float *y, float *scale, const float *gamma,
                 size_t first_row, size_t rows, size_t c, size_t per_group, float eps);
/// dx = s·u − x·(Σ u⊙x)·s²/(C·rms), u = dy ⊙ gamma.
void vk_rms_norm_backward(const float *x, const float *dy, float *dx, const float *gamma, const float *scale,
                          size_t first_row, size_t rows, size_t c, size_t per_group);
/// Columns [col0, col1) of the affine gradients over all `rows` rows (pointers not offset):
/// dgamma[g] += dy ⊙ (x − mean)·scale and dbeta[g] += dy, either nullable; mean nullable (RMSNorm).
void vk_norm_parameter_gradients(const float *x, const float *dy, const float *mean, const float *scale,
                                 float *dgamma, float *dbeta, size_t rows, size_t c, size_t per_group,
                                 size_t col0, size_t col1);

// Depthwise K×K convolution of channels-last images (B, H, W, C), stride 1, zero padding K/2
// (TensorCore/Ops/DepthwiseConv2dChannelsLast.swift says why channels-last).

/// Output rows [row0, row1) of y (row = b·H + h): y = bias + Σ taps x, with `taps` (K·K, C);
/// bias nullable (no bias).
void vk_depthwise_cl_rows(const float *x, const float *taps, const float *bias, float *y,
                          size_t height, size_t width, size_t c, size_t k, size_t row0, size_t row1);
/// Adds one image's weight gradient to acc ((K·K + 1, C): the taps, then the bias row):
/// acc[tap] += Σ_pixels dy ⊙ shifted x, acc[K·K] += Σ_pixels dy.
void vk_depthwise_cl_weight_gradient(const float *x, const float *dy, float *acc,
                                     size_t height, size_t width, size_t c, size_t k);

// The optimiser.

/// Σ x², accumulated in double (four lanes or more at a time; one fixed order per build).
double vk_sum_of_squares(const float *x, size_t n);
/// One AdamW step on n values: g = grad·clip, m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// w ← w·decay − lr·(m/c₁)/(√(v/c₂) + ε).
void vk_adamw(float *w, const float *grad, float *m, float *v, size_t n, float clip, float beta1, float beta2,
              float c1, float c2, float lr, float eps, float decay);

// Row-wise softmax (attention's probabilities).

/// In place, each of `rows` rows of c values: x ← softmax(scale·x), the row maximum subtracted first.
void vk_softmax_rows(float *x, size_t rows, size_t c, float scale);
/// In place: g ← scale · y ⊙ (g − Σ g⊙y), row by row (y: softmax's output).
void vk_softmax_backward_rows(float *g, const float *y, size_t rows, size_t c, float scale);
