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

/* FMA peak in FLOP/s: 16 independent accumulators of 16 lanes per thread
 * (enough to cover FMA latency on AVX-512 and AVX2 machines). */
double fma_peak(long iterations) {
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    double t0 = now();
#pragma omp parallel
    {
      float acc[16][16];
      for (int j = 0; j < 16; ++j)
        for (int l = 0; l < 16; ++l)
          acc[j][l] = (float)(j + l) * 1e-3f;
      const float m = 0.999999f, s = 1e-7f;
      for (long i = 0; i < iterations; ++i)
        for (int j = 0; j < 16; ++j)
#pragma omp simd
          for (int l = 0; l < 16; ++l)
            acc[j][l] = acc[j][l] * m + s;
      volatile float sink = acc[3][5];
      (void)sink;
    }
    double t = now() - t0;
    if (t < best)
      best = t;
  }
  return 2.0 * 16 * 16 * iterations * omp_get_max_threads() / best;
}
