//===- MLIRGen.cpp - .gate AST to gate-level MLIR -------------------------===//
//
// Part of gatec. Every elementwise operation becomes its own linalg.generic
// computing in f32 (fusion is the backends' job); matmuls become linalg.matmul
// with an f32 accumulator; layer calls become gate ops. Sema has checked
// everything: a failure here is a gatec bug and is reported as an internal
// error. This file holds the entry point and emits each kernel's func.func with
// the attributes that the entry points and headers are built from (gate.source,
// gate.doc, gate.name, gate.shape, gate.updates, gate.offsets, gate.slots);
// expressions are generated in MLIRGenExpr.cpp, the ops they lower to in
// MLIRGenStructured.cpp.
//
//===----------------------------------------------------------------------===//

#include "gatec/Frontend/MLIRGen.h"

#include "Frontend/MLIRGenImpl.h"
#include "gatec/Dialect/Gate/GateDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"

using namespace gatec;
using namespace gatec::mlirgen;
using namespace mlir;

void gatec::registerFrontendDialects(DialectRegistry &registry) {
  registry.insert<gate::GateDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, linalg::LinalgDialect,
                  tensor::TensorDialect>();
}

//===----------------------------------------------------------------------===//
// Parameter attributes
//===----------------------------------------------------------------------===//

void Generator::markOffsets(Value offsets, const Dim &upperBound) {
  auto arg = dyn_cast_or_null<BlockArgument>(offsets);
  if (!arg)
    return;
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  if (!func)
    return;
  SmallVector<NamedAttribute, 1> entries;
  int64_t size = resolve(upperBound);
  if (!ShapedType::isDynamic(size))
    entries.push_back(b.getNamedAttr("upper_bound", b.getI64IntegerAttr(size)));
  else if (upperBound.isSymbol())
    entries.push_back(b.getNamedAttr(
        "upper_bound", b.getStringAttr(formatSymbol(upperBound))));
  func.setArgAttr(arg.getArgNumber(), "gate.offsets",
                  b.getDictionaryAttr(entries));
}

