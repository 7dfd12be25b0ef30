#define _GNU_SOURCE
#include "native_blas.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cpuid.h>

typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int,
                         float, const float *, int, const float *, int, float, float *, int);
typedef void (*dgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int,
                         double, const double *, int, const double *, int, double, double *, int);
typedef void (*sgemv_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef void (*ssyrk_fn)(enum CBLAS_ORDER, enum CBLAS_UPLO, enum CBLAS_TRANSPOSE, int, int, float,
                         const float *, int, float, float *, int);
typedef void (*dsyrk_fn)(enum CBLAS_ORDER, enum CBLAS_UPLO, enum CBLAS_TRANSPOSE, int, int, double,
                         const double *, int, double, double *, int);
typedef int (*dsyevd_fn)(int, char, char, int, double *, int, double *);
typedef int (*dpotrf_fn)(int, char, int, double *, int);
typedef char *(*str_fn)(void);
typedef int (*int_fn)(void);
typedef void (*setint_fn)(int);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_status = -1;
static char error_text[512] = "not loaded yet";
static char requested_core[32] = "";
static int core_from_user = 0;
static sgemm_fn p_sgemm; static dgemm_fn p_dgemm; static sgemv_fn p_sgemv;
static sgemm_fn p_sgemm_called;   /* what nb_sgemm calls: p_sgemm, or observed_sgemm while observed */
static ssyrk_fn p_ssyrk; static dsyrk_fn p_dsyrk; static dsyevd_fn p_dsyevd; static dpotrf_fn p_dpotrf;
static str_fn p_corename, p_config; static int_fn p_get_threads; static setint_fn p_set_threads;

/// The OpenBLAS core type that fits this CPU, or NULL to let OpenBLAS decide.
/// AVX-512 needs both the instructions and the OS saving the ZMM state (XCR0 bits 5-7).
static const char *core_for_this_cpu(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(0, 0, &a, &b, &c, &d) || a < 7) return NULL;
    int amd = (b == 0x68747541);  /* "Auth"enticAMD */
    __get_cpuid_count(1, 0, &a, &b, &c, &d);
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, avx = (c >> 28) & 1;
    unsigned long long xcr0 = 0;
    if (osxsave) { unsigned lo, hi; __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0)); xcr0 = ((unsigned long long)hi << 32) | lo; }
    __get_cpuid_count(7, 0, &a, &b, &c, &d);
    int avx2 = (b >> 5) & 1;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 28) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1); /* F DQ CD BW VL */
    int ymm_ok = (xcr0 & 0x6) == 0x6, zmm_ok = (xcr0 & 0xE6) == 0xE6;
    if (avx512 && zmm_ok && !amd) return "SkylakeX";
    if (avx && avx2 && fma && ymm_ok) return amd ? "Zen" : "Haswell";
    return NULL;
}

static void *sym(void *lib, const char *name) {
    void *p = dlsym(lib, name);
    if (!p && load_status != 1) {
        snprintf(error_text, sizeof error_text, "symbol %s missing: %s", name, dlerror());
        load_status = 1;
    }
    return p;
}

