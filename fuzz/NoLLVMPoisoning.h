//===- NoLLVMPoisoning.h - LLVM allocators without ASan poisoning -*- C -*-===//
//
// Part of gatec. Force-included into every translation unit of an ASan build
// (fuzz/Sanitizers.cmake).
//
// llvm/Support/Allocator.h poisons the unused part of each BumpPtrAllocator
// slab when the including code is built with ASan, and unpoisons each
// allocation from it. Debian's libMLIR is built without ASan: its inlined
// copies of the same allocator hand out slab memory without unpoisoning it,
// so when gatec's code and libMLIR share an allocator (an MLIRContext's),
// libMLIR's first write into a slab gatec's code created is reported as a
// use-after-poison. Turning the hooks into no-ops here makes gatec's copies
// behave like libMLIR's; ASan still checks every heap block, stack and
// global.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_FUZZ_NOLLVMPOISONING_H
#define GATEC_FUZZ_NOLLVMPOISONING_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
// Declares the real functions once (include guard), so that the include in
// llvm/Support/Compiler.h adds nothing after the macros below.
#include <sanitizer/asan_interface.h>
#define __asan_poison_memory_region(addr, size) ((void)(addr), (void)(size))
#define __asan_unpoison_memory_region(addr, size) ((void)(addr), (void)(size))
#endif
#endif

#endif // GATEC_FUZZ_NOLLVMPOISONING_H
