//===- Sema.cpp - Semantic checks of the .gate language -------------------===//
//
// Part of gatec. Everything the gate dialect's verifiers would reject is
// rejected here first, with the location of the offending source and, where two
// places disagree, a note at the other one. This file holds the entry point,
// the queries of SemaResult, the printing of types and messages, and the checks
// of a kernel's declarations and statements; the checks of expressions and
// calls live in the other Sema*.cpp files.
//
//===----------------------------------------------------------------------===//

#include "gatec/Frontend/Sema.h"

#include "Frontend/SemaImpl.h"
#include "gatec/Frontend/Diagnostics.h"

#include "mlir/IR/BuiltinTypeInterfaces.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <limits>

using namespace gatec;
using namespace gatec::sema;

//===----------------------------------------------------------------------===//
// SemaResult
//===----------------------------------------------------------------------===//

const ExprInfo &SemaResult::getInfo(const ExprAST &expr) const {
  static const ExprInfo invalid;
  auto it = exprs.find(&expr);
  return it == exprs.end() ? invalid : it->second;
}

const CallInfo &SemaResult::getCall(const CallExprAST &call) const {
  static const CallInfo none;
  auto it = calls.find(&call);
  return it == calls.end() ? none : it->second;
}

const KernelInfo &SemaResult::getKernel(const KernelAST &kernel) const {
  static const KernelInfo none;
  auto it = kernels.find(&kernel);
  return it == kernels.end() ? none : *it->second;
}

int64_t SemaResult::resolve(const Dim &dim, const KernelInfo &kernel) const {
  // Results-only symbols resolve through the value returned for them; the
  // chain is at most one link long (a binding is never another such symbol).
  switch (dim.kind) {
  case Dim::Kind::Static:
    return dim.size;
  case Dim::Kind::Dynamic:
    return mlir::ShapedType::kDynamic;
  case Dim::Kind::Symbol: {
    auto it = kernel.symbols.find(dim.symbol);
    if (it == kernel.symbols.end())
      return mlir::ShapedType::kDynamic;
    const SymbolInfo &sym = it->second;
    if (sym.value)
      return *sym.value + dim.offset;
    if (dim.offset != 0) // only parameters' symbols take constants
      return mlir::ShapedType::kDynamic;
    if (sym.resultBinding && !sym.resultBinding->isSymbol())
      return resolve(*sym.resultBinding, kernel);
    if (sym.resultBinding && sym.resultBinding->symbol != dim.symbol) {
      auto other = kernel.symbols.find(sym.resultBinding->symbol);
      if (other != kernel.symbols.end() && other->second.value)
        return *other->second.value + sym.resultBinding->offset;
    }
    return mlir::ShapedType::kDynamic;
  }
  }
  return mlir::ShapedType::kDynamic;
}

std::string gatec::formatSymbol(const Dim &dim) {
  if (dim.offset == 0)
    return dim.symbol;
  // The magnitude as unsigned: the parser bounds offsets, but -INT64_MIN
  // must not be computed in any case.
  uint64_t magnitude = dim.offset < 0 ? 0 - static_cast<uint64_t>(dim.offset)
                                      : static_cast<uint64_t>(dim.offset);
  return dim.symbol + (dim.offset < 0 ? " - " : " + ") +
         std::to_string(magnitude);
}

std::string gatec::formatType(const CheckedType &type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << stringifyDType(type.dtype) << "[";
  llvm::interleaveComma(type.dims, os, [&](const Dim &d) {
    if (d.isStatic())
      os << d.size;
    else if (d.isSymbol())
      os << formatSymbol(d);
    else
      os << "?";
  });
  os << "]";
  return text;
}

//===----------------------------------------------------------------------===//
// Messages
//===----------------------------------------------------------------------===//

std::string gatec::sema::suggest(StringRef name,
                                 llvm::ArrayRef<StringRef> candidates) {
  unsigned best = std::numeric_limits<unsigned>::max();
  StringRef bestName;
  for (StringRef candidate : candidates) {
    unsigned distance =
        name.edit_distance(candidate, /*AllowReplacements=*/true,
                           /*MaxEditDistance=*/8);
    if (distance < best) {
      best = distance;
      bestName = candidate;
    }
  }
  // Close enough to be a typo, and not a rewrite of the whole name.
  unsigned limit = std::max<unsigned>(1, name.size() / 3);
  if (bestName.empty() || best > limit || best >= name.size())
    return "";
  return ("; did you mean '" + bestName + "'?").str();
}

std::string gatec::sema::formatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

