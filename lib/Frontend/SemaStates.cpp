//===- SemaStates.cpp - Sequences and states in .gate sema ----------------===//
//
// Part of gatec. What scan(...) and conv(...) share: packed sequences
// (cu_seqlens), starting states per sequence, and state pools updated in place
// at the rows their slots name.
//
//===----------------------------------------------------------------------===//

#include "Frontend/SemaImpl.h"

#include "gatec/Dialect/Gate/OperandDims.h"

#include "llvm/ADT/STLExtras.h"

using namespace gatec;
using namespace gatec::sema;

//===----------------------------------------------------------------------===//
// Packed sequences and state pools
//===----------------------------------------------------------------------===//

std::optional<Dim>
Checker::checkCuSeqlens(const std::optional<CheckedType> &cuType,
                        const ExprAST *cuExpr, const Dim &B,
                        StringRef batchOf) {
  if (!cuType)
    return B;
  const CheckedType &cu = *cuType;
  SMLoc cuLoc = cuExpr->getLoc();
  if (cu.dtype != DType::i32 && cu.dtype != DType::i64) {
    diag.error(cuLoc, "cu_seqlens must hold i32 or i64 offsets, got " +
                          formatType(cu));
    return std::nullopt;
  }
  if (cu.getRank() != 1) {
    diag.error(cuLoc, "cu_seqlens must be [N + 1], got " + formatType(cu));
    return std::nullopt;
  }
  // The entry points check a parameter's offsets before the kernel runs
  // (docs/DSL.md); offsets computed inside the kernel would reach it
  // unchecked.
  if (parameterIndex(*cuExpr) < 0) {
    diag.error(cuLoc, "cu_seqlens must be a parameter of the kernel, so "
                      "that its offsets are checked at the call");
    return std::nullopt;
  }
  std::optional<int64_t> len = valueOf(cu.dims[0]);
  if (len && *len < 2) {
    diag.error(cuLoc, "cu_seqlens must hold at least 2 offsets (one "
                      "sequence), got " +
                          formatType(cu));
    return std::nullopt;
  }
  if (!unify(B, Dim::getStatic(1, cuLoc), cuLoc,
             "with cu_seqlens the sequences are packed along T",
             "the batch B of " + batchOf, "the required batch"))
    return std::nullopt;
  // A parameter's length is a literal or `M + c`: N is M + c - 1, which
  // every state's first dimension must then be (as a literal binds M, a
  // symbol must be the same one: `cu: i32[N + 1]` with `s0: f32[N, ...]`).
  const Dim &cuLen = cu.dims[0];
  return len ? Dim::getStatic(*len - 1)
             : Dim::getSymbol(cuLen.symbol, cuLen.loc, cuLen.offset - 1);
}

bool Checker::checkStatesPerSequence(const Dim &first, const Dim &numSeqs,
                                     const CheckedType &cu,
                                     const ExprAST &cuExpr, SMLoc at,
                                     StringRef stateWhat) {
  if (!first.isSymbol() || !numSeqs.isSymbol() ||
      first.symbol == numSeqs.symbol || valueOf(first) || valueOf(numSeqs))
    return true;
  // The kernel would take any two sizes; the sequences must match the
  // states one to one.
  Dim stated = Dim::getSymbol(first.symbol, {}, first.offset + 1);
  diag.error(at, stateWhat + " holds " + formatSymbol(first) +
                     " sequences but cu_seqlens " + formatSymbol(numSeqs) +
                     ": state the relation as " +
                     "cu: " + stringifyDType(cu.dtype).str() + "[" +
                     formatSymbol(stated) + "]");
  diag.note(cuExpr.getLoc(), "cu_seqlens is " + formatType(cu) + " here");
  return false;
}

