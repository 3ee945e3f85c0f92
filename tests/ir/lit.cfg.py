# lit configuration for the IR text form tests.  Each *.ir file contains RUN
# lines for ir-tool and FileCheck patterns.  The build directory's
# lit.site.cfg.py sets the tool paths and then loads this file.
import os

import lit.formats

config.name = "onnxc-ir"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".ir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.ir_test_exec_root

path = [config.ir_tool_dir, config.llvm_tools_dir,
        config.environment.get("PATH", "")]
config.environment["PATH"] = os.pathsep.join(path)