static void load_once(void) {
    const char *user = getenv("OPENBLAS_CORETYPE");
    if (user && *user) {
        core_from_user = 1;
    } else {
        const char *core = core_for_this_cpu();
        if (core) { setenv("OPENBLAS_CORETYPE", core, 1); snprintf(requested_core, sizeof requested_core, "%s", core); }
    }
    void *blas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_GLOBAL);
    if (!blas) {
        snprintf(error_text, sizeof error_text,
                 "cannot load OpenBLAS (libopenblas.so.0): %s. Install it with: apt-get install libopenblas-dev liblapacke-dev", dlerror());
        load_status = 1; return;
    }
    void *lapacke = dlopen("liblapacke.so.3", RTLD_NOW | RTLD_GLOBAL);
    if (!lapacke) {
        snprintf(error_text, sizeof error_text,
                 "cannot load LAPACKE (liblapacke.so.3): %s. Install it with: apt-get install liblapacke-dev", dlerror());
        load_status = 1; return;
    }
    load_status = 0;
    p_sgemm = (sgemm_fn)sym(blas, "cblas_sgemm");
    p_sgemm_called = p_sgemm;
    p_dgemm = (dgemm_fn)sym(blas, "cblas_dgemm");
    p_sgemv = (sgemv_fn)sym(blas, "cblas_sgemv");
    p_ssyrk = (ssyrk_fn)sym(blas, "cblas_ssyrk");
    p_dsyrk = (dsyrk_fn)sym(blas, "cblas_dsyrk");
    p_corename = (str_fn)sym(blas, "openblas_get_corename");
    p_config = (str_fn)sym(blas, "openblas_get_config");
    p_get_threads = (int_fn)sym(blas, "openblas_get_num_threads");
    p_set_threads = (setint_fn)sym(blas, "openblas_set_num_threads");
    p_dsyevd = (dsyevd_fn)sym(lapacke, "LAPACKE_dsyevd");
    p_dpotrf = (dpotrf_fn)sym(lapacke, "LAPACKE_dpotrf");
    if (load_status == 0) error_text[0] = 0;
}

static void must_load(void) {
    if (nb_load() != 0) { fprintf(stderr, "dimr-eval: %s\n", error_text); abort(); }
}

int nb_load(void) { pthread_once(&once, load_once); return load_status; }
const char *nb_error(void) { nb_load(); return error_text; }
const char *nb_requested_core(void) { nb_load(); return requested_core; }
int nb_core_from_user(void) { nb_load(); return core_from_user; }
const char *nb_corename(void) { must_load(); return p_corename(); }
const char *nb_config(void) { must_load(); return p_config(); }
int nb_num_threads(void) { must_load(); return p_get_threads(); }
void nb_set_num_threads(int n) { must_load(); p_set_threads(n); }

/* Benchmarks record a network's sgemm shapes (bench train / inception: the GEMM floor). Observing
   swaps the pointer nb_sgemm calls through, so the hot path carries no flag to test when nobody
   observes: it calls the library's sgemm through one pointer either way. */
static nb_sgemm_observer observer;
static void observed_sgemm(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int m, int n, int k,
                           float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    nb_sgemm_observer f = observer;
    if (f) f(ta == CblasTrans, tb == CblasTrans, m, n, k, lda, ldb, ldc);
    p_sgemm(o, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void nb_observe_sgemm(nb_sgemm_observer f) {
    must_load(); observer = f; p_sgemm_called = f ? observed_sgemm : p_sgemm;
}

void nb_sgemm(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int m, int n, int k,
              float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    must_load(); p_sgemm_called(o, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void nb_dgemm(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int m, int n, int k,
              double alpha, const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc) {
    must_load(); p_dgemm(o, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void nb_sgemv(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE t, int m, int n, float alpha, const float *a, int lda,
              const float *x, int incx, float beta, float *y, int incy) {
    must_load(); p_sgemv(o, t, m, n, alpha, a, lda, x, incx, beta, y, incy);
}
void nb_ssyrk(enum CBLAS_ORDER o, enum CBLAS_UPLO u, enum CBLAS_TRANSPOSE t, int n, int k, float alpha,
              const float *a, int lda, float beta, float *c, int ldc) {
    must_load(); p_ssyrk(o, u, t, n, k, alpha, a, lda, beta, c, ldc);
}
void nb_dsyrk(enum CBLAS_ORDER o, enum CBLAS_UPLO u, enum CBLAS_TRANSPOSE t, int n, int k, double alpha,
              const double *a, int lda, double beta, double *c, int ldc) {
    must_load(); p_dsyrk(o, u, t, n, k, alpha, a, lda, beta, c, ldc);
}
int nb_dsyevd(int layout, char jobz, char uplo, int n, double *a, int lda, double *w) {
    must_load(); return p_dsyevd(layout, jobz, uplo, n, a, lda, w);
}
int nb_dpotrf(int layout, char uplo, int n, double *a, int lda) {
    must_load(); return p_dpotrf(layout, uplo, n, a, lda);
}
