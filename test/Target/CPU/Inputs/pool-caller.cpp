// Calls the decoding kernels of pool.gate through the generated C++ header:
// the state pool is updated in place (only the rows the slots name; a
// negative slot skips its sequence, whose output stays 0), and the slots a
// caller gets wrong (past the pool, two sequences on one row) are errors
// naming them, before anything is written. Exits 1 on a failed check.
#include "pool.h"

#include <cstdio>
#include <cstring>
#include <type_traits>
#include <vector>

namespace k = gatec_kernels::pool;

static int failures = 0;

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      ++failures;                                                              \
      std::printf("FAIL (line %d): %s\n", __LINE__, #cond);                    \
    }                                                                          \
  } while (0)

// The pool is the one mutable input of the C entry point and of the C++
// wrapper; there is no output for its new value.
static_assert(std::is_same_v<
              decltype(&gatec_gdn_decode),
              int (*)(const float *, int64_t, int64_t, int64_t, int64_t,
                      const float *, int64_t, int64_t, int64_t, int64_t,
                      const float *, int64_t, int64_t, int64_t, int64_t,
                      const float *, int64_t, int64_t, int64_t, const float *,
                      int64_t, int64_t, int64_t, float *, int64_t, int64_t,
                      int64_t, int64_t, const int32_t *, int64_t, float *,
                      int64_t, int64_t, int64_t, int64_t, gatec_error *)>);
static_assert(std::is_same_v<decltype(k::GdnDecodeShapes::result0),
                             std::array<int64_t, 4>>);

constexpr int64_t kRow = 4 * 16 * 8; // one state: [4, 16, 8]
constexpr int64_t kQK = 2 * 16, kV = 4 * 8, kGate = 4;
constexpr float kFill = -12345.0f;

// Deterministic values in [-1, 1).
static float value(uint32_t i) {
  i = i * 2654435761u + 12345u;
  return static_cast<float>((i >> 8) % 2048) / 1024.0f - 1.0f;
}

struct Step {
  int64_t n, rows;
  std::vector<float> q, kk, v, a, b, pool, o;
  Step(int64_t n, int64_t rows)
      : n(n), rows(rows), q(n * kQK), kk(n * kQK), v(n * kV), a(n * kGate),
        b(n * kGate), pool(rows * kRow), o(n * kV, kFill) {
    for (size_t i = 0; i < q.size(); ++i) {
      q[i] = value(i);
      kk[i] = value(i + 7919);
    }
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = value(i + 104729);
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = value(i + 1299709);
      b[i] = value(i + 15485863);
    }
    for (size_t i = 0; i < pool.size(); ++i)
      pool[i] = value(i + 32452843) * 0.5f;
  }
  k::Status call(const std::vector<int32_t> &slots) {
    return k::gdn_decode({q.data(), {n, 1, 2, 16}}, {kk.data(), {n, 1, 2, 16}},
                         {v.data(), {n, 1, 4, 8}}, {a.data(), {n, 1, 4}},
                         {b.data(), {n, 1, 4}}, {pool.data(), {rows, 4, 16, 8}},
                         {slots.data(), {n}}, {o.data(), {n, 1, 4, 8}});
  }
  k::Status call64(const std::vector<int64_t> &slots) {
    return k::gdn_decode_i64(
        {q.data(), {n, 1, 2, 16}}, {kk.data(), {n, 1, 2, 16}},
        {v.data(), {n, 1, 4, 8}}, {a.data(), {n, 1, 4}}, {b.data(), {n, 1, 4}},
        {pool.data(), {rows, 4, 16, 8}}, {slots.data(), {n}},
        {o.data(), {n, 1, 4, 8}});
  }
  bool rowEqual(const std::vector<float> &other, int64_t row) const {
    return std::memcmp(&pool[row * kRow], &other[row * kRow],
                       kRow * sizeof(float)) == 0;
  }
  bool outputUntouched() const {
    for (float x : o)
      if (x != kFill)
        return false;
    return true;
  }
};

