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
#include "gatec/Dialect/Gate/KernelABI.h"

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
  if (!arg || arg.getOwner() != entry)
    return;
  gate::TensorABI &t = abi.arguments[arg.getArgNumber()];
  t.isOffsets = true;
  int64_t size = resolve(upperBound);
  if (!ShapedType::isDynamic(size))
    t.offsetsBound = gate::DimAttr::getConstant(&context, size);
  else if (upperBound.isSymbol())
    t.offsetsBound = dimAttr(upperBound);
}

void Generator::tieStatePool(const CallInfo &info, Value updatedPool,
                             Value slots) {
  auto poolIndex = static_cast<unsigned>(info.poolParam);
  updatedParams[poolIndex] = updatedPool;
  abi.arguments[cast<BlockArgument>(slots).getArgNumber()].slotsPool =
      poolIndex;
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

gate::DimAttr Generator::dimAttr(const Dim &dim) {
  MLIRContext *ctx = &context;
  auto constant = [&](int64_t v) { return gate::DimAttr::getConstant(ctx, v); };
  if (dim.isStatic())
    return constant(dim.size);
  if (dim.isSymbol())
    return gate::DimAttr::getSymbolPlus(ctx, dim.symbol, dim.offset);
  SmallVector<gate::DimAttr, 2> in;
  for (const Dim &d : dim.formulaDims)
    in.push_back(dimAttr(d));
  switch (dim.formula) {
  case Dim::Formula::SortedLength:
    return gate::DispatchOp::getSortedLength(in[0] * in[1],
                                             dim.formulaConstants[0],
                                             dim.formulaConstants[1], constant);
  case Dim::Formula::SortedBlocks:
    return gate::DispatchOp::getSortedBlocks(in[0] * in[1],
                                             dim.formulaConstants[0],
                                             dim.formulaConstants[1], constant);
  case Dim::Formula::ChunkStateRows:
    return gate::ChunkedScanOp::getChunkStateRows(
        in[0], dim.formulaConstants[0], constant);
  case Dim::Formula::None:
    break;
  }
  return nullptr;
}

/// `gate.shape`: the dimensions as written, names for symbols. A symbol
/// that only the results use names nothing a caller passes in, so it is
/// replaced by what it stands for: a size, a parameter's symbol, or the
/// dialect's formula computing it from those (dispatch's padded length).
gate::ShapeAttr Generator::shapeAttr(const TypeAST &type) {
  SmallVector<gate::DimAttr> dims;
  for (const DimAST &dim : type.dims) {
    gate::DimAttr entry =
        dim.isSymbol()
            ? dimAttr(Dim::getSymbol(dim.symbol, dim.loc, dim.offset))
            : gate::DimAttr::getConstant(&context, dim.value);
    auto it = dim.isSymbol() ? kernelInfo->symbols.find(dim.symbol)
                             : kernelInfo->symbols.end();
    if (it != kernelInfo->symbols.end() && it->second.paramIndex < 0 &&
        it->second.resultBinding) {
      if (gate::DimAttr bound = dimAttr(*it->second.resultBinding))
        entry = bound;
    }
    dims.push_back(entry);
  }
  return gate::ShapeAttr::get(&context, dims);
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
  // The ABI is written once the body has added what its ops imply
  // (gate.offsets, gate.slots).
  abi = gate::KernelABI();
  abi.source = b.getStringAttr(diag.getFileLine(k.loc));
  if (!k.doc.empty())
    abi.doc = b.getStringAttr(k.doc);
  for (const ParamAST &param : k.params) {
    gate::TensorABI &t = abi.arguments.emplace_back();
    t.name = b.getStringAttr(param.name);
    t.shape = shapeAttr(param.type);
  }
  for (auto [i, result] : llvm::enumerate(k.results)) {
    gate::TensorABI &t = abi.results.emplace_back();
    t.name = b.getStringAttr(result.name.empty() ? "result" + std::to_string(i)
                                                 : result.name);
    t.shape = shapeAttr(result.type);
  }
  for (unsigned index : kernelInfo->updatedParams) {
    gate::TensorABI &t = abi.results.emplace_back();
    t.name = b.getStringAttr(k.params[index].name);
    t.shape = shapeAttr(k.params[index].type);
    t.updates = index;
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
  gate::writeKernelABI(func, abi);

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
