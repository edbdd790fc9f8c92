#ifndef GATEC_RUNTIME_TYPES_H
#define GATEC_RUNTIME_TYPES_H
// Shared by every gatec-generated header: defined once per translation unit.
#define GATEC_RUNTIME_VERSION 4

#ifdef __cplusplus
extern "C" {
#endif

// Every function here is static inline: a header compiled on its own (or a
// translation unit that calls only some kernels) must not warn about the rest.
#if defined(__GNUC__) || defined(__clang__)
#define GATEC_MAYBE_UNUSED __attribute__((unused))
#else
#define GATEC_MAYBE_UNUSED
#endif

/// bf16 and f16 elements are passed as their 16-bit storage.
typedef uint16_t gatec_bf16;
typedef uint16_t gatec_f16;

/// What the checked entry points (gatec_<kernel>) return.
typedef enum gatec_status {
  GATEC_OK = 0,
  /// A data pointer is NULL but its tensor has elements.
  GATEC_ERR_NULL = 1,
  /// A data pointer is not aligned to its element size.
  GATEC_ERR_ALIGN = 2,
  /// A dimension breaks the kernel's shape contract.
  GATEC_ERR_SHAPE = 3,
  /// An element count, a byte size or a shape expression overflows int64.
  GATEC_ERR_OVERFLOW = 4,
  /// A CUDA driver call failed (CUDA headers only); the message names it.
  GATEC_ERR_CUDA = 5,
  /// An input's values break the kernel's contract: a scan's cu_seqlens
  /// offsets that do not start at 0, decrease, or pass T; a state pool's
  /// slots past its rows, or shared by two sequences.
  GATEC_ERR_VALUE = 6
} gatec_status;

#define GATEC_ERROR_MESSAGE_SIZE 256

/// Filled on failure: the status and a message naming the kernel, the
/// parameter, the dimension and the symbols involved. Cleared on success.
typedef struct gatec_error {
  int code;
  char message[GATEC_ERROR_MESSAGE_SIZE];
} gatec_error;

/// The name of a status code, e.g. "GATEC_ERR_SHAPE".
static inline GATEC_MAYBE_UNUSED const char *gatec_status_name(int code) {
  switch (code) {
  case GATEC_OK:
    return "GATEC_OK";
  case GATEC_ERR_NULL:
    return "GATEC_ERR_NULL";
  case GATEC_ERR_ALIGN:
    return "GATEC_ERR_ALIGN";
  case GATEC_ERR_SHAPE:
    return "GATEC_ERR_SHAPE";
  case GATEC_ERR_OVERFLOW:
    return "GATEC_ERR_OVERFLOW";
  case GATEC_ERR_CUDA:
    return "GATEC_ERR_CUDA";
  case GATEC_ERR_VALUE:
    return "GATEC_ERR_VALUE";
  default:
    return "GATEC_ERR_UNKNOWN";
  }
}

// Helpers of the generated entry points; not part of the interface.

static inline GATEC_MAYBE_UNUSED void gatec_rt_clear(gatec_error *err) {
  if (err) {
    err->code = GATEC_OK;
    err->message[0] = '\0';
  }
}

static inline GATEC_MAYBE_UNUSED int gatec_rt_fail(gatec_error *err, int code,
                                                   int formatted) {
  (void)formatted;
  if (err)
    err->code = code;
  return code;
}

// Records code_ and a printf-style message in err_ (when not NULL); evaluates
// to code_. A macro rather than a variadic function so that the compiler
// checks each format string against its arguments.
#define GATEC_RT_FAIL(err_, code_, ...)                                        \
  gatec_rt_fail(                                                               \
      (err_), (code_),                                                         \
      (err_) ? snprintf((err_)->message, sizeof((err_)->message), __VA_ARGS__) \
             : 0)

// int64 arithmetic with overflow checks. A failure sets *rc (once: the first
// failure wins) and every later operation then yields 0.
static inline GATEC_MAYBE_UNUSED int64_t gatec_rt_add(int64_t a, int64_t b,
                                                      int *rc) {
  if (*rc != GATEC_OK)
    return 0;
  if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) {
    *rc = GATEC_ERR_OVERFLOW;
    return 0;
  }
  return a + b;
}

static inline GATEC_MAYBE_UNUSED int64_t gatec_rt_sub(int64_t a, int64_t b,
                                                      int *rc) {
  if (*rc != GATEC_OK)
    return 0;
  if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b)) {
    *rc = GATEC_ERR_OVERFLOW;
    return 0;
  }
  return a - b;
}

static inline GATEC_MAYBE_UNUSED int64_t gatec_rt_mul(int64_t a, int64_t b,
                                                      int *rc) {
  if (*rc != GATEC_OK)
    return 0;
  if (a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)
            : (b > 0 ? a < INT64_MIN / b : (a != 0 && b < INT64_MAX / a))) {
    *rc = GATEC_ERR_OVERFLOW;
    return 0;
  }
  return a * b;
}

