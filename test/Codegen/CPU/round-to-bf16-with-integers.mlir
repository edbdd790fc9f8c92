// RUN: gatec-opt %s --gatec-round-to-bf16-with-integers | FileCheck %s

// f32 -> bf16 becomes i32 arithmetic with the NaN select on the input's
// bits, so no select of bf16 vectors is left for LLVM to scalarize.
// CHECK-LABEL: func.func @vector(
// CHECK-SAME: [[X:%[^:]+]]: vector<8xf32>)
// CHECK-DAG: [[QNAN:%.+]] = arith.constant dense<2143289344> : vector<8xi32>
// CHECK-DAG: [[BIAS:%.+]] = arith.constant dense<32767> : vector<8xi32>
// CHECK-DAG: [[SIXTEEN:%.+]] = arith.constant dense<16> : vector<8xi32>
// CHECK: [[NAN:%.+]] = arith.cmpf uno, [[X]], [[X]] : vector<8xf32>
// CHECK: [[BITS:%.+]] = arith.bitcast [[X]] : vector<8xf32> to vector<8xi32>
// CHECK: [[SAFE:%.+]] = arith.select [[NAN]], [[QNAN]], [[BITS]] : vector<8xi1>, vector<8xi32>
// CHECK: [[HIGH:%.+]] = arith.shrui [[SAFE]], [[SIXTEEN]]
// CHECK: [[LSB:%.+]] = arith.andi [[HIGH]]
// CHECK: [[PLUS:%.+]] = arith.addi [[SAFE]], [[BIAS]]
// CHECK: [[BIASED:%.+]] = arith.addi [[PLUS]], [[LSB]]
// CHECK: [[ROUNDED:%.+]] = arith.shrui [[BIASED]], [[SIXTEEN]]
// CHECK: [[HALF:%.+]] = arith.trunci [[ROUNDED]] : vector<8xi32> to vector<8xi16>
// CHECK: [[Y:%.+]] = arith.bitcast [[HALF]] : vector<8xi16> to vector<8xbf16>
// CHECK-NOT: arith.truncf
// CHECK: return [[Y]]
func.func @vector(%x: vector<8xf32>) -> vector<8xbf16> {
  %y = arith.truncf %x : vector<8xf32> to vector<8xbf16>
  return %y : vector<8xbf16>
}

// Scalars the same way; other conversions are left alone.
// CHECK-LABEL: func.func @scalar_and_others(
// CHECK: arith.bitcast %{{.+}} : i16 to bf16
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: arith.truncf %{{.+}} : f64 to bf16
// CHECK: arith.truncf %{{.+}} to_nearest_away : f32 to bf16
func.func @scalar_and_others(%x: f32, %d: f64) -> (bf16, f16, bf16, bf16) {
  %a = arith.truncf %x : f32 to bf16
  %b = arith.truncf %x : f32 to f16
  %c = arith.truncf %d : f64 to bf16
  %e = arith.truncf %x to_nearest_away : f32 to bf16
  return %a, %b, %c, %e : bf16, f16, bf16, bf16
}
