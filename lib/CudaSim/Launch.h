//===- Launch.h - The interpreter's state during one launch -----*- C++ -*-===//
//
// Part of gatec. What the PTX interpreter's files share: the bit and number
// helpers of the instruction semantics, the per-thread and shared-memory
// shadow state, and Launch, which runs one kernel launch. Its members are
// defined by responsibility: scheduling and dispatch (Machine.cpp), memory
// (Memory.cpp), integer (Arith.cpp) and floating-point (FloatArith.cpp)
// instructions, and warp collectives (Collectives.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CUDASIM_LAUNCH_H
#define GATEC_LIB_CUDASIM_LAUNCH_H

#include "gatec/CudaSim/Machine.h"
#include "gatec/CudaSim/Numerics.h"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstring>

namespace gatec::cudasim::detail {

//===----------------------------------------------------------------------===//
// Bits and numbers
//===----------------------------------------------------------------------===//

// Generic addresses of the per-block and per-thread windows (PTX ISA 6.4.1,
// "generic addressing"): above any host pointer, so a generic address names
// its state space.
constexpr uint64_t kSharedWindow = 1ull << 60;
constexpr uint64_t kLocalWindow = 2ull << 60;
constexpr uint64_t kParamWindow = 3ull << 60;
constexpr uint64_t kWindowMask = 0xfull << 60;

inline float asF32(uint64_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline double asF64(uint64_t v) {
  double d;
  std::memcpy(&d, &v, 8);
  return d;
}
inline uint64_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline uint64_t bitsOf(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}
inline int64_t sext(uint64_t v, unsigned bits) {
  if (bits >= 64)
    return static_cast<int64_t>(v);
  uint64_t m = 1ull << (bits - 1);
  v &= (1ull << bits) - 1;
  return static_cast<int64_t>((v ^ m) - m);
}
inline uint64_t zext(uint64_t v, unsigned bits) {
  return bits >= 64 ? v : v & ((1ull << bits) - 1);
}
inline unsigned bitsOfTy(Ty t) { return sizeOf(t) * 8; }

/// f32 with .ftz: subnormal inputs and results flush to sign-preserving
/// zero (PTX ISA 9.7.3, "Subnormal numbers").
inline float ftz(float x) {
  if (std::fpclassify(x) == FP_SUBNORMAL)
    return std::copysign(0.0f, x);
  return x;
}
inline float satF32(float x) {
  if (std::isnan(x))
    return 0.0f;
  return std::min(1.0f, std::max(0.0f, x));
}

inline Rounding roundingOf(uint8_t r) {
  switch (r) {
  case 2:
    return Rounding::RZ;
  case 3:
    return Rounding::RM;
  case 4:
    return Rounding::RP;
  default:
    return Rounding::RN;
  }
}

/// A binary f32/f64 operation under a directed rounding mode (PTX ISA 9.7.3
/// rounding modifiers .rz .rm .rp): the host FPU's mode, set around one
/// operation.
template <typename T, typename F>
__attribute__((noinline)) T withRounding(uint8_t r, F f) {
  if (r <= 1)
    return f();
  int old = std::fegetround();
  std::fesetround(r == 2 ? FE_TOWARDZERO : r == 3 ? FE_DOWNWARD : FE_UPWARD);
  volatile T v = f();
  std::fesetround(old);
  return v;
}

/// 16-bit float views.
inline float half16(uint16_t bits, bool bf) {
  return bf ? bf16ToF32(bits) : f16ToF32(bits);
}
/// Rounds an exactly known value `x` (double) to a 16-bit float. Results of
/// 16-bit add/sub/mul are exact in double, so one rounding is correct.
inline uint16_t round16(double x, bool bf, Rounding r = Rounding::RN,
                        bool relu = false) {
  // double -> float first is exact for every value a 16-bit operation
  // produces except fma; callers of fma pass a round-to-odd value.
  float f = static_cast<float>(x);
  return bf ? f32ToBF16(f, r, relu) : f32ToF16(f, r, relu);
}
/// a * b + c in double with the result rounded to odd (the sticky bit), so
/// a later rounding to 16 bits rounds once (fma is single-rounded, PTX ISA
/// 9.7.4.x fma).
inline double fmaToOdd(double a, double b, double c) {
  double p = a * b; // exact: 16-bit operands
  double s = p + c;
  // TwoSum error term.
  double bb = s - p;
  double err = (p - (s - bb)) + (c - bb);
  if (err != 0 && std::isfinite(s)) {
    uint64_t bits = bitsOf(s);
    if ((bits & 1) == 0)
      bits += ((err > 0) == (s > 0)) ? 1 : -1;
    s = asF64(bits);
  }
  return s;
}

/// min/max with PTX's NaN rules (PTX ISA 9.7.3.x min/max): without .NaN a
/// NaN operand yields the other; with .NaN, or when both are NaN, the
/// canonical NaN. -0 is smaller than +0.
inline double minMaxF(double a, double b, bool isMax, bool nanMode,
                      bool &isNaN) {
  isNaN = false;
  bool an = std::isnan(a), bn = std::isnan(b);
  if (an || bn) {
    if (nanMode || (an && bn)) {
      isNaN = true;
      return 0;
    }
    return an ? b : a;
  }
  if (a == b && a == 0) {
    bool aNeg = std::signbit(a);
    if (isMax)
      return aNeg ? b : a;
    return aNeg ? a : b;
  }
  return isMax ? std::max(a, b) : std::min(a, b);
}

//===----------------------------------------------------------------------===//
// Shadow state of shared memory
//===----------------------------------------------------------------------===//

/// Per byte of shared memory: who last wrote and read it, at which barrier
/// and warp-sync epochs. Epochs increase over the whole launch, so a stale
/// entry from an earlier block compares as ordered.
struct ShadowByte {
  uint32_t wBlock = 0, wWarp = 0, rBlock = 0, rWarp = 0;
  uint16_t writer = 0, reader = 0;
  /// Another thread read in the last read's warp-sync epoch.
  uint8_t manyReaders = 0;
  /// Threads of more than one warp read since the last barrier.
  uint8_t crossWarp = 0;
  uint16_t asyncPending = 0; ///< 1 + the issuing thread's cp.async is in flight
};

enum class State : uint8_t { Runnable, WaitWarp, WaitBarrier, Exited };

struct PendingCopy {
  uint32_t dst;     ///< shared address
  uint64_t src;     ///< global address
  uint32_t size;    ///< cp-size
  uint32_t srcSize; ///< bytes read from src; the rest is zero-filled
  uint32_t pc;
};

struct Thread {
  uint32_t pc = 0;
  State state = State::Runnable;
  uint32_t index = 0; ///< linear thread index in the block
  uint32_t tid[3] = {0, 0, 0};
  uint64_t *regs = nullptr;
  uint32_t barrier = 0;      ///< barrier id while WaitBarrier
  uint32_t barrierCount = 0; ///< expected threads (0: the whole block)
  std::vector<uint8_t> local;
  std::vector<PendingCopy> uncommitted;
  std::vector<std::vector<PendingCopy>> groups; ///< committed, oldest first
  // wgmma: the instruction count at the last wgmma.fence, per register the
  // count of its last write, and the accumulators of uncompleted groups.
  uint64_t stamp = 1, fenceStamp = 0;
  std::vector<uint64_t> regStamp;
  std::vector<uint32_t> inflightRegs; ///< registers of uncommitted wgmmas
  std::vector<std::vector<uint32_t>> wgmmaGroups;
  std::vector<uint8_t> inflight; ///< per register: written by an async wgmma
  unsigned inflightCount = 0;
};

/// The schedule's random source: splitmix64, cheap enough to reshuffle the
/// runnable threads at every synchronization point.
class Schedule {
public:
  explicit Schedule(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// A uniformly shuffled order (Fisher-Yates; the bias of the
  /// multiply-shift range reduction is below 2^-32 for these sizes).
  template <typename T> void shuffle(std::vector<T> &v) {
    for (size_t i = v.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(
          (static_cast<unsigned __int128>(next()) * i) >> 64);
      std::swap(v[i - 1], v[j]);
    }
  }

private:
  uint64_t state;
};

/// A recoverable error in one thread: reported, the access not performed.
struct Abort {};

class Launch {
public:
  Launch(const Module &module, const Function &kernel,
         const LaunchConfig &config, const std::vector<uint8_t> &params,
         GlobalMemory &memory, const LaunchOptions &options,
         LaunchResult &result)
      : module(module), f(kernel), config(config), params(params),
        memory(memory), options(options), result(result), rng(options.seed) {}

  void run();

private:
  // Reports -----------------------------------------------------------------
  void report(const Thread *t, const char *check, const std::string &message,
              uint32_t pc = ~0u);

  // Blocks and scheduling ---------------------------------------------------
  void runBlock(unsigned bx, unsigned by, unsigned bz);
  void runThread(Thread &t);
  bool resolveCollectives();
  bool resolveWarp(unsigned w);
  void runCollective(const Inst &in, uint32_t pc,
                     const std::vector<uint32_t> &members);
  std::vector<uint32_t> scratchMembers;
  bool resolveBarriers();
  void reportDeadlock();
  bool isCollective(Op op) const {
    switch (op) {
    case Op::BarWarpSync:
    case Op::Shfl:
    case Op::Vote:
    case Op::Redux:
    case Op::MmaSync:
    case Op::Ldmatrix:
    case Op::WgmmaFence:
    case Op::WgmmaCommit:
    case Op::WgmmaWait:
    case Op::WgmmaMma:
      return true;
    default:
      return false;
    }
  }
  /// The block threads that take part in the collective `in` that `t`
  /// reached: the membermask's lanes of t's warp, or t's warpgroup.
  void participants(const Thread &t, const Inst &in,
                    std::vector<uint32_t> &members);
  void executeCollective(const Inst &in, uint32_t pc,
                         const std::vector<uint32_t> &members);

  // Operands ----------------------------------------------------------------
  const Operand &operand(const Inst &in, unsigned i) const {
    return f.operands[in.firstOperand + i];
  }
  const Operand &element(const Operand &vec, unsigned i) const {
    return f.operands[vec.reg + i];
  }
  uint64_t special(const Thread &t, Special s) const;
  uint64_t symbolAddress(int32_t sym) const;
  __attribute__((always_inline)) uint64_t read(Thread &t, const Operand &o) {
    if (o.kind == Operand::Reg && !t.inflightCount)
      return t.regs[o.reg];
    switch (o.kind) {
    case Operand::Reg:
      if (t.inflightCount && t.inflight[o.reg])
        readOfInflight(t, o.reg);
      return t.regs[o.reg];
    case Operand::Imm:
      return static_cast<uint64_t>(o.imm);
    case Operand::Special:
      return special(t, static_cast<Special>(o.reg));
    case Operand::Symbol:
      return symbolAddress(o.sym) + o.imm;
    default:
      return 0;
    }
  }
  bool readPred(Thread &t, const Operand &o) {
    bool v = read(t, o) & 1;
    return o.negate ? !v : v;
  }
  void write(Thread &t, const Operand &o, uint64_t v) {
    if (o.kind != Operand::Reg)
      return; // `_` sinks
    t.regs[o.reg] = v & regMask[o.reg];
    if (trackRegWrites)
      t.regStamp[o.reg] = t.stamp;
    if (t.inflightCount && t.inflight[o.reg])
      readOfInflight(t, o.reg);
  }
  void readOfInflight(Thread &t, uint32_t reg);

  // Memory ------------------------------------------------------------------
  uint64_t address(Thread &t, const Operand &o) {
    uint64_t base = o.reg != kNoReg ? t.regs[o.reg]
                    : o.sym != -1   ? symbolAddress(o.sym)
                                    : 0;
    return base + static_cast<uint64_t>(o.imm);
  }
  /// Resolves a generic address to its state space and space address.
  Space resolve(uint64_t generic, uint64_t &spaceAddress) const {
    switch (generic & kWindowMask) {
    case kSharedWindow:
      spaceAddress = generic - kSharedWindow;
      return Space::Shared;
    case kLocalWindow:
      spaceAddress = generic - kLocalWindow;
      return Space::Local;
    case kParamWindow:
      spaceAddress = generic - kParamWindow;
      return Space::Param;
    default:
      spaceAddress = generic;
      return Space::Global;
    }
  }
  void load(Thread &t, Space space, uint64_t addr, void *out, unsigned n);
  void store(Thread &t, Space space, uint64_t addr, const void *in, unsigned n);
  void sharedRead(Thread &t, uint64_t addr, void *out, unsigned n,
                  bool checkAsync = true);
  void sharedWrite(Thread &t, uint64_t addr, const void *in, unsigned n);
  bool globalOk(Thread &t, uint64_t addr, unsigned n, bool isWrite);
  void completeCopies(Thread &t, std::vector<PendingCopy> &copies);

  // Instructions --------------------------------------------------------------
  void step(Thread &t, const Inst &in);
  void execArith(Thread &t, const Inst &in);
  void execFloat(Thread &t, const Inst &in);
  void exec16(Thread &t, const Inst &in);
  void execCvt(Thread &t, const Inst &in);
  void execSetp(Thread &t, const Inst &in);
  void execMov(Thread &t, const Inst &in);
  void execLdSt(Thread &t, const Inst &in);
  void execAtom(Thread &t, const Inst &in);
  void execCpAsync(Thread &t, const Inst &in);

  const Module &module;
  const Function &f;
  const LaunchConfig &config;
  const std::vector<uint8_t> &params;
  GlobalMemory &memory;
  const LaunchOptions &options;
  LaunchResult &result;
  Schedule rng;

  std::vector<uint64_t> regMask;
  /// Per instruction: 0, or 1 for a warp/warpgroup collective, 2 for a
  /// barrier (where runThread stops).
  std::vector<uint8_t> syncKind;
  bool trackRegWrites = false;
  unsigned blockThreads = 0, numWarps = 0;
  unsigned ctaid[3] = {0, 0, 0};
  std::vector<Thread> threads;
  std::vector<uint64_t> regFile;
  std::vector<uint8_t> shared;
  std::vector<ShadowByte> shadow;
  uint64_t sharedSize = 0;
  uint32_t blockEpoch = 1, epochCounter = 1;
  uint32_t blockStartEpoch = 1;
  std::vector<uint32_t> warpEpoch;
  bool failed = false;
  uint64_t instructions = 0;
  uint64_t hitLo = 0, hitHi = 0; ///< globalOk's last allocation
};

} // namespace gatec::cudasim::detail

#endif // GATEC_LIB_CUDASIM_LAUNCH_H
