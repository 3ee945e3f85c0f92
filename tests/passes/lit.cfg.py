# lit configuration for the pass tests.  Each *.ir file contains RUN lines
# that run `onnxc opt` and FileCheck patterns on the IR or the remarks it
# prints.  The build directory's lit.site.cfg.py sets the tool paths and
# then loads this file.
import os

import lit.formats

config.name = "onnxc-passes"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".ir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.passes_test_exec_root

path = [config.onnxc_dir, config.llvm_tools_dir,
        config.environment.get("PATH", "")]
config.environment["PATH"] = os.pathsep.join(path)
