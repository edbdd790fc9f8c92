//===- runtime-driver.cpp - Checks the generated entry points -------------===//
//
// Part of gatec. Built by ../runtime.mlir with the header generated from it
// force-included (-include): defines fake kernels that record the descriptors
// they receive, calls the checked entry points and prints each outcome for
// FileCheck. Exits 1 when any check fails.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

int checks = 0;
int failures = 0;

void expect(bool ok, const char *what, int line) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL (line %d): %s\n", line, what);
  }
}
#define EXPECT(cond) expect((cond), #cond, __LINE__)

/// What a fake kernel saw of one memref descriptor.
struct Seen {
  std::string name;
  const void *allocated;
  const void *aligned;
  int64_t offset;
  std::vector<int64_t> sizes, strides;
};

int calls = 0;
std::vector<Seen> seen;

template <typename Desc>
void record(const char *name, const Desc *d, int rank) {
  Seen s{name, d->allocated, d->aligned, d->offset, {}, {}};
  for (int i = 0; i < rank; ++i) {
    s.sizes.push_back(d->sizes[i]);
    s.strides.push_back(d->strides[i]);
  }
  seen.push_back(s);
}

// Rank 0 descriptors have no sizes or strides.
template <typename Desc> void record0(const char *name, const Desc *d) {
  seen.push_back(Seen{name, d->allocated, d->aligned, d->offset, {}, {}});
}

void reset() {
  calls = 0;
  seen.clear();
}

std::string join(const std::vector<int64_t> &v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + std::to_string(v[i]);
  return out;
}

/// Prints what the kernel saw and checks that each descriptor points at the
/// expected data, as a dense row-major tensor with offset 0.
void printSeen(const std::vector<const void *> &data) {
  EXPECT(seen.size() == data.size());
  for (size_t i = 0; i < seen.size() && i < data.size(); ++i) {
    const Seen &s = seen[i];
    EXPECT(s.allocated == data[i]);
    EXPECT(s.aligned == data[i]);
    EXPECT(s.offset == 0);
    int64_t stride = 1;
    for (size_t d = s.sizes.size(); d-- > 0;) {
      EXPECT(s.strides[d] == stride);
      stride *= s.sizes[d];
    }
    if (s.sizes.empty())
      std::printf("%s: rank 0 offset %lld\n", s.name.c_str(),
                  (long long)s.offset);
    else
      std::printf("%s: sizes [%s] strides [%s] offset %lld\n", s.name.c_str(),
                  join(s.sizes).c_str(), join(s.strides).c_str(),
                  (long long)s.offset);
  }
}

/// An error call: prints the outcome and checks that the kernel was not run,
/// that the code is `code` and that the message names what it should.
void expectError(int rc, const gatec_error &err, int code,
                 const std::vector<const char *> &mentions, int line) {
  std::printf("%s: %s\n", gatec_status_name(rc), err.message);
  expect(rc == code, "status code", line);
  expect(err.code == rc, "err.code matches the returned status", line);
  expect(calls == 0, "kernel not called on error", line);
  for (const char *m : mentions)
    expect(std::strstr(err.message, m) != nullptr, m, line);
}

void section(const char *name) {
  reset();
  std::printf("== %s\n", name);
}

} // namespace

// The fake kernels, with the prototypes the header declares.
extern "C" void _mlir_ciface_swiglu(gatec_memref_bf16_2d *x,
                                    gatec_memref_bf16_2d *w,
                                    gatec_memref_bf16_2d *out) {
  ++calls;
  record("x", x, 2);
  record("w", w, 2);
  record("out", out, 2);
}

extern "C" void _mlir_ciface_router(gatec_memref_f32_2d *logits,
                                    gatec_memref_f32_2d *weights,
                                    gatec_memref_i32_2d *experts) {
  ++calls;
  record("logits", logits, 2);
  record("weights", weights, 2);
  record("experts", experts, 2);
}

