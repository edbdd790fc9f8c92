// RUN: gatec-opt %s --gatec-approximate-math | FileCheck %s \
// RUN:   --implicit-check-not=math.exp --implicit-check-not=math.log \
// RUN:   --implicit-check-not=math.tanh --implicit-check-not=math.erf

// No exp, log, tanh or erf is left anywhere in the output (the
// implicit-check-nots above); each case checks what replaced them.

// exp on a vector becomes a polynomial in vector arithmetic: the argument
// is range-reduced (x = k ln2 + r), the polynomial in r is evaluated with
// fma, and 2^k is built from its bits (k + 127 shifted into the exponent
// field). No math.exp is left to become one libm call per lane.
// CHECK-LABEL: func.func @exp_vector(
// CHECK-SAME:  [[X:%[^:]+]]: vector<8xf32>)
// CHECK:       arith.cmpf uge, [[X]], {{.*}} : vector<8xf32>
// CHECK:       math.fma {{.*}} : vector<8xf32>
// CHECK:       [[K:%.+]] = arith.fptosi {{.*}} : vector<8xf32> to vector<8xi32>
// CHECK:       [[BIASED:%.+]] = arith.addi [[K]], {{.*}} : vector<8xi32>
// CHECK:       [[BITS:%.+]] = arith.shli [[BIASED]], {{.*}} : vector<8xi32>
// CHECK:       [[POW2:%.+]] = arith.bitcast [[BITS]] : vector<8xi32> to vector<8xf32>
// CHECK:       [[Y:%.+]] = arith.mulf {{.*}}, [[POW2]] : vector<8xf32>
// CHECK:       return [[Y]] : vector<8xf32>
func.func @exp_vector(%x: vector<8xf32>) -> vector<8xf32> {
  %y = math.exp %x : vector<8xf32>
  return %y : vector<8xf32>
}

// The friends: tanh, log and erf are approximated too, and so is a scalar
// exp (vector and scalar polynomials both appear).
// CHECK-LABEL: func.func @friends(
// CHECK:       math.fma {{.*}} : vector<16xf32>
// CHECK:       math.fma {{.*}} : f32
// CHECK:       return
func.func @friends(%x: vector<16xf32>, %s: f32)
    -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, f32) {
  %a = math.tanh %x : vector<16xf32>
  %b = math.log %x : vector<16xf32>
  %c = math.erf %x : vector<16xf32>
  %d = math.exp %s : f32
  return %a, %b, %c, %d : vector<16xf32>, vector<16xf32>, vector<16xf32>, f32
}

// An f16 exp is computed in f32 (the approximations are written for f32):
// widened, approximated, rounded back.
// CHECK-LABEL: func.func @exp_f16(
// CHECK-SAME:  [[H:%[^:]+]]: vector<16xf16>)
// CHECK:       [[WIDE:%.+]] = arith.extf [[H]] : vector<16xf16> to vector<16xf32>
// CHECK:       arith.cmpf uge, [[WIDE]], {{.*}} : vector<16xf32>
// CHECK:       math.fma {{.*}} : vector<16xf32>
// CHECK:       [[P:%.+]] = arith.bitcast {{.*}} : vector<16xi32> to vector<16xf32>
// CHECK:       [[EXP:%.+]] = arith.mulf {{.*}}, [[P]] : vector<16xf32>
// CHECK:       [[NARROW:%.+]] = arith.truncf [[EXP]] : vector<16xf32> to vector<16xf16>
// CHECK:       return [[NARROW]]
func.func @exp_f16(%h: vector<16xf16>) -> vector<16xf16> {
  %y = math.exp %h : vector<16xf16>
  return %y : vector<16xf16>
}

// rsqrt is deliberately left alone, on vectors of any width and on scalars:
// MLIR's rsqrt rewrites assume 8-lane AVX2 vectors and crash on other
// shapes, and LLVM lowers it to vector instructions anyway.
// CHECK-LABEL: func.func @rsqrt_left_alone(
// CHECK-SAME:  [[V:%[^:]+]]: vector<16xf32>, [[V8:%[^:]+]]: vector<8xf32>, [[S:%[^:]+]]: f32)
// CHECK:       [[A:%.+]] = math.rsqrt [[V]] : vector<16xf32>
// CHECK:       [[B:%.+]] = math.rsqrt [[V8]] : vector<8xf32>
// CHECK:       [[C:%.+]] = math.rsqrt [[S]] : f32
// CHECK:       return [[A]], [[B]], [[C]]
func.func @rsqrt_left_alone(%v: vector<16xf32>, %v8: vector<8xf32>, %s: f32)
    -> (vector<16xf32>, vector<8xf32>, f32) {
  %a = math.rsqrt %v : vector<16xf32>
  %b = math.rsqrt %v8 : vector<8xf32>
  %c = math.rsqrt %s : f32
  return %a, %b, %c : vector<16xf32>, vector<8xf32>, f32
}
