//===- SemaGate.cpp - gate(...) in .gate sema -----------------------------===//
//
// Part of gatec. Checks a call of gate, the gated activation that becomes
// gate.gate or gate.fused_gate.
//
//===----------------------------------------------------------------------===//

#include "Frontend/SemaImpl.h"

using namespace gatec;
using namespace gatec::sema;

//===----------------------------------------------------------------------===//
// gate(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkGate(const CallExprAST &call, CallInfo &callInfo) {
  const auto &args = call.getArgs();
  bool fused = args.size() == 1;
  callInfo.fusedGate = fused;
  bool ok = true;

  std::optional<CheckedType> x = tensorArg(call, 0, fused ? "xg" : "x");
  std::optional<CheckedType> g;
  if (!fused)
    g = tensorArg(call, 1, "the gate g");
  ok = x.has_value() && (fused || g.has_value());

  const KeywordArgAST *act = findKeyword(call, "act");
  if (!act) {
    diag.error(call.getLoc(), "'gate' needs an activation: act = " +
                                  EnumInfo<gate::Activation>::list());
    ok = false;
  } else if (std::optional<gate::Activation> a =
                 enumKeyword<gate::Activation>(*act)) {
    callInfo.activation = *a;
  } else {
    ok = false;
  }
  if (const KeywordArgAST *clamp = findKeyword(call, "clamp")) {
    if (std::optional<float> limit = f32Keyword(*clamp, /*positive=*/true))
      callInfo.clampLimit = *limit;
    else
      ok = false;
  }
  std::optional<gate::Granularity> explicitGranularity;
  if (const KeywordArgAST *kw = findKeyword(call, "granularity")) {
    if (fused) {
      diag.error(kw->loc, "'granularity' applies to gate(x, g) with two "
                          "operands; the fused form gate(xg, ...) is "
                          "elementwise");
      ok = false;
    } else if (!(explicitGranularity = enumKeyword<gate::Granularity>(*kw))) {
      ok = false;
    }
  }
  if (const KeywordArgAST *kw = findKeyword(call, "half")) {
    if (!fused) {
      diag.error(kw->loc, "'half' applies to the fused form gate(xg, ...) "
                          "with one operand");
      ok = false;
    } else if (std::optional<gate::GateHalf> half =
                   enumKeyword<gate::GateHalf>(*kw)) {
      callInfo.gateHalf = *half;
    } else {
      ok = false;
    }
  }
  if (!ok)
    return invalid();

  SMLoc loc = call.getLoc();
  if (!requireFloat(*x, args[0]->getLoc(), "'gate'"))
    return invalid();
  if (x->getRank() == 0) {
    diag.error(args[0]->getLoc(),
               "'gate' needs a tensor of rank 1 or more, got " +
                   formatType(*x));
    return invalid();
  }

  if (fused) {
    const Dim &last = x->dims.back();
    std::optional<int64_t> size = valueOf(last);
    if (!size || *size % 2 != 0) {
      diag.error(args[0]->getLoc(),
                 "the fused gate(xg, ...) splits the last dimension into two "
                 "equal halves, so it must be an even literal size, got " +
                     describe(last) + " in " + formatType(*x));
      return invalid();
    }
    CheckedType out = *x;
    out.dims.back() = Dim::getStatic(*size / 2);
    return tensor(std::move(out));
  }

  if (x->dtype != g->dtype) {
    diag.error(args[1]->getLoc(),
               "the gate g must have the dtype of x: x is " + formatType(*x) +
                   ", g is " + formatType(*g) + "; convert it with cast(g, " +
                   stringifyDType(x->dtype) + ")");
    return invalid();
  }
  if (g->getRank() != x->getRank()) {
    diag.error(args[1]->getLoc(),
               "the gate g must have the shape of x " + formatType(*x) +
                   " (elementwise) or that shape with a last dimension of 1 "
                   "(headwise), got " +
                   formatType(*g));
    return invalid();
  }
  // Headwise when g ends in a literal 1 that x does not have.
  bool gEndsInOne = valueOf(g->dims.back()) == 1;
  gate::Granularity granularity = explicitGranularity ? *explicitGranularity
                                  : gEndsInOne && valueOf(x->dims.back()) != 1
                                      ? gate::Granularity::headwise
                                      : gate::Granularity::elementwise;
  callInfo.granularity = granularity;
  unsigned rank = x->getRank();
  if (granularity == gate::Granularity::headwise && !gEndsInOne) {
    diag.error(args[1]->getLoc(),
               "a headwise gate g must end in a dimension of 1, broadcast over "
               "x's last dimension; got " +
                   formatType(*g) + " for x " + formatType(*x));
    return invalid();
  }
  unsigned checkedDims =
      granularity == gate::Granularity::headwise ? rank - 1 : rank;
  for (unsigned i = 0; i < checkedDims; ++i)
    if (!unify(g->dims[i], x->dims[i], loc,
               "the gate g must have the shape of x" +
                   Twine(granularity == gate::Granularity::headwise
                             ? " (with a last dimension of 1)"
                             : ""),
               "dimension " + Twine(i) + " of g",
               "dimension " + Twine(i) + " of x"))
      return invalid();
  return tensor(*x);
}
