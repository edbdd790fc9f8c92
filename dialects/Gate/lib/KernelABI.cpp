//===- KernelABI.cpp - What a kernel promises its callers -----------------===//
//
// Part of gatec. #gate.dim expressions (building, evaluating, printing and
// parsing), #gate.shape, the dialect's verifier of the ABI attributes, and
// reading and writing them on a function.
//
//===----------------------------------------------------------------------===//

#include "gatec/Dialect/Gate/KernelABI.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace mlir::gate;

//===----------------------------------------------------------------------===//
// #gate.dim
//===----------------------------------------------------------------------===//

bool mlir::gate::isCIdentifier(StringRef text) {
  return !text.empty() &&
         (llvm::isAlpha(text.front()) || text.front() == '_') &&
         llvm::all_of(text,
                      [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

static bool isBinary(DimKind kind) {
  return kind != DimKind::constant && kind != DimKind::symbol;
}

LogicalResult DimAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                              DimKind kind, int64_t value, StringAttr symbol,
                              DimAttr lhs, DimAttr rhs) {
  if (kind == DimKind::symbol && (!symbol || !isCIdentifier(symbol.getValue())))
    return emitError() << "a #gate.dim symbol must be a C identifier, got "
                       << (symbol ? symbol.getValue() : "nothing");
  if (kind != DimKind::symbol && symbol)
    return emitError() << "only a #gate.dim symbol has a name";
  if (isBinary(kind) != (lhs && rhs) || (!isBinary(kind) && (lhs || rhs)))
    return emitError() << "a #gate.dim " << stringifyDimKind(kind)
                       << (isBinary(kind) ? " needs two operands"
                                          : " has no operands");
  if (kind != DimKind::constant && value != 0)
    return emitError() << "only a #gate.dim constant has a value";
  return success();
}

DimAttr DimAttr::getConstant(MLIRContext *ctx, int64_t value) {
  return get(ctx, DimKind::constant, value, StringAttr(), DimAttr(), DimAttr());
}

DimAttr DimAttr::getSymbol(MLIRContext *ctx, StringRef name) {
  return get(ctx, DimKind::symbol, 0, StringAttr::get(ctx, name), DimAttr(),
             DimAttr());
}

DimAttr DimAttr::getSymbolPlus(MLIRContext *ctx, StringRef name,
                               int64_t offset) {
  DimAttr symbol = getSymbol(ctx, name);
  if (offset == 0)
    return symbol;
  // `N - 1`, not `N + -1`; INT64_MIN has no magnitude, so it stays added.
  if (offset < 0 && offset != INT64_MIN)
    return getBinary(DimKind::sub, symbol, getConstant(ctx, -offset));
  return getBinary(DimKind::add, symbol, getConstant(ctx, offset));
}

DimAttr DimAttr::getBinary(DimKind kind, DimAttr lhs, DimAttr rhs) {
  assert(isBinary(kind) && lhs && rhs && "a binary #gate.dim");
  return get(lhs.getContext(), kind, 0, StringAttr(), lhs, rhs);
}

DimAttr mlir::gate::operator+(DimAttr lhs, DimAttr rhs) {
  return DimAttr::getBinary(DimKind::add, lhs, rhs);
}
DimAttr mlir::gate::operator-(DimAttr lhs, DimAttr rhs) {
  return DimAttr::getBinary(DimKind::sub, lhs, rhs);
}
DimAttr mlir::gate::operator*(DimAttr lhs, DimAttr rhs) {
  return DimAttr::getBinary(DimKind::mul, lhs, rhs);
}
DimAttr mlir::gate::operator/(DimAttr lhs, DimAttr rhs) {
  return DimAttr::getBinary(DimKind::div, lhs, rhs);
}

/// `lhs <kind> rhs` in int64 as C computes it, nullopt where C's behaviour
/// is undefined (overflow, division by zero).
static std::optional<int64_t> apply(DimKind kind, int64_t lhs, int64_t rhs) {
  switch (kind) {
  case DimKind::add:
    return llvm::checkedAdd(lhs, rhs);
  case DimKind::sub:
    return llvm::checkedSub(lhs, rhs);
  case DimKind::mul:
    return llvm::checkedMul(lhs, rhs);
  case DimKind::div:
    if (rhs == 0 || (lhs == INT64_MIN && rhs == -1))
      return std::nullopt;
    return lhs / rhs;
  default:
    llvm_unreachable("not a binary #gate.dim");
  }
}

std::optional<int64_t> DimAttr::evaluate(
    function_ref<std::optional<int64_t>(StringRef)> lookup) const {
  switch (getKind()) {
  case DimKind::constant:
    return getValue();
  case DimKind::symbol:
    return lookup(getSymbolName());
  default:
    break;
  }
  std::optional<int64_t> lhs = getLhs().evaluate(lookup);
  std::optional<int64_t> rhs = lhs ? getRhs().evaluate(lookup) : std::nullopt;
  if (!lhs || !rhs)
    return std::nullopt;
  return apply(getKind(), *lhs, *rhs);
}

DimAttr DimAttr::fold() const {
  if (!isBinary(getKind()))
    return *this;
  DimAttr lhs = getLhs().fold(), rhs = getRhs().fold();
  if (!lhs || !rhs)
    return DimAttr();
  // A division by a constant zero is undefined whatever the symbols are.
  if (getKind() == DimKind::div && rhs.isConstant() && rhs.getValue() == 0)
    return DimAttr();
  if (lhs.isConstant() && rhs.isConstant()) {
    std::optional<int64_t> value =
        apply(getKind(), lhs.getValue(), rhs.getValue());
    return value ? getConstant(getContext(), *value) : DimAttr();
  }
  return getBinary(getKind(), lhs, rhs);
}

void DimAttr::collectSymbols(SmallVectorImpl<StringRef> &symbols) const {
  if (isSymbol()) {
    if (!llvm::is_contained(symbols, getSymbolName()))
      symbols.push_back(getSymbolName());
    return;
  }
  if (isBinary(getKind())) {
    getLhs().collectSymbols(symbols);
    getRhs().collectSymbols(symbols);
  }
}

std::optional<std::pair<StringRef, int64_t>>
DimAttr::matchSymbolPlusConstant() const {
  DimKind kind = getKind();
  if (kind != DimKind::add && kind != DimKind::sub)
    return std::nullopt;
  DimAttr lhs = getLhs(), rhs = getRhs();
  if (lhs.isSymbol() && rhs.isConstant()) {
    if (kind == DimKind::add)
      return std::make_pair(lhs.getSymbolName(), rhs.getValue());
    if (rhs.getValue() != INT64_MIN)
      return std::make_pair(lhs.getSymbolName(), -rhs.getValue());
  }
  if (kind == DimKind::add && lhs.isConstant() && rhs.isSymbol())
    return std::make_pair(rhs.getSymbolName(), lhs.getValue());
  return std::nullopt;
}

/// C's binding strength: leaves bind tightest.
static int precedence(DimKind kind) {
  switch (kind) {
  case DimKind::add:
  case DimKind::sub:
    return 1;
  case DimKind::mul:
  case DimKind::div:
    return 2;
  default:
    return 3;
  }
}

/// Prints `dim` with the parentheses C needs to read the same tree back:
/// around a looser operand, and around a right operand of equal strength
/// (`a - (b + c)`, `a*(b/c)`).
static void printDim(raw_ostream &os, DimAttr dim, int parent, bool right) {
  switch (dim.getKind()) {
  case DimKind::constant:
    os << dim.getValue();
    return;
  case DimKind::symbol:
    os << dim.getSymbolName();
    return;
  default:
    break;
  }
  int own = precedence(dim.getKind());
  bool parens = own < parent || (own == parent && right);
  if (parens)
    os << '(';
  printDim(os, dim.getLhs(), own, /*right=*/false);
  switch (dim.getKind()) {
  case DimKind::add:
    os << " + ";
    break;
  case DimKind::sub:
    os << " - ";
    break;
  case DimKind::mul:
    os << '*';
    break;
  default:
    os << '/';
    break;
  }
  printDim(os, dim.getRhs(), own, /*right=*/true);
  if (parens)
    os << ')';
}

std::string DimAttr::str() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  printDim(os, *this, /*parent=*/0, /*right=*/false);
  return text;
}

namespace {
/// Reads a #gate.dim expression: sums of products of constants, symbols
/// and parenthesized expressions.
class DimParser {
public:
  explicit DimParser(AsmParser &parser) : parser(parser) {}

  DimAttr parseSum() {
    return parseChain([&] { return parseProduct(); },
                      [&]() -> std::optional<DimKind> {
                        if (succeeded(parser.parseOptionalPlus()))
                          return DimKind::add;
                        if (succeeded(parser.parseOptionalMinus()))
                          return DimKind::sub;
                        return std::nullopt;
                      });
  }

private:
  /// Operands joined by the operators `match` reads, left-associative.
  template <typename Operand, typename Match>
  DimAttr parseChain(Operand operand, Match match) {
    DimAttr lhs = operand();
    while (lhs) {
      std::optional<DimKind> kind = match();
      if (!kind)
        break;
      DimAttr rhs = operand();
      lhs = rhs ? DimAttr::getBinary(*kind, lhs, rhs) : DimAttr();
    }
    return lhs;
  }

  DimAttr parseProduct() {
    return parseChain([&] { return parseAtom(); },
                      [&]() -> std::optional<DimKind> {
                        if (succeeded(parser.parseOptionalStar()))
                          return DimKind::mul;
                        if (succeeded(parser.parseOptionalSlash()))
                          return DimKind::div;
                        return std::nullopt;
                      });
  }

  DimAttr parseAtom() {
    MLIRContext *ctx = parser.getContext();
    if (succeeded(parser.parseOptionalLParen())) {
      DimAttr inner = parseSum();
      if (!inner || parser.parseRParen())
        return DimAttr();
      return inner;
    }
    SMLoc loc = parser.getCurrentLocation();
    StringRef name;
    if (succeeded(parser.parseOptionalKeyword(&name))) {
      if (!isCIdentifier(name)) {
        parser.emitError(loc) << "a #gate.dim symbol must be a C identifier";
        return DimAttr();
      }
      return DimAttr::getSymbol(ctx, name);
    }
    int64_t value;
    OptionalParseResult integer = parser.parseOptionalInteger(value);
    if (integer.has_value())
      return succeeded(*integer) ? DimAttr::getConstant(ctx, value) : DimAttr();
    parser.emitError(loc, "expected an integer, a symbol or '('");
    return DimAttr();
  }

  AsmParser &parser;
};
} // namespace

Attribute DimAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  DimAttr dim = DimParser(parser).parseSum();
  if (!dim || parser.parseGreater())
    return {};
  return dim;
}

