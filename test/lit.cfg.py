# -*- Python -*-
# The gatec lit suite: FileCheck tests on gatec-opt and gatec, mirroring the
# source tree. Tests that need optional tools say so with REQUIRES.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "GATEC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".gate", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.gatec_obj_root, "test")
# Unit has its own suite (GoogleTest binaries); Inputs hold data, not tests.
config.excludes = ["Inputs", "Unit", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%gatec_src_root", config.gatec_src_root))
config.substitutions.append(("%gatec_obj_root", config.gatec_obj_root))
config.substitutions.append(("%host_cxx", config.host_cxx))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
# `not` and `count` at the start of a RUN line are found through PATH, as in
# upstream MLIR suites (lit substitutes them only after a pipe).
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.gatec_tools_dir, config.llvm_tools_dir]
tools = ["gatec", "gatec-opt", "gatec-check", "gatec-translate", "llvm-nm"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Optional tools become lit features, so the suite passes on any machine and
# checks everything the machine can.
if config.ptxas_executable and os.path.exists(config.ptxas_executable):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas_executable))
    # cuda.h and the stub libcuda.so next to ptxas: generated CUDA headers
    # compile and link (they cannot run without a GPU and its driver).
    cuda_root = os.path.dirname(os.path.dirname(config.ptxas_executable))
    if os.path.exists(os.path.join(cuda_root, "include", "cuda.h")) and \
            os.path.exists(os.path.join(cuda_root, "lib64", "stubs", "libcuda.so")):
        config.available_features.add("cuda-toolkit")
        config.substitutions.append(("%cuda_root", cuda_root))

# cuda-sim (docs/cuda-sim.md): the emulating libcuda that runs the CUDA
# kernels without a GPU; tests that execute CUDA kernels say REQUIRES: cuda-sim
# and pass --cuda-driver=%cuda_sim to gatec-check.
cuda_sim_dir = getattr(config, "cuda_sim_dir", "")
if "cuda-toolkit" in config.available_features and \
        os.path.exists(os.path.join(cuda_sim_dir, "libcuda.so.1")):
    config.available_features.add("cuda-sim")
    config.substitutions.append(("%cuda_sim", cuda_sim_dir))

# The host's avx512_bf16 (gatec's cpu:native then takes bf16 matmuls through
# vdpbf16ps dot products): tests of that path say REQUIRES: avx512_bf16.
try:
    with open("/proc/cpuinfo") as cpuinfo:
        if "avx512_bf16" in cpuinfo.read().split():
            config.available_features.add("avx512_bf16")
except OSError:
    pass

# Execution tests JIT-run lowered IR on the host with mlir-runner and MLIR's
# runtime support libraries (printMemrefF32 & co), from the same LLVM install.
mlir_runner = os.path.join(config.llvm_tools_dir, "mlir-runner")
llvm_lib_dir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
runner_libs = {
    "%mlir_runner_utils": os.path.join(llvm_lib_dir, "libmlir_runner_utils.so"),
    "%mlir_c_runner_utils": os.path.join(llvm_lib_dir, "libmlir_c_runner_utils.so"),
}
if os.path.exists(mlir_runner) and all(map(os.path.exists, runner_libs.values())):
    config.available_features.add("mlir-runner")
    llvm_config.add_tool_substitutions(["mlir-runner"], [config.llvm_tools_dir])
    config.substitutions.extend(runner_libs.items())

# The PyTorch extension test (test/Target/Torch) builds an op library against
# libtorch and loads it into Python: it needs a Python that imports torch
# (lit's own, else python3 on PATH; Debian: python3-torch) and torch's C++
# headers (Debian: libtorch-dev). The compile flags come from torch itself.
def find_torch():
    import json
    import shutil
    import subprocess
    import sys

    probe = (
        "import json, torch\n"
        "from torch.utils import cpp_extension as ext\n"
        "print(json.dumps({'abi': int(torch._C._GLIBCXX_USE_CXX11_ABI),\n"
        "  'include': ext.include_paths(), 'lib': ext.library_paths()}))\n"
    )
    for python in dict.fromkeys([sys.executable, shutil.which("python3")]):
        if not python:
            continue
        try:
            out = subprocess.run([python, "-c", probe], capture_output=True,
                                 text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode != 0 or not out.stdout.strip():
            continue
        info = json.loads(out.stdout.strip().splitlines()[-1])
        # The extension needs only the ATen, c10 and torch/library.h headers
        # (libtorch-dev; Debian links torch's include dir to /usr/include).
        if not any(os.path.exists(os.path.join(d, "torch", "library.h"))
                   for d in info["include"]):
            continue
        return python, info
    return None, None


torch_python, torch_info = find_torch()
libomp = os.path.join(llvm_lib_dir, "libomp.so")
# What a program linking a CPU object (which calls __kmpc_*) adds.
config.substitutions.append(("%omp_ldflags",
                             "%s -Wl,-rpath,%s" % (libomp, llvm_lib_dir)))
if torch_python and os.path.exists(libomp):
    config.available_features.add("torch")
    config.substitutions.append(("%torch_python", torch_python))
    config.substitutions.append((
        "%torch_cxxflags",
        " ".join(["-std=c++17", "-D_GLIBCXX_USE_CXX11_ABI=%d" % torch_info["abi"]]
                 + ["-isystem " + d for d in torch_info["include"]])))
    config.substitutions.append((
        "%torch_ldflags",
        " ".join(["-L%s -Wl,-rpath,%s" % (d, d) for d in torch_info["lib"]]
                 + ["-ltorch_cpu", "-lc10", libomp,
                    "-Wl,-rpath," + llvm_lib_dir])))

# The instrumented build (scripts/sanitize.sh, docs/reliability.md): the
# features let a test that cannot run under a sanitizer say so, and every
# instrumented tool a test starts gets the same sanitizer settings.
def sanitizers():
    cache = os.path.join(config.gatec_obj_root, "CMakeCache.txt")
    try:
        with open(cache) as f:
            for line in f:
                if line.startswith("GATEC_SANITIZE:"):
                    return line.split("=", 1)[1].strip().split(";")
    except OSError:
        pass
    return []


for sanitizer in filter(None, sanitizers()):
    config.available_features.add(sanitizer)  # "address", "undefined"
    if sanitizer == "address":
        config.environment.setdefault(
            "ASAN_OPTIONS",
            os.environ.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1"))
    if sanitizer == "undefined":
        config.environment.setdefault(
            "UBSAN_OPTIONS",
            os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"))
