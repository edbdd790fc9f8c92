//===- DriverMemory.cpp - Device memory, streams and events ---------------===//
//
// Part of gatec. The driver API calls on device and host memory (checked
// against the live allocations), and streams and events: work runs when it
// is issued, so streams are in order and always idle.
//
//===----------------------------------------------------------------------===//

#include "CudaSim/Driver.h"

#include <cstring>

using namespace gatec::cudasim::emulated;

namespace {

CUresult copyChecked(uint64_t dst, bool dstDevice, uint64_t src, bool srcDevice,
                     size_t bytes) {
  Driver &d = driver();
  if ((dstDevice && !d.memory.contains(dst, bytes)) ||
      (srcDevice && !d.memory.contains(src, bytes))) {
    std::fprintf(
        stderr,
        "cuda-sim: memcpy of %zu bytes outside a live allocation "
        "(%s)\n",
        bytes,
        d.memory
            .describe(dstDevice && !d.memory.contains(dst, bytes) ? dst : src)
            .c_str());
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (bytes)
    std::memmove(reinterpret_cast<void *>(dst),
                 reinterpret_cast<const void *>(src), bytes);
  return CUDA_SUCCESS;
}

template <typename T>
CUresult memsetChecked(CUdeviceptr dst, T value, size_t count) {
  Driver &d = driver();
  if (count && !d.memory.contains(dst, count * sizeof(T))) {
    std::fprintf(stderr,
                 "cuda-sim: memset of %zu bytes outside a live "
                 "allocation\n",
                 count * sizeof(T));
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (dst % sizeof(T))
    return CUDA_ERROR_INVALID_VALUE;
  T *p = reinterpret_cast<T *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
  return CUDA_SUCCESS;
}

} // namespace

extern "C" {

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

CUresult cuMemAlloc(CUdeviceptr *pointer, size_t bytes) {
  CHECK_INIT();
  CHECK_STICKY();
  if (!pointer || bytes == 0)
    return CUDA_ERROR_INVALID_VALUE;
  uint64_t p = driver().memory.allocate(bytes);
  if (!p)
    return CUDA_ERROR_OUT_OF_MEMORY;
  *pointer = static_cast<CUdeviceptr>(p);
  return CUDA_SUCCESS;
}

CUresult cuMemAllocAsync(CUdeviceptr *pointer, size_t bytes, CUstream) {
  return cuMemAlloc(pointer, bytes);
}

CUresult cuMemFree(CUdeviceptr pointer) {
  CHECK_STICKY();
  if (pointer == 0)
    return CUDA_SUCCESS;
  if (!driver().memory.release(pointer)) {
    std::fprintf(stderr,
                 "cuda-sim: cuMemFree of 0x%llx, which is not a live "
                 "allocation\n",
                 static_cast<unsigned long long>(pointer));
    return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

CUresult cuMemFreeAsync(CUdeviceptr pointer, CUstream) {
  return cuMemFree(pointer);
}

CUresult cuMemGetInfo(size_t *free, size_t *total) {
  *free = size_t(15) << 30;
  *total = size_t(16) << 30;
  return CUDA_SUCCESS;
}

CUresult cuMemAllocHost(void **pointer, size_t bytes) {
  *pointer = std::malloc(bytes ? bytes : 1);
  return *pointer ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult cuMemFreeHost(void *pointer) {
  std::free(pointer);
  return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t bytes) {
  CHECK_STICKY();
  return copyChecked(dst, true, reinterpret_cast<uint64_t>(src), false, bytes);
}

CUresult cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t bytes) {
  CHECK_STICKY();
  return copyChecked(reinterpret_cast<uint64_t>(dst), false, src, true, bytes);
}

CUresult cuMemcpyDtoD(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  CHECK_STICKY();
  return copyChecked(dst, true, src, true, bytes);
}

CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  CHECK_STICKY();
  Driver &d = driver();
  return copyChecked(dst, d.memory.contains(dst, 1), src,
                     d.memory.contains(src, 1), bytes);
}

CUresult cuMemcpyHtoDAsync(CUdeviceptr dst, const void *src, size_t bytes,
                           CUstream) {
  return cuMemcpyHtoD(dst, src, bytes);
}

CUresult cuMemcpyDtoHAsync(void *dst, CUdeviceptr src, size_t bytes, CUstream) {
  return cuMemcpyDtoH(dst, src, bytes);
}

CUresult cuMemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                           CUstream) {
  return cuMemcpyDtoD(dst, src, bytes);
}

CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                       CUstream) {
  return cuMemcpy(dst, src, bytes);
}

CUresult cuMemsetD8(CUdeviceptr dst, unsigned char value, size_t count) {
  CHECK_STICKY();
  return memsetChecked<uint8_t>(dst, value, count);
}

CUresult cuMemsetD16(CUdeviceptr dst, unsigned short value, size_t count) {
  CHECK_STICKY();
  return memsetChecked<uint16_t>(dst, value, count);
}

CUresult cuMemsetD32(CUdeviceptr dst, unsigned int value, size_t count) {
  CHECK_STICKY();
  return memsetChecked<uint32_t>(dst, value, count);
}

CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t count,
                         CUstream) {
  return cuMemsetD8(dst, value, count);
}

CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count,
                          CUstream) {
  return cuMemsetD16(dst, value, count);
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t count,
                          CUstream) {
  return cuMemsetD32(dst, value, count);
}

//===----------------------------------------------------------------------===//
// Streams and events: work runs when it is issued, so streams are in order
// and always idle.
//===----------------------------------------------------------------------===//

CUresult cuStreamCreate(CUstream *stream, unsigned int) {
  CHECK_INIT();
  *stream = reinterpret_cast<CUstream>(new StreamHandle());
  return CUDA_SUCCESS;
}

CUresult cuStreamCreateWithPriority(CUstream *stream, unsigned int flags, int) {
  return cuStreamCreate(stream, flags);
}

CUresult cuStreamDestroy(CUstream stream) {
  delete reinterpret_cast<StreamHandle *>(stream);
  return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream) {
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

CUresult cuStreamQuery(CUstream) {
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

CUresult cuStreamWaitEvent(CUstream, CUevent, unsigned int) {
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

CUresult cuEventCreate(CUevent *event, unsigned int) {
  *event = reinterpret_cast<CUevent>(new EventHandle());
  return CUDA_SUCCESS;
}

CUresult cuEventDestroy(CUevent event) {
  delete reinterpret_cast<EventHandle *>(event);
  return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent event, CUstream) {
  CHECK_STICKY();
  auto *e = reinterpret_cast<EventHandle *>(event);
  e->time = std::chrono::steady_clock::now();
  e->recorded = true;
  return CUDA_SUCCESS;
}

CUresult cuEventSynchronize(CUevent) {
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

CUresult cuEventQuery(CUevent) {
  CHECK_STICKY();
  return CUDA_SUCCESS;
}

/// Emulation time, not GPU time: only useful to compare emulator runs.
CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end) {
  auto *s = reinterpret_cast<EventHandle *>(start);
  auto *e = reinterpret_cast<EventHandle *>(end);
  if (!s->recorded || !e->recorded)
    return CUDA_ERROR_INVALID_HANDLE;
  *ms = std::chrono::duration<float, std::milli>(e->time - s->time).count();
  return CUDA_SUCCESS;
}

} // extern "C"
