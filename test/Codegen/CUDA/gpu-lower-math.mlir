// RUN: gatec-opt %s --split-input-file --verify-diagnostics --gatec-gpu-lower-math \
// RUN:   | FileCheck %s --implicit-check-not=math.

// No math op survives anywhere in the output (the implicit-check-not above):
// the NVVM conversion would turn each into a libdevice call (__nv_expf,
// __nv_fabsf...) that a PTX image cannot resolve. The pipeline runs the pass
// on each gpu.module; the kernels here are plain functions in one.

// powf becomes exp(y * log(x)), and both become polynomials: the product
// y * log(x) is what exp's range reduction clamps; fma and floor inside the
// polynomials are LLVM intrinsics.
// CHECK-LABEL: func.func @powf(
// CHECK-SAME:  [[X:%[^:]+]]: f32, [[Y:%[^:]+]]: f32)
// CHECK:       arith.cmpf ugt, [[X]], %{{.+}} : f32
// CHECK:       llvm.call_intrinsic "llvm.fma.f32"
// CHECK:       [[YLOGX:%.+]] = arith.mulf [[Y]], %{{.+}} : f32
// CHECK:       arith.cmpf uge, [[YLOGX]], %{{.+}} : f32
// CHECK:       llvm.call_intrinsic "llvm.floor.f32"
// CHECK:       [[POW2:%.+]] = arith.bitcast %{{.+}} : i32 to f32
// CHECK:       [[POW:%.+]] = arith.mulf %{{.+}}, [[POW2]] : f32
// CHECK:       return [[POW]] : f32
gpu.module @kernels {
  func.func @powf(%x: f32, %y: f32) -> f32 {
    %p = math.powf %x, %y : f32
    return %p : f32
  }
}

// -----

// exp, tanh and erf become the CPU backend's polynomial approximations.
// CHECK-LABEL: func.func @transcendentals(
// CHECK-COUNT-3: llvm.call_intrinsic "llvm.fma.f32"
// CHECK:       return
gpu.module @kernels {
  func.func @transcendentals(%x: f32) -> (f32, f32, f32) {
    %e = math.exp %x : f32
    %t = math.tanh %x : f32
    %r = math.erf %x : f32
    return %e, %t, %r : f32, f32, f32
  }
}

// -----

// rsqrt becomes 1 / sqrt (both correctly rounded), the sqrt an intrinsic.
// CHECK-LABEL: func.func @rsqrt(
// CHECK-SAME:  [[X:%[^:]+]]: f32, [[D:%[^:]+]]: f64)
// CHECK-DAG:   [[ONE:%.+]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:   [[ONED:%.+]] = arith.constant 1.000000e+00 : f64
// CHECK:       [[SQRT:%.+]] = llvm.call_intrinsic "llvm.sqrt.f32"([[X]]) : (f32) -> f32
// CHECK:       [[R:%.+]] = arith.divf [[ONE]], [[SQRT]] : f32
// CHECK:       [[SQRTD:%.+]] = llvm.call_intrinsic "llvm.sqrt.f64"([[D]]) : (f64) -> f64
// CHECK:       [[RD:%.+]] = arith.divf [[ONED]], [[SQRTD]] : f64
// CHECK:       return [[R]], [[RD]]
gpu.module @kernels {
  func.func @rsqrt(%x: f32, %d: f64) -> (f32, f64) {
    %r = math.rsqrt %x : f32
    %s = math.rsqrt %d : f64
    return %r, %s : f32, f64
  }
}

// -----

