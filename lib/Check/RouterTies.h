//===- RouterTies.h - Router choices at near ties ---------------*- C++ -*-===//
//
// Part of gatec. A compiled router computes its scores in f32 (the op's
// contract) from logits that a kernel may round differently from the oracle
// (an f32-accumulated projection stored as bf16 can land one unit of bf16
// away from the oracle's correctly rounded value). Two experts whose scores
// lie that close can then be ranked either way, and the weights move with
// the logits, without any error in the kernel. This accepts another choice
// only where the oracle's own scores allow it, evaluates the oracle again on
// the kernel's choices, so that everything downstream (weights, dispatch
// metadata) is still checked, and bounds each weight by what the rounding
// of the logits allows.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_CHECK_ROUTERTIES_H
#define GATEC_LIB_CHECK_ROUTERTIES_H

#include "gatec/Reference/Interpreter.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mlir::func {
class FuncOp;
} // namespace mlir::func

namespace gatec::detail {

struct RouterComparison {
  /// Compare with `expected` and `bounds` instead of the oracle's results:
  /// some router choice differs from the oracle's at a near tie, or some
  /// weights may move with the rounding of their logits.
  bool applies = false;
  /// The oracle's results, evaluated on the kernel's router choices.
  std::vector<ref::TensorValue> expected;
  /// Per result index: for each element, the interval [lo, hi] its value
  /// may take when every logit of its router moves to a neighbour in the
  /// logits' type (router weights the kernel returns, of logits that
  /// may differ; see RouterTies.cpp).
  std::map<unsigned, std::vector<std::pair<double, double>>> bounds;
  /// One line per router with accepted ties, naming them.
  std::vector<std::string> notes;
  /// Why a difference is not a near tie (then `applies` is false).
  std::string failure;
};

/// What the routers of `func` allow the kernel's results to be. `func` is
/// the kernel as the oracle evaluated it on `inputs`, giving `oracle` and
/// recording `traces` (RouterHooks::trace); `kernelOutput(i)` is the
/// kernel's result `i`, element by element. A router's choices are read from
/// its experts result, or from the pair_positions and expert_offsets of a
/// gate.dispatch of them, whichever the kernel returns.
RouterComparison
compareRouters(mlir::func::FuncOp func, llvm::ArrayRef<ref::TensorValue> inputs,
               llvm::ArrayRef<ref::TensorValue> oracle,
               llvm::ArrayRef<ref::RouterTrace> traces,
               llvm::function_ref<std::vector<double>(unsigned)> kernelOutput);

} // namespace gatec::detail

#endif // GATEC_LIB_CHECK_ROUTERTIES_H
