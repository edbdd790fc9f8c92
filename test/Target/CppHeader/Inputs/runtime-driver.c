/*===- runtime-driver.c - The generated entry points from C ---------------===//
//
// Part of gatec. Built by ../runtime.mlir as C99 with the generated header
// force-included: the same calls a C program makes. Exits 1 on a failed
// check.
//
//===----------------------------------------------------------------------===*/

#include <stdio.h>
#include <string.h>

static int checks, failures, calls;
static int64_t seen_sizes[2], seen_strides[2];

#define EXPECT(cond)                                                           \
  do {                                                                         \
    ++checks;                                                                  \
    if (!(cond)) {                                                             \
      ++failures;                                                              \
      printf("FAIL (line %d): %s\n", __LINE__, #cond);                         \
    }                                                                          \
  } while (0)

void _mlir_ciface_swiglu(gatec_memref_bf16_2d *x, gatec_memref_bf16_2d *w,
                         gatec_memref_bf16_2d *out) {
  ++calls;
  (void)w;
  (void)out;
  memcpy(seen_sizes, x->sizes, sizeof seen_sizes);
  memcpy(seen_strides, x->strides, sizeof seen_strides);
}

void _mlir_ciface_router(gatec_memref_f32_2d *logits,
                         gatec_memref_f32_2d *weights,
                         gatec_memref_i32_2d *experts) {
  (void)logits;
  (void)weights;
  (void)experts;
  ++calls;
}

void _mlir_ciface_pad(gatec_memref_i64_2d *ids, gatec_memref_f32_0d *scale,
                      gatec_memref_f16_2d *gu, gatec_memref_i32_1d *y,
                      gatec_memref_i64_0d *n) {
  (void)ids;
  (void)scale;
  (void)gu;
  (void)y;
  (void)n;
  ++calls;
}

int main(void) {
  gatec_bf16 x[16] = {0}, w[24] = {0}, out[16] = {0};
  gatec_error err;
  gatec_pad_shapes shapes;
  int rc;

  printf("== C: swiglu valid call\n");
  rc = gatec_swiglu(x, 2, 8, w, 2, 8, out, 2, 8, &err);
  printf("status %s\n", gatec_status_name(rc));
  printf("x: sizes [%lld, %lld] strides [%lld, %lld]\n",
         (long long)seen_sizes[0], (long long)seen_sizes[1],
         (long long)seen_strides[0], (long long)seen_strides[1]);
  EXPECT(rc == GATEC_OK && calls == 1);

  printf("== C: swiglu inconsistent symbol\n");
  calls = 0;
  rc = gatec_swiglu(x, 2, 8, w, 3, 8, out, 2, 8, &err);
  printf("%s: %s\n", gatec_status_name(rc), err.message);
  EXPECT(rc == GATEC_ERR_SHAPE && err.code == rc && calls == 0);

  printf("== C: pad output shapes\n");
  rc = gatec_pad_output_shapes(2, 2, 2, 4, &shapes, &err);
  printf("y [%lld] %lld elements\n", (long long)shapes.y[0],
         (long long)shapes.y_numel);
  EXPECT(rc == GATEC_OK && shapes.y[0] == 4);

  if (failures) {
    printf("FAILED: %d of %d checks\n", failures, checks);
    return 1;
  }
  printf("PASS: %d checks\n", checks);
  return 0;
}