CheckedType Checker::declareType(const TypeAST &type, int paramIndex) {
  CheckedType checked;
  checked.dtype = type.dtype;
  for (auto [i, dim] : llvm::enumerate(type.dims)) {
    if (!dim.isSymbol()) {
      checked.dims.push_back(Dim::getStatic(dim.value, dim.loc));
      continue;
    }
    auto [it, inserted] = info.symbols.try_emplace(dim.symbol);
    if (inserted)
      it->second.loc = dim.loc;
    // The size comes from the first parameter dimension that is the plain
    // symbol, else from the first `symbol + c` one.
    bool better =
        paramIndex >= 0 && (it->second.paramIndex < 0 ||
                            (it->second.dimOffset != 0 && dim.offset == 0));
    if (better) {
      it->second.paramIndex = paramIndex;
      it->second.dimIndex = i;
      it->second.dimOffset = dim.offset;
    }
    checked.dims.push_back(Dim::getSymbol(dim.symbol, dim.loc, dim.offset));
  }
  return checked;
}

void Checker::bindName(const BindingAST &target, ExprInfo value) {
  // `_` discards a result.
  if (target.name == "_")
    return;
  auto [it, inserted] = vars.try_emplace(target.name);
  if (!inserted) {
    diag.error(target.loc, "'" + target.name +
                               "' is already bound; every name is bound "
                               "once (pick a new name)");
    diag.note(it->second.loc, "'" + target.name + "' was bound here");
    // Keep the first binding, but quiet: its later uses are fine.
    return;
  }
  it->second.loc = target.loc;
  it->second.value = std::move(value);
  letNames.push_back(target.name);
}

void Checker::check() {
  unsigned errorsBefore = diag.getNumErrors();
  for (auto [i, param] : llvm::enumerate(kernel.params)) {
    CheckedType type = declareType(param.type, static_cast<int>(i));
    info.paramTypes.push_back(type);
    auto [it, inserted] = vars.try_emplace(param.name);
    if (!inserted) {
      diag.error(param.loc, "parameter '" + param.name + "' is declared twice");
      diag.note(it->second.loc, "first declared here");
      continue;
    }
    it->second.loc = param.loc;
    it->second.value = tensor(type);
    it->second.isParam = true;
  }

  llvm::StringMap<SMLoc> resultNames;
  for (const ResultAST &res : kernel.results) {
    info.resultTypes.push_back(declareType(res.type, /*paramIndex=*/-1));
    if (res.name.empty())
      continue;
    auto [it, inserted] = resultNames.try_emplace(res.name, res.loc);
    if (!inserted) {
      diag.error(res.loc, "result '" + res.name + "' is declared twice");
      diag.note(it->second, "first declared here");
    }
  }

  for (const auto &stmt : kernel.body) {
    if (sawReturn) {
      diag.error(stmt->getLoc(), "statement after 'return': 'return' ends "
                                 "the kernel");
      break;
    }
    if (const auto *let = llvm::dyn_cast<LetStmtAST>(stmt.get()))
      checkLet(*let);
    else
      checkReturn(llvm::cast<ReturnStmtAST>(*stmt));
  }

  if (!sawReturn && !kernel.hadSyntaxErrors) {
    diag.error(kernel.rBraceLoc.isValid() ? kernel.rBraceLoc : kernel.loc,
               "kernel '" + kernel.name + "' ends without 'return'");
    diag.note(kernel.loc, "kernel '" + kernel.name + "' starts here");
  }

  // A state pool is read and written by its scan or conv, in place: any
  // other use would see it before or after the update depending on the
  // schedule.
  for (unsigned index : info.updatedParams) {
    const ParamAST &param = kernel.params[index];
    if (vars[param.name].uses > 1)
      diag.error(param.loc,
                 "'" + param.name +
                     "' is a state pool, updated "
                     "in place by its scan or conv; it may not be used "
                     "anywhere else in the kernel");
  }

  // Unused names hint at a typo; only worth saying in a kernel that checks.
  if (diag.getNumErrors() != errorsBefore)
    return;
  for (const std::string &name : letNames) {
    const Var &var = vars[name];
    if (!var.used && !StringRef(name).starts_with("_"))
      diag.warning(var.loc, "'" + name +
                                "' is never used (bind it to a "
                                "name starting with '_' to keep "
                                "it)");
  }
}

void Checker::checkLet(const LetStmtAST &let) {
  const auto &targets = let.getTargets();
  const ExprAST *value = let.getValue();
  unsigned wanted = let.isTupleBinding() ? targets.size() : 1;
  ExprInfo checked = value ? checkExpr(*value, wanted) : invalid();

  for (auto [i, target] : llvm::enumerate(targets)) {
    ExprInfo one;
    if (checked.kind == ExprInfo::Kind::Multi && i < checked.types.size())
      one = tensor(checked.types[i]);
    else if (wanted == 1)
      one = checked;
    bindName(target, std::move(one));
  }
}

