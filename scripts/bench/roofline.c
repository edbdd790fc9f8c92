/* Measures this machine's roofline with the same threads the kernels get:
 * STREAM-triad bandwidth (a[i] = b[i] + s * c[i], 3 x 4 bytes per element)
 * and f32 FMA peak (independent FMA chains in vector registers). Built and
 * loaded by bench_cpu.py in the same run as the kernels it normalizes. */
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Best-of-`reps` triad bandwidth in bytes per second over `n` floats. */
double triad_bandwidth(long n, int reps) {
  float *a = aligned_alloc(64, n * 4), *b = aligned_alloc(64, n * 4),
        *c = aligned_alloc(64, n * 4);
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) {
    a[i] = 0;
    b[i] = 1;
    c[i] = 2;
  }
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t0 = now();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i)
      a[i] = b[i] + 0.5f * c[i];
    double t = now() - t0;
    if (t < best)
      best = t;
  }
  volatile float sink = a[n / 2];
  (void)sink;
  free(a), free(b), free(c);
  return 3.0 * 4.0 * n / best;
}

/* Best-of-3 wall time of `kernel(iterations)` run by every thread at once:
 * the shape shared by the compute-peak probes. */
static double best_parallel_seconds(void (*kernel)(long), long iterations) {
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    double t0 = now();
#pragma omp parallel
    kernel(iterations);
    double t = now() - t0;
    if (t < best)
      best = t;
  }
  return best;
}

/* Keeps `sum` from being optimized away. */
static void consume(float sum) {
  volatile float sink = sum;
  (void)sink;
}

/* Independent accumulator chains per thread: enough to cover the latency
 * times the throughput of vector FMAs and dot products on AVX-512 and AVX2
 * machines. */
enum { kChains = 12 };

/* FMA peak in FLOP/s. Written with intrinsics so the accumulators stay in
 * registers: a loop over an array of accumulators may be compiled to loads
 * and stores, which then measures the store-forwarding latency instead of
 * the FMA units. */
#if defined(__AVX512F__)
#include <immintrin.h>
typedef __m512 vec;
#define VEC_LANES 16
#define vec_set1 _mm512_set1_ps
#define vec_fma _mm512_fmadd_ps
#define vec_lane0(x) _mm512_cvtss_f32(x)
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
typedef __m256 vec;
#define VEC_LANES 8
#define vec_set1 _mm256_set1_ps
#define vec_fma _mm256_fmadd_ps
#define vec_lane0(x) _mm256_cvtss_f32(x)
#else
#error "roofline.c needs AVX2+FMA or AVX-512 (build with -march=native)"
#endif

static void fma_chains(long iterations) {
  vec acc[kChains];
  for (int j = 0; j < kChains; ++j)
    acc[j] = vec_set1(1e-3f * (float)(j + omp_get_thread_num()));
  const vec m = vec_set1(0.999999f), s = vec_set1(1e-7f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j)
      acc[j] = vec_fma(acc[j], m, s);
  }
  float sum = 0;
  for (int j = 0; j < kChains; ++j)
    sum += vec_lane0(acc[j]);
  consume(sum);
}

double fma_peak(long iterations) {
  return 2.0 * kChains * VEC_LANES * iterations * omp_get_max_threads() /
         best_parallel_seconds(fma_chains, iterations);
}

/* bf16 dot-product peak in FLOP/s (vdpbf16ps: 32 bf16 products and 32 adds
 * per 512-bit instruction); 0 where the CPU has no avx512_bf16 (the bench
 * then normalizes bf16 matmuls by the f32 FMA peak). */
#if defined(__AVX512BF16__)
static void bf16_dot_chains(long iterations) {
  __m512 acc[kChains];
  for (int j = 0; j < kChains; ++j)
    acc[j] = _mm512_set1_ps(1e-3f * (float)j);
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80); /* 1.0 */
  const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3380); /* ~6e-8 */
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j)
      acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
  }
  float sum = 0;
  for (int j = 0; j < kChains; ++j)
    sum += _mm512_cvtss_f32(acc[j]);
  consume(sum);
}

double bf16_dot_peak(long iterations) {
  return 2.0 * kChains * 32 * iterations * omp_get_max_threads() /
         best_parallel_seconds(bf16_dot_chains, iterations);
}
#else
double bf16_dot_peak(long iterations) {
  (void)iterations;
  return 0;
}
#endif

/* AMX bf16 peak in FLOP/s: four independent tdpbf16ps chains per thread on
 * 16 x 64-byte tiles (16 x 16 f32 += 16 x 32 bf16 times 32 x 16 bf16, 16384
 * FLOPs each). Linux grants the tile data state only after
 * arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); 0 where the CPU (or
 * the compiler's -march=native) has no amx_bf16, or the kernel refuses. */
#if defined(__AMX_TILE__) && defined(__AMX_BF16__)
#include <sys/syscall.h>
#include <unistd.h>

struct amx_tile_config {
  unsigned char palette, start_row, reserved[14];
  unsigned short colsb[16];
  unsigned char rows[16];
};

static void amx_chains(long iterations) {
  struct amx_tile_config cfg = {0};
  cfg.palette = 1;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  _tile_loadconfig(&cfg);
  static unsigned short operand[16 * 32];
  for (int i = 0; i < 16 * 32; ++i)
    operand[i] = 0x3380; /* ~6e-8: the sums stay finite */
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, operand, 64);
  _tile_loadd(5, operand, 64);
  _tile_loadd(6, operand, 64);
  _tile_loadd(7, operand, 64);
  for (long i = 0; i < iterations; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  float out[16 * 16];
  _tile_stored(0, out, 64);
  _tile_release();
  consume(out[0]);
}

double amx_bf16_peak(long iterations) {
  if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */,
              18 /* XFEATURE_XTILEDATA */) != 0)
    return 0;
  return 4.0 * 16384.0 * iterations * omp_get_max_threads() /
         best_parallel_seconds(amx_chains, iterations);
}
#else
double amx_bf16_peak(long iterations) {
  (void)iterations;
  return 0;
}
#endif
