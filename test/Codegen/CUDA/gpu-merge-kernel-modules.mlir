// RUN: gatec-opt %s --split-input-file --gatec-gpu-merge-kernel-modules \
// RUN:   | FileCheck %s --implicit-check-not=gpu.module
// RUN: gatec-opt %s --split-input-file \
// RUN:   --gatec-gpu-merge-kernel-modules=module-name=step_kernels \
// RUN:   | FileCheck %s --check-prefix=NAMED --implicit-check-not=gpu.module

// What gpu-kernel-outlining leaves for a function with four launches: one
// gpu.module per launch, each kernel named after the function. They become
// one module (`gatec_kernels`, or `module-name`), each kernel named after
// the module it came from, and every launch_func points into it.
// Every workgroup buffer is aligned to 16 bytes (cp.async, ldmatrix) unless
// it already says otherwise. A kernel running block-level tensor-core
// matmuls (gatec.block_matmul) or a one-launch path (gatec.one_launch_count)
// asks ptxas for one block per SM (nvvm.minctasm = 1), so it may take up to
// 255 registers instead of spilling; the others get no such hint.
// CHECK-LABEL: func.func @step(
// CHECK:       gpu.launch_func  @gatec_kernels::@step_kernel blocks
// CHECK:       gpu.launch_func  @gatec_kernels::@step_kernel_0 blocks
// CHECK:       gpu.launch_func  @gatec_kernels::@step_kernel_1 blocks
// CHECK:       gpu.launch_func  @gatec_kernels::@step_kernel_2 blocks
// CHECK:       gpu.module @gatec_kernels {
// CHECK-DAG:     gpu.func @step_kernel(%{{[^)]*}}) kernel {{\{$}}
// CHECK-DAG:     gpu.func @step_kernel_0(%{{[^)]*}}) workgroup(%{{[^ ]+}} : memref<64xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{[^ ]+}} : memref<8xf64, #gpu.address_space<workgroup>> {llvm.align = 64 : i64}) kernel {{\{$}}
// CHECK-DAG:     gpu.func @step_kernel_1(%{{[^)]*}}) workgroup(%{{[^ ]+}} : memref<16x16xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {nvvm.minctasm = 1 : i32} {
// CHECK-DAG:     gpu.func @step_kernel_2(%{{[^)]*}}) kernel attributes {nvvm.minctasm = 1 : i32} {

// NAMED-LABEL: func.func @step(
// NAMED:       gpu.launch_func  @step_kernels::@step_kernel blocks
// NAMED:       gpu.launch_func  @step_kernels::@step_kernel_0 blocks
// NAMED:       gpu.launch_func  @step_kernels::@step_kernel_1 blocks
// NAMED:       gpu.launch_func  @step_kernels::@step_kernel_2 blocks
// NAMED:       gpu.module @step_kernels {
// NAMED-DAG:     gpu.func @step_kernel(
// NAMED-DAG:     gpu.func @step_kernel_0(
// NAMED-DAG:     gpu.func @step_kernel_1(
// NAMED-DAG:     gpu.func @step_kernel_2(
module attributes {gpu.container_module} {
  func.func @step(%x: memref<64xf32>, %y: memref<64xf32>, %a: memref<16x16xf16>, %n: memref<1xi32>) {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @step_kernel::@step_kernel blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%x : memref<64xf32>, %y : memref<64xf32>)
    gpu.launch_func @step_kernel_0::@step_kernel blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%y : memref<64xf32>, %x : memref<64xf32>)
    gpu.launch_func @step_kernel_1::@step_kernel blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%a : memref<16x16xf16>)
    gpu.launch_func @step_kernel_2::@step_kernel blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%n : memref<1xi32>)
    return
  }
  // A copy.
  gpu.module @step_kernel {
    gpu.func @step_kernel(%x: memref<64xf32>, %y: memref<64xf32>) kernel {
      %tx = gpu.thread_id x
      %v = memref.load %x[%tx] : memref<64xf32>
      memref.store %v, %y[%tx] : memref<64xf32>
      gpu.return
    }
  }
  // A broadcast through shared memory; its second buffer keeps its own
  // alignment.
  gpu.module @step_kernel_0 {
    gpu.func @step_kernel(%x: memref<64xf32>, %y: memref<64xf32>)
        workgroup(%cell : memref<64xf32, #gpu.address_space<workgroup>>,
                  %wide : memref<8xf64, #gpu.address_space<workgroup>> {llvm.align = 64 : i64}) kernel {
      %c0 = arith.constant 0 : index
      %tx = gpu.thread_id x
      %v = memref.load %x[%tx] : memref<64xf32>
      memref.store %v, %cell[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %w = memref.load %cell[%c0] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %w, %y[%tx] : memref<64xf32>
      gpu.return
    }
  }
  // A block-level tensor-core matmul's fragment load.
  gpu.module @step_kernel_1 {
    gpu.func @step_kernel(%a: memref<16x16xf16>)
        workgroup(%tile : memref<16x16xf16, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %frag = nvgpu.ldmatrix %tile[%c0, %c0] {gatec.block_matmul, numTiles = 4 : i32, transpose = false}
          : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      gpu.return
    }
  }
  // A one-launch path's block counter.
  gpu.module @step_kernel_2 {
    gpu.func @step_kernel(%n: memref<1xi32>) kernel {
      %c0 = arith.constant 0 : index
      %one = arith.constant 1 : i32
      %done = memref.atomic_rmw addi %one, %n[%c0] {gatec.one_launch_count} : (i32, memref<1xi32>) -> i32
      gpu.return
    }
  }
}

// -----

// With a single kernel module there is nothing to merge, but its workgroup
// buffers are still aligned and a block-matmul kernel still gets its hint.
// CHECK-LABEL: func.func @one_kernel(
// CHECK:       gpu.launch_func  @[[MOD:[a-z_]+]]::@[[KERNEL:[a-z_]+]] blocks
// CHECK:       gpu.module @[[MOD]] {
// CHECK:         gpu.func @[[KERNEL]](%{{[^)]*}}) workgroup(%{{[^ ]+}} : memref<16x16xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {nvvm.minctasm = 1 : i32} {
// NAMED-LABEL: func.func @one_kernel(
// NAMED:       gpu.module @{{[a-z_]+}} {
module attributes {gpu.container_module} {
  func.func @one_kernel(%a: memref<16x16xf16>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @one_kernel_kernel::@one_kernel_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%a : memref<16x16xf16>)
    return
  }
  gpu.module @one_kernel_kernel {
    gpu.func @one_kernel_kernel(%a: memref<16x16xf16>)
        workgroup(%tile : memref<16x16xf16, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %frag = nvgpu.ldmatrix %tile[%c0, %c0] {gatec.block_matmul, numTiles = 4 : i32, transpose = false}
          : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      gpu.return
    }
  }
}
