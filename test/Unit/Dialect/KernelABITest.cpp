//===- KernelABITest.cpp - #gate.dim expressions and the ops' formulas ----===//
//
// Part of gatec. A derived length has one statement, the op's formula: the
// #gate.dim it builds for the headers evaluates to the integer the verifier
// and the lowering use. Expressions print as C and parse back to the same
// tree, and evaluate with C's int64 rules.
//
//===----------------------------------------------------------------------===//

#include "gatec/Dialect/Gate/KernelABI.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <random>

using namespace mlir;
using namespace mlir::gate;

namespace {

class KernelABITest : public ::testing::Test {
protected:
  KernelABITest() { ctx.loadDialect<GateDialect>(); }

  DimAttr c(int64_t v) { return DimAttr::getConstant(&ctx, v); }
  DimAttr s(StringRef name) { return DimAttr::getSymbol(&ctx, name); }
  DimAttr parse(StringRef text) {
    return dyn_cast_or_null<DimAttr>(
        parseAttribute(("#gate.dim<" + text + ">").str(), &ctx));
  }

  MLIRContext ctx;
};

std::optional<int64_t> none(StringRef) { return std::nullopt; }

TEST_F(KernelABITest, DispatchFormulaMatchesItsIntegerForm) {
  auto constant = [&](int64_t v) { return c(v); };
  DimAttr length =
      DispatchOp::getSortedLength(s("T") * s("k"), 8, 64, constant);
  DimAttr blocks =
      DispatchOp::getSortedBlocks(s("T") * s("k"), 8, 64, constant);
  // The text the headers quote: every term of the formula, unfolded.
  EXPECT_EQ(length.str(), "(T*k + 8*63 + 63)/64*64");
  EXPECT_EQ(blocks.str(), "(T*k + 8*63 + 63)/64");
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    int64_t tokens = rng() % 5000, slots = 1 + rng() % 8;
    int64_t experts = 1 + rng() % 300, block = 1 + rng() % 256;
    auto lookup = [&](StringRef name) -> std::optional<int64_t> {
      return name == "T" ? tokens : slots;
    };
    DimAttr expr = DispatchOp::getSortedLength(s("T") * s("k"), experts, block,
                                               constant);
    EXPECT_EQ(expr.evaluate(lookup),
              DispatchOp::getSortedLength(tokens * slots, experts, block));
    DimAttr rows = ChunkedScanOp::getChunkStateRows(s("T") + c(slots), block,
                                                    constant);
    EXPECT_EQ(rows.evaluate(lookup),
              ChunkedScanOp::getChunkStateRows(tokens + slots, block));
  }
}

TEST_F(KernelABITest, EvaluatesWithCsInt64Rules) {
  EXPECT_EQ((c(-7) / c(2)).evaluate(none), -3); // truncates toward zero
  EXPECT_EQ((c(INT64_MAX) + c(1)).evaluate(none), std::nullopt);
  EXPECT_EQ((c(INT64_MIN) / c(-1)).evaluate(none), std::nullopt);
  EXPECT_EQ((s("T") / c(0)).evaluate([](StringRef) { return 5; }),
            std::nullopt);
  EXPECT_EQ(s("T").evaluate(none), std::nullopt); // unbound symbol
  // Folding: symbol-free parts become constants; a division by a constant
  // zero or an overflowing constant part has no value whatever T is.
  EXPECT_EQ((s("T") * c(2) + c(8) * c(63)).fold().str(), "T*2 + 504");
  EXPECT_FALSE((s("T") / (c(4) - c(4))).fold());
  EXPECT_FALSE((s("T") + c(INT64_MAX) * c(2)).fold());
}

TEST_F(KernelABITest, SymbolPlusConstantForms) {
  auto match = [&](DimAttr d) { return d.matchSymbolPlusConstant(); };
  EXPECT_EQ(match(DimAttr::getSymbolPlus(&ctx, "N", 1)),
            std::make_pair(StringRef("N"), int64_t(1)));
  EXPECT_EQ(DimAttr::getSymbolPlus(&ctx, "M", -1).str(), "M - 1");
  EXPECT_EQ(match(DimAttr::getSymbolPlus(&ctx, "M", -1)),
            std::make_pair(StringRef("M"), int64_t(-1)));
  EXPECT_EQ(match(c(2) + s("N")), std::make_pair(StringRef("N"), int64_t(2)));
  EXPECT_EQ(match(s("N") * c(2)), std::nullopt);
  EXPECT_EQ(match(c(2) - s("N")), std::nullopt);
}

/// A random tree of depth <= `depth` over T, B and small constants.
DimAttr randomDim(MLIRContext &ctx, std::mt19937_64 &rng, int depth) {
  if (depth == 0 || rng() % 3 == 0)
    return rng() % 2 ? DimAttr::getConstant(&ctx, rng() % 100)
                     : DimAttr::getSymbol(&ctx, rng() % 2 ? "T" : "B");
  auto kind = static_cast<DimKind>(2 + rng() % 4);
  DimAttr lhs = randomDim(ctx, rng, depth - 1);
  return DimAttr::getBinary(kind, lhs, randomDim(ctx, rng, depth - 1));
}

TEST_F(KernelABITest, PrintedTextParsesBackToTheSameTree) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 3000; ++i) {
    DimAttr dim = randomDim(ctx, rng, 5);
    std::string text = dim.str();
    EXPECT_EQ(parse(text), dim) << text;
  }
  // Only the parentheses C needs.
  EXPECT_EQ(parse("((T)) - (B + 1)").str(), "T - (B + 1)");
  EXPECT_EQ(parse("(T / 2) * 3").str(), "T/2*3");
  EXPECT_EQ(parse("T / (2 * 3)").str(), "T/(2*3)");
  EXPECT_EQ(parse("(N + 1) * 2").str(), "(N + 1)*2");
}

} // namespace
