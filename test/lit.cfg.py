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
config.substitutions.append(("%host_cxx", config.host_cxx))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.gatec_tools_dir, config.llvm_tools_dir]
tools = ["gatec-opt"]
if os.path.exists(os.path.join(config.gatec_tools_dir, "gatec")):
    tools.append("gatec")
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Optional tools become lit features, so the suite passes on any machine and
# checks everything the machine can.
if config.ptxas_executable and os.path.exists(config.ptxas_executable):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas_executable))
