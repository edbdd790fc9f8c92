//===- SemaShapes.cpp - Sizes and shapes in .gate sema --------------------===//
//
// Part of gatec. How sema reasons about sizes: a symbol meeting a literal is
// bound to it, two sizes that must agree are unified (with notes at where each
// comes from), shapes broadcast numpy-style, and reshape(...) and
// broadcast(...) are checked and planned.
//
//===----------------------------------------------------------------------===//

#include "Frontend/SemaImpl.h"

#include "llvm/Support/CheckedArithmetic.h"

#include <vector>

using namespace gatec;
using namespace gatec::sema;

//===----------------------------------------------------------------------===//
// Dimensions
//===----------------------------------------------------------------------===//

std::optional<int64_t> Checker::valueOf(const Dim &dim) const {
  if (dim.isStatic())
    return dim.size;
  if (dim.isSymbol()) {
    auto it = info.symbols.find(dim.symbol);
    if (it != info.symbols.end() && it->second.value)
      return *it->second.value + dim.offset;
  }
  return std::nullopt;
}

SMLoc Checker::valueLocOf(const Dim &dim) const {
  if (dim.isSymbol()) {
    auto it = info.symbols.find(dim.symbol);
    if (it != info.symbols.end() && it->second.value)
      return it->second.valueLoc;
  }
  return dim.loc;
}

std::string Checker::describe(const Dim &dim) const {
  if (dim.isStatic())
    return std::to_string(dim.size);
  if (dim.isDynamic())
    return "a size known only at run time";
  if (std::optional<int64_t> value = valueOf(dim))
    return formatSymbol(dim) + " (= " + std::to_string(*value) + ")";
  return formatSymbol(dim);
}

void Checker::noteOrigin(const Dim &dim) {
  if (dim.isSymbol()) {
    auto it = info.symbols.find(dim.symbol);
    if (it != info.symbols.end() && it->second.value) {
      diag.note(it->second.boundAt, dim.symbol + " was bound to " +
                                        Twine(*it->second.value) + " here");
      return;
    }
  }
  if (dim.loc.isValid())
    diag.note(dim.loc, describe(dim) + " comes from here");
}

bool Checker::unify(const Dim &a, const Dim &b, SMLoc at, const Twine &context,
                    const Twine &aWhat, const Twine &bWhat) {
  // A size known only at run time (dispatch's padded length with a
  // symbolic T) cannot be shown equal to anything, itself included: the
  // kernel would index one tensor by the other's size unchecked.
  if (a.isDynamic() || b.isDynamic()) {
    diag.error(at, context + ": " + aWhat + " is " + describe(a) + " and " +
                       bWhat + " is " + describe(b) +
                       "; gatec cannot show that they are equal");
    return false;
  }
  std::optional<int64_t> va = valueOf(a), vb = valueOf(b);
  if (va && vb && *va == *vb)
    return true;
  if (a.isSameSymbol(b))
    return true;
  // `N + c` equal to a literal binds N to the literal minus c, which must
  // be a size.
  auto bind = [&](const Dim &symbol, int64_t value, SMLoc valueLoc) {
    if (value - symbol.offset < 0)
      return false;
    SymbolInfo &sym = info.symbols[symbol.symbol];
    sym.value = value - symbol.offset;
    sym.valueLoc = valueLoc;
    sym.boundAt = at;
    return true;
  };
  if (va && !vb && b.isSymbol() && bind(b, *va, valueLocOf(a)))
    return true;
  if (vb && !va && a.isSymbol() && bind(a, *vb, valueLocOf(b)))
    return true;
  std::string hint;
  if (a.isSymbol() && b.isSymbol() && !va && !vb) {
    if (a.symbol == b.symbol)
      hint = "; they differ by a constant, so they are never equal";
    else if (a.offset != 0 || b.offset != 0)
      // a + ca == b + cb: declare a as b + (cb - ca) where a is declared.
      hint = "; if they are equal, declare " + a.symbol + " as " +
             formatSymbol(Dim::getSymbol(b.symbol, {}, b.offset - a.offset));
    else
      hint = "; different symbols may have different sizes: write the same "
             "symbol for both";
  }
  diag.error(at, context + ": " + aWhat + " is " + describe(a) + " but " +
                     bWhat + " is " + describe(b) + hint);
  noteOrigin(a);
  if (a.loc != b.loc || a.kind != b.kind)
    noteOrigin(b);
  return false;
}