void DimAttr::print(AsmPrinter &printer) const {
  printer << '<' << str() << '>';
}

//===----------------------------------------------------------------------===//
// #gate.shape
//===----------------------------------------------------------------------===//

Attribute ShapeAttr::parse(AsmParser &parser, Type) {
  SmallVector<DimAttr> dims;
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::LessGreater, [&] {
        dims.push_back(DimParser(parser).parseSum());
        return success(static_cast<bool>(dims.back()));
      }))
    return {};
  return ShapeAttr::get(parser.getContext(), dims);
}

void ShapeAttr::print(AsmPrinter &printer) const {
  printer << '<';
  llvm::interleave(
      getDims(), printer.getStream(),
      [&](DimAttr dim) { printer.getStream() << dim.str(); }, ", ");
  printer << '>';
}

//===----------------------------------------------------------------------===//
// The dialect's verifier of the ABI attributes
//===----------------------------------------------------------------------===//

/// The function's argument or result `index`'s type, null when `op` is not
/// a function.
static Type getTensorType(Operation *op, unsigned index, bool isResult) {
  auto func = dyn_cast<FunctionOpInterface>(op);
  if (!func)
    return Type();
  ArrayRef<Type> types =
      isResult ? func.getResultTypes() : func.getArgumentTypes();
  return index < types.size() ? types[index] : Type();
}