extern "C" void _mlir_ciface_pad(gatec_memref_i64_2d *ids,
                                 gatec_memref_f32_0d *scale,
                                 gatec_memref_f16_2d *gu,
                                 gatec_memref_i32_1d *y,
                                 gatec_memref_i64_0d *n) {
  ++calls;
  record("ids", ids, 2);
  record0("scale", scale);
  record("gu", gu, 2);
  record("y", y, 1);
  record0("n", n);
}

static void testSwiglu() {
  std::vector<gatec_bf16> x(64), w(64), out(64);
  gatec_error err;
  int rc;

  section("swiglu: valid call");
  std::memset(&err, 0x7f, sizeof err); // success must clear it
  rc = gatec_swiglu(x.data(), 3, 8, w.data(), 3, 8, out.data(), 3, 8, &err);
  std::printf("status %s, message \"%s\"\n", gatec_status_name(rc),
              err.message);
  EXPECT(rc == GATEC_OK && err.code == GATEC_OK && calls == 1);
  printSeen({x.data(), w.data(), out.data()});

  section("swiglu: null input");
  rc = gatec_swiglu(nullptr, 3, 8, w.data(), 3, 8, out.data(), 3, 8, &err);
  expectError(rc, err, GATEC_ERR_NULL, {"x is NULL"}, __LINE__);

  section("swiglu: null output");
  rc = gatec_swiglu(x.data(), 3, 8, w.data(), 3, 8, nullptr, 3, 8, &err);
  expectError(rc, err, GATEC_ERR_NULL, {"out is NULL"}, __LINE__);

  section("swiglu: null with no elements");
  rc = gatec_swiglu(nullptr, 0, 8, nullptr, 0, 8, nullptr, 0, 8, &err);
  std::printf("status %s, message \"%s\"\n", gatec_status_name(rc),
              err.message);
  EXPECT(rc == GATEC_OK && calls == 1);

  section("swiglu: misaligned input");
  const gatec_bf16 *odd = reinterpret_cast<const gatec_bf16 *>(
      reinterpret_cast<const char *>(w.data()) + 1);
  rc = gatec_swiglu(x.data(), 3, 8, odd, 3, 8, out.data(), 3, 8, &err);
  expectError(rc, err, GATEC_ERR_ALIGN, {"w (", "2-byte"}, __LINE__);

  section("swiglu: wrong literal dim");
  rc = gatec_swiglu(x.data(), 3, 7, w.data(), 3, 8, out.data(), 3, 8, &err);
  expectError(rc, err, GATEC_ERR_SHAPE, {"x dim 1", "7", "8"}, __LINE__);

  section("swiglu: inconsistent symbol");
  rc = gatec_swiglu(x.data(), 3, 8, w.data(), 4, 8, out.data(), 3, 8, &err);
  expectError(rc, err, GATEC_ERR_SHAPE,
              {"x dim 0", "w dim 0", "T = 3", "T = 4"}, __LINE__);

  section("swiglu: wrong output shape");
  rc = gatec_swiglu(x.data(), 3, 8, w.data(), 3, 8, out.data(), 4, 8, &err);
  expectError(rc, err, GATEC_ERR_SHAPE, {"out dim 0", "T = 3"}, __LINE__);

  section("swiglu: wrong literal output dim");
  rc = gatec_swiglu(x.data(), 3, 8, w.data(), 3, 8, out.data(), 3, 9, &err);
  expectError(rc, err, GATEC_ERR_SHAPE, {"out dim 1"}, __LINE__);

  section("swiglu: negative dim");
  rc = gatec_swiglu(x.data(), -2, 8, w.data(), -2, 8, out.data(), -2, 8, &err);
  // x is checked first: its negative dim 0 is the one reported.
  EXPECT(std::strstr(err.message, "x dim 0 is -2") != nullptr);
  rc = gatec_swiglu(x.data(), 3, 8, w.data(), -2, 8, out.data(), 3, 8, &err);
  expectError(rc, err, GATEC_ERR_SHAPE, {"w dim 0", "-2"}, __LINE__);

  section("swiglu: element count overflow");
  const int64_t huge = INT64_MAX / 4;
  rc = gatec_swiglu(x.data(), huge, 8, w.data(), huge, 8, out.data(), huge, 8,
                    &err);
  expectError(rc, err, GATEC_ERR_OVERFLOW, {"out"}, __LINE__);

  section("swiglu: byte size overflow");
  // 2^59 * 8 elements fit in int64; their 2-byte size does not.
  const int64_t big = int64_t(1) << 59;
  rc = gatec_swiglu(x.data(), big, 8, w.data(), big, 8, out.data(), big, 8,
                    &err);
  expectError(rc, err, GATEC_ERR_OVERFLOW, {"x"}, __LINE__);

  section("swiglu: no error struct");
  rc = gatec_swiglu(x.data(), 3, 7, w.data(), 3, 8, out.data(), 3, 8, nullptr);
  std::printf("status %s\n", gatec_status_name(rc));
  EXPECT(rc == GATEC_ERR_SHAPE && calls == 0);

  section("swiglu: C++ wrapper");
  namespace rt = gatec_kernels::runtime;
  rt::SwigluShapes shapes;
  gatec_kernels::Status st = rt::swiglu_output_shapes({3, 8}, {3, 8}, shapes);
  EXPECT(st.ok());
  std::printf("output shapes [%s], %lld elements\n",
              join({shapes.out.begin(), shapes.out.end()}).c_str(),
              (long long)shapes.out_numel);
  // Mutable views convert to the read-only views inputs take.
  gatec_kernels::TensorView<gatec_bf16, 2> xv{x.data(), {3, 8}};
  st = rt::swiglu(xv, {w.data(), {3, 8}}, {out.data(), shapes.out});
  std::printf("status %s, message \"%s\"\n", st.name(), st.message().c_str());
  EXPECT(st.ok() && st.code() == GATEC_OK && calls == 1);
  reset();
  st = rt::swiglu(xv, {w.data(), {5, 8}}, {out.data(), shapes.out});
  std::printf("%s: %s\n", st.name(), st.message().c_str());
  EXPECT(!st.ok() && st.code() == GATEC_ERR_SHAPE && calls == 0);
}

