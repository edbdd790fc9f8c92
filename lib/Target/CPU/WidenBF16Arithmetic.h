//===- WidenBF16Arithmetic.h - bf16 arithmetic in f32 ----------*- C++ -*-===//
//
// Part of gatec. Private to the CPU target.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_LIB_TARGET_CPU_WIDENBF16ARITHMETIC_H
#define GATEC_LIB_TARGET_CPU_WIDENBF16ARITHMETIC_H

namespace llvm {
class Module;
} // namespace llvm

namespace gatec {

/// Rewrites each bf16 arithmetic instruction of `module` (fadd, fsub, fmul,
/// fdiv, frem, fneg and the elementwise math intrinsics, scalar or vector) as
/// the f32 operation between an fpext and an fptrunc. Returns whether
/// anything changed.
///
/// Why: gatec computes in f32 and rounds once, but where f32 -> bf16 is a
/// plain fptrunc (avx512_bf16 targets), LLVM's InstCombine narrows
/// fptrunc(fmul(fpext a, fpext b)) to a bf16 fmul (exact: the f32 product of
/// two bf16 is exact). x86 has no bf16 arithmetic, and LLVM 22's X86
/// backend aborts ("Do not know how to soft promote this operator's
/// operand") on such vectors of widths that are not a power of two. The
/// rewrite is exact too: one f32 operation rounded to bf16 is the correctly
/// rounded bf16 result (f32 has more than 2 * 8 + 2 significant bits).
bool widenBF16Arithmetic(llvm::Module &module);

} // namespace gatec

#endif // GATEC_LIB_TARGET_CPU_WIDENBF16ARITHMETIC_H