// C division: truncates toward zero.
static inline GATEC_MAYBE_UNUSED int64_t gatec_rt_div(int64_t a, int64_t b,
                                                      int *rc) {
  if (*rc != GATEC_OK)
    return 0;
  if (b == 0) {
    *rc = GATEC_ERR_SHAPE;
    return 0;
  }
  if (a == INT64_MIN && b == -1) {
    *rc = GATEC_ERR_OVERFLOW;
    return 0;
  }
  return a / b;
}

static inline GATEC_MAYBE_UNUSED const char *gatec_rt_reason(int rc) {
  return rc == GATEC_ERR_OVERFLOW ? "int64 overflow" : "division by zero";
}

static inline GATEC_MAYBE_UNUSED int64_t gatec_rt_numel(int rank,
                                                        const int64_t *sizes,
                                                        int *rc) {
  int64_t numel = 1;
  int i;
  for (i = 0; i < rank; ++i)
    numel = gatec_rt_mul(numel, sizes[i], rc);
  return numel;
}

// Fills the row-major strides of a dense tensor of the given (non-negative)
// sizes, then checks that its byte size fits in int64 and that its data
// pointer is usable: not NULL unless it has no elements, and aligned to its
// element size.
static inline GATEC_MAYBE_UNUSED int
gatec_rt_check_tensor(gatec_error *err, const char *kernel, const char *name,
                      const void *data, int64_t elem_size, int rank,
                      const int64_t *sizes, int64_t *strides) {
  int rc = GATEC_OK;
  int64_t numel = 1;
  int i;
  for (i = rank - 1; i >= 0; --i) {
    strides[i] = numel;
    numel = gatec_rt_mul(numel, sizes[i], &rc);
  }
  (void)gatec_rt_mul(numel, elem_size, &rc);
  if (rc != GATEC_OK)
    return GATEC_RT_FAIL(err, GATEC_ERR_OVERFLOW,
                         "%s: %s is larger than INT64_MAX bytes", kernel, name);
  if (!data && numel != 0)
    return GATEC_RT_FAIL(err, GATEC_ERR_NULL,
                         "%s: %s is NULL but has %lld element%s", kernel, name,
                         (long long)numel, numel == 1 ? "" : "s");
  if ((uintptr_t)data % (uintptr_t)elem_size != 0)
    return GATEC_RT_FAIL(err, GATEC_ERR_ALIGN,
                         "%s: %s (%p) is not aligned to its %lld-byte elements",
                         kernel, name, data, (long long)elem_size);
  return GATEC_OK;
}

// Checks the offsets of packed sequences (a scan's cu_seqlens): off[0] == 0,
// never decreasing, off[n - 1] <= bound (T; a negative bound is unknown).
// O(n), before the kernel runs; one function per index type.
#define GATEC_RT_CHECK_OFFSETS(NAME, TYPE)                                     \
  static inline GATEC_MAYBE_UNUSED int NAME(                                   \
      gatec_error *err, const char *kernel, const char *name, const TYPE *off, \
      int64_t n, int64_t bound, const char *bound_name) {                      \
    int64_t i, prev = 0;                                                       \
    for (i = 0; i < n; ++i) {                                                  \
      int64_t v = (int64_t)off[i];                                             \
      if (i == 0 && v != 0)                                                    \
        return GATEC_RT_FAIL(err, GATEC_ERR_VALUE,                             \
                             "%s: %s[0] is %lld but offsets start at 0",       \
                             kernel, name, (long long)v);                      \
      if (v < prev)                                                            \
        return GATEC_RT_FAIL(err, GATEC_ERR_VALUE,                             \
                             "%s: %s[%lld] is %lld, less than %s[%lld] = "     \
                             "%lld: offsets never decrease",                   \
                             kernel, name, (long long)i, (long long)v, name,   \
                             (long long)(i - 1), (long long)prev);             \
      if (bound >= 0 && v > bound)                                             \
        return GATEC_RT_FAIL(err, GATEC_ERR_VALUE,                             \
                             "%s: %s[%lld] is %lld, past %s = %lld", kernel,   \
                             name, (long long)i, (long long)v, bound_name,     \
                             (long long)bound);                                \
      prev = v;                                                                \
    }                                                                          \
    return GATEC_OK;                                                           \
  }
GATEC_RT_CHECK_OFFSETS(gatec_rt_check_offsets_i32, int32_t)
GATEC_RT_CHECK_OFFSETS(gatec_rt_check_offsets_i64, int64_t)
#undef GATEC_RT_CHECK_OFFSETS

static inline GATEC_MAYBE_UNUSED int64_t gatec_rt_index_at(const void *data,
                                                           int64_t elem_size,
                                                           int64_t i) {
  return elem_size == 4 ? (int64_t)((const int32_t *)data)[i]
                        : ((const int64_t *)data)[i];
}

