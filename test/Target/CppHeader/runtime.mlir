// Behaviour of the generated entry points. Inputs/runtime-driver.cpp and
// Inputs/runtime-driver.c define fake _mlir_ciface_* kernels that record the
// descriptors they get, call the checked entry points and print each outcome;
// they exit non-zero when a check fails, so this test fails with them.

// RUN: gatec-translate --gate-to-cpp-header --cpp-header-module=runtime %s -o %t.h
// RUN: %host_cxx -std=c++17 -O2 -Wall -Wextra -pedantic -Werror -include %t.h %S/Inputs/runtime-driver.cpp -o %t.cxx.exe
// RUN: %t.cxx.exe | FileCheck %s
// RUN: cc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -include %t.h %S/Inputs/runtime-driver.c -o %t.c.exe
// RUN: %t.c.exe | FileCheck %s --check-prefix=C

func.func @swiglu(%x: tensor<?x8xbf16> {gate.name = "x", gate.shape = #gate.shape<T, 8>},
                  %w: tensor<?x8xbf16> {gate.name = "w", gate.shape = #gate.shape<T, 8>})
    -> (tensor<?x8xbf16> {gate.name = "out", gate.shape = #gate.shape<T, 8>}) {
  return %x : tensor<?x8xbf16>
}

func.func @router(%logits: tensor<?x64xf32> {gate.name = "logits", gate.shape = #gate.shape<T, E>})
    -> (tensor<?x2xf32> {gate.name = "weights", gate.shape = #gate.shape<T, 2>},
        tensor<?x2xi32> {gate.name = "experts", gate.shape = #gate.shape<T, 2>}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %logits, %c0 : tensor<?x64xf32>
  %w = tensor.empty(%t) : tensor<?x2xf32>
  %e = tensor.empty(%t) : tensor<?x2xi32>
  return %w, %e : tensor<?x2xf32>, tensor<?x2xi32>
}

func.func @pad(%ids: tensor<?x?xi64> {gate.name = "ids", gate.shape = #gate.shape<T, k>},
               %scale: tensor<f32> {gate.name = "scale"},
               %gu: tensor<?x?xf16> {gate.name = "gu", gate.shape = #gate.shape<T, 2*k>})
    -> (tensor<?xi32> {gate.name = "y", gate.shape = #gate.shape<(T*k + 3)/4*4>},
        tensor<i64> {gate.name = "n"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %y = tensor.empty(%t) : tensor<?xi32>
  %n = tensor.empty() : tensor<i64>
  return %y, %n : tensor<?xi32>, tensor<i64>
}

// CHECK-LABEL: == runtime arithmetic
// CHECK-NEXT: checked 324 pairs

// CHECK-LABEL: == swiglu: valid call
// CHECK-NEXT: status GATEC_OK, message ""
// CHECK-NEXT: x: sizes [3, 8] strides [8, 1] offset 0
// CHECK-NEXT: w: sizes [3, 8] strides [8, 1] offset 0
// CHECK-NEXT: out: sizes [3, 8] strides [8, 1] offset 0

// CHECK-LABEL: == swiglu: null input
// CHECK-NEXT: GATEC_ERR_NULL: swiglu: x is NULL but has 24 elements
// CHECK-LABEL: == swiglu: null output
// CHECK-NEXT: GATEC_ERR_NULL: swiglu: out is NULL but has 24 elements
// CHECK-LABEL: == swiglu: null with no elements
// CHECK-NEXT: status GATEC_OK, message ""
// CHECK-LABEL: == swiglu: misaligned input
// CHECK-NEXT: GATEC_ERR_ALIGN: swiglu: w ({{.*}}) is not aligned to its 2-byte elements
// CHECK-LABEL: == swiglu: wrong literal dim
// CHECK-NEXT: GATEC_ERR_SHAPE: swiglu: x dim 1 is 7 but must be 8
// CHECK-LABEL: == swiglu: inconsistent symbol
// CHECK-NEXT: GATEC_ERR_SHAPE: swiglu: x dim 0 is T = 3 but w dim 0 is T = 4
// CHECK-LABEL: == swiglu: wrong output shape
// CHECK-NEXT: GATEC_ERR_SHAPE: swiglu: out dim 0 is 4 but must be T = 3
// CHECK-LABEL: == swiglu: wrong literal output dim
// CHECK-NEXT: GATEC_ERR_SHAPE: swiglu: out dim 1 is 9 but must be 8
// CHECK-LABEL: == swiglu: negative dim
// CHECK-NEXT: GATEC_ERR_SHAPE: swiglu: w dim 0 is -2 but must be >= 0
// CHECK-LABEL: == swiglu: element count overflow
// CHECK-NEXT: GATEC_ERR_OVERFLOW: swiglu: out has more than INT64_MAX elements
// CHECK-LABEL: == swiglu: byte size overflow
// CHECK-NEXT: GATEC_ERR_OVERFLOW: swiglu: x is larger than INT64_MAX bytes
// CHECK-LABEL: == swiglu: no error struct
// CHECK-NEXT: status GATEC_ERR_SHAPE
// CHECK-LABEL: == swiglu: C++ wrapper
// CHECK-NEXT: output shapes [3, 8], 24 elements
// CHECK-NEXT: status GATEC_OK, message ""
// CHECK-NEXT: GATEC_ERR_SHAPE: swiglu: x dim 0 is T = 3 but w dim 0 is T = 5

// CHECK-LABEL: == router: valid call
// CHECK-NEXT: status GATEC_OK, message ""
// CHECK-NEXT: logits: sizes [5, 64] strides [64, 1] offset 0
// CHECK-NEXT: weights: sizes [5, 2] strides [2, 1] offset 0
// CHECK-NEXT: experts: sizes [5, 2] strides [2, 1] offset 0
// CHECK-LABEL: == router: static symbol
// CHECK-NEXT: GATEC_ERR_SHAPE: router: logits dim 1 is 32 but must be 64 (the kernel was compiled for E = 64)
// CHECK-LABEL: == router: second output
// CHECK-NEXT: GATEC_ERR_SHAPE: router: experts dim 0 is 6 but must be T = 5

// CHECK-LABEL: == pad: valid call
// CHECK-NEXT: output shapes y [16] (16 elements), n [] (1 element)
// CHECK-NEXT: status GATEC_OK, message ""
// CHECK-NEXT: ids: sizes [5, 3] strides [3, 1] offset 0
// CHECK-NEXT: scale: rank 0 offset 0
// CHECK-NEXT: gu: sizes [5, 6] strides [6, 1] offset 0
// CHECK-NEXT: y: sizes [16] strides [1] offset 0
// CHECK-NEXT: n: rank 0 offset 0
// CHECK-LABEL: == pad: input expression
// CHECK-NEXT: GATEC_ERR_SHAPE: pad: gu dim 1 is 5 but must be 2*k = 6 with k = 3
// CHECK-LABEL: == pad: output expression
// CHECK-NEXT: GATEC_ERR_SHAPE: pad: y dim 0 is 15 but must be (T*k + 3)/4*4 = 16
// CHECK-LABEL: == pad: expression overflow
// CHECK-NEXT: GATEC_ERR_OVERFLOW: pad: cannot evaluate gu dim 1 = 2*k with k = 4611686018427387904: int64 overflow
// CHECK-LABEL: == pad: null rank-0 tensor
// CHECK-NEXT: GATEC_ERR_NULL: pad: scale is NULL but has 1 element

// CHECK: PASS: {{[0-9]+}} checks

// C-LABEL: == C: swiglu valid call
// C-NEXT: status GATEC_OK
// C-NEXT: x: sizes [2, 8] strides [8, 1]
// C-LABEL: == C: swiglu inconsistent symbol
// C-NEXT: GATEC_ERR_SHAPE: swiglu: x dim 0 is T = 2 but w dim 0 is T = 3
// C-LABEL: == C: pad output shapes
// C-NEXT: y [4] 4 elements
// C: PASS: {{[0-9]+}} checks