std::optional<llvm::SmallVector<Dim, 4>>
Checker::broadcast(const CheckedType &a, const CheckedType &b, SMLoc at,
                   StringRef opName) {
  unsigned ra = a.getRank(), rb = b.getRank(), rank = std::max(ra, rb);
  llvm::SmallVector<Dim, 4> out(rank);
  bool ok = true;
  for (unsigned i = 0; i < rank; ++i) {
    const Dim *da = i < ra ? &a.dims[ra - 1 - i] : nullptr;
    const Dim *db = i < rb ? &b.dims[rb - 1 - i] : nullptr;
    Dim &o = out[rank - 1 - i];
    if (!da || !db) {
      o = da ? *da : *db;
      continue;
    }
    // Only a literal 1 (or a symbol bound to 1) broadcasts.
    std::optional<int64_t> va = valueOf(*da), vb = valueOf(*db);
    if (va == 1 && vb != 1) {
      o = *db;
      continue;
    }
    if (vb == 1) {
      o = *da;
      continue;
    }
    if (!unify(*da, *db, at,
               "'" + opName + "' cannot broadcast " + formatType(a) + " with " +
                   formatType(b) +
                   " (dimensions align from the right; only a 1 stretches)",
               "dimension " + Twine(ra - 1 - i) + " of the left operand",
               "dimension " + Twine(rb - 1 - i) + " of the right operand")) {
      ok = false;
      break;
    }
    o = da->isStatic() || !db->isStatic() ? *da : *db;
  }
  if (!ok)
    return std::nullopt;
  return out;
}

std::optional<Dim> Checker::checkListDim(const ExprAST &element) {
  if (const auto *name = llvm::dyn_cast<NameExprAST>(&element)) {
    auto it = info.symbols.find(name->getName());
    if (it != info.symbols.end() && it->second.paramIndex >= 0)
      return Dim::getSymbol(name->getName(), element.getLoc());
    if (!vars.count(name->getName())) {
      std::vector<StringRef> symbols;
      for (const auto &entry : info.symbols)
        if (entry.second.paramIndex >= 0)
          symbols.push_back(entry.first());
      diag.error(element.getLoc(),
                 "unknown dimension '" + name->getName() +
                     "': a symbol must appear in a parameter type first" +
                     suggest(name->getName(), symbols));
      return std::nullopt;
    }
  }
  ExprInfo value = checkExpr(element);
  if (value.isInvalid())
    return std::nullopt;
  if (!value.isConstant() || !value.constantIsInt || value.constant < 1) {
    diag.error(element.getLoc(), "expected a dimension (a symbol such as T "
                                 "or an integer >= 1)");
    return std::nullopt;
  }
  return Dim::getStatic(static_cast<int64_t>(value.constant), element.getLoc());
}

//===----------------------------------------------------------------------===//
// reshape(...) and broadcast(...)
//===----------------------------------------------------------------------===//

ExprInfo Checker::checkReshape(const CallExprAST &call, CallInfo &callInfo,
                               bool isBroadcast) {
  const auto &args = call.getArgs();
  StringRef name = call.getCallee();
  std::optional<CheckedType> x = tensorArg(call, 0, "its operand");
  const auto *list = llvm::dyn_cast<ListExprAST>(args[1].get());
  if (!list) {
    diag.error(args[1]->getLoc(), "'" + name +
                                      "' needs the new shape as a "
                                      "list such as [B, T, 16, 128]");
    if (!llvm::isa<NameExprAST>(*args[1]))
      checkExpr(*args[1]);
    return invalid();
  }
  CheckedType out;
  bool ok = x.has_value();
  for (const ExprPtr &element : list->getElements()) {
    std::optional<Dim> dim = checkListDim(*element);
    ok &= dim.has_value();
    if (dim)
      out.dims.push_back(*dim);
  }
  if (out.dims.size() > 8) {
    diag.error(list->getLoc(), "a tensor has at most 8 dimensions");
    ok = false;
  }
  if (!ok)
    return invalid();
  out.dtype = x->dtype;

  if (isBroadcast) {
    if (x->getRank() > out.getRank()) {
      diag.error(call.getLoc(),
                 "'broadcast' cannot drop dimensions: " + formatType(*x) +
                     " has more than " + formatType(out));
      return invalid();
    }
    unsigned offset = out.getRank() - x->getRank();
    for (unsigned i = 0; i < x->getRank(); ++i) {
      if (valueOf(x->dims[i]) == 1)
        continue;
      if (!unify(x->dims[i], out.dims[offset + i], call.getLoc(),
                 "'broadcast' stretches only dimensions of size 1 "
                 "(dimensions align from the right)",
                 "dimension " + Twine(i) + " of the operand",
                 "the target dimension"))
        return invalid();
    }
    return tensor(std::move(out));
  }

  std::optional<ReshapePlan> plan = planReshape(*x, out, call.getLoc());
  if (!plan)
    return invalid();
  callInfo.reshape = std::move(*plan);
  return tensor(std::move(out));
}