static void testRouter() {
  std::vector<float> logits(5 * 64), weights(10);
  std::vector<int32_t> experts(10);
  gatec_error err;
  int rc;

  section("router: valid call");
  rc = gatec_router(logits.data(), 5, 64, weights.data(), 5, 2, experts.data(),
                    5, 2, &err);
  std::printf("status %s, message \"%s\"\n", gatec_status_name(rc),
              err.message);
  EXPECT(rc == GATEC_OK && calls == 1);
  printSeen({logits.data(), weights.data(), experts.data()});

  section("router: static symbol");
  rc = gatec_router(logits.data(), 5, 32, weights.data(), 5, 2, experts.data(),
                    5, 2, &err);
  expectError(rc, err, GATEC_ERR_SHAPE, {"logits dim 1", "E = 64"}, __LINE__);

  section("router: second output");
  rc = gatec_router(logits.data(), 5, 64, weights.data(), 5, 2, experts.data(),
                    6, 2, &err);
  expectError(rc, err, GATEC_ERR_SHAPE, {"experts dim 0", "T = 5"}, __LINE__);
}

static void testPad() {
  std::vector<int64_t> ids(15);
  float scale = 1.0f;
  std::vector<gatec_f16> gu(30);
  std::vector<int32_t> y(16);
  int64_t n = 0;
  gatec_error err;
  int rc;

  section("pad: valid call");
  gatec_pad_shapes shapes;
  rc = gatec_pad_output_shapes(5, 3, 5, 6, &shapes, &err);
  EXPECT(rc == GATEC_OK && shapes.y[0] == 16 && shapes.y_numel == 16 &&
         shapes.n_numel == 1);
  std::printf("output shapes y [%lld] (%lld elements), n [] (%lld element)\n",
              (long long)shapes.y[0], (long long)shapes.y_numel,
              (long long)shapes.n_numel);
  rc = gatec_pad(ids.data(), 5, 3, &scale, gu.data(), 5, 6, y.data(), 16, &n,
                 &err);
  std::printf("status %s, message \"%s\"\n", gatec_status_name(rc),
              err.message);
  EXPECT(rc == GATEC_OK && calls == 1);
  printSeen({ids.data(), &scale, gu.data(), y.data(), &n});

  section("pad: input expression");
  rc = gatec_pad(ids.data(), 5, 3, &scale, gu.data(), 5, 5, y.data(), 16, &n,
                 &err);
  expectError(rc, err, GATEC_ERR_SHAPE, {"gu dim 1", "2*k", "k = 3"}, __LINE__);

  section("pad: output expression");
  rc = gatec_pad(ids.data(), 5, 3, &scale, gu.data(), 5, 6, y.data(), 15, &n,
                 &err);
  expectError(rc, err, GATEC_ERR_SHAPE, {"y dim 0", "= 16"}, __LINE__);

  section("pad: expression overflow");
  const int64_t k = int64_t(1) << 62;
  rc = gatec_pad(ids.data(), 1, k, &scale, gu.data(), 1, 0, y.data(), 0, &n,
                 &err);
  expectError(rc, err, GATEC_ERR_OVERFLOW, {"gu dim 1", "k = "}, __LINE__);

  section("pad: null rank-0 tensor");
  rc = gatec_pad(ids.data(), 5, 3, nullptr, gu.data(), 5, 6, y.data(), 16, &n,
                 &err);
  expectError(rc, err, GATEC_ERR_NULL, {"scale"}, __LINE__);
}

