// Parameters updated in place (results with gate.updates) and the slots that
// index them (gate.slots): two pools, one with a literal row count, slots of
// both index types. The pools are mutable parameters at their positions with
// no output, the slots are checked in declaration order, and the PyTorch
// schema marks each pool mutable in an alias set of its own.

// RUN: gatec-translate --gate-to-cpp-header %s -o %t.h
// RUN: FileCheck %s < %t.h
// RUN: cc -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only -x c %t.h
// RUN: %host_cxx -std=c++17 -Wall -Wextra -pedantic -Werror -fsyntax-only -x c++ %t.h
// RUN: gatec-translate --gate-to-torch-extension %s | FileCheck %s --check-prefix=TORCH

module @inplace {
  func.func @step(%x: tensor<?x4xf32> {gate.name = "x", gate.shape = #gate.shape<N, 4>},
                  %conv: tensor<16x4x3xbf16> {gate.name = "conv", gate.shape = #gate.shape<16, 4, 3>},
                  %ssm: tensor<?x4xf32> {gate.name = "ssm", gate.shape = #gate.shape<P, 4>},
                  %rows: tensor<?xi64> {gate.name = "rows", gate.shape = #gate.shape<N>, gate.slots = {pool = 2 : i64}},
                  %crows: tensor<?xi32> {gate.name = "crows", gate.shape = #gate.shape<N>, gate.slots = {pool = 1 : i64}})
      -> (tensor<?x4xf32> {gate.name = "y", gate.shape = #gate.shape<N, 4>},
          tensor<16x4x3xbf16> {gate.name = "conv", gate.shape = #gate.shape<16, 4, 3>, gate.updates = 1 : i64},
          tensor<?x4xf32> {gate.name = "ssm", gate.shape = #gate.shape<P, 4>, gate.updates = 2 : i64}) {
    return %x, %conv, %ssm : tensor<?x4xf32>, tensor<16x4x3xbf16>, tensor<?x4xf32>
  }
}

// CHECK:      #define GATEC_RUNTIME_VERSION 4
// CHECK-LABEL: void _mlir_ciface_step(gatec_memref_f32_2d *x,
// CHECK-NEXT:                        gatec_memref_bf16_3d *conv,
// CHECK-NEXT:                        gatec_memref_f32_2d *ssm,
// CHECK-NEXT:                        gatec_memref_i64_1d *rows,
// CHECK-NEXT:                        gatec_memref_i32_1d *crows,
// CHECK-NEXT:                        gatec_memref_f32_2d *y);
// CHECK:      typedef struct gatec_step_shapes {
// CHECK-NEXT:   int64_t y[2]; // [N, 4]
// CHECK-NEXT:   int64_t y_numel;
// CHECK-NEXT: } gatec_step_shapes;
// CHECK:      ///   x: f32[N, 4] (input)
// CHECK-NEXT: ///   conv: bf16[16, 4, 3] (input, updated in place)
// CHECK-NEXT: ///   ssm: f32[P, 4] (input, updated in place)
// CHECK-NEXT: ///   rows: i64[N] (input, rows of ssm; a negative slot skips its sequence)
// CHECK-NEXT: ///   crows: i32[N] (input, rows of conv; a negative slot skips its sequence)
// CHECK-NEXT: ///   y: f32[N, 4] (output)
// CHECK:      gatec_step(const float *x, int64_t x_dim0, int64_t x_dim1,
// CHECK-NEXT:            gatec_bf16 *conv, int64_t conv_dim0, int64_t conv_dim1, int64_t conv_dim2,
// CHECK-NEXT:            float *ssm, int64_t ssm_dim0, int64_t ssm_dim1,
// CHECK-NEXT:            const int64_t *rows, int64_t rows_dim0,
// CHECK-NEXT:            const int32_t *crows, int64_t crows_dim0,
// CHECK-NEXT:            float *y, int64_t y_dim0, int64_t y_dim1,
// CHECK-NEXT:            gatec_error *err) {
// CHECK:        gatec_d_conv.allocated = conv;
// CHECK:        gatec_d_ssm.allocated = ssm;
// CHECK:        { // rows: rows of ssm, each below P or negative, none twice
// CHECK-NEXT:     gatec_rc = gatec_rt_check_slots_i64(err, "step", "rows", rows, rows_dim0, ssm_dim0, "P");
// CHECK:        { // crows: rows of conv, each below 16 or negative, none twice
// CHECK-NEXT:     gatec_rc = gatec_rt_check_slots_i32(err, "step", "crows", crows, crows_dim0, conv_dim0, "dim 0");
// CHECK:        _mlir_ciface_step(&gatec_d_x, &gatec_d_conv, &gatec_d_ssm, &gatec_d_rows, &gatec_d_crows, &gatec_d_y);
// CHECK:      struct StepShapes {
// CHECK-NEXT:   std::array<int64_t, 2> y{};
// CHECK-NEXT:   int64_t y_numel = 0;
// CHECK-NEXT: };
// CHECK:      inline Status step(TensorView<const float, 2> x,
// CHECK-NEXT:                    TensorView<gatec_bf16, 3> conv,
// CHECK-NEXT:                    TensorView<float, 2> ssm,
// CHECK-NEXT:                    TensorView<const int64_t, 1> rows,
// CHECK-NEXT:                    TensorView<const int32_t, 1> crows,
// CHECK-NEXT:                    TensorView<float, 2> y) {

// TORCH:      //   gatec_inplace::step(Tensor x, Tensor(a!) conv, Tensor(b!) ssm, Tensor rows, Tensor crows) -> Tensor y
// TORCH:        gatec_torch::checkInPlace(conv, "step", "conv");
// TORCH:        gatec_torch::checkInPlace(ssm, "step", "ssm");
// TORCH-NOT:    conv.contiguous()
// TORCH:        static_cast<gatec_bf16 *>(conv.data_ptr()), conv.size(0), conv.size(1), conv.size(2),
// TORCH-NEXT:   static_cast<float *>(ssm.data_ptr()), ssm.size(0), ssm.size(1),
// TORCH:        return gatec_out_y;
