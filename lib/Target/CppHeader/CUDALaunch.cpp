//===- CUDALaunch.cpp - Host code of CUDA kernels as C++ ------------------===//
//
// Part of gatec. After gatec-cuda-pipeline a kernel's host function holds
// only shape arithmetic, workspace allocations and gpu.launch_func ops; this
// file prints it as the body of the generated header's launch function:
// stream-ordered workspace allocations, the choice between a kernel's
// one-launch path and its usual launches, one cuLaunchKernel per launch with
// the memref descriptors expanded as the NVVM lowering expects them
// (allocated, aligned, offset, sizes, strides), and every CUDA error
// reported through gatec_error.
//
//===----------------------------------------------------------------------===//

#include "Target/CppHeader/CUDALaunch.h"
#include "Target/SourcePrinter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <fmt/format.h>

using namespace mlir;

namespace {

/// A buffer the host knows: its device pointer and sizes as C expressions.
struct HostBuffer {
  std::string pointer;
  std::vector<std::string> sizes;
};

class HostTranslator {
public:
  HostTranslator(func::FuncOp func, const std::vector<std::string> &kernels)
      : func(func), kernels(kernels) {
    // The launches go inside the launcher's body.
    printer.indent();
  }

  FailureOr<std::string> translate();

private:
  std::string name(Value v) {
    auto it = names.find(v);
    return it == names.end() ? std::string("<?>") : it->second;
  }
  std::string fresh(Value v) {
    std::string n = fmt::format("gatec_v{}", counter++);
    names[v] = n;
    return n;
  }
  void line(const std::string &text) { printer.line("{}", text); }
  LogicalResult visit(Operation *op);
  LogicalResult visitBlock(Block &block);
  LogicalResult launch(gpu::LaunchFuncOp op);
  std::string bytesOf(Type elem) {
    return std::to_string((elem.getIntOrFloatBitWidth() + 7) / 8);
  }

  func::FuncOp func;
  const std::vector<std::string> &kernels;
  llvm::DenseMap<Value, std::string> names;
  llvm::DenseMap<Value, HostBuffer> buffers;
  unsigned counter = 0, workspaces = 0;
  std::string out;
  gatec::SourcePrinter printer{out};
};

FailureOr<std::string> HostTranslator::translate() {
  for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type || !type.getLayout().isIdentity())
      return func.emitError("gatec: CUDA host code takes dense memrefs only");
    HostBuffer buffer;
    buffer.pointer =
        fmt::format("(CUdeviceptr)(uintptr_t)gatec_a{}->aligned", i);
    for (int64_t d = 0; d < type.getRank(); ++d)
      buffer.sizes.push_back(fmt::format("gatec_a{}->sizes[{}]", i, d));
    buffers[arg] = buffer;
  }
  if (failed(visitBlock(func.getBody().front())))
    return failure();
  return out;
}

LogicalResult HostTranslator::visitBlock(Block &block) {
  for (Operation &op : block)
    if (failed(visit(&op)))
      return failure();
  return success();
}

