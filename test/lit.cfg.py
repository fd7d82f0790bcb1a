# lit configuration of the ds tests (dialect/, passes/, codegen/; unit/ and gpu/ are GoogleTest).
import os
import lit.formats
from lit.llvm import llvm_config

config.name = "DS"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ds_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit", "gpu", "Inputs"]
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"
config.substitutions.append(("%PATH%", config.environment["PATH"]))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
tool_dirs = [config.ds_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(
    ["ds-opt", "ds-compile", "ds-run", "ds-bench", "ds-example", "ds-jit-bench"], tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# ptxas (CUDA toolkit), where the compiler finds it: /usr/local/cuda/bin first, then PATH.
import shutil
if os.access("/usr/local/cuda/bin/ptxas", os.X_OK) or shutil.which(
        "ptxas", path=config.environment.get("PATH")):
    config.available_features.add("ptxas")
