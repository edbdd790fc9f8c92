//===- SemaConv.cpp - conv(...) in .gate sema -----------------------------===//
//
// Part of gatec. Checks a call of conv, the causal depthwise convolution that
// becomes gate.causal_conv1d.
//
//===----------------------------------------------------------------------===//

#include "Frontend/SemaImpl.h"

#include "gatec/Dialect/Gate/OperandDims.h"

using namespace gatec;
using namespace gatec::sema;

//===----------------------------------------------------------------------===//
// conv(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkConv(const CallExprAST &call, CallInfo &callInfo,
                            unsigned wanted) {
  const auto &args = call.getArgs();
  SMLoc loc = call.getLoc();
  std::optional<CheckedType> x = tensorArg(call, 0, "x");
  std::optional<CheckedType> w = tensorArg(call, 1, "the weight");
  bool ok = x && w;

  callInfo.activation = gate::Activation::identity;
  if (const KeywordArgAST *kw = findKeyword(call, "act")) {
    if (std::optional<gate::Activation> a = enumKeyword<gate::Activation>(*kw))
      callInfo.activation = *a;
    else
      ok = false;
  }
  std::optional<CheckedType> bias, initial, cu;
  const KeywordArgAST *initialKw = findKeyword(call, "initial");
  if (const KeywordArgAST *kw = findKeyword(call, "bias")) {
    bias = tensorKeyword(*kw);
    ok &= bias.has_value();
    callInfo.convBias = kw->value.get();
  }
  if (initialKw) {
    initial = tensorKeyword(*initialKw);
    ok &= initial.has_value();
    callInfo.initialState = initialKw->value.get();
  }
  if (const KeywordArgAST *kw = findKeyword(call, "cu_seqlens")) {
    cu = tensorKeyword(*kw);
    ok &= cu.has_value();
    callInfo.cuSeqlens = kw->value.get();
  }
  std::optional<CheckedType> pool, slots;
  ok &= parseStatePool(call, callInfo, wanted, "conv",
                       gate::shapes::format(gate::shapes::kConvStateRow, "P"),
                       "y", initial.has_value(), pool, slots);
  if (!ok)
    return invalid();

  // x: [B, T, C]; weight: [C, W] with a literal W (the taps are unrolled).
  namespace shapes = gate::shapes;
  const std::string weightShape = shapes::format(shapes::kConvWeight),
                    biasShape = shapes::format(shapes::kConvBias);
  if (!requireFloat(*x, args[0]->getLoc(), "'conv'") ||
      !requireFloat(*w, args[1]->getLoc(), "the weight of 'conv'"))
    return invalid();
  if (x->getRank() != 3) {
    diag.error(args[0]->getLoc(), "conv's x must be " +
                                      shapes::format(shapes::kConvX) +
                                      ", got " + formatType(*x));
    return invalid();
  }
  const Dim &B = x->dims[0], &C = x->dims[2];
  if (w->getRank() != 2) {
    diag.error(args[1]->getLoc(), "conv's weight must be " + weightShape +
                                      " (a filter of width W per channel), "
                                      "got " +
                                      formatType(*w));
    return invalid();
  }
  const int64_t maxWidth = gate::CausalConv1dOp::kMaxWidth;
  std::optional<int64_t> width = valueOf(w->dims[1]);
  if (!width || *width < 1 || *width > maxWidth) {
    diag.error(args[1]->getLoc(),
               "conv needs a literal kernel width W between 1 and " +
                   Twine(maxWidth) + " (the weight's last dimension), got " +
                   describe(w->dims[1]));
    return invalid();
  }
  if (!unify(w->dims[0], C, args[1]->getLoc(),
             "the weight must be " + weightShape + " with x's channels C",
             "its C", "x's C"))
    return invalid();
  if (bias) {
    SMLoc biasLoc = callInfo.convBias->getLoc();
    if (!requireFloat(*bias, biasLoc, "the bias of 'conv'"))
      return invalid();
    if (bias->getRank() != 1) {
      diag.error(biasLoc, "conv's bias must be " + biasShape + ", got " +
                              formatType(*bias));
      return invalid();
    }
    if (!unify(bias->dims[0], C, biasLoc,
               "the bias must be " + biasShape + " with x's channels C",
               "its C", "x's C"))
      return invalid();
  }

  // N, the number of sequences (and of states): B, or len(cu_seqlens) - 1.
  std::optional<Dim> n = checkCuSeqlens(cu, callInfo.cuSeqlens, B, "x");
  if (!n)
    return invalid();
  Dim numSeqs = *n;

  // States hold the last W - 1 inputs, in x's dtype; width 1 has none.
  std::string stateType = stringifyDType(x->dtype).str() +
                          shapes::format(shapes::kConvStateRow, "N");
  if (initial) {
    SMLoc sLoc = callInfo.initialState->getLoc();
    if (*width == 1) {
      diag.error(initialKw->loc, "a width-1 conv reads no earlier inputs and "
                                 "keeps no state: drop 'initial'");
      return invalid();
    }
    if (initial->dtype != x->dtype || initial->getRank() != 3) {
      diag.error(sLoc, "the initial conv state must be " + stateType +
                           " (the last W - 1 inputs, in x's dtype), got " +
                           formatType(*initial));
      return invalid();
    }
    if (cu && !checkStatesPerSequence(initial->dims[0], numSeqs, *cu,
                                      *callInfo.cuSeqlens, sLoc,
                                      "the initial conv state"))
      return invalid();
    Dim taps = Dim::getStatic(*width - 1);
    const Dim *expect[] = {&numSeqs, &C, &taps};
    llvm::SmallVector<StringRef, 5> stateNames =
        shapes::refs(shapes::kConvStateRow, "N");
    for (unsigned d = 0; d < 3; ++d)
      if (!unify(initial->dims[d], *expect[d], sLoc,
                 "the initial conv state must be " + stateType +
                     " (W = " + Twine(*width) + ")",
                 "its " + stateNames[d], "the conv's " + stateNames[d]))
        return invalid();
    if (numSeqs.isDynamic())
      numSeqs = initial->dims[0];
  }
  if (pool) {
    if (*width == 1) {
      diag.error(callInfo.statePool->getLoc(),
                 "a width-1 conv reads no earlier inputs and keeps no state: "
                 "drop 'pool' and 'slots'");
      return invalid();
    }
    Dim taps = Dim::getStatic(*width - 1);
    if (!checkStatePool(callInfo, *pool, *slots, numSeqs, x->dtype, {&C, &taps},
                        gate::shapes::kConvStateRow, "conv",
                        stringifyDType(x->dtype)))
      return invalid();
  }

  CheckedType y = *x;
  ExprInfo value = tensor(std::move(y));
  if (wanted >= 2) {
    if (*width == 1) {
      diag.error(loc, "a width-1 conv reads no earlier inputs and keeps no "
                      "state: bind y alone");
      return invalid();
    }
    CheckedType state;
    state.dtype = x->dtype;
    state.dims = {numSeqs, C, Dim::getStatic(*width - 1)};
    value.kind = ExprInfo::Kind::Multi;
    value.types.push_back(std::move(state));
    callInfo.withFinalState = true;
  }
  return value;
}
