/*
 * onnxc: the command-line driver.  `compile` turns an ONNX model into a
 * shared library and header, `run` executes a compiled library on tensor
 * files, `test-onnx` runs ONNX backend test directories.
 */
#include "tools.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: onnxc COMMAND [OPTIONS]\n"
    "\n"
    "onnxc compiles ONNX models ahead of time into self-contained native\n"
    "shared libraries with a C header.\n"
    "\n"
    "commands:\n"
    "  compile MODEL.onnx -o LIB.so   compile a model (see compile --help)\n"
    "  run LIB.so -i NAME=FILE ...    run a compiled model (see run --help)\n"
    "  test-onnx DIR...               run ONNX backend test directories\n"
    "  opt FILE --passes=LIST         run passes on IR text and print it\n"
    "  help                           print this message\n"
    "\n"
    "Run `onnxc COMMAND --help` for the options of a command.\n";

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    /* `onnxc help COMMAND` is `onnxc COMMAND --help`. */
    char help_flag[] = "--help";
    char *help_argv[] = {argv[0], argv[argc > 2 ? 2 : 1], help_flag, NULL};
    if (strcmp(cmd, "help") == 0 && argc > 2) {
        cmd = argv[2];
        argc = 3;
        argv = help_argv;
    }
    if (strcmp(cmd, "compile") == 0)
        return tool_compile_main(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return tool_run_main(argc - 1, argv + 1);
    if (strcmp(cmd, "opt") == 0)
        return tool_opt_main(argc - 1, argv + 1);
    if (strcmp(cmd, "test-onnx") == 0)
        return tool_test_onnx_main(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("onnxc 0.1.0\n");
        return 0;
    }
    fprintf(stderr, "onnxc: error: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}
