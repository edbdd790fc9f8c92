//===- Tuning.h - Measured kernel configurations per shape ------*- C++ -*-===//
//
// Part of gatec. The CUDA matmul kernels' block tiles, chosen per weight
// shape by an offline tuner on a GPU (scripts/gpu-tune.sh) and stored in
// tuning/cuda-matmul.tsv, which the build compiles in.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CODEGEN_CUDA_TUNING_H
#define GATEC_CODEGEN_CUDA_TUNING_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gatec {

/// A tensor-core matmul kernel's block tile and cp.async ring depth.
struct MatmulTile {
  int64_t m = 128, n = 128, k = 32, stages = 2;
};

/// One row of a tuning table: the tile measured fastest for the weights of
/// `n` columns and `k` rows on `chip`, for kernels of `kind` (mma,
/// mma-paired, wgmma, wgmma-paired).
struct TuningEntry {
  std::string chip, kind;
  int64_t n = 0, k = 0;
  MatmulTile tile;
  double microseconds = 0;
};

/// Parses tab-separated tuning rows (the format of tuning/cuda-matmul.tsv:
/// `#` comments, one header row). On a malformed row returns std::nullopt
/// and sets `error` to "line N: what was expected".
std::optional<std::vector<TuningEntry>> parseTuningTable(llvm::StringRef text,
                                                         std::string &error);

/// tuning/cuda-matmul.tsv as compiled into gatec.
llvm::ArrayRef<TuningEntry> builtinTuningTable();

/// The row of `table` for (`chip`, `kind`) nearest to (`n`, `k`), distance
/// measured in log2 of the ratios (the first of equals); std::nullopt when
/// the table has no row for them.
std::optional<MatmulTile> lookupMatmulTile(llvm::ArrayRef<TuningEntry> table,
                                           llvm::StringRef chip,
                                           llvm::StringRef kind, int64_t n,
                                           int64_t k);

/// Parses "MxNxKxS" (block tile and stages), as --cuda-matmul-tile takes it.
std::optional<MatmulTile> parseMatmulTile(llvm::StringRef text);

} // namespace gatec

#endif // GATEC_CODEGEN_CUDA_TUNING_H
