#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace {
struct CaseTensor {
  const char *name;
  const char *dtype;
  int bytesPerElement;
  long long elements;
  bool output;
  double tolerance;
  long long intMismatches;
};

std::vector<char> readFile(const std::string &path, bool &ok) {
  std::ifstream in(path, std::ios::binary);
  ok = bool(in);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

double halfToDouble(uint16_t h) {
  int sign = h >> 15, exponent = (h >> 10) & 31, mantissa = h & 1023;
  double v;
  if (exponent == 0)
    v = std::ldexp(mantissa, -24);
  else if (exponent == 31)
    v = mantissa ? NAN : INFINITY;
  else
    v = std::ldexp(mantissa + 1024, exponent - 25);
  return sign ? -v : v;
}

double element(const CaseTensor &t, const char *data, long long i) {
  std::string d = t.dtype;
  if (d == "f32") {
    float f;
    std::memcpy(&f, data + 4 * i, 4);
    return f;
  }
  if (d == "bf16") {
    uint16_t b;
    std::memcpy(&b, data + 2 * i, 2);
    uint32_t bits = uint32_t(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  if (d == "f16") {
    uint16_t b;
    std::memcpy(&b, data + 2 * i, 2);
    return halfToDouble(b);
  }
  if (d == "i32") {
    int32_t x;
    std::memcpy(&x, data + 4 * i, 4);
    return x;
  }
  int64_t x;
  std::memcpy(&x, data + 8 * i, 8);
  return double(x);
}

// @CASE_RANDOM@ (gatec-check's caseRandom: the same inputs, bit for bit)

// Round to nearest even, as APFloat does (NaN stays NaN).
uint16_t floatToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffff) > 0x7f800000)
    return uint16_t((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);
  return uint16_t(bits >> 16);
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, mag = x & 0x7fffffff;
  if (mag > 0x7f800000)
    return uint16_t(sign | 0x7e00);
  if (mag >= 0x477ff000)
    return uint16_t(sign | 0x7c00); // rounds to inf
  if (mag < 0x38800000) { // subnormal: scale to an integer of 2^-24 units
    float a;
    std::memcpy(&a, &mag, 4);
    return uint16_t(sign | uint32_t(std::nearbyint(a * 16777216.0f)));
  }
  uint32_t h = ((mag >> 13) - (112u << 10));
  uint32_t rest = mag & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;
  return uint16_t(sign | h);
}

// The tensor's random values, with its dtype looked at once (weights have
// tens of millions of elements).
void fillRandom(const CaseTensor &t, unsigned long long seed, int input,
                double scale, char *data) {
  std::string d = t.dtype;
  int kind = d == "f32" ? 0 : d == "bf16" ? 1 : d == "f16" ? 2 : 3;
  for (long long i = 0; i < t.elements; ++i) {
    float v = float(scale * caseRandom(seed, input, i));
    if (kind == 0)
      std::memcpy(data + 4 * i, &v, 4);
    else if (kind == 1) {
      uint16_t b = floatToBF16(v);
      std::memcpy(data + 2 * i, &b, 2);
    } else if (kind == 2) {
      uint16_t b = floatToHalf(v);
      std::memcpy(data + 2 * i, &b, 2);
    }
  }
}

int check(CUresult r, const char *what) {
  if (r == CUDA_SUCCESS)
    return 0;
  const char *name = "?";
  cuGetErrorName(r, &name);
  std::printf("FAIL %s: %s: %s\n", kKernel, what, name);
  return 1;
}
} // namespace

