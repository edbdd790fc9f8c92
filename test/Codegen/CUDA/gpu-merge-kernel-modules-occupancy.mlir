// RUN: gatec-opt %s --gatec-gpu-merge-kernel-modules | FileCheck %s
// RUN: gatec-opt %s --gatec-gpu-merge-kernel-modules=min-blocks-per-sm=2 \
// RUN:   | FileCheck %s --check-prefix=TWO
// RUN: gatec-opt %s --gatec-gpu-merge-kernel-modules=min-blocks-per-sm=0 \
// RUN:   | FileCheck %s --check-prefix=NONE --implicit-check-not=minctasm

// The occupancy hint: the kernel holding a one-launch path's count asks for
// `min-blocks-per-sm` blocks per SM (nvvm.minctasm, 1 by default, none with
// 0); the plain copy gets no hint.
// CHECK-DAG:   gpu.func @hint_kernel(%{{[^)]*}}) kernel {
// CHECK-DAG:   gpu.func @hint_kernel_0(%{{[^)]*}}) kernel attributes {nvvm.minctasm = 1 : i32}

// TWO:         gpu.func @hint_kernel_0(%{{[^)]*}}) kernel attributes {nvvm.minctasm = 2 : i32}

// NONE:        gpu.func @hint_kernel_0(%{{[^)]*}}) kernel {
module attributes {gpu.container_module} {
  func.func @hint(%x: memref<64xf32>, %n: memref<1xi32>) {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @hint_kernel::@hint_kernel blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%x : memref<64xf32>)
    gpu.launch_func @hint_kernel_0::@hint_kernel blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%n : memref<1xi32>)
    return
  }
  gpu.module @hint_kernel {
    gpu.func @hint_kernel(%x: memref<64xf32>) kernel {
      %tx = gpu.thread_id x
      %v = memref.load %x[%tx] : memref<64xf32>
      memref.store %v, %x[%tx] : memref<64xf32>
      gpu.return
    }
  }
  gpu.module @hint_kernel_0 {
    gpu.func @hint_kernel(%n: memref<1xi32>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : i32
      %old = memref.atomic_rmw addi %c1, %n[%c0] {gatec.one_launch_count} : (i32, memref<1xi32>) -> i32
      gpu.return
    }
  }
}
