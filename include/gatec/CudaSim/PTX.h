//===- PTX.h - Decoded PTX modules for the CUDA emulator -------*- C++ -*-===//
//
// A PTX module decoded once into a compact form the interpreter walks:
// per kernel, a flat array of instructions with enum opcodes, typed
// modifiers and operands resolved to register indices, immediates and
// state-space offsets. Text is looked at only by the parser (PTXParser.cpp);
// the source line of each instruction is kept for reports.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_CUDASIM_PTX_H
#define GATEC_CUDASIM_PTX_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gatec::cudasim {

/// PTX fundamental types (PTX ISA 5.2.2), plus the packed 16-bit pairs.
enum class Ty : uint8_t {
  None,
  B8, B16, B32, B64, B128,
  U8, U16, U32, U64,
  S8, S16, S32, S64,
  F16, F16x2, BF16, BF16x2, F32, F64,
  Pred,
};

/// Size of a value of `t` in bytes (a predicate counts as 1).
unsigned sizeOf(Ty t);
bool isFloat(Ty t);
bool isSigned(Ty t);
const char *nameOf(Ty t);

/// State spaces (PTX ISA 5.1).
enum class Space : uint8_t { Generic, Global, Shared, Local, Param, Const };

enum class Op : uint16_t {
  // Integer and float arithmetic (PTX ISA 9.7.1 - 9.7.4).
  Add, Sub, Mul, Mad, Fma, Div, Rem, Abs, Neg, Min, Max, Mul24, Mad24,
  Sad, Popc, Clz, Brev, Bfe, Bfi, Bfind, Copysign, Testp,
  Rcp, Sqrt, Rsqrt, Ex2, Lg2, Sin, Cos, Tanh,
  // Logic and shifts (9.7.8).
  And, Or, Xor, Not, Cnot, Lop3, Shl, Shr, Shf, Prmt,
  // Comparison and selection (9.7.6).
  Setp, Set, Selp, Slct,
  // Data movement and conversion (9.7.9).
  Mov, Ld, Ldu, St, Cvt, Cvta, Isspacep, Prefetch,
  CpAsync, CpAsyncCommit, CpAsyncWait, CpAsyncWaitAll,
  // Control flow (9.7.10).
  Bra, Ret, Exit, Call, Trap,
  // Parallel synchronization and communication (9.7.12).
  BarSync, BarArrive, BarWarpSync, Membar, Fence, Atom, Red, Vote, Shfl,
  Redux, Activemask, Nanosleep,
  // Warp-level matrix instructions (9.7.14).
  MmaSync, Ldmatrix, Stmatrix,
  // Warpgroup-level matrix instructions (9.7.15).
  WgmmaFence, WgmmaCommit, WgmmaWait, WgmmaMma,
};

/// Comparison operators of setp/set (PTX ISA 9.7.6.1 table).
enum class Cmp : uint8_t {
  Eq, Ne, Lt, Le, Gt, Ge, Lo, Ls, Hi, Hs,
  Equ, Neu, Ltu, Leu, Gtu, Geu, Num, Nan,
};

/// Special registers (PTX ISA 10).
enum class Special : uint8_t {
  TidX, TidY, TidZ, NtidX, NtidY, NtidZ, CtaidX, CtaidY, CtaidZ,
  NctaidX, NctaidY, NctaidZ, Laneid, Warpid, Nwarpid, WarpSize,
  LanemaskEq, LanemaskLt, LanemaskLe, LanemaskGt, LanemaskGe,
  Clock, Clock64, Globaltimer, Smid, Nsmid, DynamicSmemSize, TotalSmemSize,
};

struct Operand {
  enum Kind : uint8_t {
    None,
    Reg,     ///< register `reg`
    Imm,     ///< the bits in `imm`
    Special, ///< special register `reg` (a Special)
    Address, ///< [reg + imm] or [symbol + imm]: `reg` is a register or
             ///< kNoReg, `sym` a symbol index or -1
    Symbol,  ///< the address of symbol `sym` (+ imm)
    Vector,  ///< `count` operands from the instruction's pool at `reg`
    Sink,    ///< `_`
  };
  Kind kind = None;
  bool negate = false; ///< !%p in predicate operands
  uint16_t count = 0;
  uint32_t reg = 0;
  int32_t sym = -1;
  int64_t imm = 0;
};

