//===- Memory.cpp - Global memory, state spaces and memory instructions ---===//
//
// Part of gatec. Global memory is host memory behind GlobalMemory's
// allocation map. Accesses resolve generic addresses to their state space
// and are checked there: shared memory has a shadow byte map for the race,
// initialization and cp.async checks. The memory instructions (ld/st, atom,
// red, cp.async and its groups) are built on these accesses.
//
//===----------------------------------------------------------------------===//

#include "CudaSim/Launch.h"

#include <cstdlib>
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
  return address >= it->first &&
         address + bytes <= it->first + it->second.size &&
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
    int64_t past =
        static_cast<int64_t>(address - (prev->first + prev->second.size));
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

namespace detail {

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
         << ", the destination of a cp.async (thread " << (s.asyncPending - 1)
         << ") not yet completed by cp.async.wait_group";
      report(&t, "cp.async-pending", os.str());
      return;
    }
    if (c.uninit && s.wBlock < blockStartEpoch) {
      std::ostringstream os;
      os << "read of " << n << " bytes at shared address " << addr << ": byte "
         << addr + i << " was never written in this block";
      report(&t, "uninitialized", os.str());
      return;
    }
    if (c.race && s.wBlock == blockEpoch && s.writer != t.index &&
        (s.writer / 32 != t.index / 32 || s.wWarp == w)) {
      std::ostringstream os;
      os << "read of shared address " << addr + i << " by thread " << t.index
         << " races with the write by thread " << s.writer
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

void Launch::sharedWrite(Thread &t, uint64_t addr, const void *in, unsigned n) {
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
        os << "write of shared address " << addr + i << " by thread " << t.index
           << " races with the " << (writeRace ? "write" : "read")
           << " by thread " << (writeRace ? s.writer : s.reader)
           << " (no barrier between them)";
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
  case Space::Global:
  case Space::Const:
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
      report(&t, "out-of-bounds",
             "local read beyond the thread's local memory");
      std::memset(out, 0, n);
      return;
    }
    std::memcpy(out, t.local.data() + addr, n);
    return;
  case Space::Param:
    if (addr + n > params.size()) {
      report(&t, "out-of-bounds",
             "parameter read beyond the kernel's parameters");
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
      report(&t, "out-of-bounds",
             "local write beyond the thread's local memory");
      return;
    }
    std::memcpy(t.local.data() + addr, in, n);
    return;
  default:
    report(&t, "out-of-bounds", "store to a read-only state space");
    return;
  }
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
      report(&t, "shared-out-of-bounds",
             "atomic beyond the block's shared memory");
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
  case AtomOp::Min:
  case AtomOp::Max: {
    bool isMax = static_cast<AtomOp>(in.mode) == AtomOp::Max;
    bool takeB = sgn ? (isMax ? sext(b, bits) > sext(old, bits)
                              : sext(b, bits) < sext(old, bits))
                     : (isMax ? zext(b, bits) > zext(old, bits)
                              : zext(b, bits) < zext(old, bits));
    nv = takeB ? b : old;
    break;
  }
  case AtomOp::Inc:
    nv = zext(old, bits) >= zext(b, bits) ? 0 : old + 1;
    break;
  case AtomOp::Dec:
    nv =
        (zext(old, bits) == 0 || zext(old, bits) > zext(b, bits)) ? b : old - 1;
    break;
  case AtomOp::And:
    nv = old & b;
    break;
  case AtomOp::Or:
    nv = old | b;
    break;
  case AtomOp::Xor:
    nv = old ^ b;
    break;
  case AtomOp::Exch:
    nv = b;
    break;
  case AtomOp::Cas:
    nv = zext(old, bits) == zext(b, bits) ? c : old;
    break;
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
      report(&t, "misaligned",
             "cp.async addresses must be aligned to its size");
      throw Abort();
    }
    if (dst + size > sharedSize) {
      report(&t, "shared-out-of-bounds",
             "cp.async destination beyond the block's shared memory");
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
    t.uncommitted.push_back(
        {static_cast<uint32_t>(dst), src, size, srcSize, t.pc});
    return;
  }
  case Op::CpAsyncCommit:
    t.groups.push_back(std::move(t.uncommitted));
    t.uncommitted.clear();
    return;
  case Op::CpAsyncWait:
  case Op::CpAsyncWaitAll: {
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

} // namespace detail
} // namespace gatec::cudasim
