//===- Collectives.cpp - Warp and warpgroup collective instructions -------===//
//
// Part of gatec. The instructions that the threads of a warp or warpgroup
// execute together once all participants arrived (Machine.cpp's scheduler
// decides when): bar.warp.sync, shfl, vote, redux, ldmatrix, mma.sync and
// the wgmma family, with the register checks of asynchronous wgmma.
//
//===----------------------------------------------------------------------===//

#include "CudaSim/Launch.h"
#include "gatec/CudaSim/TensorCore.h"

#include <sstream>

namespace gatec::cudasim::detail {

void Launch::executeCollective(const Inst &in, uint32_t pc,
                               const std::vector<uint32_t> &members) {
  Thread &lead = threads[members.front()];
  auto regOf = [](Thread &t, const Operand &o) -> uint64_t & {
    return t.regs[o.reg];
  };
  auto check = [&](const Operand &o) {
    if (o.kind != Operand::Reg) {
      report(&lead, "unsupported", "collective operand that is not a register",
             pc);
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
      case VoteMode::All:
        v = ballot == maskBits;
        break;
      case VoteMode::Any:
        v = ballot != 0;
        break;
      case VoteMode::Uni:
        v = ballot == 0 || ballot == maskBits;
        break;
      case VoteMode::Ballot:
        v = ballot;
        break;
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
      case AtomOp::Add:
        acc = zext(acc + v, 32);
        break;
      case AtomOp::Min:
        acc = sgn ? (sext(v, 32) < sext(acc, 32) ? v : acc) : std::min(acc, v);
        break;
      case AtomOp::Max:
        acc = sgn ? (sext(v, 32) > sext(acc, 32) ? v : acc) : std::max(acc, v);
        break;
      case AtomOp::And:
        acc &= v;
        break;
      case AtomOp::Or:
        acc |= v;
        break;
      case AtomOp::Xor:
        acc ^= v;
        break;
      default:
        break;
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
        report(&t, "out-of-bounds",
               "ldmatrix row address outside shared memory", pc);
        throw Abort();
      }
      if (addr % 16) {
        report(&t, "misaligned", "ldmatrix row address not 16-byte aligned",
               pc);
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
      report(&lead, "unsupported", "wgmma accumulator count does not match N",
             pc);
      throw Abort();
    }
    static thread_local float acc[128][128];
    static thread_local uint32_t af[128][4];
    for (unsigned m = 0; m < 128; ++m) {
      Thread &t = threads[members[m]];
      if (!aRegs && read(t, operand(in, 1)) != descA)
        report(&t, "collective", "wgmma descriptors differ between threads",
               pc);
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
                   "wgmma.fence",
                   pc);
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

} // namespace gatec::cudasim::detail
