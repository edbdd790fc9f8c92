//===- SemaKeywords.cpp - Keyword values in .gate sema --------------------===//
//
// Part of gatec. Reads the value of a keyword argument as what the gate op
// stores: an integer in range, a number, an f32 attribute, a boolean or a
// tensor. Enum values are read by Checker::enumKeyword in SemaImpl.h.
//
//===----------------------------------------------------------------------===//

#include "Frontend/SemaImpl.h"

#include <algorithm>
#include <cmath>

using namespace gatec;
using namespace gatec::sema;

//===----------------------------------------------------------------------===//
// Keyword values
//===----------------------------------------------------------------------===//

std::optional<int64_t> Checker::intKeyword(const KeywordArgAST &kw, int64_t min,
                                           int64_t max) {
  ExprInfo value = checkExpr(*kw.value);
  if (value.isInvalid())
    return std::nullopt;
  if (!value.isConstant() || !value.constantIsInt) {
    diag.error(kw.value->getLoc(), "'" + kw.name + "' expects an integer");
    return std::nullopt;
  }
  if (value.constant < static_cast<double>(min) ||
      value.constant > static_cast<double>(max)) {
    diag.error(kw.value->getLoc(),
               "'" + kw.name + "' must be between " + Twine(min) + " and " +
                   Twine(max) + ", got " +
                   Twine(static_cast<int64_t>(
                       std::clamp(value.constant, -9e18, 9e18))));
    return std::nullopt;
  }
  return static_cast<int64_t>(value.constant);
}

std::optional<double> Checker::numberKeyword(const KeywordArgAST &kw) {
  ExprInfo value = checkExpr(*kw.value);
  if (value.isInvalid())
    return std::nullopt;
  if (!value.isConstant()) {
    diag.error(kw.value->getLoc(), "'" + kw.name + "' expects a number");
    return std::nullopt;
  }
  return value.constant;
}

std::optional<float> Checker::f32Keyword(const KeywordArgAST &kw,
                                         bool positive) {
  std::optional<double> value = numberKeyword(kw);
  if (!value)
    return std::nullopt;
  // The gate ops store these as f32: check the value they will hold.
  float stored = static_cast<float>(*value);
  if (!std::isfinite(stored) || (positive && !(stored > 0.0f))) {
    diag.error(kw.value->getLoc(),
               "'" + kw.name + "' must be " +
                   (positive ? "finite and > 0" : "finite") +
                   " as a 32-bit float, got " + formatNumber(*value));
    return std::nullopt;
  }
  return stored;
}

std::optional<bool> Checker::boolKeyword(const KeywordArgAST &kw) {
  if (const auto *b = llvm::dyn_cast<BoolExprAST>(kw.value.get()))
    return b->getValue();
  diag.error(kw.value->getLoc(), "'" + kw.name + "' expects true or false");
  return std::nullopt;
}

std::optional<CheckedType> Checker::tensorKeyword(const KeywordArgAST &kw) {
  ExprInfo value = checkExpr(*kw.value);
  if (value.isInvalid())
    return std::nullopt;
  if (!value.isTensor()) {
    diag.error(kw.value->getLoc(), "'" + kw.name + "' expects a tensor");
    return std::nullopt;
  }
  return value.getType();
}
