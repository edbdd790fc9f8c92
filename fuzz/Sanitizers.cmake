# Compiler flags of the instrumented build (GATEC_SANITIZE and/or
# GATEC_ENABLE_FUZZING), included from the top-level CMakeLists.txt after
# HandleLLVMOptions. scripts/sanitize.sh configures build-asan with both, so one
# extra build serves the sanitized test suite and the fuzz targets.
# docs/reliability.md says what runs where.

if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "GATEC_SANITIZE and GATEC_ENABLE_FUZZING need clang")
endif()

set(gatec_sanitizer_flags)
foreach(sanitizer IN LISTS GATEC_SANITIZE)
  if(sanitizer STREQUAL "address")
    list(APPEND gatec_sanitizer_flags -fsanitize=address)
  elseif(sanitizer STREQUAL "undefined")
    # As LLVM_UBSAN_FLAGS: vptr needs RTTI, which LLVM and gatec build
    # without; `function` flags the type-erased callbacks of
    # llvm::function_ref. Every report aborts, so a test cannot pass over one.
    list(APPEND gatec_sanitizer_flags -fsanitize=undefined
         -fno-sanitize=vptr,function -fno-sanitize-recover=all)
  else()
    message(FATAL_ERROR "GATEC_SANITIZE: unknown sanitizer '${sanitizer}' "
            "(known: address, undefined)")
  endif()
endforeach()
if(GATEC_ENABLE_FUZZING)
  # Coverage feedback for gatec's code; fuzz/ links libFuzzer itself.
  list(APPEND gatec_sanitizer_flags -fsanitize=fuzzer-no-link)
endif()

add_compile_options(${gatec_sanitizer_flags} -fno-omit-frame-pointer
                    -gline-tables-only)
if("address" IN_LIST GATEC_SANITIZE)
  # LLVM's allocators must not poison memory that uninstrumented libMLIR
  # also allocates from: see the header.
  add_compile_options(
    "SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/NoLLVMPoisoning.h")
endif()
add_link_options(${gatec_sanitizer_flags})

# Shared libraries (libGatecCompiler) resolve the sanitizer runtime from the
# executable that loads them, so they must not be linked with -z defs.
string(REPLACE "-Wl,-z,defs" "" CMAKE_SHARED_LINKER_FLAGS
       "${CMAKE_SHARED_LINKER_FLAGS}")

# NDEBUG stays defined, as in Debian's libMLIR: some of MLIR's header-defined
# types change layout with it. mlir::Pass::Statistic is llvm::Statistic, a
# TrackingStatistic (with an atomic "initialized" flag) without NDEBUG and a
# NoopStatistic with it, while its constructor lives in libMLIR; a pass
# compiled without NDEBUG reads a flag nobody initialized (UBSan reports a
# bool load of 190, ASan's fill byte).
