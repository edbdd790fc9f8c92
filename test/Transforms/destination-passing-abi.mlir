// RUN: gatec-opt %s --gatec-destination-passing-abi --split-input-file --allow-unregistered-dialect --verify-diagnostics | FileCheck %s

// Results become caller-owned output buffers after the parameters; the
// parameters are read-only tensors, and the gate.* facts are dropped.
// CHECK-LABEL: func.func @outputs(
// CHECK-SAME: %[[X:.+]]: tensor<4xf32> {bufferization.writable = false}, %[[OUT:.+]]: memref<4xf32>)
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: %[[Y:.+]] = arith.addf %[[X]], %[[X]]
// CHECK: bufferization.materialize_in_destination %[[Y]] in restrict writable %[[OUT]]
// CHECK: return
func.func @outputs(%x: tensor<4xf32> {gate.name = "x"}) -> (tensor<4xf32> {gate.name = "y"}) {
  %y = arith.addf %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// A result tied to a parameter (gate.updates, a scan's state pool): the
// parameter itself becomes the buffer, read through a writable view and
// written at the end; no output is added for it.
// CHECK-LABEL: func.func @updates(
// CHECK-SAME: %[[X:.+]]: tensor<4xf32> {bufferization.writable = false}, %[[POOL:.+]]: memref<?x4xf32>, %[[OUT:.+]]: memref<4xf32>)
// CHECK: %[[VIEW:.+]] = bufferization.to_tensor %[[POOL]] restrict writable
// CHECK: %[[NEW:.+]] = "test.update"(%[[VIEW]], %[[X]])
// CHECK: bufferization.materialize_in_destination %{{.+}} in restrict writable %[[OUT]]
// CHECK: bufferization.materialize_in_destination %[[NEW]] in restrict writable %[[POOL]]
// CHECK: return
func.func @updates(%x: tensor<4xf32>, %pool: tensor<?x4xf32>)
    -> (tensor<4xf32>, tensor<?x4xf32> {gate.updates = 1 : i64}) {
  %new = "test.update"(%pool, %x) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %y = arith.addf %x, %x : tensor<4xf32>
  return %y, %new : tensor<4xf32>, tensor<?x4xf32>
}

// -----

// expected-error @+1 {{kernel result #0 updates parameter #0 of another type}}
func.func @wrong_tie(%x: tensor<4xf32>) -> (tensor<5xf32> {gate.updates = 0 : i64}) {
  %y = tensor.empty() : tensor<5xf32>
  return %y : tensor<5xf32>
}
