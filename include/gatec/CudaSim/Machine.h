//===- Machine.h - Executes decoded PTX kernels -----------------*- C++ -*-===//
//
// The emulated GPU: global memory (host memory, every allocation tracked)
// and kernel launches. A launch runs its blocks one after another; a block's
// threads each run until they reach a synchronization point (a barrier, a
// warp or warpgroup collective, exit), in a seeded random order, and the
// collectives execute once every participant has arrived. The sanitizer
// checks (docs/cuda-sim.md) run on every access.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CUDASIM_MACHINE_H
#define GATEC_CUDASIM_MACHINE_H

#include "gatec/CudaSim/PTX.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace gatec::cudasim {

/// Device memory: each allocation is host memory, and every global access is
/// checked against the live allocations.
class GlobalMemory {
public:
  ~GlobalMemory();
  /// A new allocation of `bytes` (at least 1), 256-byte aligned and filled
  /// with a poison pattern, as cuMemAlloc gives uninitialized memory.
  uint64_t allocate(uint64_t bytes);
  /// Registers host memory owned elsewhere (a module's .global variables).
  void adopt(uint64_t address, uint64_t bytes);
  /// False when `address` is not the start of a live allocation.
  bool release(uint64_t address);
  /// True when [address, address + bytes) lies inside one live allocation.
  bool contains(uint64_t address, uint64_t bytes) const;
  /// The live allocation holding `address` as [lo, hi), or false.
  bool range(uint64_t address, uint64_t &lo, uint64_t &hi) const;
  /// The allocation holding `address`, for reports: "" when none.
  std::string describe(uint64_t address) const;

private:
  struct Allocation {
    uint64_t size;
    bool owned;
  };
  std::map<uint64_t, Allocation> allocations;
  mutable std::mutex mutex;
};

/// Which checks run (all by default; GATEC_CUDA_SIM_CHECKS selects). Bounds,
/// alignment and deadlocks are always checked: the emulator itself depends on
/// them.
struct CheckSet {
  bool race = true;        ///< shared-memory races between barriers
  bool uninit = true;      ///< shared reads of bytes never written
  bool async = true;       ///< cp.async destinations read before their wait
  bool collective = true;  ///< collectives reached by part of a warp/block
  bool wgmma = true;       ///< wgmma fence and wait rules
};

struct LaunchOptions {
  uint64_t seed = 1;       ///< the schedule's seed
  CheckSet checks;
  unsigned maxReports = 8; ///< reports kept per launch
  /// The emulated device's compute capability, e.g. 90.
  unsigned smVersion = 90;
};

struct LaunchConfig {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned dynamicShared = 0;
};

/// What a launch did: its reports (empty when clean) and its counts.
struct LaunchResult {
  std::vector<std::string> reports;
  uint64_t instructions = 0;
  double seconds = 0;
  bool illegalAddress = false; ///< a report of an invalid global access
};

/// Runs `kernel` of `module` on `memory`. `params` is the kernel's parameter
/// buffer laid out as the kernel's .param list.
LaunchResult launchKernel(const Module &module, const Function &kernel,
                          const LaunchConfig &config,
                          const std::vector<uint8_t> &params,
                          GlobalMemory &memory, const LaunchOptions &options);

} // namespace gatec::cudasim

#endif // GATEC_CUDASIM_MACHINE_H
