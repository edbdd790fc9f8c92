// Modules the PyTorch extension emitter rejects. What the header emitter
// rejects is rejected with its diagnostics; on top of that, names PyTorch
// cannot take. Each error is at the function, and nothing is written.

// RUN: gatec-translate --gate-to-torch-extension --split-input-file --verify-diagnostics %s
// RUN: not gatec-translate --gate-to-torch-extension --split-input-file %s 2>&1 | FileCheck %s
// RUN: not gatec-translate --gate-to-torch-extension --split-input-file %s 2>/dev/null | sed '/^$/d' | count 0
// An include that cannot follow #include.
// RUN: not gatec-translate --gate-to-torch-extension --torch-extension-header='a"b.h' %S/ops.mlir 2>&1 | FileCheck %s --check-prefix=INCLUDE
// RUN: not gatec-translate --gate-to-torch-extension --torch-extension-header='<a.h' %S/ops.mlir 2>&1 | FileCheck %s --check-prefix=ANGLE
// INCLUDE: error: gate-to-torch-extension: the header include 'a"b.h' contains '"' or '\'
// ANGLE: error: gate-to-torch-extension: the header include '<a.h' is not of the form <file>

// The header emitter's own checks come first.
// CHECK-LABEL: error: kernel 'unbound': result 'y' dim 0 ('S') uses symbol 'S', which no input binds
// expected-error@+1 {{kernel 'unbound': result 'y' dim 0 ('S') uses symbol 'S', which no input binds}}
func.func @unbound(%x: tensor<?xf32> {gate.name = "x", gate.shape = #gate.shape<T>})
    -> (tensor<?xf32> {gate.name = "y", gate.shape = #gate.shape<S>}) {
  return %x : tensor<?xf32>
}

// -----

// A C name that TorchScript's schema lexer reads as a keyword.
// CHECK-LABEL: error: kernel 'pass': 'pass' is a Python keyword and cannot name a PyTorch op
// expected-error@+1 {{kernel 'pass': 'pass' is a Python keyword and cannot name a PyTorch op}}
func.func @pass(%x: tensor<4xf32> {gate.name = "x"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// A kernel named torch has the header entry point gatec_torch, the namespace
// of the generated C++.
// CHECK-LABEL: error: kernel 'torch': its header entry point 'gatec_torch' is the namespace of the PyTorch extension's C++ code; rename the kernel
// expected-error@+1 {{its header entry point 'gatec_torch' is the namespace of the PyTorch extension's C++ code}}
func.func @torch(%x: tensor<4xf32> {gate.name = "x"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// `in` becomes in_ in the schema, which another parameter already is.
// CHECK-LABEL: error: kernel 'clash': parameters 'in' and 'in_' would both be named 'in_' in the PyTorch schema
// expected-error@+1 {{parameters 'in' and 'in_' would both be named 'in_' in the PyTorch schema}}
func.func @clash(%a: tensor<4xf32> {gate.name = "in"}, %b: tensor<4xf32> {gate.name = "in_"})
    -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
