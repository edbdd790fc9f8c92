//===- Machine.cpp - The PTX interpreter and its sanitizer ----------------===//
//
// Semantics follow the PTX ISA (version 8.x); each instruction's case names
// its section. Registers hold raw bits (masked to their declared width);
// typed views are taken per instruction. Shared memory has a shadow byte map
// for the race, initialization and cp.async checks; global memory is host
// memory behind GlobalMemory's allocation map.
//
//===----------------------------------------------------------------------===//

#include "gatec/CudaSim/Machine.h"

#include "gatec/CudaSim/Numerics.h"
#include "gatec/CudaSim/TensorCore.h"

#include <algorithm>
#include <bit>
#include <cfenv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace gatec::cudasim {

//===----------------------------------------------------------------------===//
// GlobalMemory
//===----------------------------------------------------------------------===//

GlobalMemory::~GlobalMemory() {
  for (auto &[address, a] : allocations)
    if (a.owned)
      std::free(reinterpret_cast<void *>(address));
}

uint64_t GlobalMemory::allocate(uint64_t bytes) {
  uint64_t rounded = (std::max<uint64_t>(bytes, 1) + 255) / 256 * 256;
  void *p = std::aligned_alloc(256, rounded);
  if (!p)
    return 0;
  // cuMemAlloc's memory is uninitialized: a recognizable pattern instead
  // of the zeros a kernel might silently rely on.
  std::memset(p, 0xcd, rounded);
  std::lock_guard<std::mutex> lock(mutex);
  allocations[reinterpret_cast<uint64_t>(p)] = {bytes, true};
  return reinterpret_cast<uint64_t>(p);
}

void GlobalMemory::adopt(uint64_t address, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  allocations[address] = {bytes, false};
}

bool GlobalMemory::release(uint64_t address) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = allocations.find(address);
  if (it == allocations.end())
    return false;
  if (it->second.owned)
    std::free(reinterpret_cast<void *>(address));
  allocations.erase(it);
  return true;
}

bool GlobalMemory::contains(uint64_t address, uint64_t bytes) const {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = allocations.upper_bound(address);
  if (it == allocations.begin())
    return false;
  --it;
  return address >= it->first && address + bytes <= it->first + it->second.size &&
         address + bytes >= address;
}

bool GlobalMemory::range(uint64_t address, uint64_t &lo, uint64_t &hi) const {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = allocations.upper_bound(address);
  if (it == allocations.begin())
    return false;
  --it;
  if (address < it->first || address >= it->first + it->second.size)
    return false;
  lo = it->first;
  hi = it->first + it->second.size;
  return true;
}

std::string GlobalMemory::describe(uint64_t address) const {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = allocations.upper_bound(address);
  std::ostringstream os;
  if (it != allocations.begin()) {
    auto prev = std::prev(it);
    int64_t past = static_cast<int64_t>(address - (prev->first + prev->second.size));
    if (address >= prev->first && past < 0)
      return "inside an allocation";
    os << past << " bytes past the end of the " << prev->second.size
       << "-byte allocation at 0x" << std::hex << prev->first;
    return os.str();
  }
  if (it != allocations.end()) {
    os << (it->first - address) << " bytes before the allocation at 0x"
       << std::hex << it->first;
    return os.str();
  }
  return "no allocation is live";
}