LogicalResult HostTranslator::visit(Operation *op) {
  auto binary = [&](StringRef format) {
    std::string lhs = name(op->getOperand(0)), rhs = name(op->getOperand(1));
    line(fmt::format("[[maybe_unused]] const int64_t {} = {};",
                     fresh(op->getResult(0)),
                     fmt::format(fmt::runtime(format.str()), lhs, rhs)));
    return success();
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](arith::ConstantOp c) -> LogicalResult {
        if (auto attr = dyn_cast<IntegerAttr>(c.getValue())) {
          int64_t v = attr.getType().isInteger(1)
                          ? attr.getValue().getZExtValue()
                          : attr.getInt();
          line(fmt::format("[[maybe_unused]] const int64_t {} = INT64_C({});",
                           fresh(c.getResult()), v));
          return success();
        }
        if (auto attr = dyn_cast<FloatAttr>(c.getValue())) {
          if (!attr.getType().isF32() && !attr.getType().isF64())
            return c.emitError("gatec: unsupported host constant");
          line(fmt::format("[[maybe_unused]] const {} {} = {:.9g};",
                           attr.getType().isF32() ? "float" : "double",
                           fresh(c.getResult()), attr.getValueAsDouble()));
          return success();
        }
        return c.emitError("gatec: unsupported host constant");
      })
      .Case([&](arith::AddIOp) { return binary("{} + {}"); })
      .Case([&](arith::SubIOp) { return binary("{} - {}"); })
      .Case([&](arith::MulIOp) { return binary("{} * {}"); })
      .Case([&](arith::DivSIOp) { return binary("{} / {}"); })
      .Case([&](arith::DivUIOp) {
        return binary("(int64_t)((uint64_t){} / (uint64_t){})");
      })
      .Case([&](arith::RemSIOp) { return binary("{} % {}"); })
      .Case([&](arith::RemUIOp) {
        return binary("(int64_t)((uint64_t){} % (uint64_t){})");
      })
      .Case([&](arith::CeilDivUIOp) {
        return binary("gatec_cuda_ceildiv({}, {})");
      })
      .Case([&](arith::CeilDivSIOp) {
        return binary("gatec_cuda_ceildiv({}, {})");
      })
      .Case([&](arith::MaxSIOp) { return binary("({0} > {1} ? {0} : {1})"); })
      .Case([&](arith::MaxUIOp) {
        return binary("((uint64_t){0} > (uint64_t){1} ? {0} : {1})");
      })
      .Case([&](arith::AndIOp) { return binary("({} & {})"); })
      .Case([&](arith::CmpIOp cmp) -> LogicalResult {
        arith::CmpIPredicate predicate = cmp.getPredicate();
        bool isUnsigned = predicate == arith::CmpIPredicate::ult ||
                          predicate == arith::CmpIPredicate::ule ||
                          predicate == arith::CmpIPredicate::ugt ||
                          predicate == arith::CmpIPredicate::uge;
        StringRef symbol;
        switch (predicate) {
        case arith::CmpIPredicate::eq:
          symbol = "==";
          break;
        case arith::CmpIPredicate::ne:
          symbol = "!=";
          break;
        case arith::CmpIPredicate::slt:
        case arith::CmpIPredicate::ult:
          symbol = "<";
          break;
        case arith::CmpIPredicate::sle:
        case arith::CmpIPredicate::ule:
          symbol = "<=";
          break;
        case arith::CmpIPredicate::sgt:
        case arith::CmpIPredicate::ugt:
          symbol = ">";
          break;
        case arith::CmpIPredicate::sge:
        case arith::CmpIPredicate::uge:
          symbol = ">=";
          break;
        }
        std::string cast = isUnsigned ? "(uint64_t)" : "";
        return binary(
            fmt::format("(int64_t)({0}{{}} {1} {0}{{}})", cast, symbol.str()));
      })
      .Case([&](arith::MinSIOp) { return binary("({0} < {1} ? {0} : {1})"); })
      .Case([&](arith::IndexCastOp c) {
        line(fmt::format("[[maybe_unused]] const int64_t {} = {};",
                         fresh(c.getResult()), name(c.getIn())));
        return success();
      })
      .Case([&](memref::DimOp dim) -> LogicalResult {
        auto it = buffers.find(dim.getSource());
        std::optional<int64_t> index = dim.getConstantIndex();
        if (it == buffers.end() || !index)
          return dim.emitError("gatec: unsupported memref.dim in host code");
        line(fmt::format("[[maybe_unused]] const int64_t {} = {};",
                         fresh(dim.getResult()), it->second.sizes[*index]));
        return success();
      })
      .Case([&](memref::AllocOp alloc) -> LogicalResult {
        MemRefType type = alloc.getType();
        HostBuffer buffer;
        unsigned dynamic = 0;
        // The byte size, overflow-checked as the shape checks are.
        std::string bytes = bytesOf(type.getElementType());
        for (int64_t size : type.getShape()) {
          std::string s = ShapedType::isDynamic(size)
                              ? name(alloc.getDynamicSizes()[dynamic++])
                              : fmt::format("INT64_C({})", size);
          buffer.sizes.push_back(s);
          bytes = fmt::format("gatec_rt_mul({}, {}, &gatec_rc)", bytes, s);
        }
        buffer.pointer = fmt::format("gatec_ws[{}]", workspaces);
        line("{");
        line("  int gatec_rc = GATEC_OK;");
        line(fmt::format("  const int64_t gatec_bytes = {};", bytes));
        line("  if (gatec_rc != GATEC_OK)");
        line("    return GATEC_RT_FAIL(err, GATEC_ERR_OVERFLOW, \"%s: a "
             "temporary buffer needs more than INT64_MAX bytes\", kernel);");
        line(fmt::format("  if (!gatec_ws.allocate({}, gatec_bytes, err))",
                         workspaces));
        line("    return err ? err->code : GATEC_ERR_CUDA;");
        line("}");
        ++workspaces;
        buffers[alloc.getResult()] = buffer;
        return success();
      })
      .Case([&](memref::CollapseShapeOp collapse) -> LogicalResult {
        auto it = buffers.find(collapse.getSrc());
        if (it == buffers.end())
          return collapse.emitError("gatec: a view of an unknown buffer");
        HostBuffer view{it->second.pointer, {}};
        for (const ReassociationIndices &group :
             collapse.getReassociationIndices()) {
          std::vector<std::string> factors;
          for (int64_t d : group)
            factors.push_back(it->second.sizes[d]);
          view.sizes.push_back(fmt::format("({})", fmt::join(factors, " * ")));
        }
        buffers[collapse.getResult()] = view;
        return success();
      })
      .Case([&](memref::ExpandShapeOp expand) -> LogicalResult {
        auto it = buffers.find(expand.getSrc());
        if (it == buffers.end())
          return expand.emitError("gatec: a view of an unknown buffer");
        HostBuffer view{it->second.pointer, {}};
        for (OpFoldResult size : expand.getMixedOutputShape()) {
          if (auto attr = dyn_cast<Attribute>(size))
            view.sizes.push_back(
                fmt::format("INT64_C({})", cast<IntegerAttr>(attr).getInt()));
          else
            view.sizes.push_back(name(cast<Value>(size)));
        }
        buffers[expand.getResult()] = view;
        return success();
      })
      .Case([&](gpu::MemsetOp memset) -> LogicalResult {
        auto it = buffers.find(memset.getDst());
        Type elem = memset.getDst().getType().getElementType();
        if (it == buffers.end() || !elem.isInteger(32) ||
            !memset.getAsyncDependencies().empty())
          return memset.emitError("gatec: unsupported gpu.memset in host code");
        std::vector<std::string> factors{"INT64_C(1)"};
        for (const std::string &size : it->second.sizes)
          factors.push_back(size);
        line("{");
        line(fmt::format("  CUresult result = cuMemsetD32Async({}, "
                         "(unsigned)(int32_t){}, (size_t)({}), stream);",
                         it->second.pointer, name(memset.getValue()),
                         fmt::join(factors, " * ")));
        line("  if (result != CUDA_SUCCESS)");
        line("    return gatec_cuda_fail(err, kernel, \"cuMemsetD32Async\", "
             "result);");
        line("}");
        return success();
      })
      .Case([&](scf::IfOp branch) -> LogicalResult {
        if (branch.getNumResults() != 0)
          return branch.emitError("gatec: an scf.if with results in host code");
        // Values of one branch are not used in the other or after it.
        line(fmt::format("if ({}) {{", name(branch.getCondition())));
        printer.indent();
        if (failed(visitBlock(*branch.thenBlock())))
          return failure();
        printer.unindent();
        if (branch.elseBlock()) {
          line("} else {");
          printer.indent();
          if (failed(visitBlock(*branch.elseBlock())))
            return failure();
          printer.unindent();
        }
        line("}");
        return success();
      })
      .Case([&](scf::YieldOp) { return success(); })
      .Case([&](memref::DeallocOp) { return success(); })
      .Case([&](func::ReturnOp) { return success(); })
      .Case([&](gpu::LaunchFuncOp l) { return launch(l); })
      .Default([&](Operation *other) {
        return other->emitError("gatec: cannot translate '")
               << other->getName() << "' into CUDA launch code";
      });
}