// A call that must fail: the message, the code, and nothing written.
template <typename Slots>
static void expectError(const char *what, int64_t rows, const Slots &slots) {
  Step s(static_cast<int64_t>(slots.size()), rows);
  std::vector<float> before = s.pool;
  k::Status status;
  if constexpr (std::is_same_v<typename Slots::value_type, int32_t>)
    status = s.call(slots);
  else
    status = s.call64(slots);
  std::printf("%s: %s\n", what, status.message().c_str());
  EXPECT(status.code() == GATEC_ERR_VALUE);
  EXPECT(s.pool == before);
  EXPECT(s.outputUntouched());
}

int main() {
  // Two steps for 4 sequences on a pool of 8 rows; sequence 2 is padding.
  {
    Step s(4, 8);
    std::vector<int32_t> slots = {5, 0, -1, 3};
    std::vector<float> initial = s.pool;
    EXPECT(s.call(slots).ok());
    std::vector<float> first = s.pool, firstOut = s.o;
    for (int64_t row = 0; row < 8; ++row) {
      bool named = row == 5 || row == 0 || row == 3;
      EXPECT(s.rowEqual(initial, row) != named);
    }
    for (int64_t i = 0; i < kV; ++i) {
      EXPECT(s.o[2 * kV + i] == 0.0f); // the skipped sequence
      EXPECT(s.o[1 * kV + i] != kFill);
    }
    // The second step starts from the states the first wrote.
    std::fill(s.o.begin(), s.o.end(), kFill);
    EXPECT(s.call(slots).ok());
    for (int64_t row = 0; row < 8; ++row) {
      bool named = row == 5 || row == 0 || row == 3;
      EXPECT(s.rowEqual(first, row) != named);
      EXPECT(s.rowEqual(initial, row) != named);
    }
    EXPECT(s.o[2 * kV] == 0.0f && s.o[3 * kV - 1] == 0.0f);
    EXPECT(std::memcmp(s.o.data(), firstOut.data(), kV * sizeof(float)) != 0);
  }
  // Every sequence skipped, or no sequence: nothing written.
  {
    Step s(3, 2);
    std::vector<float> initial = s.pool;
    EXPECT(s.call({-1, -1, -7}).ok());
    EXPECT(s.pool == initial);
    for (float x : s.o)
      EXPECT(x == 0.0f);
    Step none(0, 2);
    EXPECT(none.call({}).ok());
    EXPECT(none.pool == Step(0, 2).pool);
  }
  // The same sequence state on another row gives the same step.
  {
    Step s(1, 2), t(1, 2);
    std::memcpy(&t.pool[kRow], &s.pool[0], kRow * sizeof(float));
    EXPECT(s.call({0}).ok() && t.call({1}).ok());
    EXPECT(std::memcmp(&s.pool[0], &t.pool[kRow], kRow * sizeof(float)) == 0);
    EXPECT(s.o == t.o);
  }

  expectError("past the pool", 8, std::vector<int32_t>{0, 1, 2, 9});
  expectError("at the pool's end", 8, std::vector<int32_t>{8});
  expectError("duplicate", 8, std::vector<int32_t>{0, 2, 5, -1, 2});
  expectError("i64 past the pool", 4, std::vector<int64_t>{int64_t(1) << 40});
  {
    // More sequences than one sorted block (512): duplicates across blocks
    // and inside the second one.
    std::vector<int64_t> slots(1100);
    for (size_t i = 0; i < slots.size(); ++i)
      slots[i] = static_cast<int64_t>((i * 7) % slots.size());
    Step s(1100, 1100);
    EXPECT(s.call64(slots).ok());
    slots[1050] = slots[3];
    expectError("i64 across blocks", 1100, slots);
    slots[1050] = -1;
    slots[700] = slots[1000];
    expectError("i64 in a later block", 1100, slots);
  }
  std::printf("%s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