void Checker::checkReturn(const ReturnStmtAST &ret) {
  sawReturn = true;
  if (ret.hadSyntaxError())
    return;
  const auto &values = ret.getValues();
  unsigned numResults = kernel.results.size();

  // `return scan(...)` in a kernel with two results returns both.
  if (values.size() == 1 && numResults > 1 &&
      llvm::isa<CallExprAST>(*values[0])) {
    ExprInfo checked = checkExpr(*values[0], numResults);
    if (checked.kind != ExprInfo::Kind::Multi)
      return;
    for (unsigned i = 0; i < numResults; ++i)
      checkReturnedType(i, checked.types[i], values[0]->getLoc());
    return;
  }

  llvm::SmallVector<ExprInfo, 4> checked;
  for (const ExprPtr &value : values)
    checked.push_back(checkExpr(*value));
  if (values.size() != numResults) {
    diag.error(ret.getLoc(), "kernel '" + kernel.name + "' declares " +
                                 Twine(numResults) + " result" +
                                 (numResults == 1 ? "" : "s") +
                                 " but this returns " + Twine(values.size()));
    diag.note(kernel.results.front().loc, "the results are declared here");
    return;
  }
  for (auto [i, value] : llvm::enumerate(checked)) {
    if (value.isInvalid())
      continue;
    if (value.isConstant()) {
      diag.error(values[i]->getLoc(),
                 "a kernel returns tensors, not the number " +
                     formatNumber(value.constant));
      continue;
    }
    checkReturnedType(i, value.getType(), values[i]->getLoc());
  }
}

void Checker::checkReturnedType(unsigned index, const CheckedType &type,
                                SMLoc loc) {
  const ResultAST &declared = kernel.results[index];
  const CheckedType &want = info.resultTypes[index];
  std::string name = declared.name.empty() ? ("result " + Twine(index)).str()
                                           : "result '" + declared.name + "'";
  if (type.dtype != want.dtype || type.getRank() != want.getRank()) {
    diag.error(loc, "the returned value is " + formatType(type) +
                        " but kernel '" + kernel.name + "' declares " + name +
                        " as " + formatType(want));
    diag.note(declared.loc, name + " is declared here");
    return;
  }
  for (unsigned i = 0; i < type.getRank(); ++i) {
    const Dim &got = type.dims[i];
    const Dim &decl = want.dims[i];
    // A symbol that appears only in the results names whatever is returned.
    bool resultsOnly =
        decl.isSymbol() && info.symbols[decl.symbol].paramIndex < 0;
    if (resultsOnly && decl.offset != 0) {
      diag.error(decl.loc, "a constant can be added only to a symbol that a "
                           "parameter's type holds; give this size a symbol "
                           "of its own");
      return;
    }
    const std::optional<Dim> *earlier =
        resultsOnly ? &info.symbols[decl.symbol].resultBinding : nullptr;
    // A size known only at run time (dispatch's padded length with a
    // symbolic T) can be declared only as a symbol of its own: nothing else
    // can be shown equal to it.
    if (earlier && earlier->has_value() && (*earlier)->isDynamic()) {
      diag.error(loc, decl.symbol +
                          " stands for a size known only at run "
                          "time (of an earlier result), so " +
                          name +
                          " cannot use it; give it a symbol of its "
                          "own");
      diag.note(decl.loc, "declared here");
      return;
    }
    if (got.isDynamic() && (!resultsOnly || earlier->has_value())) {
      diag.error(loc, "dimension " + Twine(i) + " of the returned value is " +
                          "known only at run time, so " + name +
                          " must declare it with a symbol of its own (one "
                          "that no parameter and no other result uses)");
      diag.note(decl.loc, "declared here as " + describe(decl));
      return;
    }
    if (resultsOnly) {
      SymbolInfo &sym = info.symbols[decl.symbol];
      if (!sym.resultBinding) {
        sym.resultBinding = got;
        continue;
      }
      Dim bound = *sym.resultBinding;
      if (!unify(got, bound, loc,
                 "the returned value does not match " + name + " " +
                     formatType(want),
                 "its dimension " + Twine(i),
                 decl.symbol + " (from another result)"))
        return;
      continue;
    }
    if (!unify(got, decl, loc,
               "the returned value does not match " + name + " " +
                   formatType(want),
               "its dimension " + Twine(i), "the declared dimension"))
      return;
  }
}

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

std::unique_ptr<SemaResult> gatec::checkModule(const ModuleAST &module,
                                               DiagnosticEngine &diag) {
  auto result = std::make_unique<SemaResult>();
  llvm::StringMap<SMLoc> kernelNames;
  for (const auto &kernel : module.kernels) {
    if (diag.tooManyErrors())
      break;
    auto [it, inserted] = kernelNames.try_emplace(kernel->name, kernel->loc);
    if (!inserted) {
      diag.error(kernel->loc, "kernel '" + kernel->name + "' is defined twice");
      diag.note(it->second, "first defined here");
    }
    auto info = std::make_unique<KernelInfo>();
    Checker checker(diag, *result, *kernel, *info);
    checker.check();
    result->kernels[kernel.get()] = std::move(info);
  }
  return result;
}