namespace {

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

Rounding roundingOf(uint8_t r) {
  switch (r) {
  case 2: return Rounding::RZ;
  case 3: return Rounding::RM;
  case 4: return Rounding::RP;
  default: return Rounding::RN;
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
  uint32_t dst;      ///< shared address
  uint64_t src;      ///< global address
  uint32_t size;     ///< cp-size
  uint32_t srcSize;  ///< bytes read from src; the rest is zero-filled
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
        memory(memory), options(options), result(result),
        rng(options.seed) {}

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
    case Op::BarWarpSync: case Op::Shfl: case Op::Vote: case Op::Redux:
    case Op::MmaSync: case Op::Ldmatrix: case Op::WgmmaFence:
    case Op::WgmmaCommit: case Op::WgmmaWait: case Op::WgmmaMma:
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
  void store(Thread &t, Space space, uint64_t addr, const void *in,
             unsigned n);
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

void Launch::report(const Thread *t, const char *check,
                    const std::string &message, uint32_t pc) {
  failed = true;
  if (result.reports.size() >= options.maxReports)
    return;
  std::ostringstream os;
  os << "cuda-sim: " << check << ": " << message << "\n  in kernel " << f.name;
  if (t) {
    uint32_t at = pc != ~0u ? pc : t->pc;
    if (at < f.insts.size())
      os << " at PTX line " << f.insts[at].line << " (" << f.text[at] << ")";
    os << ", block (" << ctaid[0] << "," << ctaid[1] << "," << ctaid[2]
       << "), thread (" << t->tid[0] << "," << t->tid[1] << "," << t->tid[2]
       << ")";
  }
  result.reports.push_back(os.str());
}

uint64_t Launch::special(const Thread &t, Special s) const {
  switch (s) {
  case Special::TidX: return t.tid[0];
  case Special::TidY: return t.tid[1];
  case Special::TidZ: return t.tid[2];
  case Special::NtidX: return config.block[0];
  case Special::NtidY: return config.block[1];
  case Special::NtidZ: return config.block[2];
  case Special::CtaidX: return ctaid[0];
  case Special::CtaidY: return ctaid[1];
  case Special::CtaidZ: return ctaid[2];
  case Special::NctaidX: return config.grid[0];
  case Special::NctaidY: return config.grid[1];
  case Special::NctaidZ: return config.grid[2];
  case Special::Laneid: return t.index % 32;
  case Special::Warpid: return t.index / 32;
  case Special::Nwarpid: return numWarps;
  case Special::WarpSize: return 32;
  case Special::LanemaskEq: return 1u << (t.index % 32);
  case Special::LanemaskLt: return (1u << (t.index % 32)) - 1;
  case Special::LanemaskLe: return (2ull << (t.index % 32)) - 1;
  case Special::LanemaskGt: return ~((2ull << (t.index % 32)) - 1) & 0xffffffffu;
  case Special::LanemaskGe: return ~((1ull << (t.index % 32)) - 1) & 0xffffffffu;
  case Special::Clock: case Special::Clock64: case Special::Globaltimer:
    return instructions;
  case Special::Smid: return 0;
  case Special::Nsmid: return 1;
  case Special::DynamicSmemSize: return config.dynamicShared;
  case Special::TotalSmemSize: return sharedSize;
  }
  return 0;
}

uint64_t Launch::symbolAddress(int32_t sym) const {
  if (sym <= -2) // a parameter: its param-space address
    return f.params[-2 - sym].offset;
  const Symbol &s = module.symbols[sym];
  switch (s.space) {
  case Space::Shared:
    return s.dynamicShared ? f.staticShared : s.offset;
  case Space::Global: case Space::Const:
    return reinterpret_cast<uint64_t>(module.globalImage.data()) + s.offset;
  default:
    return s.offset; // local: the thread's local window offset
  }
}

void Launch::readOfInflight(Thread &t, uint32_t reg) {
  t.inflight[reg] = 0; // report each register once
  --t.inflightCount;
  if (!options.checks.wgmma)
    return;
  report(&t, "wgmma-wait",
         "register accessed while an asynchronous wgmma.mma_async that writes "
         "it is still in flight (no wgmma.wait_group after its commit)");
}

//===----------------------------------------------------------------------===//
// Memory accesses
//===----------------------------------------------------------------------===//

bool Launch::globalOk(Thread &t, uint64_t addr, unsigned n, bool isWrite) {
  // The last allocation hit, then the allocation map (kernels stream
  // through few buffers).
  if (addr >= hitLo && addr + n <= hitHi && addr + n >= addr)
    return true;
  uint64_t lo, hi;
  if (memory.range(addr, lo, hi) && addr + n <= hi) {
    hitLo = lo;
    hitHi = hi;
    return true;
  }
  if (addr >= reinterpret_cast<uint64_t>(module.globalImage.data()) &&
      addr + n <= reinterpret_cast<uint64_t>(module.globalImage.data()) +
                      module.globalImage.size())
    return true;
  std::ostringstream os;
  os << "invalid global " << (isWrite ? "write" : "read") << " of " << n
     << " bytes at 0x" << std::hex << addr << std::dec << " ("
     << memory.describe(addr) << ")";
  report(&t, "out-of-bounds", os.str());
  result.illegalAddress = true;
  return false;
}

void Launch::sharedRead(Thread &t, uint64_t addr, void *out, unsigned n,
                        bool checkAsync) {
  if (addr + n > sharedSize || addr + n < addr) {
    std::ostringstream os;
    os << "shared read of " << n << " bytes at shared address " << addr
       << " beyond the block's " << sharedSize << " bytes";
    report(&t, "shared-out-of-bounds", os.str());
    std::memset(out, 0, n);
    return;
  }
  std::memcpy(out, shared.data() + addr, n);
  uint32_t w = warpEpoch[t.index / 32];
  const CheckSet &c = options.checks;
  uint32_t self = t.index, warp = t.index / 32;
  for (unsigned i = 0; i < n; ++i) {
    ShadowByte &s = shadow[addr + i];
    // The common case first: written in this block, no cp.async pending,
    // and the last write by this thread or ordered before this read.
    bool clean = !s.asyncPending && s.wBlock >= blockStartEpoch &&
                 (s.wBlock != blockEpoch || s.writer == self ||
                  (s.writer / 32 == warp && s.wWarp != w));
    if (clean) {
      if (s.rBlock == blockEpoch && s.rWarp == w && s.reader == self)
        continue; // this thread's read in this epoch is already recorded
    } else if (checkAsync && c.async && s.asyncPending) {
      std::ostringstream os;
      os << "read of shared address " << addr + i
         << ", the destination of a cp.async (thread "
         << (s.asyncPending - 1) << ") not yet completed by cp.async.wait_group";
      report(&t, "cp.async-pending", os.str());
      return;
    }
    if (c.uninit && s.wBlock < blockStartEpoch) {
      std::ostringstream os;
      os << "read of " << n << " bytes at shared address " << addr
         << ": byte " << addr + i << " was never written in this block";
      report(&t, "uninitialized", os.str());
      return;
    }
    if (c.race && s.wBlock == blockEpoch && s.writer != t.index &&
        (s.writer / 32 != t.index / 32 || s.wWarp == w)) {
      std::ostringstream os;
      os << "read of shared address " << addr + i << " by thread "
         << t.index << " races with the write by thread " << s.writer
         << " (no barrier between them)";
      report(&t, "race", os.str());
      return;
    }
    if (s.rBlock != blockEpoch) {
      s.manyReaders = s.crossWarp = 0;
    } else {
      if (s.reader / 32 != t.index / 32)
        s.crossWarp = 1;
      if (s.rWarp != w)
        s.manyReaders = 0;
      else if (s.reader != t.index)
        s.manyReaders = 1;
    }
    s.rBlock = blockEpoch;
    s.rWarp = w;
    s.reader = static_cast<uint16_t>(t.index);
  }
}

void Launch::sharedWrite(Thread &t, uint64_t addr, const void *in,
                         unsigned n) {
  if (addr + n > sharedSize || addr + n < addr) {
    std::ostringstream os;
    os << "shared write of " << n << " bytes at shared address " << addr
       << " beyond the block's " << sharedSize << " bytes";
    report(&t, "shared-out-of-bounds", os.str());
    return;
  }
  uint32_t w = warpEpoch[t.index / 32];
  const CheckSet &c = options.checks;
  for (unsigned i = 0; i < n; ++i) {
    ShadowByte &s = shadow[addr + i];
    if (c.async && s.asyncPending) {
      std::ostringstream os;
      os << "write of shared address " << addr + i
         << ", the destination of an uncompleted cp.async (thread "
         << (s.asyncPending - 1) << ")";
      report(&t, "cp.async-pending", os.str());
      break;
    }
    if (c.race) {
      bool writeRace = s.wBlock == blockEpoch && s.writer != t.index &&
                       (s.writer / 32 != t.index / 32 || s.wWarp == w);
      // Reads since the last barrier by another warp, or by another lane
      // of this warp since its last warp sync.
      bool readRace =
          s.rBlock == blockEpoch &&
          (s.crossWarp || s.reader / 32 != t.index / 32 ||
           (s.rWarp == w && (s.manyReaders || s.reader != t.index)));
      if (writeRace || readRace) {
        std::ostringstream os;
        os << "write of shared address " << addr + i << " by thread "
           << t.index << " races with the "
           << (writeRace ? "write" : "read") << " by thread "
           << (writeRace ? s.writer : s.reader) << " (no barrier between them)";
        report(&t, "race", os.str());
        break;
      }
    }
    s.wBlock = blockEpoch;
    s.wWarp = w;
    s.writer = static_cast<uint16_t>(t.index);
  }
  std::memcpy(shared.data() + addr, in, n);
}

void Launch::load(Thread &t, Space space, uint64_t addr, void *out,
                  unsigned n) {
  if (space == Space::Generic)
    space = resolve(addr, addr);
  switch (space) {
  case Space::Global: case Space::Const:
    if (!globalOk(t, addr, n, false)) {
      std::memset(out, 0, n);
      return;
    }
    std::memcpy(out, reinterpret_cast<const void *>(addr), n);
    return;
  case Space::Shared:
    sharedRead(t, addr, out, n);
    return;
  case Space::Local:
    if (addr + n > t.local.size()) {
      report(&t, "out-of-bounds", "local read beyond the thread's local memory");
      std::memset(out, 0, n);
      return;
    }
    std::memcpy(out, t.local.data() + addr, n);
    return;
  case Space::Param:
    if (addr + n > params.size()) {
      report(&t, "out-of-bounds", "parameter read beyond the kernel's parameters");
      std::memset(out, 0, n);
      return;
    }
    std::memcpy(out, params.data() + addr, n);
    return;
  default:
    return;
  }
}

void Launch::store(Thread &t, Space space, uint64_t addr, const void *in,
                   unsigned n) {
  if (space == Space::Generic)
    space = resolve(addr, addr);
  switch (space) {
  case Space::Global:
    if (globalOk(t, addr, n, true))
      std::memcpy(reinterpret_cast<void *>(addr), in, n);
    return;
  case Space::Shared:
    sharedWrite(t, addr, in, n);
    return;
  case Space::Local:
    if (addr + n > t.local.size()) {
      report(&t, "out-of-bounds", "local write beyond the thread's local memory");
      return;
    }
    std::memcpy(t.local.data() + addr, in, n);
    return;
  default:
    report(&t, "out-of-bounds", "store to a read-only state space");
    return;
  }
}

//===----------------------------------------------------------------------===//
// Launch and blocks
//===----------------------------------------------------------------------===//

void Launch::run() {
  auto start = std::chrono::steady_clock::now();
  blockThreads = config.block[0] * config.block[1] * config.block[2];
  numWarps = (blockThreads + 31) / 32;
  regMask.resize(f.numRegs);
  for (uint32_t r = 0; r < f.numRegs; ++r)
    regMask[r] = f.regBytes[r] >= 8 ? ~0ull : (1ull << (8 * f.regBytes[r])) - 1;
  syncKind.resize(f.insts.size());
  for (size_t i = 0; i < f.insts.size(); ++i) {
    const Inst &in = f.insts[i];
    trackRegWrites |= in.op == Op::WgmmaMma;
    syncKind[i] = isCollective(in.op) ? 1
                  : (in.op == Op::BarSync || in.op == Op::BarArrive) ? 2
                                                                     : 0;
  }
  sharedSize = f.staticShared;
  if (config.dynamicShared)
    sharedSize = (sharedSize + module.dynamicSharedAlign - 1) /
                     module.dynamicSharedAlign * module.dynamicSharedAlign +
                 config.dynamicShared;
  shared.assign(sharedSize, 0);
  shadow.assign(sharedSize, ShadowByte());
  threads.resize(blockThreads);
  regFile.assign(static_cast<size_t>(blockThreads) * std::max(1u, f.numRegs), 0);
  warpEpoch.assign(numWarps, 0);
  // Blocks in a seeded random order: results must not depend on it.
  uint64_t numBlocks =
      uint64_t(config.grid[0]) * config.grid[1] * config.grid[2];
  std::vector<uint64_t> order(numBlocks);
  for (uint64_t i = 0; i < numBlocks; ++i)
    order[i] = i;
  rng.shuffle(order);
  for (uint64_t b : order) {
    runBlock(b % config.grid[0], b / config.grid[0] % config.grid[1],
             b / config.grid[0] / config.grid[1]);
    if (failed && result.reports.size() >= options.maxReports)
      break;
  }
  result.instructions = instructions;
  result.seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
}

void Launch::runBlock(unsigned bx, unsigned by, unsigned bz) {
  ctaid[0] = bx;
  ctaid[1] = by;
  ctaid[2] = bz;
  blockStartEpoch = blockEpoch = ++epochCounter;
  for (unsigned w = 0; w < numWarps; ++w)
    warpEpoch[w] = ++epochCounter;
  std::fill(regFile.begin(), regFile.end(), 0);
  std::fill(shared.begin(), shared.end(), 0);
  for (unsigned i = 0; i < blockThreads; ++i) {
    Thread &t = threads[i];
    t.pc = 0;
    t.state = State::Runnable;
    t.stamp = 1;
    t.fenceStamp = 0;
    t.uncommitted.clear();
    t.groups.clear();
    t.inflightRegs.clear();
    t.wgmmaGroups.clear();
    t.inflightCount = 0;
    t.index = i;
    t.tid[0] = i % config.block[0];
    t.tid[1] = i / config.block[0] % config.block[1];
    t.tid[2] = i / config.block[0] / config.block[1];
    t.regs = regFile.data() + static_cast<size_t>(i) * std::max(1u, f.numRegs);
    t.local.assign(f.localBytes, 0);
    if (trackRegWrites) {
      t.regStamp.assign(f.numRegs, 0);
      t.inflight.assign(f.numRegs, 0);
    }
  }
  // Warps in a random order, each run until all its threads wait at a
  // barrier, a warpgroup collective or exited; within a warp, the runnable
  // threads in a random order until each reaches a synchronization point,
  // then the warp's collective if all its participants arrived.
  std::vector<uint32_t> warps(numWarps), lanes;
  for (;;) {
    for (unsigned w = 0; w < numWarps; ++w)
      warps[w] = w;
    rng.shuffle(warps);
    bool progress = false;
    for (uint32_t w : warps) {
      for (;;) {
        lanes.clear();
        for (unsigned i = w * 32; i < std::min(blockThreads, w * 32 + 32); ++i)
          if (threads[i].state == State::Runnable)
            lanes.push_back(i);
        if (lanes.empty() && !resolveWarp(w))
          break;
        progress = true;
        rng.shuffle(lanes);
        for (uint32_t i : lanes)
          runThread(threads[i]);
        if (failed && result.reports.size() >= options.maxReports)
          return;
      }
    }
    if (progress)
      continue;
    if (resolveCollectives() || resolveBarriers())
      continue;
    bool allExited = std::all_of(threads.begin(), threads.end(), [](const Thread &t) {
      return t.state == State::Exited;
    });
    if (!allExited)
      reportDeadlock();
    return;
  }
}

void Launch::runThread(Thread &t) {
  const Inst *insts = f.insts.data();
  size_t n = f.insts.size();
  try {
  while (t.state == State::Runnable) {
    if (t.pc >= n) {
      t.state = State::Exited;
      break;
    }
    const Inst &in = insts[t.pc];
    ++instructions;
    ++t.stamp;
    if (in.guard >= 0) {
      bool g = t.regs[in.guard] & 1;
      if (g == in.guardNegate) {
        ++t.pc;
        continue;
      }
    }
    uint8_t kind = syncKind[t.pc];
    if (kind == 1) {
      t.state = State::WaitWarp;
      return;
    }
    if (kind == 2) {
      // bar.sync a{, b} (PTX ISA 9.7.12.1): wait at barrier a for b threads
      // (default: the whole block). bar.arrive only counts.
      t.barrier = static_cast<uint32_t>(in.numOperands ? read(t, operand(in, 0)) : 0);
      t.barrierCount = in.numOperands > 1
                           ? static_cast<uint32_t>(read(t, operand(in, 1)))
                           : 0;
      if (in.op == Op::BarArrive) {
        report(&t, "unsupported", "bar.arrive is not emulated");
        t.state = State::Exited;
        return;
      }
      t.state = State::WaitBarrier;
      return;
    }
    step(t, in);
    if (failed && result.reports.size() >= options.maxReports) {
      t.state = State::Exited;
      return;
    }
  }
  } catch (const Abort &) {
    t.state = State::Exited;
  }
  if (t.state == State::Exited) {
    // Copies still in flight complete (the block's shared memory outlives
    // the thread).
    for (auto &g : t.groups)
      completeCopies(t, g);
    completeCopies(t, t.uncommitted);
    t.groups.clear();
  }
}

bool Launch::resolveBarriers() {
  // A barrier releases when every live thread waits at it, or when the
  // count of a counted barrier is reached.
  std::map<uint32_t, std::vector<uint32_t>> waiting;
  unsigned live = 0;
  for (Thread &t : threads) {
    if (t.state == State::Exited)
      continue;
    ++live;
    if (t.state == State::WaitBarrier)
      waiting[t.barrier].push_back(t.index);
  }
  for (auto &[id, members] : waiting) {
    uint32_t count = threads[members.front()].barrierCount;
    bool release = count ? members.size() >= count : members.size() == live;
    if (!release)
      continue;
    blockEpoch = ++epochCounter;
    for (unsigned w = 0; w < numWarps; ++w)
      warpEpoch[w] = ++epochCounter;
    for (uint32_t i : members) {
      threads[i].state = State::Runnable;
      ++threads[i].pc;
    }
    return true;
  }
  return false;
}

void Launch::participants(const Thread &t, const Inst &in,
                          std::vector<uint32_t> &members) {
  members.clear();
  bool warpgroup = in.op == Op::WgmmaFence || in.op == Op::WgmmaCommit ||
                   in.op == Op::WgmmaWait || in.op == Op::WgmmaMma;
  unsigned group = warpgroup ? 128 : 32;
  unsigned first = t.index / group * group;
  uint32_t mask = 0xffffffffu;
  // The membermask operand: shfl's last, vote's and redux's last,
  // bar.warp.sync's only (PTX ISA 9.7.12.x).
  Thread &self = threads[t.index];
  if (in.op == Op::Shfl || in.op == Op::Vote || in.op == Op::Redux ||
      in.op == Op::BarWarpSync)
    mask = static_cast<uint32_t>(read(self, operand(in, in.numOperands - 1)));
  for (unsigned i = first; i < first + group && i < blockThreads; ++i)
    if (warpgroup || (mask >> (i % 32) & 1))
      members.push_back(i);
}

void Launch::runCollective(const Inst &in, uint32_t pc,
                           const std::vector<uint32_t> &members) {
  try {
    executeCollective(in, pc, members);
  } catch (const Abort &) {
    // Reported; the participants stop as a faulting warp would.
    for (uint32_t m : members)
      threads[m].state = State::Exited;
    return;
  }
  for (uint32_t m : members) {
    if (threads[m].state == State::WaitWarp) {
      threads[m].state = State::Runnable;
      threads[m].pc = pc + 1;
    }
  }
}

bool Launch::resolveWarp(unsigned w) {
  // The first waiting thread's collective, if every participant of it (in
  // this warp) has arrived; warpgroup collectives wait for the block-level
  // pass.
  std::vector<uint32_t> &members = scratchMembers;
  for (unsigned i = w * 32; i < std::min(blockThreads, w * 32 + 32); ++i) {
    Thread &t = threads[i];
    if (t.state != State::WaitWarp)
      continue;
    const Inst &in = f.insts[t.pc];
    if (in.op == Op::WgmmaFence || in.op == Op::WgmmaCommit ||
        in.op == Op::WgmmaWait || in.op == Op::WgmmaMma)
      return false;
    participants(t, in, members);
    for (uint32_t m : members) {
      const Thread &u = threads[m];
      if (u.state != State::WaitWarp || u.pc != t.pc)
        return false;
    }
    if (std::find(members.begin(), members.end(), t.index) == members.end())
      return false; // the block-level pass reports it
    uint32_t pc = t.pc;
    runCollective(in, pc, members);
    return true;
  }
  return false;
}

bool Launch::resolveCollectives() {
  std::vector<uint32_t> members;
  bool progress = false;
  for (Thread &t : threads) {
    if (t.state != State::WaitWarp)
      continue;
    const Inst &in = f.insts[t.pc];
    participants(t, in, members);
    bool ready = true;
    for (uint32_t i : members) {
      const Thread &u = threads[i];
      if (u.state != State::WaitWarp || u.pc != t.pc) {
        ready = false;
        break;
      }
    }
    if (!ready)
      continue;
    if (std::find(members.begin(), members.end(), t.index) == members.end()) {
      report(&t, "collective",
             "thread is not in the membermask of the collective it executes");
      t.state = State::Exited;
      continue;
    }
    runCollective(in, t.pc, members);
    progress = true;
  }
  return progress;
}

void Launch::reportDeadlock() {
  // Where each waiting group stopped: a collective or barrier some of its
  // participants never reach (on hardware, a hang).
  std::map<uint32_t, unsigned> atPc;
  unsigned exited = 0;
  const Thread *example = nullptr;
  for (Thread &t : threads) {
    if (t.state == State::Exited) {
      ++exited;
      continue;
    }
    ++atPc[t.pc];
    if (!example)
      example = &t;
  }
  std::ostringstream os;
  os << "deadlock: ";
  bool firstEntry = true;
  for (auto &[pc, count] : atPc) {
    os << (firstEntry ? "" : "; ") << count << " threads wait at line "
       << f.insts[pc].line << " (" << f.text[pc] << ")";
    firstEntry = false;
  }
  os << "; " << exited << " threads exited. A collective or barrier was "
     << "reached by only part of its warp or block";
  // A hang on hardware: reported whatever the selected checks.
  report(example, "collective", os.str());
}

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

void Launch::step(Thread &t, const Inst &in) {
  switch (in.op) {
  case Op::Bra: // PTX ISA 9.7.10.2
    t.pc = static_cast<uint32_t>(operand(in, 0).imm);
    return;
  case Op::Ret: case Op::Exit: // 9.7.10.5, 9.7.10.6 (kernels only)
    t.state = State::Exited;
    return;
  case Op::Trap:
    report(&t, "trap", "the kernel executed trap");
    t.state = State::Exited;
    return;
  case Op::Call:
    report(&t, "unsupported", "call is not emulated (device functions)");
    t.state = State::Exited;
    return;
  case Op::Membar: case Op::Fence: case Op::Prefetch: case Op::Nanosleep:
    // 9.7.12.4: the emulator's memory is sequentially consistent.
    break;
  case Op::Mov:
    execMov(t, in);
    break;
  case Op::Ld: case Op::Ldu: case Op::St:
    execLdSt(t, in);
    break;
  case Op::Cvt:
    execCvt(t, in);
    break;
  case Op::Cvta: { // 9.7.9.19: between a state space's and generic addresses
    uint64_t a = read(t, operand(in, 1));
    uint64_t window = in.space == Space::Shared ? kSharedWindow
                      : in.space == Space::Local ? kLocalWindow
                      : in.space == Space::Param ? kParamWindow
                                                 : 0;
    uint64_t d = a;
    if (in.toSpace) {
      uint64_t spaceAddress;
      Space s = resolve(a, spaceAddress);
      if (window && s != in.space) {
        report(&t, "out-of-bounds",
               "cvta.to of a generic address outside that state space");
        throw Abort();
      }
      d = spaceAddress;
    } else {
      d = a + window;
    }
    write(t, operand(in, 0), d);
    break;
  }
  case Op::Isspacep: {
    uint64_t spaceAddress;
    Space s = resolve(read(t, operand(in, 1)), spaceAddress);
    write(t, operand(in, 0), s == in.space);
    break;
  }
  case Op::Setp: case Op::Set:
    execSetp(t, in);
    break;
  case Op::Selp: // 9.7.6.2
    write(t, operand(in, 0),
          readPred(t, operand(in, 3)) ? read(t, operand(in, 1))
                                      : read(t, operand(in, 2)));
    break;
  case Op::Atom: case Op::Red:
    execAtom(t, in);
    break;
  case Op::CpAsync: case Op::CpAsyncCommit: case Op::CpAsyncWait:
  case Op::CpAsyncWaitAll:
    execCpAsync(t, in);
    break;
  case Op::Activemask: { // 9.7.12.x: the warp's non-exited threads
    uint32_t mask = 0;
    unsigned first = t.index / 32 * 32;
    for (unsigned i = first; i < first + 32 && i < blockThreads; ++i)
      if (threads[i].state != State::Exited)
        mask |= 1u << (i % 32);
    write(t, operand(in, 0), mask);
    break;
  }
  default:
    if (in.type == Ty::F32 || in.type == Ty::F64)
      execFloat(t, in);
    else if (isFloat(in.type))
      exec16(t, in);
    else
      execArith(t, in);
  }
  ++t.pc;
}

void Launch::execArith(Thread &t, const Inst &in) {
  unsigned bits = in.type == Ty::Pred ? 1 : bitsOfTy(in.type);
  bool sgn = isSigned(in.type);
  auto arg = [&](unsigned i) { return read(t, operand(in, i)); };
  auto val = [&](unsigned i) -> int64_t {
    uint64_t v = arg(i);
    return sgn ? sext(v, bits) : static_cast<int64_t>(zext(v, bits));
  };
  uint64_t d = 0;
  switch (in.op) {
  case Op::Add: case Op::Sub: { // 9.7.1.1, 9.7.1.2
    uint64_t a = arg(1), b = arg(2);
    d = in.op == Op::Add ? a + b : a - b;
    if (in.sat && in.type == Ty::S32) {
      int64_t r = in.op == Op::Add ? sext(a, 32) + sext(b, 32)
                                   : sext(a, 32) - sext(b, 32);
      d = static_cast<uint64_t>(std::clamp<int64_t>(r, INT32_MIN, INT32_MAX));
    }
    break;
  }
  case Op::Mul: case Op::Mad: { // 9.7.1.3, 9.7.1.4
    __int128 a = val(1), b = val(2);
    unsigned __int128 ua = zext(arg(1), bits), ub = zext(arg(2), bits);
    unsigned __int128 p = sgn ? static_cast<unsigned __int128>(a * b) : ua * ub;
    if (in.wide) {
      d = static_cast<uint64_t>(p);
      if (in.op == Op::Mad)
        d += arg(3);
    } else if (in.hi) {
      __int128 full = sgn ? a * b : static_cast<__int128>(ua * ub);
      d = static_cast<uint64_t>(full >> bits);
      if (in.op == Op::Mad)
        d += arg(3);
    } else {
      d = static_cast<uint64_t>(p);
      if (in.op == Op::Mad)
        d += arg(3);
    }
    break;
  }
  case Op::Mul24: case Op::Mad24: {
    int64_t a = sgn ? sext(arg(1), 24) : zext(arg(1), 24);
    int64_t b = sgn ? sext(arg(2), 24) : zext(arg(2), 24);
    d = in.hi ? static_cast<uint64_t>(a * b) >> 16 : static_cast<uint64_t>(a * b);
    if (in.op == Op::Mad24)
      d += arg(3);
    break;
  }
  case Op::Sad: {
    int64_t a = val(1), b = val(2);
    d = static_cast<uint64_t>(a > b ? a - b : b - a) + arg(3);
    break;
  }
  case Op::Div: case Op::Rem: { // 9.7.1.6, 9.7.1.7
    int64_t a = val(1), b = val(2);
    if (b == 0) {
      d = in.op == Op::Div ? ~0ull : static_cast<uint64_t>(a);
    } else if (sgn) {
      if (b == -1 && a == sext(1ull << (bits - 1), bits))
        d = in.op == Op::Div ? static_cast<uint64_t>(a) : 0;
      else
        d = static_cast<uint64_t>(in.op == Op::Div ? a / b : a % b);
    } else {
      uint64_t ua = zext(arg(1), bits), ub = zext(arg(2), bits);
      d = in.op == Op::Div ? ua / ub : ua % ub;
    }
    break;
  }
  case Op::Abs: {
    int64_t a = val(1);
    d = static_cast<uint64_t>(a < 0 ? -a : a);
    break;
  }
  case Op::Neg:
    d = static_cast<uint64_t>(-val(1));
    break;
  case Op::Min: case Op::Max: { // 9.7.1.10, 9.7.1.11
    int64_t a = val(1), b = val(2);
    bool takeA = sgn ? (in.op == Op::Min ? a <= b : a >= b)
                     : (in.op == Op::Min ? zext(arg(1), bits) <= zext(arg(2), bits)
                                         : zext(arg(1), bits) >= zext(arg(2), bits));
    d = static_cast<uint64_t>(takeA ? a : b);
    break;
  }
  case Op::Popc:
    d = std::popcount(zext(arg(1), bits));
    break;
  case Op::Clz:
    d = bits == 64 ? std::countl_zero(arg(1))
                   : std::countl_zero(static_cast<uint32_t>(arg(1)));
    break;
  case Op::Brev: {
    uint64_t a = arg(1), r = 0;
    for (unsigned i = 0; i < bits; ++i)
      if (a >> i & 1)
        r |= 1ull << (bits - 1 - i);
    d = r;
    break;
  }
  case Op::Bfind: { // 9.7.1.18
    int64_t a = val(1);
    uint64_t u = zext(arg(1), bits);
    if (sgn && a < 0)
      u = zext(~arg(1), bits);
    if (u == 0) {
      d = 0xffffffffu;
    } else {
      unsigned msb = 63 - std::countl_zero(u);
      d = in.shiftLeft ? bits - 1 - msb : msb;
    }
    break;
  }
  case Op::Bfe: { // 9.7.1.20
    uint64_t a = arg(1);
    unsigned pos = arg(2) & 0xff, len = arg(3) & 0xff, msb = bits - 1;
    bool sbit = false;
    if (sgn && len > 0)
      sbit = (pos + len - 1 >= msb) ? (a >> msb & 1) : (a >> (pos + len - 1) & 1);
    uint64_t r = 0;
    for (unsigned i = 0; i < bits; ++i) {
      bool bit = (i < len && pos + i <= msb) ? (a >> (pos + i) & 1) : sbit;
      r |= static_cast<uint64_t>(bit) << i;
    }
    d = r;
    break;
  }
  case Op::Bfi: { // 9.7.1.21: insert a's low bits into b at c for d bits
    uint64_t a = arg(1), b = arg(2);
    unsigned pos = arg(3) & 0xff, len = arg(4) & 0xff;
    uint64_t r = b;
    for (unsigned i = 0; i < len && pos + i < bits; ++i) {
      uint64_t bit = 1ull << (pos + i);
      r = (a >> i & 1) ? (r | bit) : (r & ~bit);
    }
    d = r;
    break;
  }
  case Op::And: d = arg(1) & arg(2); break;  // 9.7.8.1
  case Op::Or: d = arg(1) | arg(2); break;   // 9.7.8.2
  case Op::Xor: d = arg(1) ^ arg(2); break;  // 9.7.8.3
  case Op::Not: d = ~arg(1); break;          // 9.7.8.4
  case Op::Cnot: d = arg(1) == 0; break;     // 9.7.8.5
  case Op::Lop3: { // 9.7.8.6
    uint64_t a = arg(1), b = arg(2), c = arg(3), lut = arg(4), r = 0;
    for (unsigned i = 0; i < 8; ++i)
      if (lut >> i & 1)
        r |= ((i & 4) ? a : ~a) & ((i & 2) ? b : ~b) & ((i & 1) ? c : ~c);
    d = r;
    break;
  }
  case Op::Shl: case Op::Shr: { // 9.7.8.8, 9.7.8.9: amounts clamp to N
    uint64_t amount = zext(arg(2), 32);
    if (in.op == Op::Shl)
      d = amount >= bits ? 0 : arg(1) << amount;
    else if (sgn)
      d = static_cast<uint64_t>(val(1) >> std::min<uint64_t>(amount, 63));
    else
      d = amount >= bits ? 0 : zext(arg(1), bits) >> amount;
    break;
  }
  case Op::Shf: { // 9.7.8.7: funnel shift of {b, a}
    uint64_t pair = (zext(arg(2), 32) << 32) | zext(arg(1), 32);
    uint64_t n = zext(arg(3), 32);
    n = in.clamp ? std::min<uint64_t>(n, 32) : n & 31;
    d = in.shiftLeft ? (pair << n) >> 32 : pair >> n;
    break;
  }
  case Op::Prmt: { // 9.7.8.10, default mode
    uint64_t a = zext(arg(1), 32), b = zext(arg(2), 32), c = arg(3);
    uint64_t bytes = (b << 32) | a, r = 0;
    if (in.mode != 0) {
      report(&t, "unsupported", "prmt modes other than the default");
      throw Abort();
    }
    for (unsigned i = 0; i < 4; ++i) {
      unsigned sel = (c >> (4 * i)) & 0xf;
      uint64_t byte = (bytes >> (8 * (sel & 7))) & 0xff;
      if (sel & 8)
        byte = (byte & 0x80) ? 0xff : 0;
      r |= byte << (8 * i);
    }
    d = r;
    break;
  }
  default:
    report(&t, "unsupported",
           std::string("instruction not emulated for type .") + nameOf(in.type));
    throw Abort();
  }
  if (in.type == Ty::Pred)
    d &= 1;
  write(t, operand(in, 0), d);
}

void Launch::execFloat(Thread &t, const Inst &in) {
  bool dbl = in.type == Ty::F64;
  uint8_t r = in.rounding;
  auto argD = [&](unsigned i) {
    uint64_t v = read(t, operand(in, i));
    return asF64(v);
  };
  auto argF = [&](unsigned i) {
    float v = asF32(read(t, operand(in, i)));
    return in.ftz ? ftz(v) : v;
  };
  auto putF = [&](float v) {
    if (in.sat)
      v = satF32(v);
    if (in.ftz)
      v = ftz(v);
    write(t, operand(in, 0), bitsOf(v));
  };
  auto putD = [&](double v) { write(t, operand(in, 0), bitsOf(v)); };
  switch (in.op) {
  case Op::Add: case Op::Sub: case Op::Mul: { // 9.7.3.1 - 9.7.3.3
    if (dbl) {
      double a = argD(1), b = argD(2);
      putD(withRounding<double>(r, [&] {
        return in.op == Op::Add ? a + b : in.op == Op::Sub ? a - b : a * b;
      }));
    } else {
      float a = argF(1), b = argF(2);
      putF(withRounding<float>(r, [&] {
        return in.op == Op::Add ? a + b : in.op == Op::Sub ? a - b : a * b;
      }));
    }
    return;
  }
  case Op::Fma: case Op::Mad: // 9.7.3.4, 9.7.3.5: one rounding
    if (dbl) {
      double a = argD(1), b = argD(2), c = argD(3);
      putD(withRounding<double>(r, [&] { return std::fma(a, b, c); }));
    } else {
      float a = argF(1), b = argF(2), c = argF(3);
      putF(withRounding<float>(r, [&] { return std::fma(a, b, c); }));
    }
    return;
  case Op::Div: // 9.7.3.6: .rn is IEEE; .approx/.full get the exact quotient
    if (dbl) {
      double a = argD(1), b = argD(2);
      putD(withRounding<double>(r, [&] { return a / b; }));
    } else {
      float a = argF(1), b = argF(2);
      putF(withRounding<float>(in.approx || in.full ? 1 : r,
                               [&] { return a / b; }));
    }
    return;
  case Op::Abs: case Op::Neg: { // 9.7.3.7, 9.7.3.8: the sign bit
    uint64_t v = read(t, operand(in, 1));
    uint64_t sign = dbl ? 1ull << 63 : 1ull << 31;
    if (!dbl && in.ftz)
      v = bitsOf(ftz(asF32(v)));
    write(t, operand(in, 0), in.op == Op::Abs ? v & ~sign : v ^ sign);
    return;
  }
  case Op::Min: case Op::Max: { // 9.7.3.9, 9.7.3.10
    bool isNaN;
    double v = minMaxF(dbl ? argD(1) : argF(1), dbl ? argD(2) : argF(2),
                       in.op == Op::Max, in.nanMode, isNaN);
    if (dbl)
      write(t, operand(in, 0), isNaN ? 0x7fffffffffffffffull : bitsOf(v));
    else if (isNaN)
      write(t, operand(in, 0), 0x7fffffffu);
    else
      putF(static_cast<float>(v));
    return;
  }
  case Op::Rcp: case Op::Sqrt: case Op::Rsqrt: case Op::Ex2: case Op::Lg2:
  case Op::Sin: case Op::Cos: case Op::Tanh: {
    // 9.7.3.11 - 9.7.3.19. The .approx forms are computed in double and
    // rounded: within every stated error bound of the hardware's.
    double a = dbl ? argD(1) : argF(1);
    double v = 0;
    switch (in.op) {
    case Op::Rcp: v = 1.0 / a; break;
    case Op::Sqrt: v = std::sqrt(a); break;
    case Op::Rsqrt: v = 1.0 / std::sqrt(a); break;
    case Op::Ex2: v = std::exp2(a); break;
    case Op::Lg2: v = std::log2(a); break;
    case Op::Sin: v = std::sin(a); break;
    case Op::Cos: v = std::cos(a); break;
    default: v = std::tanh(a); break;
    }
    if (dbl) {
      putD(v);
    } else if ((in.op == Op::Rcp || in.op == Op::Sqrt) && !in.approx) {
      float fa = static_cast<float>(a);
      putF(withRounding<float>(r, [&] {
        return in.op == Op::Rcp ? 1.0f / fa : std::sqrt(fa);
      }));
    } else {
      putF(static_cast<float>(v));
    }
    return;
  }
  case Op::Copysign: { // 9.7.3.x: |b| with a's sign
    uint64_t a = read(t, operand(in, 1)), b = read(t, operand(in, 2));
    uint64_t sign = dbl ? 1ull << 63 : 1ull << 31;
    write(t, operand(in, 0), (b & ~sign) | (a & sign));
    return;
  }
  case Op::Testp: { // 9.7.3.x
    double a = dbl ? argD(1) : static_cast<double>(asF32(read(t, operand(in, 1))));
    int cls = dbl ? std::fpclassify(a)
                  : std::fpclassify(asF32(read(t, operand(in, 1))));
    bool v = false;
    switch (in.mode) {
    case 0: v = std::isfinite(a); break;
    case 1: v = std::isinf(a); break;
    case 2: v = !std::isnan(a); break;
    case 3: v = std::isnan(a); break;
    case 4: v = cls == FP_NORMAL; break;
    default: v = cls == FP_SUBNORMAL; break;
    }
    write(t, operand(in, 0), v);
    return;
  }
  default:
    report(&t, "unsupported",
           std::string("instruction not emulated for type .") + nameOf(in.type));
    throw Abort();
  }
}

void Launch::exec16(Thread &t, const Inst &in) {
  // 9.7.4 (half precision) and 9.7.5 (bf16): each lane in float, results
  // rounded once to 16 bits.
  bool bf = in.type == Ty::BF16 || in.type == Ty::BF16x2;
  unsigned lanes = (in.type == Ty::F16x2 || in.type == Ty::BF16x2) ? 2 : 1;
  uint16_t canonicalNaN = 0x7fff;
  uint64_t out = 0;
  Rounding rounding = roundingOf(in.rounding);
  for (unsigned l = 0; l < lanes; ++l) {
    auto raw = [&](unsigned i) {
      return static_cast<uint16_t>(read(t, operand(in, i)) >> (16 * l));
    };
    auto x = [&](unsigned i) -> double { return half16(raw(i), bf); };
    uint16_t r = 0;
    switch (in.op) {
    case Op::Add: r = round16(x(1) + x(2), bf, rounding, in.relu); break;
    case Op::Sub: r = round16(x(1) - x(2), bf, rounding, in.relu); break;
    case Op::Mul: r = round16(x(1) * x(2), bf, rounding, in.relu); break;
    case Op::Fma:
      r = round16(fmaToOdd(x(1), x(2), x(3)), bf, rounding, in.relu);
      break;
    case Op::Neg: r = raw(1) ^ 0x8000; break;
    case Op::Abs: r = raw(1) & 0x7fff; break;
    case Op::Min: case Op::Max: {
      bool isNaN;
      double v = minMaxF(x(1), x(2), in.op == Op::Max, in.nanMode, isNaN);
      if (isNaN) {
        r = canonicalNaN;
      } else {
        // The chosen operand's own bits (min/max do not round).
        r = (v == x(1) && std::signbit(v) == std::signbit(x(1))) ? raw(1) : raw(2);
        if (in.relu && std::signbit(v))
          r = 0;
      }
      break;
    }
    case Op::Ex2: r = round16(std::exp2(x(1)), bf); break;
    case Op::Tanh: r = round16(std::tanh(x(1)), bf); break;
    case Op::Rcp: r = round16(1.0 / x(1), bf); break;
    case Op::Sqrt: r = round16(std::sqrt(x(1)), bf); break;
    default:
      report(&t, "unsupported",
             std::string("instruction not emulated for type .") + nameOf(in.type));
      throw Abort();
    }
    out |= static_cast<uint64_t>(r) << (16 * l);
  }
  write(t, operand(in, 0), out);
}

/// The value of register bits `v` of type `type`, as a double (integers
/// exactly up to 2^53, which is what conversions need here).
static double numberOf(uint64_t v, Ty type) {
  switch (type) {
  case Ty::F32: return asF32(v);
  case Ty::F64: return asF64(v);
  case Ty::F16: return f16ToF32(static_cast<uint16_t>(v));
  case Ty::BF16: return bf16ToF32(static_cast<uint16_t>(v));
  default:
    return isSigned(type) ? static_cast<double>(sext(v, bitsOfTy(type)))
                          : static_cast<double>(zext(v, bitsOfTy(type)));
  }
}

void Launch::execCvt(Thread &t, const Inst &in) {
  // 9.7.9.21 cvt: d = convert(a) from type2 to type.
  Ty dst = in.type, src = in.type2;
  Rounding rounding = roundingOf(in.rounding);
  if (dst == Ty::BF16x2 || dst == Ty::F16x2) {
    // cvt.rn{.relu}{.satfinite}.{bf16x2,f16x2}.f32 d, a, b: a in the upper
    // half, b in the lower.
    float a = asF32(read(t, operand(in, 1))), b = asF32(read(t, operand(in, 2)));
    bool bf = dst == Ty::BF16x2;
    uint16_t hi = bf ? f32ToBF16(a, rounding, in.relu, in.satfinite)
                     : f32ToF16(a, rounding, in.relu, in.satfinite);
    uint16_t lo = bf ? f32ToBF16(b, rounding, in.relu, in.satfinite)
                     : f32ToF16(b, rounding, in.relu, in.satfinite);
    write(t, operand(in, 0), (static_cast<uint64_t>(hi) << 16) | lo);
    return;
  }
  uint64_t a = read(t, operand(in, 1));
  uint64_t d = 0;
  if (!isFloat(dst) && !isFloat(src)) {
    // Integer to integer: extend by the source's signedness, saturate with
    // .sat, truncate; a signed destination is sign-extended into its
    // register.
    unsigned sb = bitsOfTy(src), db = bitsOfTy(dst);
    int64_t v = isSigned(src) ? sext(a, sb) : static_cast<int64_t>(zext(a, sb));
    if (in.sat) {
      if (isSigned(dst)) {
        int64_t lo = -(1ll << (db - 1)), hi = (1ll << (db - 1)) - 1;
        if (db == 64) {
          lo = INT64_MIN;
          hi = INT64_MAX;
        }
        if (!isSigned(src) && zext(a, sb) > static_cast<uint64_t>(hi))
          v = hi;
        else
          v = std::clamp(v, lo, hi);
      } else {
        uint64_t hi = db == 64 ? ~0ull : (1ull << db) - 1;
        if (isSigned(src) && v < 0)
          v = 0;
        else if (static_cast<uint64_t>(v) > hi)
          v = static_cast<int64_t>(hi);
      }
    }
    d = isSigned(dst) ? static_cast<uint64_t>(sext(static_cast<uint64_t>(v), db))
                      : zext(static_cast<uint64_t>(v), db);
  } else if (isFloat(dst) && isFloat(src)) {
    double x;
    if (src == Ty::F64) {
      x = asF64(a);
    } else {
      x = numberOf(a, src);
      if (in.ftz && src == Ty::F32)
        x = ftz(static_cast<float>(x));
    }
    if (in.intRounding) { // round to an integral value in the same format
      switch (rounding) {
      case Rounding::RN: x = std::nearbyint(x); break;
      case Rounding::RZ: x = std::trunc(x); break;
      case Rounding::RM: x = std::floor(x); break;
      case Rounding::RP: x = std::ceil(x); break;
      }
    }
    switch (dst) {
    case Ty::F64:
      d = bitsOf(x);
      break;
    case Ty::F32: {
      float v = src == Ty::F64 ? f64ToF32(x, rounding) : static_cast<float>(x);
      if (in.sat)
        v = satF32(v);
      if (in.ftz)
        v = ftz(v);
      d = bitsOf(v);
      break;
    }
    case Ty::BF16:
      d = f32ToBF16(src == Ty::F64 ? f64ToF32(x, Rounding::RZ) : static_cast<float>(x),
                    rounding, in.relu, in.satfinite);
      break;
    case Ty::F16:
      d = f32ToF16(src == Ty::F64 ? f64ToF32(x, Rounding::RZ) : static_cast<float>(x),
                   rounding, in.relu, in.satfinite);
      break;
    default:
      break;
    }
    if (src == Ty::F64 && (dst == Ty::BF16 || dst == Ty::F16)) {
      report(&t, "unsupported", "cvt from f64 to a 16-bit float");
      throw Abort();
    }
  } else if (isFloat(src)) { // float to integer: saturating, NaN to 0
    double x = numberOf(a, src);
    if (in.ftz && src == Ty::F32)
      x = ftz(static_cast<float>(x));
    d = static_cast<uint64_t>(floatToInt(x, rounding, isSigned(dst), bitsOfTy(dst)));
  } else { // integer to float
    bool sgn = isSigned(src);
    int64_t v = sgn ? sext(a, bitsOfTy(src)) : static_cast<int64_t>(zext(a, bitsOfTy(src)));
    switch (dst) {
    case Ty::F32: {
      float fv = intToF32(v, sgn, rounding);
      if (in.sat)
        fv = satF32(fv);
      d = bitsOf(fv);
      break;
    }
    case Ty::F64:
      d = bitsOf(withRounding<double>(in.rounding, [&] {
        return sgn ? static_cast<double>(v)
                   : static_cast<double>(static_cast<uint64_t>(v));
      }));
      break;
    case Ty::BF16:
      d = f32ToBF16(intToF32(v, sgn, Rounding::RZ), rounding);
      break;
    default:
      d = f32ToF16(intToF32(v, sgn, Rounding::RZ), rounding);
      break;
    }
  }
  write(t, operand(in, 0), d);
}

void Launch::execSetp(Thread &t, const Inst &in) {
  // 9.7.6.1 setp / 9.7.6.x set.
  Ty ty = in.op == Op::Set ? in.type2 : in.type;
  uint64_t ra = read(t, operand(in, 1)), rb = read(t, operand(in, 2));
  bool c;
  if (isFloat(ty)) {
    double a = numberOf(ra, ty), b = numberOf(rb, ty);
    if (ty == Ty::F32 && in.ftz) {
      a = ftz(static_cast<float>(a));
      b = ftz(static_cast<float>(b));
    }
    bool unordered = std::isnan(a) || std::isnan(b);
    switch (in.cmp) {
    case Cmp::Eq: c = !unordered && a == b; break;
    case Cmp::Ne: c = !unordered && a != b; break;
    case Cmp::Lt: c = !unordered && a < b; break;
    case Cmp::Le: c = !unordered && a <= b; break;
    case Cmp::Gt: c = !unordered && a > b; break;
    case Cmp::Ge: c = !unordered && a >= b; break;
    case Cmp::Equ: c = unordered || a == b; break;
    case Cmp::Neu: c = unordered || a != b; break;
    case Cmp::Ltu: c = unordered || a < b; break;
    case Cmp::Leu: c = unordered || a <= b; break;
    case Cmp::Gtu: c = unordered || a > b; break;
    case Cmp::Geu: c = unordered || a >= b; break;
    case Cmp::Num: c = !unordered; break;
    case Cmp::Nan: c = unordered; break;
    default:
      report(&t, "unsupported", "integer comparison on a float type");
      throw Abort();
    }
  } else {
    unsigned bits = in.type == Ty::Pred ? 1 : bitsOfTy(ty);
    int64_t sa = sext(ra, bits), sb = sext(rb, bits);
    uint64_t ua = zext(ra, bits), ub = zext(rb, bits);
    bool sgn = isSigned(ty);
    switch (in.cmp) {
    case Cmp::Eq: c = ua == ub; break;
    case Cmp::Ne: c = ua != ub; break;
    case Cmp::Lt: c = sgn ? sa < sb : ua < ub; break;
    case Cmp::Le: c = sgn ? sa <= sb : ua <= ub; break;
    case Cmp::Gt: c = sgn ? sa > sb : ua > ub; break;
    case Cmp::Ge: c = sgn ? sa >= sb : ua >= ub; break;
    case Cmp::Lo: c = ua < ub; break;
    case Cmp::Ls: c = ua <= ub; break;
    case Cmp::Hi: c = ua > ub; break;
    case Cmp::Hs: c = ua >= ub; break;
    default:
      report(&t, "unsupported", "float comparison on an integer type");
      throw Abort();
    }
  }
  bool p = c, q = !c;
  if (in.mode != static_cast<uint8_t>(BoolOp::None) && in.numOperands > 3) {
    bool other = readPred(t, operand(in, 3));
    switch (static_cast<BoolOp>(in.mode)) {
    case BoolOp::And: p = p && other; q = q && other; break;
    case BoolOp::Or: p = p || other; q = q || other; break;
    case BoolOp::Xor: p = p != other; q = q != other; break;
    default: break;
    }
  }
  const Operand &d = operand(in, 0);
  if (in.op == Op::Set) {
    write(t, d, in.type == Ty::F32 ? (p ? bitsOf(1.0f) : 0) : (p ? ~0ull : 0));
    return;
  }
  if (d.kind == Operand::Vector) {
    write(t, element(d, 0), p);
    write(t, element(d, 1), q);
  } else {
    write(t, d, p);
  }
}

void Launch::execMov(Thread &t, const Inst &in) {
  // 9.7.9.1 mov, including packing and unpacking of vectors.
  const Operand &d = operand(in, 0), &a = operand(in, 1);
  if (d.kind == Operand::Vector) {
    uint64_t v = read(t, a);
    unsigned width = bitsOfTy(in.type) / d.count;
    for (unsigned i = 0; i < d.count; ++i)
      write(t, element(d, i), zext(v >> (width * i), width));
    return;
  }
  if (a.kind == Operand::Vector) {
    unsigned width = bitsOfTy(in.type) / a.count;
    uint64_t v = 0;
    for (unsigned i = 0; i < a.count; ++i)
      v |= zext(read(t, element(a, i)), width) << (width * i);
    write(t, d, v);
    return;
  }
  write(t, d, read(t, a));
}

void Launch::execLdSt(Thread &t, const Inst &in) {
  // 9.7.9.8 ld, 9.7.9.10 st: vectors of .v2/.v4 elements.
  bool isLoad = in.op != Op::St;
  const Operand &addrOp = operand(in, isLoad ? 1 : 0);
  const Operand &val = operand(in, isLoad ? 0 : 1);
  unsigned n = sizeOf(in.type);
  uint64_t addr = address(t, addrOp);
  // The parameter symbol's offset is its param-space address.
  Space space = in.space;
  if (addr % (n * in.vec) != 0 && space != Space::Param) {
    std::ostringstream os;
    os << "misaligned " << (isLoad ? "load" : "store") << " of " << n * in.vec
       << " bytes at 0x" << std::hex << addr;
    report(&t, "misaligned", os.str());
    throw Abort();
  }
  for (unsigned i = 0; i < in.vec; ++i) {
    const Operand &v = val.kind == Operand::Vector ? element(val, i) : val;
    uint64_t a = addr + i * n;
    if (isLoad) {
      uint64_t bits = 0;
      load(t, space, a, &bits, n);
      if (isSigned(in.type))
        bits = static_cast<uint64_t>(sext(bits, 8 * n));
      write(t, v, bits);
    } else {
      uint64_t bits = read(t, v);
      store(t, space, a, &bits, n);
    }
  }
}

void Launch::execAtom(Thread &t, const Inst &in) {
  // 9.7.12.5 atom, 9.7.12.6 red: read-modify-write, never a race.
  bool isAtom = in.op == Op::Atom;
  unsigned k = isAtom ? 1 : 0;
  uint64_t addr = address(t, operand(in, k));
  uint64_t b = read(t, operand(in, k + 1));
  uint64_t c = in.numOperands > k + 2 ? read(t, operand(in, k + 2)) : 0;
  unsigned n = sizeOf(in.type);
  if (addr % n) {
    report(&t, "misaligned", "misaligned atomic");
    throw Abort();
  }
  Space space = in.space;
  uint64_t spaceAddress = addr;
  if (space == Space::Generic)
    space = resolve(addr, spaceAddress);
  uint8_t *p = nullptr;
  if (space == Space::Global) {
    if (!globalOk(t, spaceAddress, n, true))
      throw Abort();
    p = reinterpret_cast<uint8_t *>(spaceAddress);
  } else if (space == Space::Shared) {
    if (spaceAddress + n > sharedSize) {
      report(&t, "shared-out-of-bounds", "atomic beyond the block's shared memory");
      throw Abort();
    }
    p = shared.data() + spaceAddress;
    for (unsigned i = 0; i < n; ++i) { // counts as written, orders nothing
      ShadowByte &s = shadow[spaceAddress + i];
      if (s.wBlock < blockStartEpoch) {
        s.wBlock = blockStartEpoch;
        s.writer = static_cast<uint16_t>(t.index);
      }
    }
  } else {
    report(&t, "unsupported", "atomic on this state space");
    throw Abort();
  }
  uint64_t old = 0;
  std::memcpy(&old, p, n);
  unsigned bits = 8 * n;
  bool sgn = isSigned(in.type);
  uint64_t nv = old;
  switch (static_cast<AtomOp>(in.mode)) {
  case AtomOp::Add:
    if (in.type == Ty::F32)
      nv = bitsOf(asF32(old) + asF32(b));
    else if (in.type == Ty::F64)
      nv = bitsOf(asF64(old) + asF64(b));
    else
      nv = old + b;
    break;
  case AtomOp::Min: case AtomOp::Max: {
    bool isMax = static_cast<AtomOp>(in.mode) == AtomOp::Max;
    bool takeB = sgn ? (isMax ? sext(b, bits) > sext(old, bits)
                              : sext(b, bits) < sext(old, bits))
                     : (isMax ? zext(b, bits) > zext(old, bits)
                              : zext(b, bits) < zext(old, bits));
    nv = takeB ? b : old;
    break;
  }
  case AtomOp::Inc: nv = zext(old, bits) >= zext(b, bits) ? 0 : old + 1; break;
  case AtomOp::Dec:
    nv = (zext(old, bits) == 0 || zext(old, bits) > zext(b, bits)) ? b : old - 1;
    break;
  case AtomOp::And: nv = old & b; break;
  case AtomOp::Or: nv = old | b; break;
  case AtomOp::Xor: nv = old ^ b; break;
  case AtomOp::Exch: nv = b; break;
  case AtomOp::Cas: nv = zext(old, bits) == zext(b, bits) ? c : old; break;
  }
  std::memcpy(p, &nv, n);
  if (isAtom)
    write(t, operand(in, 0), old);
}

void Launch::completeCopies(Thread &t, std::vector<PendingCopy> &copies) {
  for (const PendingCopy &c : copies) {
    uint8_t buf[16] = {0};
    if (c.srcSize)
      std::memcpy(buf, reinterpret_cast<const void *>(c.src), c.srcSize);
    for (uint32_t i = 0; i < c.size; ++i)
      shadow[c.dst + i].asyncPending = 0;
    uint32_t pc = t.pc;
    t.pc = c.pc;
    sharedWrite(t, c.dst, buf, c.size);
    t.pc = pc;
  }
  copies.clear();
}

void Launch::execCpAsync(Thread &t, const Inst &in) {
  // 9.7.9.25 cp.async and its groups.
  switch (in.op) {
  case Op::CpAsync: {
    uint64_t dst = address(t, operand(in, 0)), src = address(t, operand(in, 1));
    uint32_t size = static_cast<uint32_t>(read(t, operand(in, 2)));
    uint32_t srcSize = in.numOperands > 3
                           ? static_cast<uint32_t>(read(t, operand(in, 3)))
                           : size;
    if (in.numOperands > 3 && operand(in, 3).kind == Operand::Reg &&
        f.regBytes[operand(in, 3).reg] == 1) {
      // The ignore-src predicate form: a true predicate reads nothing.
      srcSize = (read(t, operand(in, 3)) & 1) ? 0 : size;
    }
    if (size != 4 && size != 8 && size != 16) {
      report(&t, "unsupported", "cp.async size other than 4, 8 or 16");
      throw Abort();
    }
    srcSize = std::min(srcSize, size);
    if (dst % size || src % size) {
      report(&t, "misaligned", "cp.async addresses must be aligned to its size");
      throw Abort();
    }
    if (dst + size > sharedSize) {
      report(&t, "shared-out-of-bounds", "cp.async destination beyond the block's shared memory");
      throw Abort();
    }
    if (srcSize && !globalOk(t, src, srcSize, false))
      throw Abort();
    for (uint32_t i = 0; i < size; ++i) {
      ShadowByte &s = shadow[dst + i];
      if (options.checks.async && s.asyncPending) {
        report(&t, "cp.async-pending",
               "cp.async to a destination another uncompleted cp.async writes");
        break;
      }
      s.asyncPending = static_cast<uint16_t>(t.index + 1);
    }
    t.uncommitted.push_back({static_cast<uint32_t>(dst), src, size, srcSize, t.pc});
    return;
  }
  case Op::CpAsyncCommit:
    t.groups.push_back(std::move(t.uncommitted));
    t.uncommitted.clear();
    return;
  case Op::CpAsyncWait: case Op::CpAsyncWaitAll: {
    if (in.op == Op::CpAsyncWaitAll) {
      t.groups.push_back(std::move(t.uncommitted));
      t.uncommitted.clear();
    }
    uint64_t keep = in.op == Op::CpAsyncWait ? read(t, operand(in, 0)) : 0;
    while (t.groups.size() > keep) {
      completeCopies(t, t.groups.front());
      t.groups.erase(t.groups.begin());
    }
    return;
  }
  default:
    return;
  }
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

void Launch::executeCollective(const Inst &in, uint32_t pc,
                               const std::vector<uint32_t> &members) {
  Thread &lead = threads[members.front()];
  auto regOf = [](Thread &t, const Operand &o) -> uint64_t & {
    return t.regs[o.reg];
  };
  auto check = [&](const Operand &o) {
    if (o.kind != Operand::Reg) {
      report(&lead, "unsupported", "collective operand that is not a register", pc);
      throw Abort();
    }
  };
  switch (in.op) {
  case Op::BarWarpSync: // 9.7.12.3: orders the members' memory accesses
    for (uint32_t i : members)
      warpEpoch[i / 32] = ++epochCounter;
    return;
  case Op::Shfl: { // 9.7.12.9 shfl.sync
    // d[|p], a, b, c, membermask. Values are read before any is written.
    uint64_t values[32] = {0};
    bool member[32] = {false};
    for (uint32_t i : members) {
      values[i % 32] = read(threads[i], operand(in, 1));
      member[i % 32] = true;
    }
    for (uint32_t i : members) {
      Thread &t = threads[i];
      uint32_t lane = i % 32;
      // bval[4:0] = b[4:0] (the ISA's pseudocode): offsets count mod 32.
      uint32_t b = static_cast<uint32_t>(read(t, operand(in, 2))) & 0x1f;
      uint32_t c = static_cast<uint32_t>(read(t, operand(in, 3)));
      uint32_t cval = c & 0x1f, segmask = (c >> 8) & 0x1f;
      uint32_t maxLane = (lane & segmask) | (cval & ~segmask);
      uint32_t minLane = lane & segmask;
      int32_t j = 0;
      bool pval = false;
      switch (static_cast<ShflMode>(in.mode)) {
      case ShflMode::Up:
        j = static_cast<int32_t>(lane) - static_cast<int32_t>(b);
        pval = j >= static_cast<int32_t>(maxLane);
        break;
      case ShflMode::Down:
        j = static_cast<int32_t>(lane + b);
        pval = j <= static_cast<int32_t>(maxLane);
        break;
      case ShflMode::Bfly:
        j = static_cast<int32_t>(lane ^ b);
        pval = j <= static_cast<int32_t>(maxLane);
        break;
      case ShflMode::Idx:
        j = static_cast<int32_t>(minLane | (b & 0x1f & ~segmask));
        pval = j <= static_cast<int32_t>(maxLane);
        break;
      }
      if (!pval)
        j = static_cast<int32_t>(lane);
      if (!member[j & 31] && options.checks.collective) {
        std::ostringstream os;
        os << "shfl.sync of lane " << lane << " reads lane " << j
           << ", which is not in the membermask (undefined value)";
        report(&t, "collective", os.str(), pc);
      }
      const Operand &d = operand(in, 0);
      if (d.kind == Operand::Vector) {
        write(t, element(d, 0), values[j & 31]);
        write(t, element(d, 1), pval);
      } else {
        write(t, d, values[j & 31]);
      }
    }
    return;
  }
  case Op::Vote: { // 9.7.12.8 vote.sync
    uint32_t ballot = 0;
    for (uint32_t i : members)
      if (readPred(threads[i], operand(in, 1)))
        ballot |= 1u << (i % 32);
    uint32_t maskBits = 0;
    for (uint32_t i : members)
      maskBits |= 1u << (i % 32);
    for (uint32_t i : members) {
      uint64_t v = 0;
      switch (static_cast<VoteMode>(in.mode)) {
      case VoteMode::All: v = ballot == maskBits; break;
      case VoteMode::Any: v = ballot != 0; break;
      case VoteMode::Uni: v = ballot == 0 || ballot == maskBits; break;
      case VoteMode::Ballot: v = ballot; break;
      }
      write(threads[i], operand(in, 0), v);
    }
    return;
  }
  case Op::Redux: { // 9.7.12.10 redux.sync
    bool sgn = isSigned(in.type);
    uint64_t acc = 0;
    bool first = true;
    for (uint32_t i : members) {
      uint64_t v = zext(read(threads[i], operand(in, 1)), 32);
      if (first) {
        acc = v;
        first = false;
        continue;
      }
      switch (static_cast<AtomOp>(in.mode)) {
      case AtomOp::Add: acc = zext(acc + v, 32); break;
      case AtomOp::Min:
        acc = sgn ? (sext(v, 32) < sext(acc, 32) ? v : acc) : std::min(acc, v);
        break;
      case AtomOp::Max:
        acc = sgn ? (sext(v, 32) > sext(acc, 32) ? v : acc) : std::max(acc, v);
        break;
      case AtomOp::And: acc &= v; break;
      case AtomOp::Or: acc |= v; break;
      case AtomOp::Xor: acc ^= v; break;
      default: break;
      }
    }
    for (uint32_t i : members)
      write(threads[i], operand(in, 0), acc);
    return;
  }
  case Op::MmaSync: { // 9.7.14.5.14 mma.sync.aligned.m16n8k16
    const Operand &d = operand(in, 0), &a = operand(in, 1), &b = operand(in, 2),
                  &c = operand(in, 3);
    uint32_t fa[32][4] = {}, fb[32][2] = {};
    float fc[32][4] = {}, fd[32][4] = {};
    // Operand registers (or immediates, e.g. a zero C) once per warp.
    const Operand *ao = &element(a, 0), *bo = &element(b, 0),
                  *co = &element(c, 0);
    for (uint32_t i : members) {
      Thread &t = threads[i];
      unsigned l = i % 32;
      for (unsigned k = 0; k < 4; ++k)
        fa[l][k] = static_cast<uint32_t>(read(t, ao[k]));
      for (unsigned k = 0; k < 2; ++k)
        fb[l][k] = static_cast<uint32_t>(read(t, bo[k]));
      for (unsigned k = 0; k < 4; ++k)
        fc[l][k] = asF32(read(t, co[k]));
    }
    mmaSyncM16N8K16(in.abType == Ty::BF16 ? MmaElement::BF16 : MmaElement::F16,
                    fa, fb, fc, fd);
    for (uint32_t i : members)
      for (unsigned k = 0; k < 4; ++k)
        write(threads[i], element(d, k), bitsOf(fd[i % 32][k]));
    return;
  }
  case Op::Ldmatrix: { // 9.7.14.5.15 ldmatrix.sync.aligned.m8n8
    unsigned count = in.mode;
    uint8_t rows[4][8][16] = {};
    for (uint32_t i : members) {
      unsigned l = i % 32;
      if (l >= 8 * count)
        continue;
      Thread &t = threads[i];
      uint64_t addr = address(t, operand(in, 1));
      Space space = in.space;
      if (space == Space::Generic)
        space = resolve(addr, addr);
      if (space != Space::Shared) {
        report(&t, "out-of-bounds", "ldmatrix row address outside shared memory", pc);
        throw Abort();
      }
      if (addr % 16) {
        report(&t, "misaligned", "ldmatrix row address not 16-byte aligned", pc);
        throw Abort();
      }
      uint32_t savedPc = t.pc;
      t.pc = pc;
      sharedRead(t, addr, rows[l / 8][l % 8], 16);
      t.pc = savedPc;
    }
    uint32_t out[32][4] = {};
    ldmatrixM8N8(static_cast<int>(count), in.trans, rows, out);
    const Operand &d = operand(in, 0);
    for (uint32_t i : members)
      for (unsigned k = 0; k < count; ++k)
        write(threads[i], d.kind == Operand::Vector ? element(d, k) : d,
              out[i % 32][k]);
    return;
  }
  case Op::WgmmaFence: // 9.7.15.6.1
    for (uint32_t i : members)
      threads[i].fenceStamp = threads[i].stamp;
    return;
  case Op::WgmmaCommit: // 9.7.15.6.2
    for (uint32_t i : members) {
      Thread &t = threads[i];
      t.wgmmaGroups.push_back(std::move(t.inflightRegs));
      t.inflightRegs.clear();
    }
    return;
  case Op::WgmmaWait: { // 9.7.15.6.3
    uint64_t keep = read(lead, operand(in, 0));
    for (uint32_t i : members) {
      Thread &t = threads[i];
      while (t.wgmmaGroups.size() > keep) {
        for (uint32_t r : t.wgmmaGroups.front())
          if (t.inflight[r]) {
            t.inflight[r] = 0;
            --t.inflightCount;
          }
        t.wgmmaGroups.erase(t.wgmmaGroups.begin());
      }
    }
    return;
  }
  case Op::WgmmaMma: { // 9.7.15.5.2 wgmma.mma_async
    if (members.size() != 128) {
      report(&lead, "collective",
             "wgmma.mma_async needs a whole warpgroup of 128 threads", pc);
      throw Abort();
    }
    const Operand &d = operand(in, 0);
    bool aRegs = operand(in, 1).kind == Operand::Vector;
    WgmmaOp op;
    op.n = in.n;
    op.ab = in.abType == Ty::BF16 ? MmaElement::BF16 : MmaElement::F16;
    op.aInRegisters = aRegs;
    uint64_t descA = aRegs ? 0 : read(lead, operand(in, 1));
    uint64_t descB = read(lead, operand(in, 2));
    op.scaleD = readPred(lead, operand(in, 3));
    op.scaleA = static_cast<int>(sext(read(lead, operand(in, 4)), 32));
    op.scaleB = static_cast<int>(sext(read(lead, operand(in, 5)), 32));
    if (in.numOperands > 6 && !aRegs)
      op.transA = read(lead, operand(in, 6)) != 0;
    if (in.numOperands > 6)
      op.transB = read(lead, operand(in, in.numOperands - 1)) != 0;
    if (d.count != static_cast<unsigned>(op.n / 2)) {
      report(&lead, "unsupported", "wgmma accumulator count does not match N", pc);
      throw Abort();
    }
    static thread_local float acc[128][128];
    static thread_local uint32_t af[128][4];
    for (unsigned m = 0; m < 128; ++m) {
      Thread &t = threads[members[m]];
      if (!aRegs && read(t, operand(in, 1)) != descA)
        report(&t, "collective", "wgmma descriptors differ between threads", pc);
      // The fence rule (9.7.15.6.1): registers wgmma reads or writes must
      // not be accessed between wgmma.fence and the wgmma, except by
      // earlier wgmmas of the same accumulators.
      for (unsigned r = 0; r < d.count; ++r) {
        const Operand &reg = element(d, r);
        check(reg);
        if (options.checks.wgmma && t.regStamp[reg.reg] > t.fenceStamp) {
          std::ostringstream os;
          os << "accumulator register " << r
             << " of wgmma.mma_async was written after the last wgmma.fence "
                "(the warpgroup must fence between register writes and the "
                "wgmma that accesses them)";
          report(&t, "wgmma-fence", os.str(), pc);
          break;
        }
        acc[m][r] = asF32(regOf(t, reg));
      }
      if (aRegs)
        for (unsigned r = 0; r < 4; ++r) {
          const Operand &reg = element(operand(in, 1), r);
          check(reg);
          if (options.checks.wgmma && t.regStamp[reg.reg] > t.fenceStamp)
            report(&t, "wgmma-fence",
                   "A register of wgmma.mma_async written after the last "
                   "wgmma.fence", pc);
          af[m][r] = static_cast<uint32_t>(regOf(t, reg));
        }
    }
    std::string error;
    SharedRead readShared = [&](uint32_t address, void *out, unsigned bytes) {
      uint32_t savedPc = lead.pc;
      lead.pc = pc;
      bool before = failed;
      failed = false;
      sharedRead(lead, address, out, bytes);
      bool bad = failed;
      failed = before || bad;
      lead.pc = savedPc;
      return !bad;
    };
    if (!wgmmaM64NK16(op, descA, descB, aRegs ? af : nullptr, acc, readShared,
                      error)) {
      report(&lead, "wgmma", error, pc);
      throw Abort();
    }
    for (unsigned m = 0; m < 128; ++m) {
      Thread &t = threads[members[m]];
      for (unsigned r = 0; r < d.count; ++r) {
        uint32_t reg = element(d, r).reg;
        t.regs[reg] = bitsOf(acc[m][r]);
        t.regStamp[reg] = 0; // a wgmma's own write: ordered for the next
        if (!t.inflight[reg]) {
          t.inflight[reg] = 1;
          ++t.inflightCount;
        }
        t.inflightRegs.push_back(reg);
      }
    }
    return;
  }
  default:
    report(&lead, "unsupported", "collective not emulated", pc);
    throw Abort();
  }
}

} // namespace

LaunchResult launchKernel(const Module &module, const Function &kernel,
                          const LaunchConfig &config,
                          const std::vector<uint8_t> &params,
                          GlobalMemory &memory, const LaunchOptions &options) {
  LaunchResult result;
  Launch launch(module, kernel, config, params, memory, options, result);
  launch.run();
  return result;
}

} // namespace gatec::cudasim