static LogicalResult verifyShape(Operation *op, ShapeAttr shape, Type type,
                                 StringRef what) {
  auto shaped = dyn_cast_or_null<ShapedType>(type);
  if (!shaped || !shaped.hasRank())
    return success();
  if (static_cast<int64_t>(shape.size()) != shaped.getRank())
    return op->emitOpError()
           << what << " has " << shape.size() << " gate.shape dims but rank "
           << shaped.getRank();
  for (auto [i, dim] : llvm::enumerate(shape.getDims())) {
    DimAttr folded = dim.fold();
    if (!folded)
      return op->emitOpError() << what << " dim " << i << " is " << dim.str()
                               << ", which overflows int64 or divides by zero";
    if (folded.isConstant() && folded.getValue() < 0)
      return op->emitOpError() << what << " dim " << i << " is " << dim.str()
                               << ", which is negative";
    if (folded.isConstant() && !shaped.isDynamicDim(i) &&
        folded.getValue() != shaped.getDimSize(i))
      return op->emitOpError() << what << " dim " << i << " is " << dim.str()
                               << " in gate.shape but " << shaped.getDimSize(i)
                               << " in its type " << type;
  }
  return success();
}

/// Verifies one attribute of an argument (isResult false) or result.
static LogicalResult verifyTensorAttr(Operation *op, unsigned index,
                                      bool isResult, NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  std::string what =
      (Twine(isResult ? "result #" : "argument #") + Twine(index)).str();
  auto expect = [&](StringRef kind) {
    return op->emitOpError() << what << ": " << name << " must be " << kind
                             << ", got " << attr.getValue();
  };
  if (name == kNameAttrName) {
    if (!isa<StringAttr>(attr.getValue()))
      return expect("a string");
    return success();
  }
  if (name == kShapeAttrName) {
    auto shape = dyn_cast<ShapeAttr>(attr.getValue());
    if (!shape)
      return expect("a #gate.shape");
    return verifyShape(op, shape, getTensorType(op, index, isResult), what);
  }
  if (name == kUpdatesAttrName && isResult) {
    if (!isa<IntegerAttr>(attr.getValue()))
      return expect("the index of an argument");
    return success();
  }
  if (name == kOffsetsAttrName && !isResult) {
    auto dict = dyn_cast<DictionaryAttr>(attr.getValue());
    Attribute bound = dict ? dict.get("upper_bound") : Attribute();
    if (!dict || (bound && !isa<DimAttr>(bound)) ||
        dict.size() != (bound ? 1u : 0u))
      return expect("{upper_bound = #gate.dim<...>} or {}");
    if (bound && !cast<DimAttr>(bound).fold())
      return op->emitOpError() << what << ": the gate.offsets upper_bound "
                               << cast<DimAttr>(bound).str()
                               << " overflows int64 or divides by zero";
    return success();
  }
  if (name == kSlotsAttrName && !isResult) {
    auto dict = dyn_cast<DictionaryAttr>(attr.getValue());
    if (!dict || dict.size() != 1 || !dict.getAs<IntegerAttr>("pool"))
      return expect("{pool = <argument index>}");
    return success();
  }
  return op->emitOpError() << what << ": unknown attribute " << name
                           << " of the gate dialect";
}