bool Checker::parseStatePool(const CallExprAST &call, CallInfo &callInfo,
                             unsigned wanted, StringRef op, StringRef poolShape,
                             StringRef output, bool hasInitial,
                             std::optional<CheckedType> &pool,
                             std::optional<CheckedType> &slots) {
  bool ok = true;
  if (const KeywordArgAST *kw = findKeyword(call, "pool")) {
    pool = tensorKeyword(*kw);
    ok &= pool.has_value();
    callInfo.statePool = kw->value.get();
    callInfo.poolParam = parameterIndex(*callInfo.statePool);
  }
  if (const KeywordArgAST *kw = findKeyword(call, "slots")) {
    slots = tensorKeyword(*kw);
    ok &= slots.has_value();
    callInfo.stateSlots = kw->value.get();
  }
  if (!ok)
    return false;
  if (pool.has_value() != slots.has_value()) {
    diag.error(pool ? callInfo.statePool->getLoc()
                    : callInfo.stateSlots->getLoc(),
               "a state pool needs both 'pool = <states " + poolShape +
                   ">' and 'slots = <the pool row of each sequence [N]>'");
    return false;
  }
  if (pool && hasInitial) {
    diag.error(callInfo.initialState->getLoc(),
               "'initial' and 'pool' both give the " + op +
                   "'s starting states; with a pool, each sequence starts "
                   "from its slot's row");
    return false;
  }
  if (pool && wanted == 2) {
    diag.error(callInfo.statePool->getLoc(),
               "the " + op +
                   " updates its state pool in place and gives "
                   "only " +
                   output + "; bind one name");
    return false;
  }
  return true;
}

bool Checker::checkStatePool(const CallInfo &callInfo, const CheckedType &pool,
                             const CheckedType &slots, const Dim &numSeqs,
                             DType dtype, llvm::ArrayRef<const Dim *> rowDims,
                             llvm::ArrayRef<llvm::StringLiteral> rowNames,
                             StringRef op, StringRef dtypeText) {
  std::string poolShape = dtypeText.str() + gate::shapes::format(rowNames, "P");
  // The pool and the slots are parameters: the kernel writes the pool's
  // memory, and the entry points check the slots before the call.
  SMLoc poolLoc = callInfo.statePool->getLoc();
  SMLoc slotsLoc = callInfo.stateSlots->getLoc();
  if (callInfo.poolParam < 0) {
    diag.error(poolLoc, "the state pool must be a parameter of the kernel: "
                        "the kernel updates it in place");
    return false;
  }
  int slotsParam = parameterIndex(*callInfo.stateSlots);
  if (slotsParam < 0) {
    diag.error(slotsLoc, "slots must be a parameter of the kernel, so that "
                         "they are checked at the call");
    return false;
  }

  if (pool.dtype != dtype || pool.getRank() != rowDims.size() + 1) {
    diag.error(poolLoc, "the state pool must be " + poolShape + ", got " +
                            formatType(pool));
    return false;
  }
  for (unsigned d = 0; d < rowDims.size(); ++d)
    if (!unify(pool.dims[d + 1], *rowDims[d], poolLoc,
               "the state pool must be " + poolShape, "its " + rowNames[d],
               "the " + op + "'s " + rowNames[d]))
      return false;
  if ((slots.dtype != DType::i32 && slots.dtype != DType::i64) ||
      slots.getRank() != 1) {
    diag.error(slotsLoc, "slots must be i32 or i64 [N], the pool row of "
                         "each sequence, got " +
                             formatType(slots));
    return false;
  }
  if (!unify(slots.dims[0], numSeqs, slotsLoc,
             "slots must hold one pool row per sequence", "its length",
             "the number of sequences N"))
    return false;
  // The entry points check a slots parameter against its one pool's P.
  auto [known, inserted] =
      poolOfSlots.try_emplace(slotsParam, callInfo.poolParam);
  if (!inserted && known->second != callInfo.poolParam) {
    diag.error(
        slotsLoc,
        "'" + kernel.params[slotsParam].name +
            "' already indexes the "
            "pool '" +
            kernel.params[known->second].name +
            "'; give each pool its own slots parameter (a caller may pass "
            "the same array to both)");
    return false;
  }
  if (!llvm::is_contained(info.updatedParams, callInfo.poolParam))
    info.updatedParams.push_back(static_cast<unsigned>(callInfo.poolParam));
  return true;
}
