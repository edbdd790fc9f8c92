//===- Check.h - Run a compiled kernel against the oracle ---------*- C++ -*-===//
//
// Part of gatec. Compiles gate-level kernels for the CPU, runs them in process
// on seeded random inputs, evaluates the same kernels with the reference
// interpreter, and compares every output within a tolerance stated per dtype.
// A router's choices may differ from the oracle's at near ties, within a bound
// the check derives from the logits' type (lib/Check/RouterTies.cpp); then
// everything downstream is compared on the kernel's choices.
// The e2e tests, the differential tests and `gatec-check` all go through it.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CHECK_CHECK_H
#define GATEC_CHECK_CHECK_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringMap.h"

#include <map>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace gatec {

struct CheckOptions {
  /// Kernels to check; empty: every public function.
  std::vector<std::string> kernels;
  /// Sizes of the symbolic dims named in `gate.shape` (T, B, ...).
  llvm::StringMap<int64_t> dims;
  /// Exact values for some inputs (integer inputs such as cu_seqlens need
  /// them); all others are drawn from N(0, scale^2).
  std::map<std::string, std::vector<double>> inputValues;
  /// Per-input standard deviation of the random draw (default 1).
  llvm::StringMap<double> inputScales;
  uint64_t seed = 1;
  /// Integer elements allowed to differ per output. Routers do not need it:
  /// where a kernel's choice differs from the oracle's, the check accepts it
  /// if the oracle's scores of the two experts are within what the rounding
  /// of the logits and the f32 evaluation of the scores allow, and compares
  /// everything downstream with the oracle evaluated on the kernel's
  /// choices (KernelReport::notes names each such tie).
  int64_t intMismatches = 0;
  /// Compile the CPU kernels with the CUDA backend's tensor-core rounding
  /// (gatec-round-multiplicands): measures, without a GPU, the error that
  /// rounding adds to the scans' chunk products.
  bool roundMultiplicands = false;
  /// A row of the CPU target table (x86-64-v3, x86-64-v4, native).
  std::string cpu = "native";
  /// Times each kernel is run on the same inputs. Every run after the first
  /// must reproduce the first one's outputs bit for bit (NaN payloads
  /// included), or the kernel fails: kernels are deterministic.
  unsigned runs = 1;
  /// Keep each output's raw bytes in OutputReport::bytes, so that runs with
  /// different thread counts can be compared bit for bit.
  bool keepOutputBytes = false;
  /// One CUDA compilation of the kernels: a chip (sm_80, sm_90a...) and
  /// whether matmuls run on wgmma (CompileOptions::cudaWgmma, sm_90a only).
  struct CUDAConfig {
    std::string chip;
    bool wgmma = false;
    /// One tile for every matmul (CompileOptions::cudaMatmulTile), else
    /// cudaMatmulTile.
    std::string matmulTile;
    /// "sm_80", "sm_90a+wgmma@128x64x32x2": how --cuda spells it and
    /// reports name it.
    std::string name() const {
      return chip + (wgmma ? "+wgmma" : "") +
             (matmulTile.empty() ? "" : "@" + matmulTile);
    }
  };
  /// CUDA configurations to check instead of the CPU: for each, write each
  /// kernel's case program (as cudaCaseDir does, to a temporary directory),
  /// build it with the system C++ compiler against $CUDA_PATH or
  /// /usr/local/cuda, run it on GPU 0 and compare the outputs it writes back.
  /// The oracle runs once for all of them; with more than one, each report's
  /// kernel is named "kernel [config]". Random inputs then come from the case
  /// programs' generator. Needs a GPU and its driver, or cudaDriverDir.
  std::vector<CUDAConfig> cuda;
  /// The directory of the libcuda the case programs load (linked with -L and
  /// an rpath): cuda-sim's build/lib/cuda-sim runs them without a GPU
  /// (docs/cuda-sim.md). Empty: the system's driver.
  std::string cudaDriverDir;
  /// With cuda: one tile for every matmul (CompileOptions::cudaMatmulTile).
  std::string cudaMatmulTile;
  /// When > 0, each kernel is also timed over this many back-to-back calls
  /// (after 3 warm-up calls); KernelReport::milliseconds holds the mean.
  /// Only with cuda.
  unsigned timeIterations = 0;
  /// With one cuda config: instead of running, write one directory per kernel here
  /// (kernels.h, case.cpp, inputs, the oracle's outputs) that a machine with
  /// a GPU but no gatec builds and runs (scripts/gpu-check.sh).
  std::string cudaCaseDir;
  /// Skip the reference interpreter (for timing shapes too large for it):
  /// outputs are only checked for being written and finite.
  bool skipReference = false;
  /// Apply MLIR's pass-manager command-line options (--mlir-print-ir-after-
  /// failure...) to the pipelines that compile the kernels. Only for a tool
  /// that registered them (mlir::registerPassManagerCLOptions).
  bool useCommandLinePassOptions = false;
  /// Testing the checker itself: kernel output elements to overwrite before
  /// the comparison, as if the kernel had written them (gatec-check's hidden
  /// --test-set-output), so that tests can show what a wrong value does.
  struct OutputOverride {
    std::string output;
    int64_t element = 0;
    double value = 0;
  };
  std::vector<OutputOverride> testOverrides;
};