LogicalResult HostTranslator::launch(gpu::LaunchFuncOp op) {
  auto it = llvm::find(kernels, op.getKernelName().str());
  if (it == kernels.end())
    return op.emitError("gatec: launch of an unknown kernel");
  size_t index = it - kernels.begin();
  line("{");
  printer.indent();
  std::vector<std::string> params;
  unsigned p = 0;
  for (Value operand : op.getKernelOperands()) {
    Type type = operand.getType();
    if (auto memref = dyn_cast<MemRefType>(type)) {
      auto buf = buffers.find(operand);
      if (buf == buffers.end())
        return op.emitError("gatec: a kernel takes a buffer the host cannot "
                            "describe");
      const HostBuffer &b = buf->second;
      std::string base = fmt::format("gatec_p{}", p++);
      line(fmt::format("CUdeviceptr {}_ptr = {};", base, b.pointer));
      line(fmt::format("int64_t {}_offset = 0;", base));
      params.push_back(base + "_ptr");
      params.push_back(base + "_ptr");
      params.push_back(base + "_offset");
      int64_t rank = memref.getRank();
      if (rank > 0) {
        line(fmt::format("int64_t {}_sizes[{}] = {{{}}};", base, rank,
                         fmt::join(b.sizes, ", ")));
        line(fmt::format("int64_t {}_strides[{}];", base, rank));
        line(fmt::format("gatec_cuda_row_major({}, {}_sizes, {}_strides);",
                         rank, base, base));
        for (int64_t d = 0; d < rank; ++d)
          params.push_back(fmt::format("{}_sizes[{}]", base, d));
        for (int64_t d = 0; d < rank; ++d)
          params.push_back(fmt::format("{}_strides[{}]", base, d));
      }
      continue;
    }
    std::string base = fmt::format("gatec_p{}", p++);
    if (type.isIndex() || type.isInteger(64)) {
      line(fmt::format("int64_t {} = {};", base, name(operand)));
    } else if (type.isInteger(32)) {
      line(fmt::format("int32_t {} = (int32_t){};", base, name(operand)));
    } else if (type.isF32()) {
      line(fmt::format("float {} = {};", base, name(operand)));
    } else {
      return op.emitError("gatec: unsupported kernel argument type ") << type;
    }
    params.push_back(base);
  }
  std::vector<std::string> addresses;
  for (const std::string &param : params)
    addresses.push_back("&" + param);
  if (addresses.empty())
    addresses.push_back("nullptr");
  line(fmt::format("void *gatec_params[] = {{{}}};",
                   fmt::join(addresses, ", ")));
  gpu::KernelDim3 grid = op.getGridSizeOperandValues();
  gpu::KernelDim3 block = op.getBlockSizeOperandValues();
  line(fmt::format("int gatec_rc = gatec_cuda_launch(gatec_fn[{}], \"{}\", {}, "
                   "{}, {}, {}, {}, {}, stream, gatec_params, kernel, err);",
                   index, kernels[index], name(grid.x), name(grid.y),
                   name(grid.z), name(block.x), name(block.y), name(block.z)));
  line("if (gatec_rc != GATEC_OK)");
  line("  return gatec_rc;");
  printer.unindent();
  line("}");
  return success();
}

} // namespace

FailureOr<gatec::CUDAHostCode> gatec::translateCUDAHostCode(ModuleOp lowered) {
  CUDAHostCode code;
  lowered.walk([&](gpu::LaunchFuncOp op) {
    std::string kernel = op.getKernelName().str();
    if (!llvm::is_contained(code.kernelNames, kernel))
      code.kernelNames.push_back(kernel);
  });
  bool ok = true;
  for (auto func : lowered.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    FailureOr<std::string> body =
        HostTranslator(func, code.kernelNames).translate();
    if (failed(body)) {
      ok = false;
      continue;
    }
    code.launchers[func.getSymName()] = *body;
  }
  if (!ok)
    return failure();
  return code;
}