// Heapsort: in place, O(n log n), no recursion.
static inline GATEC_MAYBE_UNUSED void
gatec_rt_sift_down(int64_t *a, int64_t root, int64_t n) {
  for (;;) {
    int64_t child = 2 * root + 1, t;
    if (child >= n)
      return;
    if (child + 1 < n && a[child + 1] > a[child])
      ++child;
    if (a[root] >= a[child])
      return;
    t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

static inline GATEC_MAYBE_UNUSED void gatec_rt_sort(int64_t *a, int64_t n) {
  int64_t i, t;
  for (i = n / 2 - 1; i >= 0; --i)
    gatec_rt_sift_down(a, i, n);
  for (i = n - 1; i > 0; --i) {
    t = a[0];
    a[0] = a[i];
    a[i] = t;
    gatec_rt_sift_down(a, 0, i);
  }
}

static inline GATEC_MAYBE_UNUSED int
gatec_rt_sorted_contains(const int64_t *a, int64_t n, int64_t v) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (a[mid] < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && a[lo] == v;
}

// Checks the slots of a state pool (one row of it per sequence, the pool's
// dimension 0 = rows): a negative slot skips its sequence; any other must be
// below rows, and no two sequences may share one (their updates would race).
// The range in O(n); duplicates by sorting the slots on the stack, a block of
// GATEC_RT_SLOT_BLOCK at a time, and looking each later slot up in the block:
// O(n log n) for a decoding batch of up to that many sequences, O(n^2 / block
// * log block) beyond. The header has no allocator, and nothing here grows
// with the pool (a bitmap of its rows would).
#define GATEC_RT_SLOT_BLOCK 512
static inline GATEC_MAYBE_UNUSED int
gatec_rt_check_slots(gatec_error *err, const char *kernel, const char *name,
                     const void *slots, int64_t elem_size, int64_t n,
                     int64_t rows, const char *rows_name) {
  int64_t block[GATEC_RT_SLOT_BLOCK];
  int64_t i, j, base, len, m, dup = -1;
  for (i = 0; i < n; ++i) {
    int64_t v = gatec_rt_index_at(slots, elem_size, i);
    if (v >= rows)
      return GATEC_RT_FAIL(err, GATEC_ERR_VALUE,
                           "%s: %s[%lld] is %lld, past the pool's %s = %lld",
                           kernel, name, (long long)i, (long long)v, rows_name,
                           (long long)rows);
  }
  for (base = 0; base < n && dup < 0; base += len) {
    len = n - base < GATEC_RT_SLOT_BLOCK ? n - base : GATEC_RT_SLOT_BLOCK;
    for (m = 0, i = base; i < base + len; ++i) {
      int64_t v = gatec_rt_index_at(slots, elem_size, i);
      if (v >= 0)
        block[m++] = v;
    }
    gatec_rt_sort(block, m);
    for (i = 1; i < m && dup < 0; ++i)
      if (block[i] == block[i - 1])
        dup = block[i];
    for (j = base + len; j < n && dup < 0; ++j) {
      int64_t v = gatec_rt_index_at(slots, elem_size, j);
      if (v >= 0 && gatec_rt_sorted_contains(block, m, v))
        dup = v;
    }
  }
  if (dup < 0)
    return GATEC_OK;
  // Name the first two sequences with that slot.
  for (i = 0; gatec_rt_index_at(slots, elem_size, i) != dup; ++i) {
  }
  for (j = i + 1; gatec_rt_index_at(slots, elem_size, j) != dup; ++j) {
  }
  return GATEC_RT_FAIL(err, GATEC_ERR_VALUE,
                       "%s: %s[%lld] and %s[%lld] are both %lld", kernel, name,
                       (long long)i, name, (long long)j, (long long)dup);
}

// One per index type, with the signature of the offsets checks.
#define GATEC_RT_CHECK_SLOTS(NAME, TYPE)                                       \
  static inline GATEC_MAYBE_UNUSED int NAME(                                   \
      gatec_error *err, const char *kernel, const char *name,                  \
      const TYPE *slots, int64_t n, int64_t rows, const char *rows_name) {     \
    return gatec_rt_check_slots(err, kernel, name, slots, sizeof(TYPE), n,     \
                                rows, rows_name);                              \
  }
GATEC_RT_CHECK_SLOTS(gatec_rt_check_slots_i32, int32_t)
GATEC_RT_CHECK_SLOTS(gatec_rt_check_slots_i64, int64_t)
#undef GATEC_RT_CHECK_SLOTS

#ifdef __cplusplus
} // extern "C"

namespace gatec_kernels {

/// A dense row-major tensor: its data and its shape, outermost dimension
/// first.
template <typename T, int Rank> struct TensorView {
  T *data;
  std::array<int64_t, Rank> shape;

  /// A view of mutable data is also a read-only view (for kernel inputs).
  operator TensorView<const T, Rank>() const { return {data, shape}; }
};

/// The outcome of a call: ok(), or a gatec_status code and its message.
class [[nodiscard]] Status {
public:
  Status() = default;
  Status(int code, const char *message) : code_(code), message_(message) {}

  bool ok() const { return code_ == GATEC_OK; }
  int code() const { return code_; }
  const char *name() const { return gatec_status_name(code_); }
  const std::string &message() const { return message_; }

private:
  int code_ = GATEC_OK;
  std::string message_;
};

} // namespace gatec_kernels
#endif // __cplusplus

#endif // GATEC_RUNTIME_TYPES_H
#if GATEC_RUNTIME_VERSION != 4
#error "gatec headers from incompatible gatec releases in one translation unit"
#endif
