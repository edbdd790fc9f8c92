//===- WidenBF16Arithmetic.cpp - bf16 arithmetic in f32 in LLVM IR --------===//
//
// Part of gatec. See WidenBF16Arithmetic.h for why it exists.
//
//===----------------------------------------------------------------------===//

#include "Target/CPU/WidenBF16Arithmetic.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/Module.h"

using namespace llvm;

/// Intrinsics that compute elementwise on their floating-point operands and
/// return their type, so that they can run in f32 on extended operands.
static bool isElementwiseMath(Intrinsic::ID id) {
  switch (id) {
  case Intrinsic::fma:
  case Intrinsic::fmuladd:
  case Intrinsic::sqrt:
  case Intrinsic::fabs:
  case Intrinsic::copysign:
  case Intrinsic::minnum:
  case Intrinsic::maxnum:
  case Intrinsic::minimum:
  case Intrinsic::maximum:
  case Intrinsic::floor:
  case Intrinsic::ceil:
  case Intrinsic::trunc:
  case Intrinsic::rint:
  case Intrinsic::nearbyint:
  case Intrinsic::round:
  case Intrinsic::roundeven:
    return true;
  default:
    return false;
  }
}

static bool needsWidening(const Instruction &inst) {
  if (!inst.getType()->getScalarType()->isBFloatTy())
    return false;
  if (isa<BinaryOperator>(inst) || isa<UnaryOperator>(inst))
    return true;
  auto *call = dyn_cast<IntrinsicInst>(&inst);
  return call && isElementwiseMath(call->getIntrinsicID());
}

bool gatec::widenBF16Arithmetic(Module &module) {
  SmallVector<Instruction *> work;
  for (Function &fn : module)
    for (Instruction &inst : instructions(fn))
      if (needsWidening(inst))
        work.push_back(&inst);

  for (Instruction *inst : work) {
    IRBuilder<> b(inst);
    Type *narrow = inst->getType();
    Type *wide = narrow->getWithNewType(b.getFloatTy());
    auto extend = [&](Value *v) { return b.CreateFPExt(v, wide); };
    Value *result;
    if (auto *binary = dyn_cast<BinaryOperator>(inst)) {
      result = b.CreateBinOp(binary->getOpcode(), extend(binary->getOperand(0)),
                             extend(binary->getOperand(1)));
    } else if (auto *unary = dyn_cast<UnaryOperator>(inst)) {
      result = b.CreateUnOp(unary->getOpcode(), extend(unary->getOperand(0)));
    } else {
      auto *call = cast<IntrinsicInst>(inst);
      SmallVector<Value *> args;
      for (Value *arg : call->args())
        args.push_back(extend(arg));
      result = b.CreateIntrinsic(wide, call->getIntrinsicID(), args);
    }
    if (auto *widened = dyn_cast<Instruction>(result))
      widened->copyIRFlags(inst);
    Value *rounded = b.CreateFPTrunc(result, narrow);
    rounded->takeName(inst);
    inst->replaceAllUsesWith(rounded);
    inst->eraseFromParent();
  }
  return !work.empty();
}
