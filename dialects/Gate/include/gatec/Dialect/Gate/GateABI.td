//===- GateABI.td - Attributes of a kernel's ABI -----------*- tablegen -*-===//
//
// Part of gatec. What a kernel promises its callers about the shapes of its
// arguments and results, as typed attributes: MLIRGen writes them and every
// emitter of entry points (C/C++ and CUDA headers, the PyTorch extension,
// gatec-check) reads them through gatec/Dialect/Gate/KernelABI.h.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DIALECT_GATE_GATEABI_TD
#define GATEC_DIALECT_GATE_GATEABI_TD

include "gatec/Dialect/Gate/GateDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Gate_DimKind : I32EnumAttr<"DimKind", "the node kinds of a #gate.dim", [
      I32EnumAttrCase<"constant", 0>,
      I32EnumAttrCase<"symbol", 1>,
      I32EnumAttrCase<"add", 2>,
      I32EnumAttrCase<"sub", 3>,
      I32EnumAttrCase<"mul", 4>,
      I32EnumAttrCase<"div", 5>  // C's: truncating toward zero
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::gate";
}

def Gate_DimAttr : AttrDef<Gate_Dialect, "Dim"> {
  let mnemonic = "dim";
  let summary = "one dimension of a kernel's ABI: an integer expression of size symbols";
  let description = [{
    A constant, a size symbol (`T`) or `+ - * /` of two such expressions,
    evaluated in int64 with C's truncating division; an overflow or a
    division by zero makes the expression undefined, which the generated entry
    points report as an error. The dialect's own formulas build the derived
    ones (`gate.dispatch`'s padded length, a chunked scan's state rows), so an
    expression states a length once.

    Printed with C's precedence and only the parentheses it needs:
    `#gate.dim<(T*2 + 8*63 + 63)/64*64>`; the same text is what generated
    headers quote in comments and error messages.
  }];
  let parameters = (ins "::mlir::gate::DimKind":$kind, "int64_t":$value,
                        "::mlir::StringAttr":$symbol,
                        "::mlir::gate::DimAttr":$lhs,
                        "::mlir::gate::DimAttr":$rhs);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    static DimAttr getConstant(::mlir::MLIRContext *ctx, int64_t value);
    static DimAttr getSymbol(::mlir::MLIRContext *ctx, ::llvm::StringRef name);
    /// `symbol + offset`, written `N + 1` or `M - 1` (`N` when offset is 0).
    static DimAttr getSymbolPlus(::mlir::MLIRContext *ctx,
                                 ::llvm::StringRef name, int64_t offset);
    static DimAttr getBinary(DimKind kind, DimAttr lhs, DimAttr rhs);

    bool isConstant() const { return getKind() == DimKind::constant; }
    bool isSymbol() const { return getKind() == DimKind::symbol; }
    /// The symbol's name; only for a symbol.
    ::llvm::StringRef getSymbolName() const { return getSymbol().getValue(); }

    /// The value with each symbol's value from `lookup`; nullopt when a
    /// symbol has none, or on int64 overflow or division by zero.
    std::optional<int64_t> evaluate(
        ::llvm::function_ref<std::optional<int64_t>(::llvm::StringRef)> lookup)
        const;
    /// This expression with every subexpression that reads no symbol
    /// replaced by its value; null if one of those is undefined or a
    /// division is by a constant zero.
    DimAttr fold() const;
    /// The symbols read, each once, in the order they are written.
    void collectSymbols(::llvm::SmallVectorImpl<::llvm::StringRef> &symbols)
        const;
    /// `(N, c)` for `N + c`, `N - c` or `c + N` (c a constant): the form an
    /// argument's dimension can bind its symbol from.
    std::optional<std::pair<::llvm::StringRef, int64_t>>
    matchSymbolPlusConstant() const;
    /// The expression in C syntax, as printed inside `#gate.dim<...>`.
    std::string str() const;
  }];
}

def Gate_ShapeAttr : AttrDef<Gate_Dialect, "Shape"> {
  let mnemonic = "shape";
  let summary = "the dimensions of a kernel argument or result, as #gate.dim expressions";
  let description = [{
    `gate.shape` on each argument and result of a kernel:
    `#gate.shape<T, 4096>`. Symbols are the size names of the .gate source;
    a result may also use expressions of them
    (`#gate.shape<(T*2 + 8*63 + 63)/64*64>`).
  }];
  let parameters = (ins ArrayRefParameter<"::mlir::gate::DimAttr">:$dims);
  let hasCustomAssemblyFormat = 1;
  let extraClassDeclaration = [{
    size_t size() const { return getDims().size(); }
    DimAttr operator[](size_t i) const { return getDims()[i]; }
  }];
}

#endif // GATEC_DIALECT_GATE_GATEABI_TD
