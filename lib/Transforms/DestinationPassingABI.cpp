//===- DestinationPassingABI.cpp - Caller-allocated kernel outputs --------===//
//
// Part of gatec. Kernels write into buffers their caller owns: no allocation
// crosses the C ABI and no result is copied after it is computed.
//
//===----------------------------------------------------------------------===//

#include "gatec/Transforms/Passes.h"

#include "gatec/Dialect/Gate/KernelABI.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace gatec {
#define GEN_PASS_DEF_DESTINATIONPASSINGABI
#include "gatec/Transforms/Passes.h.inc"
} // namespace gatec

using namespace mlir;

namespace {

struct DestinationPassingABIPass
    : gatec::impl::DestinationPassingABIBase<DestinationPassingABIPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || func.isPrivate())
        continue;
      if (failed(convert(func)))
        return signalPassFailure();
    }
  }

  LogicalResult convert(func::FuncOp func) {
    MLIRContext *ctx = func.getContext();
    FunctionType type = func.getFunctionType();
    auto readOnly = NamedAttribute(
        StringAttr::get(ctx, bufferization::BufferizationDialect::
                                 kWritableAttrName),
        BoolAttr::get(ctx, false));

    SmallVector<Type> inputs(type.getInputs());
    SmallVector<DictionaryAttr> argAttrs;
    for (unsigned i = 0; i < type.getNumInputs(); ++i) {
      NamedAttrList attrs(func.getArgAttrDict(i));
      if (isa<TensorType>(type.getInput(i)))
        attrs.set(readOnly.getName(), readOnly.getValue());
      argAttrs.push_back(attrs.getDictionary(ctx));
    }
    Block &entry = func.front();
    SmallVector<Value> outputs;
    for (auto [i, resultType] : llvm::enumerate(type.getResults())) {
      if (!isa<RankedTensorType>(resultType))
        return func.emitError() << "kernel result #" << i
                                << " must be a ranked tensor, got "
                                << resultType;
      // A parameter the kernel updates in place (gate.updates = its index):
      // the parameter itself becomes the buffer, read through a tensor view
      // and written at the end, so no output is added and an op that
      // rewrites part of it (a scan's state pool) works in place.
      if (auto tied = func.getResultAttrOfType<IntegerAttr>(
              i, gate::kUpdatesAttrName)) {
        unsigned index = tied.getInt();
        if (index >= type.getNumInputs() ||
            type.getInput(index) != resultType)
          return func.emitError() << "kernel result #" << i
                                  << " updates parameter #" << index
                                  << " of another type";
        auto tensorType = cast<RankedTensorType>(resultType);
        auto bufferType = MemRefType::get(tensorType.getShape(),
                                          tensorType.getElementType());
        BlockArgument arg = entry.getArgument(index);
        arg.setType(bufferType);
        OpBuilder b = OpBuilder::atBlockBegin(&entry);
        auto view = bufferization::ToTensorOp::create(
            b, func.getLoc(), tensorType, arg, /*restrict=*/true,
            /*writable=*/true);
        arg.replaceAllUsesExcept(view, view);
        inputs[index] = bufferType;
        argAttrs[index] = func.getArgAttrDict(index);
        outputs.push_back(arg);
        continue;
      }
      // The output is a buffer from the start: a write into it is a side
      // effect no cleanup may drop, and bufferization takes it as the
      // destination of the op that computes the result.
      auto tensorType = cast<RankedTensorType>(resultType);
      auto bufferType = MemRefType::get(tensorType.getShape(),
                                        tensorType.getElementType());
      inputs.push_back(bufferType);
      outputs.push_back(entry.addArgument(bufferType, func.getLoc()));
      argAttrs.push_back(func.getResultAttrDict(i));
    }

    func.walk([&](func::ReturnOp ret) {
      OpBuilder b(ret);
      assert(ret.getNumOperands() == outputs.size());
      for (auto [value, dest] : llvm::zip(ret.getOperands(), outputs))
        bufferization::MaterializeInDestinationOp::create(
            b, ret.getLoc(), Type(), value, dest, /*restrict=*/true,
            /*writable=*/true);
      ret->setOperands({});
    });
    // The gate.* facts of each argument (source name and shape) have served
    // the frontend and the header emitter; LLVM would warn about them.
    for (DictionaryAttr &attrs : argAttrs) {
      if (!attrs)
        continue;
      NamedAttrList kept;
      for (NamedAttribute attr : attrs)
        if (!attr.getName().strref().starts_with("gate."))
          kept.push_back(attr);
      attrs = kept.getDictionary(ctx);
    }
    func.setType(FunctionType::get(ctx, inputs, {}));
    func.setAllArgAttrs(argAttrs);
    func.setAllResultAttrs(ArrayRef<DictionaryAttr>{});
    func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                  UnitAttr::get(ctx));
    return success();
  }
};

} // namespace