/// Pairs up groups of dimensions with equal products. A symbolic dimension
/// must map onto the same symbol (only literal sizes split or merge);
/// dimensions of size 1 join a neighbouring group.
std::optional<ReshapePlan>
Checker::planReshape(const CheckedType &from, const CheckedType &to, SMLoc at) {
  auto fail = [&](const Twine &why) -> std::optional<ReshapePlan> {
    diag.error(at, "cannot reshape " + formatType(from) + " to " +
                       formatType(to) + ": " + why);
    return std::nullopt;
  };
  llvm::SmallVector<int64_t> src, dst;
  for (unsigned i = 0; i < from.getRank(); ++i)
    if (valueOf(from.dims[i]) != 1)
      src.push_back(i);
  for (unsigned i = 0; i < to.getRank(); ++i)
    if (valueOf(to.dims[i]) != 1)
      dst.push_back(i);

  // Group the dimensions that are not 1; record each group's first index.
  llvm::SmallVector<std::pair<int64_t, int64_t>> starts;
  size_t i = 0, j = 0;
  while (i < src.size() || j < dst.size()) {
    if (i == src.size() || j == dst.size())
      return fail("they hold different numbers of elements");
    const Dim &a = from.dims[src[i]], &b = to.dims[dst[j]];
    starts.push_back({src[i], dst[j]});
    std::optional<int64_t> va = valueOf(a), vb = valueOf(b);
    if (!va || !vb) {
      if (a.isSameSymbol(b) && !va && !vb) {
        ++i, ++j;
        continue;
      }
      return fail("a symbolic dimension (" + describe(va ? b : a) +
                  ") can only stay as it is; only literal sizes split or "
                  "merge");
    }
    int64_t pa = *va, pb = *vb;
    ++i, ++j;
    while (pa != pb) {
      bool growA = pa < pb;
      llvm::SmallVector<int64_t> &idx = growA ? src : dst;
      size_t &pos = growA ? i : j;
      const CheckedType &t = growA ? from : to;
      if (pos == idx.size())
        return fail("they hold different numbers of elements");
      std::optional<int64_t> next = valueOf(t.dims[idx[pos]]);
      if (!next)
        return fail("a symbolic dimension (" + describe(t.dims[idx[pos]]) +
                    ") can only stay as it is; only literal sizes split or "
                    "merge");
      std::optional<int64_t> product = llvm::checkedMul(growA ? pa : pb, *next);
      if (!product)
        return fail("the sizes overflow");
      (growA ? pa : pb) = *product;
      ++pos;
    }
  }

  ReshapePlan plan;
  if (starts.empty()) {
    // Only dimensions of size 1: everything is one group (possibly empty).
    plan.srcGroups.emplace_back();
    plan.dstGroups.emplace_back();
    for (unsigned d = 0; d < from.getRank(); ++d)
      plan.srcGroups.back().push_back(d);
    for (unsigned d = 0; d < to.getRank(); ++d)
      plan.dstGroups.back().push_back(d);
    return plan;
  }
  // Group g spans from its start (0 for the first) up to the next start, so
  // each 1 joins the group on its left (or the first group).
  auto spans = [&](bool isSrc, unsigned rank) {
    llvm::SmallVector<llvm::SmallVector<int64_t, 2>> groups;
    for (size_t g = 0; g < starts.size(); ++g) {
      int64_t begin = g == 0 ? 0 : (isSrc ? starts[g].first : starts[g].second);
      int64_t end = g + 1 == starts.size()
                        ? rank
                        : (isSrc ? starts[g + 1].first : starts[g + 1].second);
      groups.emplace_back();
      for (int64_t d = begin; d < end; ++d)
        groups.back().push_back(d);
    }
    return groups;
  };
  plan.srcGroups = spans(true, from.getRank());
  plan.dstGroups = spans(false, to.getRank());
  return plan;
}
