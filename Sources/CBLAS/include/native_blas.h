// OpenBLAS (CBLAS) and LAPACKE behind a loader that chooses OpenBLAS's core type first.
//
// Why a loader: OpenBLAS reads OPENBLAS_CORETYPE only while the library loads, and Debian's
// 0.3.21 does not recognise newer CPUs (e.g. Sapphire/Emerald Rapids): it falls back to generic
// kernels at a sixth of the speed. Linking it normally would load it before our code runs, so we
// dlopen it ourselves after picking a core type the CPU really supports (a wrong one, such as
// SkylakeX on an AVX2-only CPU, dies with SIGILL). A user's own OPENBLAS_CORETYPE always wins.
#pragma once
#include <cblas.h>
#include <lapacke.h>

/// Loads the libraries once (thread-safe). Returns 0 on success; on failure `nb_error()` says why.
int nb_load(void);
/// Human-readable reason the last nb_load failed, or "" when loaded.
const char *nb_error(void);
/// Core type we asked for ("" when the user's environment chose, or the CPU gave no reason to).
const char *nb_requested_core(void);
/// Whether OPENBLAS_CORETYPE was set by the user before we started.
int nb_core_from_user(void);
/// OpenBLAS's own name for the kernels in use (after loading).
const char *nb_corename(void);
const char *nb_config(void);
int nb_num_threads(void);
void nb_set_num_threads(int n);

void nb_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb,
              int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);
/// Called with the shape of every nb_sgemm call while set (transA, transB as 0/1); NULL stops.
/// Set only while no sgemm runs: benchmarks record a network's calls with it.
typedef void (*nb_sgemm_observer)(int trans_a, int trans_b, int m, int n, int k, int lda, int ldb, int ldc);
void nb_observe_sgemm(nb_sgemm_observer observer);
void nb_dgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb,
              int m, int n, int k, double alpha, const double *a, int lda,
              const double *b, int ldb, double beta, double *c, int ldc);
void nb_sgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE t, int m, int n, float alpha,
              const float *a, int lda, const float *x, int incx, float beta, float *y, int incy);
void nb_ssyrk(enum CBLAS_ORDER order, enum CBLAS_UPLO uplo, enum CBLAS_TRANSPOSE t, int n, int k,
              float alpha, const float *a, int lda, float beta, float *c, int ldc);
void nb_dsyrk(enum CBLAS_ORDER order, enum CBLAS_UPLO uplo, enum CBLAS_TRANSPOSE t, int n, int k,
              double alpha, const double *a, int lda, double beta, double *c, int ldc);
/// Symmetric eigendecomposition (LAPACKE_dsyevd). jobz 'V' or 'N'; uplo 'U' or 'L'.
int nb_dsyevd(int matrix_layout, char jobz, char uplo, int n, double *a, int lda, double *w);
/// Cholesky factorisation (LAPACKE_dpotrf); returns > 0 when the matrix is not positive definite.
int nb_dpotrf(int matrix_layout, char uplo, int n, double *a, int lda);
