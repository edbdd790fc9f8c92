// RUN: gatec-opt %s -canonicalize -split-input-file | FileCheck %s

// A decay that is constant zero is no decay: the scan becomes plain linear
// attention and the constant dies.
// CHECK-LABEL: func @zero_fixed_decay
// CHECK-NOT: arith.constant
// CHECK: gate.chunked_scan <none> %{{.*}}, %{{.*}}, %{{.*}} {chunk_size = 32 : i64} :
func.func @zero_fixed_decay(%q: tensor<1x?x4x16xf32>, %v: tensor<1x?x4x8xf32>) -> tensor<1x?x4x8xf32> {
  %zero = arith.constant dense<0.0> : tensor<4xf32>
  %o = gate.chunked_scan <fixed> %q, %q, %v decay(%zero : tensor<4xf32>) {chunk_size = 32 : i64}
      : tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x8xf32> -> tensor<1x?x4x8xf32>
  return %o : tensor<1x?x4x8xf32>
}

// -----

// The state operands survive the rewrite (operand segments are kept in sync).
// CHECK-LABEL: func @zero_vector_decay_with_state
// CHECK: [[O:%.+]], [[S:%.+]] = gate.chunked_scan <none> %{{.*}}, %{{.*}}, %{{.*}} initial_state(%{{.*}} : tensor<2x4x16x8xf32>) :
// CHECK: return [[O]], [[S]]
func.func @zero_vector_decay_with_state(%q: tensor<2x5x4x16xbf16>, %v: tensor<2x5x4x8xbf16>, %s0: tensor<2x4x16x8xf32>)
    -> (tensor<2x5x4x8xbf16>, tensor<2x4x16x8xf32>) {
  %zero = arith.constant dense<0.0> : tensor<2x5x4x16xf32>
  %o, %s = gate.chunked_scan <vector> %q, %q, %v decay(%zero : tensor<2x5x4x16xf32>) initial_state(%s0 : tensor<2x4x16x8xf32>)
      : tensor<2x5x4x16xbf16>, tensor<2x5x4x16xbf16>, tensor<2x5x4x8xbf16> -> tensor<2x5x4x8xbf16>, tensor<2x4x16x8xf32>
  return %o, %s : tensor<2x5x4x8xbf16>, tensor<2x4x16x8xf32>
}

// -----

// A non-zero constant decay is kept.
// CHECK-LABEL: func @nonzero_decay
// CHECK: gate.chunked_scan <fixed>
func.func @nonzero_decay(%q: tensor<1x?x4x16xf32>, %v: tensor<1x?x4x8xf32>) -> tensor<1x?x4x8xf32> {
  %d = arith.constant dense<-0.03125> : tensor<4xf32>
  %o = gate.chunked_scan <fixed> %q, %q, %v decay(%d : tensor<4xf32>)
      : tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x8xf32> -> tensor<1x?x4x8xf32>
  return %o : tensor<1x?x4x8xf32>
}

// -----

// Keeping every group is no grouping.
// CHECK-LABEL: func @all_groups_kept
// CHECK: gate.router <sigmoid> %{{.*}} {k = 8 : i64} :
func.func @all_groups_kept(%l: tensor<?x64xf32>) -> (tensor<?x8xf32>, tensor<?x8xi32>) {
  %w, %e = gate.router <sigmoid> %l {k = 8 : i64, n_group = 4 : i64, topk_group = 4 : i64, group_score = #gate.group_score<max>}
      : tensor<?x64xf32> -> tensor<?x8xf32>, tensor<?x8xi32>
  return %w, %e : tensor<?x8xf32>, tensor<?x8xi32>
}

// -----

// Keeping some groups is real grouping.
// CHECK-LABEL: func @some_groups_kept
// CHECK: gate.router <sigmoid> %{{.*}} {k = 8 : i64, n_group = 4 : i64, topk_group = 2 : i64} :
func.func @some_groups_kept(%l: tensor<?x64xf32>) -> (tensor<?x8xf32>, tensor<?x8xi32>) {
  %w, %e = gate.router <sigmoid> %l {k = 8 : i64, n_group = 4 : i64, topk_group = 2 : i64}
      : tensor<?x64xf32> -> tensor<?x8xf32>, tensor<?x8xi32>
  return %w, %e : tensor<?x8xf32>, tensor<?x8xi32>
}

// -----

// capacity = floor(16 / 8 * 4.0) = 8 < T = 16: tokens can be dropped, kept.
// CHECK-LABEL: func @reachable_capacity
// CHECK: capacity_factor = 4.000000e+00 : f32
func.func @reachable_capacity(%l: tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>) {
  %w, %e = gate.router <softmax> %l {k = 2 : i64, capacity_factor = 4.0 : f32}
      : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  return %w, %e : tensor<16x2xf32>, tensor<16x2xi32>
}

// -----

// capacity = floor(16 / 8 * 8.0) = 16 = T: no expert can overflow.
// CHECK-LABEL: func @unreachable_capacity
// CHECK-NOT: capacity_factor
// CHECK-NOT: drop_policy
// CHECK: return
func.func @unreachable_capacity(%l: tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>) {
  %w, %e = gate.router <softmax> %l {k = 2 : i64, capacity_factor = 8.0 : f32, drop_policy = #gate.drop_policy<score_order>}
      : tensor<16x8xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  return %w, %e : tensor<16x2xf32>, tensor<16x2xi32>
}

// -----

// With a dynamic T the capacity cannot be compared: kept.
// CHECK-LABEL: func @dynamic_tokens_capacity
// CHECK: capacity_factor = 1.000000e+02 : f32
func.func @dynamic_tokens_capacity(%l: tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %e = gate.router <softmax> %l {k = 2 : i64, capacity_factor = 100.0 : f32}
      : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %e : tensor<?x2xf32>, tensor<?x2xi32>
}
