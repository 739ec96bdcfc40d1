# -*- Python -*-
# lit configuration of pmpd's IR and tool tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "PMPD"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.pmpd_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%pmpd_src", config.pmpd_src_root))
config.substitutions.append(("%pmpd_obj", config.pmpd_obj_root))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%fixtures", os.path.join(config.pmpd_src_root, "fixtures")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# Every pmpd tool is found by name: ours first, then LLVM's (FileCheck, not).
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.pmpd_tools_dir, append_path=True)
tool_dirs = [config.pmpd_tools_dir, config.llvm_tools_dir]
tools = ["pmpd-opt"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

import shutil
import subprocess
import sys

# A sanitized build's tests run with its sanitizers' options.
sys.path.insert(0, os.path.join(config.pmpd_src_root, "test"))
import sanitizers

sanitizers.configure(config)

# Another build of pmpd (scripts/sanitize.sh passes the gcc one to the clang
# one: lit --param reference_build=DIR), whose compiler output must be the same.
reference_build = lit_config.params.get("reference_build")
if reference_build:
    config.available_features.add("reference-build")
    config.substitutions.append(
        ("%reference_bin", os.path.join(os.path.abspath(reference_build), "bin")))

# The gpu target is in the build when nvcc built its kernels; a GPU to run
# its artifacts is another matter (libcuda and a device).
if config.pmpd_have_gpu_kernels:
    config.available_features.add("gpu-target")
if shutil.which("nvidia-smi") and subprocess.call(
        ["nvidia-smi", "-L"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL) == 0:
    config.available_features.add("cuda-device")

# The hexagon target is in the build when clang and lld for Hexagon built its
# runtime; its artifacts run under QEMU's Hexagon user-mode emulator.
if config.pmpd_have_hexagon:
    config.available_features.add("hexagon-target")
if shutil.which("qemu-hexagon"):
    config.available_features.add("qemu-hexagon")

# The fuzz harnesses need clang's libFuzzer and sanitizer runtimes.
if shutil.which("clang++-22") and os.path.isdir(
        "/usr/lib/llvm-22/lib/clang/22/lib/linux") and any(
        f.startswith("libclang_rt.fuzzer") for f in
        os.listdir("/usr/lib/llvm-22/lib/clang/22/lib/linux")):
    config.available_features.add("clang-fuzzer")

# Python packages some tests use (scripts/setup.sh installs them).
for module in ["numpy", "safetensors", "tokenizers"]:
    if subprocess.call([config.python_executable, "-c", "import " + module],
                       stderr=subprocess.DEVNULL) == 0:
        config.available_features.add("py-" + module)