// The header's overflow-checked int64 helpers against the compiler's
// builtins, on values around every boundary.
static void testArithmetic() {
  section("runtime arithmetic");
  const int64_t values[] = {INT64_MIN,
                            INT64_MIN + 1,
                            INT64_MIN / 2,
                            -(int64_t(1) << 32),
                            -3037000500,
                            -3,
                            -2,
                            -1,
                            0,
                            1,
                            2,
                            3,
                            3037000500,
                            int64_t(1) << 31,
                            int64_t(1) << 32,
                            INT64_MAX / 2,
                            INT64_MAX - 1,
                            INT64_MAX};
  int pairs = 0;
  for (int64_t a : values)
    for (int64_t b : values) {
      ++pairs;
      int64_t want;
      int rc = GATEC_OK;
      int64_t got = gatec_rt_add(a, b, &rc);
      bool overflow = __builtin_add_overflow(a, b, &want);
      EXPECT(overflow ? rc == GATEC_ERR_OVERFLOW
                      : rc == GATEC_OK && got == want);
      rc = GATEC_OK;
      got = gatec_rt_sub(a, b, &rc);
      overflow = __builtin_sub_overflow(a, b, &want);
      EXPECT(overflow ? rc == GATEC_ERR_OVERFLOW
                      : rc == GATEC_OK && got == want);
      rc = GATEC_OK;
      got = gatec_rt_mul(a, b, &rc);
      overflow = __builtin_mul_overflow(a, b, &want);
      EXPECT(overflow ? rc == GATEC_ERR_OVERFLOW
                      : rc == GATEC_OK && got == want);
      rc = GATEC_OK;
      got = gatec_rt_div(a, b, &rc);
      if (b == 0)
        EXPECT(rc == GATEC_ERR_SHAPE);
      else if (a == INT64_MIN && b == -1)
        EXPECT(rc == GATEC_ERR_OVERFLOW);
      else
        EXPECT(rc == GATEC_OK && got == a / b);
    }
  // The first failure sticks.
  int rc = GATEC_OK;
  (void)gatec_rt_div(1, 0, &rc);
  (void)gatec_rt_mul(INT64_MAX, 2, &rc);
  EXPECT(rc == GATEC_ERR_SHAPE);
  std::printf("checked %d pairs\n", pairs);
}

int main() {
  testArithmetic();
  testSwiglu();
  testRouter();
  testPad();
  if (failures) {
    std::printf("FAILED: %d of %d checks\n", failures, checks);
    return 1;
  }
  std::printf("PASS: %d checks\n", checks);
  return 0;
}