int main(int argc, char **argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 0;
  std::string dir = argc > 2 ? argv[2] : ".";
  bool writeOutputs = argc > 3 && std::string(argv[3]) == "--write-outputs";
  CUdevice device;
  CUcontext context;
  if (check(cuInit(0), "cuInit") ||
      check(cuDeviceGet(&device, 0), "cuDeviceGet") ||
      check(cuDevicePrimaryCtxRetain(&context, device),
            "cuDevicePrimaryCtxRetain") ||
      check(cuCtxSetCurrent(context), "cuCtxSetCurrent"))
    return 1;
  std::vector<CUdeviceptr> d(kNumTensors, 0);
  std::vector<std::vector<char>> host(kNumTensors);
  for (int i = 0; i < kNumTensors; ++i) {
    const CaseTensor &t = kTensors[i];
    size_t bytes = size_t(t.elements) * t.bytesPerElement;
    if (check(cuMemAlloc(&d[i], bytes ? bytes : 256), "cuMemAlloc"))
      return 1;
    if (!t.output && kRandomScales[i] != 0) {
      host[i].resize(bytes);
      fillRandom(t, kSeed, i, kRandomScales[i], host[i].data());
    } else if (!t.output) {
      bool ok;
      host[i] = readFile(dir + "/in" + std::to_string(i) + ".bin", ok);
      if (!ok || host[i].size() != bytes) {
        std::printf("FAIL %s: bad input file %d\n", kKernel, i);
        return 1;
      }
    } else {
      // Poison: NaN for floats, 0x5a5a... for integers.
      host[i].assign(bytes,
                     std::string(t.dtype)[0] == 'i' ? char(0x5a) : char(0xff));
    }
    if (bytes &&
        check(cuMemcpyHtoD(d[i], host[i].data(), bytes), "cuMemcpyHtoD"))
      return 1;
  }
  CUstream stream = nullptr;
  gatec_error err = {};
  if (call(d, stream, &err) != GATEC_OK) {
    std::printf("FAIL %s: %s\n", kKernel, err.message);
    return 1;
  }
  if (check(cuCtxSynchronize(), "kernel execution"))
    return 1;
  bool passed = true;
  for (int i = 0; i < kNumTensors; ++i) {
    const CaseTensor &t = kTensors[i];
    if (!t.output)
      continue;
    size_t bytes = size_t(t.elements) * t.bytesPerElement;
    if (bytes &&
        check(cuMemcpyDtoH(host[i].data(), d[i], bytes), "cuMemcpyDtoH"))
      return 1;
    if (writeOutputs) // for gatec-check, which compares them itself
      std::ofstream(dir + "/out" + std::to_string(i) + ".bin", std::ios::binary)
          .write(host[i].data(), std::streamsize(bytes));
    bool haveOracle;
    std::vector<char> oracleBytes =
        readFile(dir + "/expected" + std::to_string(i) + ".bin", haveOracle);
    bool isFloat = std::string(t.dtype)[0] != 'i';
    double scale = 1, worst = 0;
    long long mismatches = 0, first = -1;
    const double *oracle = reinterpret_cast<const double *>(oracleBytes.data());
    if (haveOracle)
      for (long long e = 0; e < t.elements; ++e)
        if (std::isfinite(oracle[e]))
          scale = std::fmax(scale, std::fabs(oracle[e]));
    for (long long e = 0; e < t.elements; ++e) {
      double k = element(t, host[i].data(), e);
      bool same;
      if (!haveOracle) {
        same = isFloat ? std::isfinite(k) : k != double(int32_t(0x5a5a5a5a));
      } else if (isFloat) {
        double r = oracle[e];
        if (std::isnan(r) || std::isnan(k) || std::isinf(r) || std::isinf(k)) {
          same = (std::isnan(r) && std::isnan(k)) || r == k;
        } else {
          double err = std::fabs(k - r) / scale;
          worst = std::fmax(worst, err);
          same = err <= t.tolerance;
        }
      } else {
        same = oracle[e] == k;
      }
      if (!same) {
        ++mismatches;
        if (first < 0)
          first = e;
      }
    }
    bool ok = isFloat ? mismatches == 0 : mismatches <= t.intMismatches;
    passed = passed && ok;
    std::printf("  %s %s.%s (%s, %lld elements): ", ok ? "ok  " : "FAIL",
                kKernel, t.name, t.dtype, t.elements);
    if (!haveOracle)
      std::printf("%lld unwritten or non-finite", mismatches);
    else if (isFloat)
      std::printf("max error %.2e (tolerance %.1e)", worst, t.tolerance);
    else
      std::printf("%lld mismatches", mismatches);
    if (!ok && first >= 0)
      std::printf("; first: element %lld", first);
    std::printf("\n");
  }
  std::printf("%s %s\n", passed ? "PASS" : "FAIL", kKernel);
  if (iterations > 0) {
    CUevent start, stop;
    float ms = 0;
    for (int w = 0; w < 3; ++w)
      (void)call(d, stream, &err);
    cuEventCreate(&start, 0);
    cuEventCreate(&stop, 0);
    cuEventRecord(start, stream);
    for (int it = 0; it < iterations; ++it)
      if (call(d, stream, &err) != GATEC_OK) {
        std::printf("FAIL %s: %s\n", kKernel, err.message);
        return 1;
      }
    cuEventRecord(stop, stream);
    if (check(cuEventSynchronize(stop), "timed calls"))
      return 1;
    cuEventElapsedTime(&ms, start, stop);
    std::printf("TIME %s %.6f ms\n", kKernel, ms / iterations);
  }
  for (CUdeviceptr p : d)
    cuMemFree(p);
  return passed ? 0 : 1;
}
