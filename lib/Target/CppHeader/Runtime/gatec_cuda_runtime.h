#ifndef GATEC_CUDA_RUNTIME_H
#define GATEC_CUDA_RUNTIME_H
// Helpers of the generated CUDA launch functions; not part of the interface.

static inline GATEC_MAYBE_UNUSED int64_t gatec_cuda_ceildiv(int64_t a,
                                                            int64_t b) {
  return (a + b - 1) / b;
}

static inline GATEC_MAYBE_UNUSED void
gatec_cuda_row_major(int rank, const int64_t *sizes, int64_t *strides) {
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= sizes[d];
  }
}

/// Fills err with the failed driver call and the driver's error name.
static inline GATEC_MAYBE_UNUSED int gatec_cuda_fail(gatec_error *err,
                                                     const char *kernel,
                                                     const char *what,
                                                     CUresult result) {
  const char *name = nullptr;
  if (cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    name = "unknown CUDA error";
  return GATEC_RT_FAIL(err, GATEC_ERR_CUDA, "%s: %s failed: %s (%d)", kernel,
                       what, name, (int)result);
}

/// Copies n offsets or slots from device memory after the work queued on
/// `stream` (a synchronizing copy) and checks them on the host with `check`,
/// one of gatec_rt_check_offsets_i32/_i64 and gatec_rt_check_slots_i32/_i64.
template <typename T>
static inline GATEC_MAYBE_UNUSED int gatec_cuda_check_values(
    gatec_error *err, const char *kernel, const char *name, const T *values,
    int64_t n, int64_t bound, const char *bound_name, CUstream stream,
    int (*check)(gatec_error *, const char *, const char *, const T *, int64_t,
                 int64_t, const char *)) {
  std::vector<T> host(static_cast<size_t>(n));
  if (n > 0) {
    CUresult result =
        cuMemcpyDtoHAsync(host.data(), (CUdeviceptr)(uintptr_t)values,
                          host.size() * sizeof(T), stream);
    if (result != CUDA_SUCCESS)
      return gatec_cuda_fail(err, kernel, "cuMemcpyDtoHAsync", result);
    result = cuStreamSynchronize(stream);
    if (result != CUDA_SUCCESS)
      return gatec_cuda_fail(err, kernel, "cuStreamSynchronize", result);
  }
  return check(err, kernel, name, host.data(), n, bound, bound_name);
}

/// One cuLaunchKernel; an empty grid (a dimension of size 0) launches
/// nothing.
static inline GATEC_MAYBE_UNUSED int
gatec_cuda_launch(CUfunction fn, const char *name, int64_t gx, int64_t gy,
                  int64_t gz, int64_t bx, int64_t by, int64_t bz,
                  CUstream stream, void **params, const char *kernel,
                  gatec_error *err) {
  if (gx == 0 || gy == 0 || gz == 0)
    return GATEC_OK;
  if (gx < 0 || gx > 2147483647 || gy < 0 || gy > 65535 || gz < 0 || gz > 65535)
    return GATEC_RT_FAIL(err, GATEC_ERR_SHAPE,
                         "%s: kernel %s needs a grid of %lld x %lld x %lld "
                         "blocks, more than CUDA allows",
                         kernel, name, (long long)gx, (long long)gy,
                         (long long)gz);
  CUresult result =
      cuLaunchKernel(fn, (unsigned)gx, (unsigned)gy, (unsigned)gz, (unsigned)bx,
                     (unsigned)by, (unsigned)bz, 0, stream, params, nullptr);
  if (result != CUDA_SUCCESS)
    return gatec_cuda_fail(err, kernel, "cuLaunchKernel", result);
  return GATEC_OK;
}

/// The temporaries of one call, allocated on its stream and freed there
/// (after the kernels that use them) when the call returns.
class gatec_cuda_workspace {
public:
  explicit gatec_cuda_workspace(CUstream stream) : stream_(stream) {}
  gatec_cuda_workspace(const gatec_cuda_workspace &) = delete;
  gatec_cuda_workspace &operator=(const gatec_cuda_workspace &) = delete;
  ~gatec_cuda_workspace() { freeAll(); }

  CUdeviceptr operator[](size_t i) const { return buffers_[i]; }

  bool allocate(size_t i, int64_t bytes, gatec_error *err) {
    if (buffers_.size() <= i)
      buffers_.resize(i + 1, 0);
    if (bytes <= 0)
      return true;
    CUresult result = cuMemAllocAsync(&buffers_[i], (size_t)bytes, stream_);
    if (result != CUDA_SUCCESS) {
      gatec_cuda_fail(err, "gatec", "cuMemAllocAsync", result);
      return false;
    }
    return true;
  }

  /// Frees everything; returns GATEC_OK or the first failure.
  int release(const char *kernel, gatec_error *err) {
    CUresult result = freeAll();
    if (result != CUDA_SUCCESS)
      return gatec_cuda_fail(err, kernel, "cuMemFreeAsync", result);
    gatec_rt_clear(err);
    return GATEC_OK;
  }

private:
  CUresult freeAll() {
    CUresult first = CUDA_SUCCESS;
    for (CUdeviceptr &buffer : buffers_) {
      if (!buffer)
        continue;
      CUresult result = cuMemFreeAsync(buffer, stream_);
      if (first == CUDA_SUCCESS)
        first = result;
      buffer = 0;
    }
    return first;
  }

  CUstream stream_;
  std::vector<CUdeviceptr> buffers_;
};
#endif // GATEC_CUDA_RUNTIME_H