LogicalResult GateDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                    unsigned argIndex,
                                                    NamedAttribute attr) {
  return verifyTensorAttr(op, argIndex, /*isResult=*/false, attr);
}

LogicalResult GateDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                       unsigned resultIndex,
                                                       NamedAttribute attr) {
  return verifyTensorAttr(op, resultIndex, /*isResult=*/true, attr);
}

LogicalResult GateDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  if ((name == kDocAttrName || name == kSourceAttrName) &&
      !isa<StringAttr>(attr.getValue()))
    return op->emitOpError()
           << name << " must be a string, got " << attr.getValue();
  // The markers between gatec's passes (GateDialect.h) are checked by the
  // passes that read them.
  return success();
}

//===----------------------------------------------------------------------===//
// Reading and writing
//===----------------------------------------------------------------------===//

static TensorABI readTensor(Type type, DictionaryAttr attrs) {
  TensorABI t;
  t.type = type;
  if (!attrs)
    return t;
  t.name = attrs.getAs<StringAttr>(kNameAttrName);
  t.shape = attrs.getAs<ShapeAttr>(kShapeAttrName);
  if (auto updates = attrs.getAs<IntegerAttr>(kUpdatesAttrName))
    t.updates = updates.getValue().getZExtValue();
  if (auto offsets = attrs.getAs<DictionaryAttr>(kOffsetsAttrName)) {
    t.isOffsets = true;
    t.offsetsBound = offsets.getAs<DimAttr>("upper_bound");
  }
  if (auto slots = attrs.getAs<DictionaryAttr>(kSlotsAttrName))
    if (auto pool = slots.getAs<IntegerAttr>("pool"))
      t.slotsPool = pool.getValue().getZExtValue();
  return t;
}

