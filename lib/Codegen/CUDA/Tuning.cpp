//===- Tuning.cpp - Measured kernel configurations per shape --------------===//
//
// Part of gatec.
//
//===----------------------------------------------------------------------===//

#include "gatec/Codegen/CUDA/Tuning.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/ErrorHandling.h"

#include <cmath>
#include <limits>

using namespace gatec;

namespace {

/// tuning/cuda-matmul.tsv's text, embedded by CMake.
constexpr const char *kBuiltinTable =
#include "TuningTable.inc"
    ;

constexpr llvm::StringLiteral kKinds[] = {"mma", "mma-paired", "wgmma",
                                          "wgmma-paired"};

bool parsePositive(llvm::StringRef field, int64_t &value) {
  return !field.getAsInteger(10, value) && value > 0;
}

} // namespace

std::optional<std::vector<TuningEntry>>
gatec::parseTuningTable(llvm::StringRef text, std::string &error) {
  std::vector<TuningEntry> entries;
  bool sawHeader = false;
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  for (size_t index = 0; index < lines.size(); ++index) {
    llvm::StringRef line = lines[index].rtrim("\r");
    auto fail = [&](const llvm::Twine &what) {
      error = ("line " + llvm::Twine(index + 1) + ": " + what).str();
      return std::nullopt;
    };
    if (line.trim().empty() || line.starts_with("#"))
      continue;
    llvm::SmallVector<llvm::StringRef> fields;
    line.split(fields, '\t');
    if (!sawHeader) {
      sawHeader = true;
      if (fields.size() != 9 || fields[0] != "chip")
        return fail("expected the header row 'chip kind n k tile_m tile_n "
                    "tile_k stages us', tab-separated");
      continue;
    }
    if (fields.size() != 9)
      return fail("expected 9 tab-separated fields, got " +
                  llvm::Twine(fields.size()));
    TuningEntry entry;
    entry.chip = fields[0].str();
    if (!llvm::StringRef(entry.chip).starts_with("sm_"))
      return fail("expected a chip such as sm_90a, got '" + fields[0] + "'");
    entry.kind = fields[1].str();
    if (!llvm::is_contained(kKinds, fields[1]))
      return fail("expected a kind (mma, mma-paired, wgmma, wgmma-paired), "
                  "got '" +
                  fields[1] + "'");
    int64_t *numbers[] = {&entry.n,      &entry.k,      &entry.tile.m,
                          &entry.tile.n, &entry.tile.k, &entry.tile.stages};
    for (auto [i, number] : llvm::enumerate(numbers))
      if (!parsePositive(fields[2 + i], *number))
        return fail("expected a positive integer, got '" + fields[2 + i] + "'");
    if (fields[8].getAsDouble(entry.microseconds) || entry.microseconds < 0)
      return fail("expected a time in microseconds, got '" + fields[8] + "'");
    entries.push_back(std::move(entry));
  }
  if (!sawHeader) {
    error = "no header row";
    return std::nullopt;
  }
  return entries;
}

llvm::ArrayRef<TuningEntry> gatec::builtinTuningTable() {
  static const std::vector<TuningEntry> table = [] {
    std::string error;
    std::optional<std::vector<TuningEntry>> parsed =
        parseTuningTable(kBuiltinTable, error);
    // CMake embeds the file as it is in the repository; the unit tests
    // parse it too, so this is a build defect, not a user error.
    if (!parsed)
      llvm::report_fatal_error(llvm::Twine("tuning/cuda-matmul.tsv: ") + error);
    return *parsed;
  }();
  return table;
}

std::optional<MatmulTile>
gatec::lookupMatmulTile(llvm::ArrayRef<TuningEntry> table, llvm::StringRef chip,
                        llvm::StringRef kind, int64_t n, int64_t k) {
  const TuningEntry *best = nullptr;
  double bestDistance = std::numeric_limits<double>::infinity();
  for (const TuningEntry &entry : table) {
    if (entry.chip != chip || entry.kind != kind)
      continue;
    double dn = std::log2(double(n) / double(entry.n));
    double dk = std::log2(double(k) / double(entry.k));
    double distance = dn * dn + dk * dk;
    if (distance < bestDistance) {
      bestDistance = distance;
      best = &entry;
    }
  }
  if (!best)
    return std::nullopt;
  return best->tile;
}

std::optional<MatmulTile> gatec::parseMatmulTile(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> fields;
  text.split(fields, 'x');
  MatmulTile tile;
  int64_t *numbers[] = {&tile.m, &tile.n, &tile.k, &tile.stages};
  if (fields.size() != 4)
    return std::nullopt;
  for (auto [field, number] : llvm::zip(fields, numbers))
    if (!parsePositive(field, *number))
      return std::nullopt;
  return tile;
}
