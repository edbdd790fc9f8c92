//===- Driver.h - The emulated device behind the driver API -----*- C++ -*-===//
//
// Part of gatec. What the driver API's files share: the handles behind
// CUmodule, CUfunction, CUstream, CUevent and CUcontext, the one emulated
// device with its options and memory, and the checks at the start of most
// calls.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CUDASIM_DRIVER_H
#define GATEC_LIB_CUDASIM_DRIVER_H

#include "gatec/CudaSim/Machine.h"
#include "gatec/CudaSim/PTX.h"

#include <cuda.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace gatec::cudasim::emulated {

using namespace gatec::cudasim;

struct FunctionHandle;

struct ModuleHandle {
  std::unique_ptr<Module> module;
  std::vector<std::unique_ptr<FunctionHandle>> functions;
};

struct FunctionHandle {
  ModuleHandle *module;
  const Function *function;
  int maxDynamicShared = 0; ///< CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
};

struct EventHandle {
  std::chrono::steady_clock::time_point time;
  bool recorded = false;
};

struct StreamHandle {
  int unused = 0;
};

struct Context {
  int device = 0;
};

/// The one emulated device and its state.
struct Driver {
  Driver() {
    if (const char *seed = std::getenv("GATEC_CUDA_SIM_SEED"))
      options.seed = std::strtoull(seed, nullptr, 10);
    if (const char *arch = std::getenv("GATEC_CUDA_SIM_ARCH")) {
      std::string a = arch;
      if (a.rfind("sm_", 0) == 0)
        a = a.substr(3);
      options.smVersion = static_cast<unsigned>(std::atoi(a.c_str()));
      if (options.smVersion == 0)
        options.smVersion = 90;
    }
    if (const char *checks = std::getenv("GATEC_CUDA_SIM_CHECKS"))
      parseChecks(checks);
    if (const char *stats = std::getenv("GATEC_CUDA_SIM_STATS"))
      printStats = std::string(stats) == "1";
  }
  ~Driver() {
    if (printStats && launches)
      std::fprintf(stderr,
                   "cuda-sim: %llu launches, %llu instructions in %.3f s "
                   "(%.1f M instructions/s)\n",
                   static_cast<unsigned long long>(launches),
                   static_cast<unsigned long long>(instructions), seconds,
                   seconds > 0 ? instructions / seconds / 1e6 : 0.0);
  }

  void parseChecks(const std::string &list) {
    CheckSet none;
    none.race = none.uninit = none.async = none.collective = none.wgmma = false;
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ',')) {
      bool on = true;
      if (!item.empty() && item[0] == '-') {
        on = false;
        item = item.substr(1);
      }
      CheckSet &c = options.checks;
      if (item == "all")
        c = CheckSet();
      else if (item == "none")
        c = none;
      else if (item == "race")
        c.race = on;
      else if (item == "uninit")
        c.uninit = on;
      else if (item == "async")
        c.async = on;
      else if (item == "collective")
        c.collective = on;
      else if (item == "wgmma")
        c.wgmma = on;
      else
        std::fprintf(stderr,
                     "cuda-sim: unknown check '%s' in "
                     "GATEC_CUDA_SIM_CHECKS\n",
                     item.c_str());
    }
  }

  bool initialized = false;
  Context context;
  thread_local static Context *current;
  GlobalMemory memory;
  LaunchOptions options;
  CUresult sticky = CUDA_SUCCESS;
  std::string lastReport;
  bool printStats = false;
  uint64_t launches = 0, instructions = 0;
  double seconds = 0;
  std::mutex mutex;
};

/// The process's device, created at the first call.
Driver &driver();

/// Most calls return the context's sticky error after a kernel fault.
#define CHECK_STICKY()                                                         \
  do {                                                                         \
    if (driver().sticky != CUDA_SUCCESS)                                       \
      return driver().sticky;                                                  \
  } while (0)

#define CHECK_INIT()                                                           \
  do {                                                                         \
    if (!driver().initialized)                                                 \
      return CUDA_ERROR_NOT_INITIALIZED;                                       \
  } while (0)

/// The opt-in limit of a block's shared memory on the emulated device.
unsigned maxSharedOptin();

} // namespace gatec::cudasim::emulated

#endif // GATEC_LIB_CUDASIM_DRIVER_H