constexpr uint32_t kNoReg = ~0u;

/// A kernel-visible symbol: a parameter, a shared/global/const variable or a
/// local array.
struct Symbol {
  std::string name;
  Space space = Space::Param;
  uint64_t offset = 0; ///< within its space's image (params: the buffer)
  uint64_t size = 0;   ///< 0 for .extern .shared (the dynamic part)
  unsigned align = 1;
  bool dynamicShared = false;
};

/// Instruction modifiers, as parsed from the dotted opcode.
struct Inst {
  Op op = Op::Mov;
  Ty type = Ty::None;  ///< the instruction type (destination type of cvt)
  Ty type2 = Ty::None; ///< cvt's and setp/set's second type
  Space space = Space::Generic;
  Cmp cmp = Cmp::Eq;
  uint8_t rounding = 0;  ///< 0 default, 1 rn, 2 rz, 3 rm, 4 rp (+ .rni etc.)
  bool intRounding = false; ///< .rni/.rzi/.rmi/.rpi
  bool ftz = false, sat = false, approx = false, full = false;
  bool hi = false, lo = false, wide = false, relu = false, nanMode = false;
  bool satfinite = false, shiftLeft = false, clamp = false, uni = false;
  bool trans = false, toSpace = false, xorsign = false;
  uint8_t vec = 1;     ///< .v2 / .v4 / .v8 element count
  uint8_t mode = 0;    ///< op-specific: shfl mode, vote mode, atom op,
                       ///< bool op of setp, mma kind, ldmatrix count...
  uint16_t n = 0;      ///< wgmma N, cp.async size
  Ty abType = Ty::None;///< mma/wgmma multiplicand type
  int32_t guard = -1;  ///< predicate register of @p, or -1
  bool guardNegate = false;
  uint32_t line = 0;   ///< PTX source line
  uint32_t firstOperand = 0, numOperands = 0; ///< into Function::operands
};

/// Atomic operations (mode of Atom/Red/Redux).
enum class AtomOp : uint8_t { Add, Min, Max, Inc, Dec, And, Or, Xor, Exch, Cas };
enum class ShflMode : uint8_t { Up, Down, Bfly, Idx };
enum class VoteMode : uint8_t { All, Any, Uni, Ballot };
enum class BoolOp : uint8_t { None, And, Or, Xor };

struct Function {
  std::string name;
  bool isKernel = false;
  std::vector<Inst> insts;
  std::vector<Operand> operands; ///< operand pool of all instructions
  std::vector<std::string> text; ///< the source text of each instruction
  uint32_t numRegs = 0;
  std::vector<uint8_t> regBytes; ///< declared width of each register
  std::vector<Symbol> params;    ///< parameters (offsets into the buffer)
  uint64_t paramBytes = 0;
  std::vector<uint32_t> localSymbols; ///< indices into Module::symbols
  uint64_t localBytes = 0;
  unsigned reqntid[3] = {0, 0, 0}, maxntid[3] = {0, 0, 0};
  /// Static shared memory this kernel references (bytes, aligned layout of
  /// the module's .shared variables).
  uint64_t staticShared = 0;
};

struct Module {
  std::string target;     ///< sm_80, sm_90a...
  unsigned smVersion = 0; ///< 80, 90...
  bool archSpecific = false; ///< the "a" suffix
  unsigned ptxVersion = 0;   ///< major * 10 + minor
  std::vector<Symbol> symbols; ///< module-scope variables and function locals
  std::vector<std::unique_ptr<Function>> functions;
  std::map<std::string, Function *> byName;
  uint64_t sharedBytes = 0;     ///< static .shared image size
  uint64_t dynamicSharedAlign = 16;
  std::vector<uint8_t> globalImage; ///< initial .global/.const data
};

/// Decodes `text`; on failure returns null and sets `error` to
/// "line L: message".
std::unique_ptr<Module> parsePTX(const std::string &text, std::string &error);

} // namespace gatec::cudasim

#endif // GATEC_CUDASIM_PTX_H
