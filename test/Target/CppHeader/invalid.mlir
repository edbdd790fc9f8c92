// Kernels the header emitter rejects: each error is reported at the
// function, names the kernel and the parameter, and nothing is written.

// RUN: gatec-translate --gate-to-cpp-header --split-input-file --verify-diagnostics %s
// RUN: not gatec-translate --gate-to-cpp-header --split-input-file %s 2>&1 | FileCheck %s
// A failed export writes nothing to the stream (the blank lines are the
// separators --split-input-file prints between splits).
// RUN: not gatec-translate --gate-to-cpp-header --split-input-file %s 2>/dev/null | sed '/^$/d' | count 0

// CHECK-LABEL: error: kernel 'unbound': result 'y' dim 0 ('S') uses symbol 'S', which no input binds: some input dimension must be exactly 'S'
// expected-error@+1 {{kernel 'unbound': result 'y' dim 0 ('S') uses symbol 'S', which no input binds}}
func.func @unbound(%x: tensor<?xf32> {gate.name = "x", gate.shape = #gate.shape<T>})
    -> (tensor<?xf32> {gate.name = "y", gate.shape = #gate.shape<S>}) {
  return %x : tensor<?xf32>
}

// -----

// CHECK-LABEL: error: kernel 'unbound_expr': result 'y' dim 1 ('(T + P)/2') uses symbol 'P', which no input binds
// expected-error@+1 {{uses symbol 'P', which no input binds}}
func.func @unbound_expr(%x: tensor<?x?xf32> {gate.name = "x", gate.shape = #gate.shape<T, 4>})
    -> (tensor<?x?xf32> {gate.name = "y", gate.shape = #gate.shape<T, (T + P) / 2>}) {
  return %x : tensor<?x?xf32>
}

// -----

// A symbol that only appears inside an input expression is not bound: its
// value cannot be solved for.
// CHECK-LABEL: error: kernel 'expr_only': argument 'x' dim 0 ('2*F') uses symbol 'F', which no input binds
// expected-error@+1 {{argument 'x' dim 0 ('2*F') uses symbol 'F', which no input binds}}
func.func @expr_only(%x: tensor<?xf32> {gate.name = "x", gate.shape = #gate.shape<2*F>}) -> tensor<4xf32> {
  %0 = tensor.empty() : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: error: kernel 'dynamic_out': result 'result0' dim 0 is dynamic and has no gate.shape, so its size cannot be derived from the inputs
// expected-error@+1 {{result 'result0' dim 0 is dynamic and has no gate.shape}}
func.func @dynamic_out(%x: tensor<?xf32> {gate.name = "x", gate.shape = #gate.shape<T>}) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}

// -----

// CHECK-LABEL: error: kernel 'f64_kernel': argument 'x' has unsupported element type 'f64' (headers support f32, f16, bf16, i32 and i64)
// expected-error@+1 {{argument 'x' has unsupported element type 'f64'}}
func.func @f64_kernel(%x: tensor<4xf64> {gate.name = "x"}) -> tensor<4xf64> {
  return %x : tensor<4xf64>
}

// -----

// CHECK-LABEL: error: kernel 'i8_result': result 'q' has unsupported element type 'i8'
// expected-error@+1 {{result 'q' has unsupported element type 'i8'}}
func.func @i8_result(%x: tensor<4xf32> {gate.name = "x"}) -> (tensor<4xi8> {gate.name = "q"}) {
  %0 = tensor.empty() : tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

// CHECK-LABEL: error: kernel 'scalar_arg': argument 'x' has type 'f32'; headers take ranked tensors only
// expected-error@+1 {{argument 'x' has type 'f32'; headers take ranked tensors only}}
func.func @scalar_arg(%x: f32 {gate.name = "x"}) -> tensor<4xf32> {
  %0 = tensor.empty() : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: error: kernel 'pinned': result 'y' dim 0 is N, which argument 'x' dim 0 fixes to 4, but its type says 8
// expected-error@+1 {{result 'y' dim 0 is N, which argument 'x' dim 0 fixes to 4, but its type says 8}}
func.func @pinned(%x: tensor<4xf32> {gate.name = "x", gate.shape = #gate.shape<N>})
    -> (tensor<8xf32> {gate.name = "y", gate.shape = #gate.shape<N>}) {
  %0 = tensor.empty() : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// CHECK-LABEL: error: kernel 'same_name': two parameters are named 'x'
// expected-error@+1 {{two parameters are named 'x'}}
func.func @same_name(%a: tensor<4xf32> {gate.name = "x"}, %b: tensor<4xf32> {gate.name = "x"}) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}

// -----

// CHECK-LABEL: error: kernel 'collide': parameter names collide: 'x_dim0' is needed for both 'x' and 'x_dim0'
// expected-error@+1 {{parameter names collide: 'x_dim0' is needed for both 'x' and 'x_dim0'}}
func.func @collide(%a: tensor<4xf32> {gate.name = "x"}, %b: tensor<4xf32> {gate.name = "x_dim0"}) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}

// -----

// CHECK-LABEL: error: kernel 'bad_name': result name 'x y' is not a C identifier
// expected-error@+1 {{result name 'x y' is not a C identifier}}
func.func @bad_name(%x: tensor<4xf32> {gate.name = "x"}) -> (tensor<4xf32> {gate.name = "x y"}) {
  return %x : tensor<4xf32>
}

// -----

// CHECK-LABEL: error: kernel 'reserved_name': argument name 'gatec_x' is reserved for the generated header (gatec_ and _mlir prefixes)
// expected-error@+1 {{argument name 'gatec_x' is reserved for the generated header}}
func.func @reserved_name(%x: tensor<4xf32> {gate.name = "gatec_x"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// CHECK-LABEL: error: kernel 'class': the kernel name is a C or C++ keyword or a name the header reserves
// expected-error@+1 {{the kernel name is a C or C++ keyword}}
func.func @class(%x: tensor<4xf32> {gate.name = "x"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// CHECK-LABEL: error: kernel 'no_result': has no results; a kernel must produce at least one output
// expected-error@+1 {{has no results}}
func.func @no_result(%x: tensor<4xf32> {gate.name = "x"}) {
  return
}

// -----

// Two kernels whose generated names clash (the C++ shapes struct of both is
// FooBarShapes).
func.func @foo_bar(%x: tensor<4xf32> {gate.name = "x"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
// CHECK-LABEL: error: kernel 'fooBar': its header name 'FooBarShapes' is also generated for kernel 'foo_bar'
// expected-error@+1 {{its header name 'FooBarShapes' is also generated for kernel 'foo_bar'}}
func.func @fooBar(%x: tensor<4xf32> {gate.name = "x"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