void Generator::tieStatePool(const CallInfo &info, Value updatedPool,
                             Value slots) {
  auto poolIndex = static_cast<unsigned>(info.poolParam);
  updatedParams[poolIndex] = updatedPool;
  auto slotsArg = cast<BlockArgument>(slots);
  cast<func::FuncOp>(slotsArg.getOwner()->getParentOp())
      .setArgAttr(slotsArg.getArgNumber(), "gate.slots",
                  b.getDictionaryAttr(
                      b.getNamedAttr("pool", b.getI64IntegerAttr(poolIndex))));
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

/// `gate.shape`: the dimensions as written, names for symbols. A symbol
/// that only the results use names nothing a caller passes in, so it is
/// replaced by what it stands for: a size, a parameter's symbol, or the
/// expression computing it from those (dispatch's padded length).
static ArrayAttr shapeAttr(Builder &b, const TypeAST &type,
                           const KernelInfo &info) {
  SmallVector<Attribute> dims;
  for (const DimAST &dim : type.dims) {
    Attribute entry =
        dim.isSymbol() ? Attribute(b.getStringAttr(formatSymbol(
                             Dim::getSymbol(dim.symbol, dim.loc, dim.offset))))
                       : Attribute(b.getI64IntegerAttr(dim.value));
    auto it =
        dim.isSymbol() ? info.symbols.find(dim.symbol) : info.symbols.end();
    if (it != info.symbols.end() && it->second.paramIndex < 0 &&
        it->second.resultBinding) {
      const Dim &bound = *it->second.resultBinding;
      if (bound.isStatic())
        entry = b.getI64IntegerAttr(bound.size);
      else if (bound.isSymbol())
        entry = b.getStringAttr(formatSymbol(bound));
      else if (!bound.expr.empty())
        entry = b.getStringAttr(bound.expr);
    }
    dims.push_back(entry);
  }
  return b.getArrayAttr(dims);
}

LogicalResult Generator::genKernel(const KernelAST &k, ModuleOp module) {
  kernel = &k;
  kernelInfo = &sema.getKernel(k);
  symbolValues.clear();
  vars.clear();
  lastEntryOp = nullptr;

  SmallVector<Type> inputs, results;
  for (const CheckedType &t : kernelInfo->paramTypes)
    inputs.push_back(tensorType(t));
  for (const CheckedType &t : kernelInfo->resultTypes)
    results.push_back(tensorType(t));
  if (inputs.size() != k.params.size() || results.size() != k.results.size())
    return internalError(k.loc, "kernel '" + k.name + "' was not checked");
  // Parameters updated in place come last, as results tied to them.
  for (unsigned index : kernelInfo->updatedParams)
    results.push_back(inputs[index]);
  updatedParams.clear();

  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, loc(k.loc), k.name,
                                   b.getFunctionType(inputs, results));
  func.setPublic();
  func->setAttr("gate.source", b.getStringAttr(diag.getFileLine(k.loc)));
  if (!k.doc.empty())
    func->setAttr("gate.doc", b.getStringAttr(k.doc));
  for (auto [i, param] : llvm::enumerate(k.params)) {
    func.setArgAttr(i, "gate.name", b.getStringAttr(param.name));
    func.setArgAttr(i, "gate.shape", shapeAttr(b, param.type, *kernelInfo));
  }
  for (auto [i, result] : llvm::enumerate(k.results)) {
    std::string name =
        result.name.empty() ? "result" + std::to_string(i) : result.name;
    func.setResultAttr(i, "gate.name", b.getStringAttr(name));
    func.setResultAttr(i, "gate.shape", shapeAttr(b, result.type, *kernelInfo));
  }
  for (auto [i, index] : llvm::enumerate(kernelInfo->updatedParams)) {
    unsigned r = k.results.size() + i;
    const ParamAST &param = k.params[index];
    func.setResultAttr(r, "gate.name", b.getStringAttr(param.name));
    func.setResultAttr(r, "gate.shape", shapeAttr(b, param.type, *kernelInfo));
    func.setResultAttr(r, "gate.updates", b.getI64IntegerAttr(index));
  }

  entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (auto [i, param] : llvm::enumerate(k.params))
    vars[param.name] = {entry->getArgument(i)};

  bool returned = false;
  for (const auto &stmt : k.body) {
    if (const auto *let = llvm::dyn_cast<LetStmtAST>(stmt.get())) {
      const ExprAST *value = let->getValue();
      if (!value)
        return internalError(stmt->getLoc(), "a statement without a value");
      // Numbers are folded into their uses; they have no code.
      if (sema.getInfo(*value).isConstant())
        continue;
      FailureOr<SmallVector<Value>> values = gen(*value);
      if (failed(values))
        return failure();
      const auto &targets = let->getTargets();
      if (values->size() != targets.size())
        return internalError(stmt->getLoc(), "a binding of the wrong arity");
      for (auto [target, v] : llvm::zip(targets, *values))
        if (target.name != "_")
          vars[target.name] = {v};
      continue;
    }
    const auto &ret = llvm::cast<ReturnStmtAST>(*stmt);
    SmallVector<Value> values;
    for (const ExprPtr &e : ret.getValues()) {
      FailureOr<SmallVector<Value>> v = gen(*e);
      if (failed(v))
        return failure();
      values.append(v->begin(), v->end());
    }
    for (unsigned index : kernelInfo->updatedParams)
      values.push_back(updatedParams.lookup(index));
    func::ReturnOp::create(b, loc(ret.getLoc()), values);
    returned = true;
    break;
  }
  if (!returned)
    return internalError(k.loc, "kernel '" + k.name + "' has no return");

  // The module must verify; if it does not, sema missed a rule. Say so at
  // the kernel, with what the verifier said as a note.
  std::string verifierMessage;
  LogicalResult verified = success();
  {
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
      if (verifierMessage.empty())
        verifierMessage = d.str();
      return success();
    });
    verified = verify(func);
  }
  if (failed(verified)) {
    (void)internalError(k.loc, "gatec generated invalid IR for kernel '" +
                                   k.name + "'");
    diag.note(k.loc, "the verifier said: " + verifierMessage);
    return failure();
  }
  return success();
}

OwningOpRef<ModuleOp> Generator::run(const ModuleAST &module,
                                     StringRef onlyKernel) {
  OwningOpRef<ModuleOp> result = ModuleOp::create(b.getUnknownLoc());
  bool ok = true;
  for (const auto &k : module.kernels) {
    if (!onlyKernel.empty() && k->name != onlyKernel)
      continue;
    ok &= succeeded(genKernel(*k, *result));
  }
  if (!ok)
    return nullptr;
  return result;
}

OwningOpRef<ModuleOp> gatec::mlirGen(MLIRContext &context,
                                     const ModuleAST &module,
                                     const SemaResult &sema,
                                     gatec::DiagnosticEngine &diag,
                                     StringRef onlyKernel) {
  context.loadDialect<gate::GateDialect, func::FuncDialect, arith::ArithDialect,
                      math::MathDialect, linalg::LinalgDialect,
                      tensor::TensorDialect>();
  return Generator(context, sema, diag).run(module, onlyKernel);
}
