//===- Machine.cpp - The PTX interpreter: launches and scheduling ---------===//
//
// Part of gatec. Runs a kernel launch: blocks in a seeded random order, the
// warps and threads of a block in a random schedule up to their barriers and
// collectives (released here once every participant arrived, or reported as
// a deadlock), and the per-instruction dispatch. Semantics follow the PTX
// ISA (version 8.x); each instruction's case names its section. Registers
// hold raw bits (masked to their declared width); typed views are taken per
// instruction.
//
//===----------------------------------------------------------------------===//

#include "CudaSim/Launch.h"

#include <chrono>
#include <sstream>

namespace gatec::cudasim {
namespace detail {

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
  case Special::TidX:
    return t.tid[0];
  case Special::TidY:
    return t.tid[1];
  case Special::TidZ:
    return t.tid[2];
  case Special::NtidX:
    return config.block[0];
  case Special::NtidY:
    return config.block[1];
  case Special::NtidZ:
    return config.block[2];
  case Special::CtaidX:
    return ctaid[0];
  case Special::CtaidY:
    return ctaid[1];
  case Special::CtaidZ:
    return ctaid[2];
  case Special::NctaidX:
    return config.grid[0];
  case Special::NctaidY:
    return config.grid[1];
  case Special::NctaidZ:
    return config.grid[2];
  case Special::Laneid:
    return t.index % 32;
  case Special::Warpid:
    return t.index / 32;
  case Special::Nwarpid:
    return numWarps;
  case Special::WarpSize:
    return 32;
  case Special::LanemaskEq:
    return 1u << (t.index % 32);
  case Special::LanemaskLt:
    return (1u << (t.index % 32)) - 1;
  case Special::LanemaskLe:
    return (2ull << (t.index % 32)) - 1;
  case Special::LanemaskGt:
    return ~((2ull << (t.index % 32)) - 1) & 0xffffffffu;
  case Special::LanemaskGe:
    return ~((1ull << (t.index % 32)) - 1) & 0xffffffffu;
  case Special::Clock:
  case Special::Clock64:
  case Special::Globaltimer:
    return instructions;
  case Special::Smid:
    return 0;
  case Special::Nsmid:
    return 1;
  case Special::DynamicSmemSize:
    return config.dynamicShared;
  case Special::TotalSmemSize:
    return sharedSize;
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
  case Space::Global:
  case Space::Const:
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
    syncKind[i] = isCollective(in.op)                                ? 1
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
  regFile.assign(static_cast<size_t>(blockThreads) * std::max(1u, f.numRegs),
                 0);
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
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
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
    bool allExited =
        std::all_of(threads.begin(), threads.end(),
                    [](const Thread &t) { return t.state == State::Exited; });
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
        t.barrier =
            static_cast<uint32_t>(in.numOperands ? read(t, operand(in, 0)) : 0);
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
  case Op::Ret:
  case Op::Exit: // 9.7.10.5, 9.7.10.6 (kernels only)
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
  case Op::Membar:
  case Op::Fence:
  case Op::Prefetch:
  case Op::Nanosleep:
    // 9.7.12.4: the emulator's memory is sequentially consistent.
    break;
  case Op::Mov:
    execMov(t, in);
    break;
  case Op::Ld:
  case Op::Ldu:
  case Op::St:
    execLdSt(t, in);
    break;
  case Op::Cvt:
    execCvt(t, in);
    break;
  case Op::Cvta: { // 9.7.9.19: between a state space's and generic addresses
    uint64_t a = read(t, operand(in, 1));
    uint64_t window = in.space == Space::Shared  ? kSharedWindow
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
  case Op::Setp:
  case Op::Set:
    execSetp(t, in);
    break;
  case Op::Selp: // 9.7.6.2
    write(t, operand(in, 0),
          readPred(t, operand(in, 3)) ? read(t, operand(in, 1))
                                      : read(t, operand(in, 2)));
    break;
  case Op::Atom:
  case Op::Red:
    execAtom(t, in);
    break;
  case Op::CpAsync:
  case Op::CpAsyncCommit:
  case Op::CpAsyncWait:
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

} // namespace detail

LaunchResult launchKernel(const Module &module, const Function &kernel,
                          const LaunchConfig &config,
                          const std::vector<uint8_t> &params,
                          GlobalMemory &memory, const LaunchOptions &options) {
  LaunchResult result;
  detail::Launch launch(module, kernel, config, params, memory, options,
                        result);
  launch.run();
  return result;
}

} // namespace gatec::cudasim
