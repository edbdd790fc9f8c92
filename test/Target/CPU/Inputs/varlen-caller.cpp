// Calls the varlen kernels of varlen.gate through the generated C++ header
// with the mistakes a caller makes with packed sequences: more offsets than
// states, offsets that do not start at 0, decrease or pass T. Each must be an
// error naming the argument, before anything is written: the outputs and
// the guard words after them keep their fill. Exits 1 on a failed check.
#include "varlen.h"

#include <cstdio>
#include <cstring>
#include <vector>

namespace k = gatec_kernels::varlen;

static int failures = 0;

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      ++failures;                                                              \
      std::printf("FAIL (line %d): %s\n", __LINE__, #cond);                    \
    }                                                                          \
  } while (0)

constexpr int64_t kTokens = 7, kState = 2 * 8 * 8;
constexpr float kFill = -12345.0f;

// Buffers sized for `states` states plus a guard of one more state each.
struct Buffers {
  std::vector<float> q, v, a, s0, o, s;
  explicit Buffers(int64_t states)
      : q(kTokens * 16, 0.25f), v(kTokens * 16, 0.5f), a(kTokens * 2, -0.1f),
        s0((states + 1) * kState, 1.0f), o(kTokens * 16, kFill),
        s((states + 1) * kState, kFill) {}
  bool untouched() const {
    for (float x : o)
      if (x != kFill)
        return false;
    for (float x : s)
      if (x != kFill)
        return false;
    return true;
  }
  bool guardIntact(int64_t states) const {
    for (int64_t i = states * kState; i < (states + 1) * kState; ++i)
      if (s[i] != kFill)
        return false;
    return true;
  }
};

static k::Status call(Buffers &b, const std::vector<int32_t> &cu,
                      int64_t states) {
  int64_t n = static_cast<int64_t>(cu.size());
  return k::varlen({b.q.data(), {1, kTokens, 2, 8}},
                   {b.v.data(), {1, kTokens, 2, 8}},
                   {b.a.data(), {1, kTokens, 2}}, {cu.data(), {n}},
                   {b.s0.data(), {states, 2, 8, 8}},
                   {b.o.data(), {1, kTokens, 2, 8}},
                   {b.s.data(), {states, 2, 8, 8}});
}

static void expectError(const char *what, const std::vector<int32_t> &cu,
                        int64_t states, int code) {
  Buffers b(states);
  k::Status status = call(b, cu, states);
  std::printf("%s: %s\n", what, status.message().c_str());
  EXPECT(!status.ok());
  EXPECT(status.code() == code);
  EXPECT(b.untouched());
}

int main() {
  // The heap corruption: 3 sequences (4 offsets) but 2 states.
  expectError("more offsets than states", {0, 2, 4, 7}, 2, GATEC_ERR_SHAPE);
  expectError("fewer offsets than states", {0, 7}, 2, GATEC_ERR_SHAPE);
  expectError("no offsets", {}, 0, GATEC_ERR_SHAPE);
  expectError("first offset", {1, 4, 7}, 2, GATEC_ERR_VALUE);
  expectError("decreasing", {0, 5, 3}, 2, GATEC_ERR_VALUE);
  expectError("past T", {0, 3, 8}, 2, GATEC_ERR_VALUE);
  expectError("far past T", {0, 3, 1 << 30}, 2, GATEC_ERR_VALUE);

  // Valid calls write exactly their outputs: every state, no guard word.
  for (const std::vector<int32_t> &cu :
       {std::vector<int32_t>{0, 3, 7}, {0, 0, 7}, {0, 3, 3}, {0, 7}}) {
    int64_t states = static_cast<int64_t>(cu.size()) - 1;
    Buffers b(states);
    k::Status status = call(b, cu, states);
    EXPECT(status.ok());
    EXPECT(b.guardIntact(states));
    for (int64_t i = 0; i < states * kState; ++i)
      EXPECT(b.s[i] != kFill);
  }
  // Tokens past the last offset belong to no sequence: their output is 0.
  {
    Buffers b(1);
    EXPECT(call(b, {0, 4}, 1).ok());
    EXPECT(b.o[4 * 16] == 0.0f && b.o[kTokens * 16 - 1] == 0.0f);
    EXPECT(b.o[0] != 0.0f);
  }

  // i64 offsets, N from cu_seqlens alone.
  {
    std::vector<float> q(kTokens * 16, 0.25f), o(kTokens * 16, kFill),
        s(3 * kState, kFill);
    std::vector<int64_t> bad = {0, 2, -1}, good = {0, 2, 7};
    k::Status status = k::varlen_fresh(
        {q.data(), {1, kTokens, 2, 8}}, {q.data(), {1, kTokens, 2, 8}},
        {bad.data(), {3}}, {o.data(), {1, kTokens, 2, 8}},
        {s.data(), {2, 2, 8, 8}});
    std::printf("i64 decreasing: %s\n", status.message().c_str());
    EXPECT(status.code() == GATEC_ERR_VALUE);
    status = k::varlen_fresh({q.data(), {1, kTokens, 2, 8}},
                             {q.data(), {1, kTokens, 2, 8}}, {good.data(), {3}},
                             {o.data(), {1, kTokens, 2, 8}},
                             {s.data(), {3, 2, 8, 8}});
    std::printf("i64 states: %s\n", status.message().c_str());
    EXPECT(status.code() == GATEC_ERR_SHAPE);
    EXPECT(k::varlen_fresh({q.data(), {1, kTokens, 2, 8}},
                           {q.data(), {1, kTokens, 2, 8}}, {good.data(), {3}},
                           {o.data(), {1, kTokens, 2, 8}},
                           {s.data(), {2, 2, 8, 8}})
               .ok());
    for (int64_t i = 2 * kState; i < 3 * kState; ++i)
      EXPECT(s[i] == kFill);
  }
  std::printf("%s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
