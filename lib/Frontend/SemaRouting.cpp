//===- SemaRouting.cpp - route(...) and dispatch(...) in sema -------------===//
//
// Part of gatec. Checks the mixture-of-experts calls: route, which becomes
// gate.router, and dispatch, which becomes gate.dispatch.
//
//===----------------------------------------------------------------------===//

#include "Frontend/SemaImpl.h"

#include "gatec/Dialect/Gate/OperandDims.h"

#include "llvm/Support/CheckedArithmetic.h"

using namespace gatec;
using namespace gatec::sema;

//===----------------------------------------------------------------------===//
// route(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkRoute(const CallExprAST &call, CallInfo &callInfo) {
  const auto &args = call.getArgs();
  SMLoc loc = call.getLoc();
  std::optional<CheckedType> logits = tensorArg(call, 0, "the logits");
  bool ok = logits.has_value();

  const KeywordArgAST *kKw = findKeyword(call, "k");
  const KeywordArgAST *scoreKw = findKeyword(call, "score");
  if (!kKw || !scoreKw) {
    diag.error(loc,
               Twine("'route' needs ") +
                   (!kKw ? "'k = <experts per token>'" : "") +
                   (!kKw && !scoreKw ? " and " : "") +
                   (!scoreKw ? "'score = softmax' or 'score = sigmoid'" : ""));
    ok = false;
  }
  std::optional<int64_t> k;
  if (kKw)
    ok &= (k = intKeyword(*kKw, 1, kMaxIntKeyword)).has_value();
  if (scoreKw) {
    std::optional<gate::Scoring> s = enumKeyword<gate::Scoring>(*scoreKw);
    ok &= s.has_value();
    if (s)
      callInfo.scoring = *s;
  }
  if (const KeywordArgAST *kw = findKeyword(call, "renormalize")) {
    std::optional<bool> b = boolKeyword(*kw);
    ok &= b.has_value();
    if (b)
      callInfo.renormalize = *b;
  }
  std::optional<CheckedType> bias;
  if (const KeywordArgAST *kw = findKeyword(call, "bias")) {
    ok &= (bias = tensorKeyword(*kw)).has_value();
    callInfo.selectionBias = kw->value.get();
  }
  const KeywordArgAST *groupsKw = findKeyword(call, "groups");
  const KeywordArgAST *topkGroupsKw = findKeyword(call, "topk_groups");
  const KeywordArgAST *groupScoreKw = findKeyword(call, "group_score");
  std::optional<int64_t> groups, topkGroups;
  if (groupsKw)
    ok &= (groups = intKeyword(*groupsKw, 1, kMaxIntKeyword)).has_value();
  if (topkGroupsKw)
    ok &=
        (topkGroups = intKeyword(*topkGroupsKw, 1, kMaxIntKeyword)).has_value();
  if (groupScoreKw) {
    std::optional<gate::GroupScore> gs =
        enumKeyword<gate::GroupScore>(*groupScoreKw);
    ok &= gs.has_value();
    if (gs)
      callInfo.groupScore = *gs;
  }
  // Grouped selection is all or nothing: half of it is always a mistake.
  if (groupsKw && !topkGroupsKw) {
    diag.error(groupsKw->loc, "'groups' needs 'topk_groups', the number of "
                              "groups that stay eligible");
    ok = false;
  }
  for (const KeywordArgAST *kw : {topkGroupsKw, groupScoreKw})
    if (kw && !groupsKw) {
      diag.error(kw->loc, "'" + kw->name +
                              "' needs 'groups', the number of "
                              "expert groups");
      ok = false;
    }
  if (const KeywordArgAST *kw = findKeyword(call, "scale")) {
    std::optional<float> s = f32Keyword(*kw, /*positive=*/true);
    ok &= s.has_value();
    if (s)
      callInfo.routedScalingFactor = *s;
  }
  const KeywordArgAST *capacityKw = findKeyword(call, "capacity");
  if (capacityKw) {
    std::optional<float> c = f32Keyword(*capacityKw, /*positive=*/true);
    ok &= c.has_value();
    callInfo.capacityFactor = c;
  }
  if (const KeywordArgAST *kw = findKeyword(call, "drop")) {
    if (!capacityKw) {
      diag.error(kw->loc, "'drop' needs 'capacity': without a capacity no "
                          "assignment is dropped");
      ok = false;
    } else if (std::optional<gate::DropPolicy> d =
                   enumKeyword<gate::DropPolicy>(*kw)) {
      callInfo.dropPolicy = *d;
    } else {
      ok = false;
    }
  }
  if (!ok)
    return invalid();

  SMLoc logitsLoc = args[0]->getLoc();
  if (!requireFloat(*logits, logitsLoc, "'route'"))
    return invalid();
  if (logits->getRank() != 2) {
    diag.error(logitsLoc,
               "the router logits must be " +
                   gate::shapes::format(gate::shapes::kRouterLogits) +
                   " (tokens x experts), got " + formatType(*logits));
    return invalid();
  }
  const Dim &E = logits->dims[1];
  std::optional<int64_t> numExperts = valueOf(E);
  if (!numExperts) {
    diag.error(logitsLoc, "'route' needs a literal number of experts (the "
                          "last dimension of the logits), got " +
                              describe(E));
    return invalid();
  }
  if (*k > *numExperts) {
    diag.error(kKw->value->getLoc(),
               "'k' must be between 1 and the number of experts (" +
                   Twine(*numExperts) + "), got " + Twine(*k));
    return invalid();
  }
  callInfo.topK = *k;
  if (bias) {
    SMLoc biasLoc = callInfo.selectionBias->getLoc();
    if (!requireFloat(*bias, biasLoc, "the bias of 'route'"))
      return invalid();
    if (bias->getRank() != 1) {
      diag.error(biasLoc, "the selection bias must be " +
                              gate::shapes::format(gate::shapes::kRouterBias) +
                              ", one per expert, got " + formatType(*bias));
      return invalid();
    }
    if (!unify(bias->dims[0], E, biasLoc,
               "the selection bias must be " +
                   gate::shapes::format(gate::shapes::kRouterBias) +
                   ", one per expert",
               "its size", "the number of experts E"))
      return invalid();
  }
  if (groups) {
    if (*numExperts % *groups != 0) {
      diag.error(groupsKw->value->getLoc(),
                 "'groups' must divide the number of experts (" +
                     Twine(*numExperts) + "), got " + Twine(*groups));
      return invalid();
    }
    if (*topkGroups > *groups) {
      diag.error(topkGroupsKw->value->getLoc(),
                 "'topk_groups' must be between 1 and 'groups' (" +
                     Twine(*groups) + "), got " + Twine(*topkGroups));
      return invalid();
    }
    int64_t groupSize = *numExperts / *groups;
    if (*groups > 1 && callInfo.groupScore == gate::GroupScore::sum_top2 &&
        groupSize < 2) {
      diag.error(groupsKw->value->getLoc(),
                 "group_score sum_top2 needs groups of at least 2 experts, "
                 "but " +
                     Twine(*numExperts) + " experts in " + Twine(*groups) +
                     " groups makes groups of " + Twine(groupSize));
      return invalid();
    }
    if (*k > *topkGroups * groupSize) {
      diag.error(kKw->value->getLoc(), "'k' is " + Twine(*k) +
                                           " but only topk_groups * (E / "
                                           "groups) = " +
                                           Twine(*topkGroups * groupSize) +
                                           " experts stay eligible");
      return invalid();
    }
    callInfo.numGroups = *groups;
    callInfo.topkGroups = *topkGroups;
  }

  const Dim &T = logits->dims[0];
  CheckedType weights, experts;
  weights.dtype = DType::f32;
  weights.dims = {T, Dim::getStatic(*k)};
  experts.dtype = DType::i32;
  experts.dims = {T, Dim::getStatic(*k)};
  ExprInfo value;
  value.kind = ExprInfo::Kind::Multi;
  value.types = {weights, experts};
  return value;
}

