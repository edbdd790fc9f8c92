//===- SemaScan.cpp - scan(...) in .gate sema -----------------------------===//
//
// Part of gatec. Checks a call of scan, the linear-attention recurrence that
// becomes gate.chunked_scan: its decay, delta rule, states and chunking.
//
//===----------------------------------------------------------------------===//

#include "Frontend/SemaImpl.h"

#include "gatec/Dialect/Gate/OperandDims.h"

using namespace gatec;
using namespace gatec::sema;

//===----------------------------------------------------------------------===//
// scan(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkScan(const CallExprAST &call, CallInfo &callInfo,
                            unsigned wanted) {
  const auto &args = call.getArgs();
  SMLoc loc = call.getLoc();
  std::optional<CheckedType> q = tensorArg(call, 0, "q");
  std::optional<CheckedType> k = tensorArg(call, 1, "k");
  std::optional<CheckedType> v = tensorArg(call, 2, "v");
  bool ok = q && k && v;

  // decay = vector(g) | scalar(a) | fixed(a) | none
  std::optional<CheckedType> decay;
  SMLoc decayLoc;
  const KeywordArgAST *decayKw = findKeyword(call, "decay");
  if (!decayKw) {
    diag.error(loc, "'scan' needs 'decay = vector(g)', 'scalar(a)', "
                    "'fixed(a)' or 'none'");
    ok = false;
  } else {
    const ExprAST &value = *decayKw->value;
    const auto *name = llvm::dyn_cast<NameExprAST>(&value);
    const auto *form = llvm::dyn_cast<CallExprAST>(&value);
    std::optional<gate::DecayKind> kind;
    if (name && name->getName() == "none")
      kind = gate::DecayKind::none;
    else if (form && form->getCallee() != "none")
      kind = gate::symbolizeDecayKind(form->getCallee());
    if (!kind || (form && (form->getArgs().size() != 1 ||
                           !form->getKeywords().empty()))) {
      diag.error(value.getLoc(), "'decay' must be vector(g) (one log-decay "
                                 "per key channel), scalar(a) (one per token "
                                 "and head), fixed(a) (one per head) or none");
      ok = false;
    } else {
      callInfo.decayKind = *kind;
      if (form) {
        const ExprAST &operand = *form->getArgs()[0];
        ExprInfo d = checkExpr(operand);
        decayLoc = operand.getLoc();
        if (d.isTensor()) {
          decay = d.getType();
          callInfo.decay = &operand;
        } else {
          if (d.isConstant())
            diag.error(operand.getLoc(), "the decay must be a tensor");
          ok = false;
        }
      }
    }
  }

  std::optional<CheckedType> initial, cu, beta;
  if (const KeywordArgAST *kw = findKeyword(call, "delta")) {
    beta = tensorKeyword(*kw);
    ok &= beta.has_value();
    callInfo.beta = kw->value.get();
  }
  if (const KeywordArgAST *kw = findKeyword(call, "initial")) {
    initial = tensorKeyword(*kw);
    ok &= initial.has_value();
    callInfo.initialState = kw->value.get();
  }
  if (const KeywordArgAST *kw = findKeyword(call, "cu_seqlens")) {
    cu = tensorKeyword(*kw);
    ok &= cu.has_value();
    callInfo.cuSeqlens = kw->value.get();
  }
  // history = tokens | chunks: the states after every token or chunk are the
  // second result (speculative decoding, prefix caching).
  const KeywordArgAST *historyKw = findKeyword(call, "history");
  bool perToken = false;
  if (historyKw) {
    const auto *name = llvm::dyn_cast<NameExprAST>(historyKw->value.get());
    StringRef kind = name ? StringRef(name->getName()) : StringRef();
    if (kind != "tokens" && kind != "chunks") {
      diag.error(historyKw->value->getLoc(),
                 "'history' expects tokens (the state after every token) or "
                 "chunks (the state after every chunk)");
      ok = false;
    } else if (wanted != 2) {
      diag.error(historyKw->loc, "'history = " + kind +
                                     "' gives the states as a second result; "
                                     "bind two names, (o, states) = scan(...)");
      ok = false;
    } else {
      callInfo.withStateHistory = true;
      perToken = kind == "tokens";
    }
  }
  std::optional<CheckedType> pool, slots;
  ok &= parseStatePool(call, callInfo, callInfo.withStateHistory ? 1 : wanted,
                       "scan",
                       gate::shapes::format(gate::shapes::kScanStateRow, "P"),
                       "o", initial.has_value(), pool, slots);
  if (const KeywordArgAST *kw = findKeyword(call, "chunk")) {
    std::optional<int64_t> chunk = intKeyword(*kw, 1, kMaxIntKeyword);
    ok &= chunk.has_value();
    if (chunk && perToken && *chunk != 1) {
      diag.error(kw->value->getLoc(),
                 "'history = tokens' evaluates one token per chunk; drop "
                 "'chunk' or use history = chunks");
      ok = false;
    }
    if (chunk)
      callInfo.chunkSize = *chunk;
  }
  if (perToken)
    callInfo.chunkSize = 1;
  if (const KeywordArgAST *kw = findKeyword(call, "scale")) {
    std::optional<float> scale = f32Keyword(*kw, /*positive=*/false);
    ok &= scale.has_value();
    callInfo.scale = scale;
  }
  if (!ok)
    return invalid();

  // q, k: [B, T, H, K]; v: [B, T, HV, V], all of one float dtype.
  namespace shapes = gate::shapes;
  const std::string qkShape = shapes::format(shapes::kScanQK),
                    vShape = shapes::format(shapes::kScanV);
  static const char *const names[] = {"q", "k", "v"};
  const CheckedType *qkv[] = {&*q, &*k, &*v};
  for (unsigned i = 0; i < 3; ++i) {
    if (qkv[i]->getRank() != 4) {
      diag.error(args[i]->getLoc(), Twine("scan's ") + names[i] + " must be " +
                                        (i == 2 ? vShape : qkShape) + ", got " +
                                        formatType(*qkv[i]));
      return invalid();
    }
    if (!requireFloat(*qkv[i], args[i]->getLoc(), "'scan'"))
      return invalid();
  }
  for (unsigned i = 1; i < 3; ++i)
    if (qkv[i]->dtype != q->dtype) {
      diag.error(args[i]->getLoc(), Twine("scan's q, k and v must share one "
                                          "dtype: q is ") +
                                        formatType(*q) + ", " + names[i] +
                                        " is " + formatType(*qkv[i]));
      return invalid();
    }
  llvm::ArrayRef<llvm::StringLiteral> dimNames = shapes::kScanQK;
  for (unsigned d = 0; d < 4; ++d)
    if (!unify(k->dims[d], q->dims[d], args[1]->getLoc(),
               "k must have the shape of q " + qkShape, "its " + dimNames[d],
               "q's " + dimNames[d]))
      return invalid();
  for (unsigned d = 0; d < 2; ++d)
    if (!unify(v->dims[d], q->dims[d], args[2]->getLoc(),
               "v must be " + vShape + " with q's B and T",
               "its " + dimNames[d], "q's " + dimNames[d]))
      return invalid();
  // Grouped value heads: HV = G * H literal heads, value head j reading q/k
  // head j / G; otherwise v has q's heads.
  std::optional<int64_t> keyHeads = valueOf(q->dims[2]),
                         valueHeads = valueOf(v->dims[2]);
  if (keyHeads && valueHeads && *keyHeads != *valueHeads) {
    if (*keyHeads == 0 || *valueHeads % *keyHeads != 0) {
      diag.error(args[2]->getLoc(),
                 "v's heads HV (" + Twine(*valueHeads) +
                     ") must be q's heads H (" + Twine(*keyHeads) +
                     ") or a multiple of them (grouped value heads)");
      return invalid();
    }
  } else if (!unify(v->dims[2], q->dims[2], args[2]->getLoc(),
                    "v must be " + vShape +
                        " with HV q's heads H, or a literal multiple of a "
                        "literal H",
                    "its HV", "q's H")) {
    return invalid();
  }
  // Kernels are specialized for their head dimensions.
  for (auto [t, role, d] :
       {std::make_tuple(&*q, "K (q's last dimension)", 0),
        std::make_tuple(&*v, "V (v's last dimension)", 2)}) {
    if (!valueOf(t->dims[3])) {
      diag.error(args[d]->getLoc(),
                 Twine("scan needs a literal head dimension ") + role +
                     ", got " + describe(t->dims[3]));
      return invalid();
    }
  }
  // H below is the value heads HV: the decay, beta, states and o have one
  // entry per value head.
  const Dim &B = q->dims[0], &T = q->dims[1], &H = v->dims[2], &K = q->dims[3],
            &V = v->dims[3];

  if (decay) {
    if (!requireFloat(*decay, decayLoc, "the decay of 'scan'"))
      return invalid();
    llvm::SmallVector<const Dim *, 4> expect;
    std::string shape;
    switch (callInfo.decayKind) {
    case gate::DecayKind::vector:
      expect = {&B, &T, &H, &K};
      shape = shapes::format(shapes::kScanVectorDecay);
      break;
    case gate::DecayKind::scalar:
      expect = {&B, &T, &H};
      shape = shapes::format(shapes::kScanScalarDecay);
      break;
    default:
      expect = {&H};
      shape = shapes::format(shapes::kScanFixedDecay);
      break;
    }
    std::string kindName = gate::stringifyDecayKind(callInfo.decayKind).str();
    if (decay->getRank() != expect.size()) {
      diag.error(decayLoc, "a " + kindName + " decay must be " + shape +
                               ", got " + formatType(*decay));
      return invalid();
    }
    for (unsigned d = 0; d < expect.size(); ++d)
      if (!unify(decay->dims[d], *expect[d], decayLoc,
                 "a " + kindName + " decay must be " + shape,
                 "its dimension " + Twine(d), "the scan's matching dimension"))
        return invalid();
  }
  if (beta) {
    SMLoc betaLoc = callInfo.beta->getLoc();
    if (!requireFloat(*beta, betaLoc, "the delta rule's beta"))
      return invalid();
    const std::string betaShape = shapes::format(shapes::kScanBeta);
    if (beta->getRank() != 3) {
      diag.error(betaLoc, "the delta rule's beta must be " + betaShape +
                              " (one learning rate per token and value "
                              "head), got " +
                              formatType(*beta));
      return invalid();
    }
    const Dim *expect[] = {&B, &T, &H};
    for (unsigned d = 0; d < 3; ++d)
      if (!unify(beta->dims[d], *expect[d], betaLoc,
                 "the delta rule's beta must be " + betaShape,
                 "its dimension " + Twine(d), "the scan's matching dimension"))
        return invalid();
  }

  // N, the number of sequences (and of states): B, or len(cu_seqlens) - 1.
  std::optional<Dim> n = checkCuSeqlens(cu, callInfo.cuSeqlens, B, "q");
  if (!n)
    return invalid();
  Dim numSeqs = *n;
  if (initial) {
    SMLoc sLoc = callInfo.initialState->getLoc();
    const std::string stateShape =
        "f32" + shapes::format(shapes::kScanStateRow, "N");
    if (initial->dtype != DType::f32 || initial->getRank() != 4) {
      diag.error(sLoc, "the initial state must be " + stateShape + ", got " +
                           formatType(*initial));
      return invalid();
    }
    if (cu &&
        !checkStatesPerSequence(initial->dims[0], numSeqs, *cu,
                                *callInfo.cuSeqlens, sLoc, "the initial state"))
      return invalid();
    const Dim *expect[] = {&numSeqs, &H, &K, &V};
    llvm::SmallVector<StringRef, 5> stateNames =
        shapes::refs(shapes::kScanStateRow, "N");
    for (unsigned d = 0; d < 4; ++d)
      if (!unify(initial->dims[d], *expect[d], sLoc,
                 "the initial state must be " + stateShape,
                 "its " + stateNames[d], "the scan's " + stateNames[d]))
        return invalid();
    if (numSeqs.isDynamic())
      numSeqs = initial->dims[0];
  }

  // A pool holds f32 states, or bf16 ones (widened when read, rounded once
  // when written back).
  if (pool && !checkStatePool(
                  callInfo, *pool, *slots, numSeqs,
                  pool->dtype == DType::bf16 ? DType::bf16 : DType::f32,
                  {&H, &K, &V}, shapes::kScanStateRow, "scan", "f32 or bf16 "))
    return invalid();

  CheckedType o;
  o.dtype = v->dtype;
  o.dims = {B, T, H, V};
  ExprInfo value = tensor(std::move(o));
  if (callInfo.withStateHistory) {
    // [B, ceil(T / C), HV, K, V]; packed sequences start anywhere, so only
    // the per-token history has a row for each of their states.
    if (cu && !perToken) {
      diag.error(historyKw->loc,
                 "'history = chunks' needs a dense batch: packed sequences' "
                 "chunks do not start at multiples of the chunk length; use "
                 "history = tokens with cu_seqlens");
      return invalid();
    }
    Dim rows = T;
    int64_t c = callInfo.chunkSize;
    if (c != 1) {
      if (std::optional<int64_t> t = valueOf(T)) {
        rows = Dim::getStatic(gate::ChunkedScanOp::getChunkStateRows(*t, c));
      } else {
        rows = Dim::getDynamic();
        if (T.isSymbol()) {
          rows.formula = Dim::Formula::ChunkStateRows;
          rows.formulaDims = {T};
          rows.formulaConstants = {c};
        }
      }
    }
    CheckedType history;
    history.dtype = DType::f32;
    history.dims = {B, rows, H, K, V};
    value.kind = ExprInfo::Kind::Multi;
    value.types.push_back(std::move(history));
    return value;
  }
  if (wanted == 2) {
    CheckedType state;
    state.dtype = DType::f32;
    state.dims = {numSeqs, H, K, V};
    value.kind = ExprInfo::Kind::Multi;
    value.types.push_back(std::move(state));
    callInfo.withFinalState = true;
  }
  return value;
}
