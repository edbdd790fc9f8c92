/// Checks what the header's entry points cannot see: that `t` is a defined,
/// dense CPU tensor of the kernel's dtype and rank. Shapes are the header's.
[[maybe_unused]] void checkInput(const at::Tensor &t, const char *kernel,
                                 const char *name, at::ScalarType dtype,
                                 int64_t rank, const char *signature) {
  TORCH_CHECK(t.defined(), kernel, ": ", name, " is an undefined tensor");
  TORCH_CHECK(t.device().is_cpu(), kernel, ": ", name, " is on ", t.device(),
              ", but {library} was compiled for the CPU only; no CUDA target "
              "in this build");
  TORCH_CHECK(t.layout() == at::kStrided, kernel, ": ", name, " has layout ",
              t.layout(), ", but gatec kernels take dense tensors");
  TORCH_CHECK(t.scalar_type() == dtype, kernel, ": ", name, " has dtype ",
              t.scalar_type(), " but must be ", dtype, " (", signature, ")");
  TORCH_CHECK(t.dim() == rank, kernel, ": ", name, " has ", t.dim(),
              " dimensions but must have ", rank, " (", signature, ")");
}

/// An input the kernel updates in place is written through its own data, so
/// it cannot be made contiguous (the copy would take the update).
[[maybe_unused]] void checkInPlace(const at::Tensor &t, const char *kernel,
                                   const char *name) {
  TORCH_CHECK(t.is_contiguous(), kernel, ": ", name,
              " is updated in place, so it must be contiguous (a contiguous "
              "copy would not receive the update)");
}

/// Turns a failed gatec call into a RuntimeError with the header's message.
// clang-format off
[[maybe_unused]] void check(int status, const gatec_error &err) {
  TORCH_CHECK(status == GATEC_OK, err.message, " [",
              gatec_status_name(status), "]");
}
// clang-format on

/// What every backend but the CPU runs, after checkInput() has named the
/// offending tensor (so this is reached only by tensors that look like dense
/// CPU tensors but dispatched elsewhere).
[[noreturn, maybe_unused]] void unsupported(const char *kernel) {
  TORCH_CHECK_NOT_IMPLEMENTED(false, kernel,
                              ": these tensors dispatch to a backend other "
                              "than the CPU, but {library} was compiled for "
                              "the CPU only; no CUDA target in this build");
  std::abort(); // Not reached: the check always throws.
}
