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