//===----------------------------------------------------------------------===//
// dispatch(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkDispatch(const CallExprAST &call, CallInfo &callInfo) {
  const auto &args = call.getArgs();
  std::optional<CheckedType> experts = tensorArg(call, 0, "the experts");
  bool ok = experts.has_value();
  const KeywordArgAST *numKw = findKeyword(call, "num_experts");
  std::optional<int64_t> numExperts, block = 64;
  if (!numKw) {
    diag.error(call.getLoc(), "'dispatch' needs 'num_experts = <E>'");
    ok = false;
  } else {
    ok &= (numExperts = intKeyword(*numKw, 1, kMaxIntKeyword)).has_value();
  }
  if (const KeywordArgAST *kw = findKeyword(call, "block"))
    ok &= (block = intKeyword(*kw, 1, kMaxIntKeyword)).has_value();
  if (!ok)
    return invalid();
  if (experts->dtype != DType::i32 || experts->getRank() != 2) {
    diag.error(args[0]->getLoc(), "'dispatch' needs the i32[T, k] expert "
                                  "indices that route gives, got " +
                                      formatType(*experts));
    return invalid();
  }
  callInfo.numExperts = *numExperts;
  callInfo.blockSize = *block;

  const Dim &T = experts->dims[0], &k = experts->dims[1];
  Dim length = Dim::getDynamic(), blocks = Dim::getDynamic();
  // The dialect's worst-case length, in gate.shape so that a caller can
  // size the outputs up front.
  if (!T.isDynamic() && !k.isDynamic()) {
    auto resolved = [&](const Dim &d) {
      std::optional<int64_t> v = valueOf(d);
      return v ? Dim::getStatic(*v) : d;
    };
    for (Dim *d : {&length, &blocks}) {
      d->formulaDims = {resolved(T), resolved(k)};
      d->formulaConstants = {*numExperts, *block};
    }
    length.formula = Dim::Formula::SortedLength;
    blocks.formula = Dim::Formula::SortedBlocks;
  }
  std::optional<int64_t> tokens = valueOf(T), slots = valueOf(k);
  if (tokens && slots) {
    // The worst case of the dialect's formula; it must fit an i32 index.
    std::optional<int64_t> pairs = llvm::checkedMul(*tokens, *slots);
    std::optional<int64_t> padding = llvm::checkedMul(*numExperts, *block - 1);
    std::optional<int64_t> worst =
        pairs && padding ? llvm::checkedAdd(*pairs, *padding) : std::nullopt;
    if (!worst || *worst > kMaxIntKeyword) {
      diag.error(call.getLoc(), "'dispatch' of " + formatType(*experts) +
                                    " needs more than 2^31 slots; i32 "
                                    "indices cannot address them");
      return invalid();
    }
    int64_t l =
        mlir::gate::DispatchOp::getSortedLength(*pairs, *numExperts, *block);
    length = Dim::getStatic(l);
    blocks = Dim::getStatic(l / *block);
  }
  auto i32 = [](llvm::SmallVector<Dim, 4> dims) {
    CheckedType t;
    t.dtype = DType::i32;
    t.dims = std::move(dims);
    return t;
  };
  ExprInfo value;
  value.kind = ExprInfo::Kind::Multi;
  value.types = {i32({length}), i32({blocks}),
                 i32({Dim::getStatic(*numExperts + 1)}),
                 i32({Dim::getStatic(*numExperts)}), i32({T, k})};
  return value;
}