/// How one output compared.
struct OutputReport {
  std::string name;
  std::string dtype;
  /// max |kernel - oracle| / max(1, max |oracle|); for integer outputs, the
  /// number of differing elements.
  double error = 0;
  double tolerance = 0;
  int64_t elements = 0;
  bool passed = false;
  /// First differing element, for the message.
  std::string firstMismatch;
  /// The kernel's output as it wrote it (CheckOptions::keepOutputBytes).
  std::string bytes;
};

struct KernelReport {
  std::string kernel;
  std::vector<OutputReport> outputs;
  /// Set when the kernel could not be compiled, bound or run.
  std::string error;
  /// The case directory written (CheckOptions::cudaCaseDir).
  std::string written;
  /// Mean time per call (CheckOptions::timeIterations), else negative.
  double milliseconds = -1;
  /// What the comparison accepted or could not explain, one line each: the
  /// router choices taken at near ties, where the outputs were compared
  /// with the oracle evaluated on the kernel's choices.
  std::vector<std::string> notes;
  bool passed() const;
};

/// The tolerance used for outputs of `elementType`, normalized as in
/// OutputReport::error: f32 1e-4, f16 2e-3, bf16 1.6e-2 (about two units in
/// the last place of the output type above the f32 accumulation error);
/// integers must match exactly.
double toleranceFor(mlir::Type elementType);

/// The tolerance of result `resultIndex` of the gate-level kernel `func`:
/// that of its own element type, or of the narrowest float type that a
/// value it is computed from is rounded to inside the kernel, whichever is
/// looser. An f32 state computed from bf16 projections inherits their
/// rounding: the kernel and the oracle may round a projection's element to
/// neighbouring bf16 values (their sums differ in order), and the f32 result
/// carries that difference. Parameters are exact on both sides and do not
/// count. Router weights keep their own type's tolerance: their comparison
/// bounds them by their logits' rounding instead (RouterTies.h).
double outputTolerance(mlir::func::FuncOp func, unsigned resultIndex);

/// Checks the kernels of `module` (gate level, as `gatec --emit=mlir` prints
/// it). `module` is not modified.
std::vector<KernelReport> checkKernels(mlir::ModuleOp module,
                                       const CheckOptions &options);

/// Prints one line per output and a verdict per kernel.
void printReports(llvm::ArrayRef<KernelReport> reports, llvm::raw_ostream &os);

} // namespace gatec

#endif // GATEC_CHECK_CHECK_H