FailureOr<KernelABI> mlir::gate::readKernelABI(FunctionOpInterface func) {
  // What the verifier guarantees, checked again for IR that skipped it.
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
    for (NamedAttribute attr : func.getArgAttrs(i))
      if (attr.getName().strref().starts_with("gate.") &&
          failed(verifyTensorAttr(func, i, /*isResult=*/false, attr)))
        return failure();
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
    for (NamedAttribute attr : func.getResultAttrs(i))
      if (attr.getName().strref().starts_with("gate.") &&
          failed(verifyTensorAttr(func, i, /*isResult=*/true, attr)))
        return failure();
  for (StringRef name : {kDocAttrName, kSourceAttrName})
    if (Attribute attr = func->getAttr(name); attr && !isa<StringAttr>(attr))
      return func->emitOpError() << name << " must be a string, got " << attr;

  KernelABI abi;
  abi.doc = func->getAttrOfType<StringAttr>(kDocAttrName);
  abi.source = func->getAttrOfType<StringAttr>(kSourceAttrName);
  for (auto [i, type] : llvm::enumerate(func.getArgumentTypes()))
    abi.arguments.push_back(readTensor(type, func.getArgAttrDict(i)));
  for (auto [i, type] : llvm::enumerate(func.getResultTypes()))
    abi.results.push_back(readTensor(type, func.getResultAttrDict(i)));
  return abi;
}

static void writeTensor(const TensorABI &t, NamedAttrList &attrs,
                        MLIRContext *ctx) {
  Builder b(ctx);
  if (t.name)
    attrs.set(kNameAttrName, t.name);
  if (t.shape)
    attrs.set(kShapeAttrName, t.shape);
  if (t.updates)
    attrs.set(kUpdatesAttrName, b.getI64IntegerAttr(*t.updates));
  if (t.isOffsets) {
    SmallVector<NamedAttribute, 1> fields;
    if (t.offsetsBound)
      fields.push_back(b.getNamedAttr("upper_bound", t.offsetsBound));
    attrs.set(kOffsetsAttrName, b.getDictionaryAttr(fields));
  }
  if (t.slotsPool)
    attrs.set(kSlotsAttrName, b.getDictionaryAttr(b.getNamedAttr(
                                  "pool", b.getI64IntegerAttr(*t.slotsPool))));
}

void mlir::gate::writeKernelABI(FunctionOpInterface func,
                                const KernelABI &abi) {
  MLIRContext *ctx = func->getContext();
  if (abi.source)
    func->setAttr(kSourceAttrName, abi.source);
  if (abi.doc)
    func->setAttr(kDocAttrName, abi.doc);
  assert(abi.arguments.size() == func.getNumArguments() &&
         abi.results.size() == func.getNumResults() && "one entry per value");
  for (auto [i, t] : llvm::enumerate(abi.arguments)) {
    NamedAttrList attrs(func.getArgAttrDict(i));
    writeTensor(t, attrs, ctx);
    func.setArgAttrs(i, attrs.getDictionary(ctx));
  }
  for (auto [i, t] : llvm::enumerate(abi.results)) {
    NamedAttrList attrs(func.getResultAttrDict(i));
    writeTensor(t, attrs, ctx);
    func.setResultAttrs(i, attrs.getDictionary(ctx));
  }
}

DimAttr mlir::gate::getDimOrDefault(const TensorABI &tensor, unsigned i,
                                    StringRef fallbackPrefix) {
  if (tensor.shape)
    return tensor.shape[i];
  auto shaped = cast<ShapedType>(tensor.type);
  MLIRContext *ctx = shaped.getContext();
  if (!shaped.isDynamicDim(i))
    return DimAttr::getConstant(ctx, shaped.getDimSize(i));
  return DimAttr::getSymbol(ctx, (fallbackPrefix + "_dim" + Twine(i)).str());
}