// What NVPTX has one instruction for becomes a call of the LLVM intrinsic,
// named after the type (.f32 or .f64), operands in order.
// CHECK-LABEL: func.func @instructions(
// CHECK-SAME:  [[X:%[^:]+]]: f32, [[Y:%[^:]+]]: f32, [[Z:%[^:]+]]: f32, [[D:%[^:]+]]: f64)
// CHECK:       [[ABS:%.+]] = llvm.call_intrinsic "llvm.fabs.f32"([[X]]) : (f32) -> f32
// CHECK:       [[FLOOR:%.+]] = llvm.call_intrinsic "llvm.floor.f64"([[D]]) : (f64) -> f64
// CHECK:       [[CEIL:%.+]] = llvm.call_intrinsic "llvm.ceil.f32"([[X]]) : (f32) -> f32
// CHECK:       [[SQRT:%.+]] = llvm.call_intrinsic "llvm.sqrt.f64"([[D]]) : (f64) -> f64
// CHECK:       [[FMA:%.+]] = llvm.call_intrinsic "llvm.fma.f32"([[X]], [[Y]], [[Z]]) : (f32, f32, f32) -> f32
// CHECK:       [[SIGN:%.+]] = llvm.call_intrinsic "llvm.copysign.f32"([[X]], [[Y]]) : (f32, f32) -> f32
// CHECK:       [[EVEN:%.+]] = llvm.call_intrinsic "llvm.roundeven.f32"([[X]]) : (f32) -> f32
// CHECK:       [[TRUNC:%.+]] = llvm.call_intrinsic "llvm.trunc.f64"([[D]]) : (f64) -> f64
// CHECK:       return [[ABS]], [[FLOOR]], [[CEIL]], [[SQRT]], [[FMA]], [[SIGN]], [[EVEN]], [[TRUNC]]
gpu.module @kernels {
  func.func @instructions(%x: f32, %y: f32, %z: f32, %d: f64)
      -> (f32, f64, f32, f64, f32, f32, f32, f64) {
    %a = math.absf %x : f32
    %b = math.floor %d : f64
    %c = math.ceil %x : f32
    %s = math.sqrt %d : f64
    %f = math.fma %x, %y, %z : f32
    %cs = math.copysign %x, %y : f32
    %re = math.roundeven %x : f32
    %t = math.trunc %d : f64
    return %a, %b, %c, %s, %f, %cs, %re, %t : f32, f64, f32, f64, f32, f32, f32, f64
  }
}

// -----

// arith's float min/max would go to libdevice too (__nv_fmaxf): intrinsics.
// CHECK-LABEL: func.func @min_max(
// CHECK-SAME:  [[X:%[^:]+]]: f32, [[Y:%[^:]+]]: f32, [[D:%[^:]+]]: f64, [[E:%[^:]+]]: f64)
// CHECK:       [[A:%.+]] = llvm.call_intrinsic "llvm.maxnum.f32"([[X]], [[Y]])
// CHECK:       [[B:%.+]] = llvm.call_intrinsic "llvm.minnum.f32"([[X]], [[Y]])
// CHECK:       [[C:%.+]] = llvm.call_intrinsic "llvm.maximum.f64"([[D]], [[E]])
// CHECK:       [[M:%.+]] = llvm.call_intrinsic "llvm.minimum.f64"([[D]], [[E]])
// CHECK-NOT:   arith.{{(max|min)}}
// CHECK:       return [[A]], [[B]], [[C]], [[M]]
gpu.module @kernels {
  func.func @min_max(%x: f32, %y: f32, %d: f64, %e: f64) -> (f32, f32, f64, f64) {
    %a = arith.maxnumf %x, %y : f32
    %b = arith.minnumf %x, %y : f32
    %c = arith.maximumf %d, %e : f64
    %m = arith.minimumf %d, %e : f64
    return %a, %b, %c, %m : f32, f32, f64, f64
  }
}

// -----

// A math op with no NVPTX lowering is an error here, not a libdevice call
// that fails at ptxas: there is no f64 polynomial for exp.
gpu.module @kernels {
  func.func @exp_f64(%d: f64) -> f64 {
    // expected-error @+1 {{gatec-gpu-lower-math: no NVPTX lowering for 'math.exp' on 'f64'}}
    %e = math.exp %d : f64
    return %e : f64
  }
}

// -----

// arith.remf would become a libdevice call (__nv_fmodf) as well.
gpu.module @kernels {
  func.func @remf(%x: f32, %y: f32) -> f32 {
    // expected-error @+1 {{gatec-gpu-lower-math: no NVPTX lowering for 'arith.remf' on 'f32'}}
    %r = arith.remf %x, %y : f32
    return %r : f32
  }
}

// -----

// Vector math is an error, not a crash: the approximations build vector ops
// (the pass loads the vector dialect for them), and the fma they leave has
// no vector intrinsic lowering here. gatec's GPU kernels are scalar per
// thread by the time this pass runs.
gpu.module @kernels {
  func.func @exp_vector(%v: vector<4xf32>) -> vector<4xf32> {
    // expected-error @+1 {{gatec-gpu-lower-math: no NVPTX lowering for 'math.fma' on 'vector<4xf32>'}}
    %e = math.exp %v : vector<4xf32>
    return %e : vector<4xf32>
  }
}
