/*
 * `onnxc compile`: load a model, bind its symbolic dims, run the pass
 * pipeline and emit IR, LLVM IR, an object or a shared library.
 */
#include "tools.h"
#include "../codegen/codegen.h"
#include "../frontend/frontend.h"
#include "../passes/passes.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

static const char compile_usage[] =
    "usage: onnxc compile MODEL.onnx [-o OUTPUT] [OPTIONS]\n"
    "\n"
    "Compile an ONNX model into a shared library OUTPUT (default NAME.so)\n"
    "and a header NAME.h beside it.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE       file to write; `-` is stdout for --emit=ir\n"
    "  --name NAME             C prefix of the generated API (default: the\n"
    "                          output's file name without lib and .so)\n"
    "  --dim NAME=VALUE        bind the symbolic input dim NAME; every\n"
    "                          symbolic dim must be bound (repeatable)\n"
    "  --shape NAME=D0xD1x...  bind the dims of input NAME from a shape;\n"
    "                          `--shape x=` is a scalar (repeatable)\n"
    "  --seq-len NAME=N        the length of the sequence input NAME; its\n"
    "                          elements become inputs NAME[0] to NAME[N-1]\n"
    "                          (repeatable)\n"
    "  --absent NAME           compile for the optional input NAME being\n"
    "                          absent; without it the input is present\n"
    "                          (repeatable)\n"
    "  --emit=KIND             so (default), obj, llvm (optimised LLVM IR),\n"
    "                          ir (onnxc IR after the passes) or dot (the\n"
    "                          graph after the passes, for Graphviz)\n"
    "  --header FILE           where to write the header\n"
    "  -O LEVEL                LLVM optimisation level 0-3 (default 2)\n"
    "  --cc PROGRAM            compiler driver that links the library\n"
    "                          (default cc)\n"
    "  --print-before=PASS     print the IR to stderr before PASS\n"
    "  --print-after=PASS      print the IR to stderr after PASS\n"
    "  --print-after-all       print the IR to stderr after every pass\n"
    "  --disable-pass=PASS     skip PASS (repeatable)\n"
    "  --verify-each           verify the IR after every pass\n"
    "  --time-passes           print the time each pass took to stderr\n"
    "  --stats                 print pass and code generation statistics\n"
    "  --explain-fusion        print to stderr, for each op a fusion pass\n"
    "                          examined, whether it fused and if not why\n"
    "                          (alias --remarks)\n"
    "  --list-passes           list the passes and exit\n"
    "  -h, --help              print this message\n";

enum {
    OPT_NAME = 256,
    OPT_DIM,
    OPT_SHAPE,
    OPT_SEQ_LEN,
    OPT_ABSENT,
    OPT_EMIT,
    OPT_HEADER,
    OPT_CC,
    OPT_PRINT_BEFORE,
    OPT_PRINT_AFTER,
    OPT_PRINT_AFTER_ALL,
    OPT_DISABLE_PASS,
    OPT_VERIFY_EACH,
    OPT_TIME_PASSES,
    OPT_STATS,
    OPT_EXPLAIN_FUSION,
    OPT_LIST_PASSES,
};

static const struct option compile_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"name", required_argument, NULL, OPT_NAME},
    {"dim", required_argument, NULL, OPT_DIM},
    {"shape", required_argument, NULL, OPT_SHAPE},
    {"seq-len", required_argument, NULL, OPT_SEQ_LEN},
    {"absent", required_argument, NULL, OPT_ABSENT},
    {"emit", required_argument, NULL, OPT_EMIT},
    {"header", required_argument, NULL, OPT_HEADER},
    {"cc", required_argument, NULL, OPT_CC},
    {"print-before", required_argument, NULL, OPT_PRINT_BEFORE},
    {"print-after", required_argument, NULL, OPT_PRINT_AFTER},
    {"print-after-all", no_argument, NULL, OPT_PRINT_AFTER_ALL},
    {"disable-pass", required_argument, NULL, OPT_DISABLE_PASS},
    {"verify-each", no_argument, NULL, OPT_VERIFY_EACH},
    {"time-passes", no_argument, NULL, OPT_TIME_PASSES},
    {"stats", no_argument, NULL, OPT_STATS},
    {"explain-fusion", no_argument, NULL, OPT_EXPLAIN_FUSION},
    {"remarks", no_argument, NULL, OPT_EXPLAIN_FUSION},
    {"list-passes", no_argument, NULL, OPT_LIST_PASSES},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

#define MAX_LIST 64

struct compile_args {
    const char *model;
    const char *output;
    char name[128];
    bool name_set;
    const char *dim_names[MAX_LIST];
    int64_t dim_values[MAX_LIST];
    char *dim_storage[MAX_LIST];
    int n_dims;
    const char *shapes[MAX_LIST];
    int n_shapes;
    struct fe_seq_len seq_lens[MAX_LIST];
    int n_seq_lens;
    const char *absent[MAX_LIST];
    int n_absent;
    enum cg_emit emit;
    bool emit_ir;
    bool emit_dot; /* with emit_ir: Graphviz instead of IR text */
    struct pass_options passes;
    const char *disabled[MAX_LIST];
    const char *print_before[MAX_LIST];
    const char *print_after[MAX_LIST];
    struct cg_options cg;
};

/* Derive the API prefix from an output path: "out/libbert.so" -> "bert". */
static void
name_from_path(const char *path, char *name, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncmp(base, "lib", 3) == 0 && base[3] && base[3] != '.')
        base += 3;
    size_t n = 0;
    for (const char *p = base; *p && *p != '.' && n + 1 < size; p++)
        name[n++] = isalnum((unsigned char)*p) ? *p : '_';
    name[n] = 0;
    if (n == 0 || isdigit((unsigned char)name[0]))
        snprintf(name, size, "model");
}

static int
add_to_list(const char **list, int *n, const char *item, const char *opt)
{
    if (*n >= MAX_LIST)
        return ir_errorf("too many %s options (at most %d)", opt, MAX_LIST);
    if (!pass_find(item))
        return ir_errorf("%s=%s: no pass named '%s'; --list-passes "
                         "lists them",
                         opt, item, item);
    list[(*n)++] = item;
    return 0;
}

static int
parse_dim(struct compile_args *a, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *end;
    if (!eq || eq == arg)
        return ir_errorf("--dim '%s': expected NAME=VALUE", arg);
    errno = 0;
    long long v = strtoll(eq + 1, &end, 10);
    if (*end || end == eq + 1 || v < 0)
        return ir_errorf("--dim '%s': VALUE must be a whole number >= 0", arg);
    if (errno == ERANGE)
        return ir_errorf("--dim '%s': VALUE is out of range", arg);
    if (a->n_dims >= MAX_LIST)
        return ir_errorf("too many --dim options (at most %d)", MAX_LIST);
    char *name = strndup(arg, (size_t)(eq - arg));
    a->dim_storage[a->n_dims] = name;
    a->dim_names[a->n_dims] = name;
    a->dim_values[a->n_dims++] = v;
    return 0;
}

/* Parse one --seq-len NAME=N option. */
static int
parse_seq_len(struct compile_args *a, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *end;
    if (!eq || eq == arg)
        return ir_errorf("--seq-len '%s': expected NAME=N", arg);
    errno = 0;
    long long v = strtoll(eq + 1, &end, 10);
    if (*end || end == eq + 1 || v < 0 || errno == ERANGE)
        return ir_errorf("--seq-len '%s': N must be a whole number >= 0", arg);
    if (a->n_seq_lens >= MAX_LIST)
        return ir_errorf("too many --seq-len options (at most %d)", MAX_LIST);
    for (int i = 0; i < a->n_seq_lens; i++)
        if (strncmp(a->seq_lens[i].name, arg, (size_t)(eq - arg)) == 0 &&
            !a->seq_lens[i].name[eq - arg])
            return ir_errorf("--seq-len '%s': the input is given twice", arg);
    a->seq_lens[a->n_seq_lens].name = strndup(arg, (size_t)(eq - arg));
    a->seq_lens[a->n_seq_lens++].len = v;
    return 0;
}

/* Returns 0 to go on, 1 when done (help), -1 on a usage error. */
static int
parse_args(struct compile_args *a, int argc, char **argv)
{
    int c;
    optind = 1;
    a->cg.opt_level = 2;
    a->passes.disabled = a->disabled;
    a->passes.print_before = a->print_before;
    a->passes.print_after = a->print_after;
    while ((c = getopt_long(argc, argv, "o:O:h", compile_options, NULL)) !=
           -1) {
        switch (c) {
        case 'o':
            a->output = optarg;
            break;
        case 'O':
            if (optarg[0] < '0' || optarg[0] > '3' || optarg[1])
                return ir_errorf("-O%s: the level must be 0, 1, 2 or 3",
                                 optarg);
            a->cg.opt_level = optarg[0] - '0';
            break;
        case OPT_NAME:
            snprintf(a->name, sizeof(a->name), "%s", optarg);
            a->name_set = true;
            break;
        case OPT_DIM:
            if (parse_dim(a, optarg) != 0)
                return -1;
            break;
        case OPT_SHAPE:
            if (a->n_shapes >= MAX_LIST)
                return ir_errorf("too many --shape options (at most %d)",
                                 MAX_LIST);
            a->shapes[a->n_shapes++] = optarg;
            break;
        case OPT_SEQ_LEN:
            if (parse_seq_len(a, optarg) != 0)
                return -1;
            break;
        case OPT_ABSENT:
            if (a->n_absent >= MAX_LIST)
                return ir_errorf("too many --absent options (at most %d)",
                                 MAX_LIST);
            a->absent[a->n_absent++] = optarg;
            break;
        case OPT_EMIT:
            if (strcmp(optarg, "so") == 0)
                a->emit = CG_EMIT_SO;
            else if (strcmp(optarg, "obj") == 0)
                a->emit = CG_EMIT_OBJ;
            else if (strcmp(optarg, "llvm") == 0)
                a->emit = CG_EMIT_LLVM;
            else if (strcmp(optarg, "ir") == 0)
                a->emit_ir = true;
            else if (strcmp(optarg, "dot") == 0)
                a->emit_ir = a->emit_dot = true;
            else
                return ir_errorf("--emit=%s: expected so, obj, llvm, ir or "
                                 "dot",
                                 optarg);
            break;
        case OPT_HEADER:
            a->cg.header = optarg;
            break;
        case OPT_CC:
            a->cg.cc = optarg;
            break;
        case OPT_PRINT_BEFORE:
            if (add_to_list(a->print_before, &a->passes.n_print_before, optarg,
                            "--print-before") != 0)
                return -1;
            break;
        case OPT_PRINT_AFTER:
            if (add_to_list(a->print_after, &a->passes.n_print_after, optarg,
                            "--print-after") != 0)
                return -1;
            break;
        case OPT_PRINT_AFTER_ALL:
            a->passes.print_after_all = true;
            break;
        case OPT_DISABLE_PASS:
            if (add_to_list(a->disabled, &a->passes.n_disabled, optarg,
                            "--disable-pass") != 0)
                return -1;
            break;
        case OPT_VERIFY_EACH:
            a->passes.verify_each = true;
            break;
        case OPT_TIME_PASSES:
            a->passes.time_passes = true;
            break;
        case OPT_STATS:
            a->passes.stats = true;
            break;
        case OPT_EXPLAIN_FUSION:
            a->passes.explain = true;
            break;
        case OPT_LIST_PASSES:
            pass_list(stdout);
            return 1;
        case 'h':
            fputs(compile_usage, stdout);
            return 1;
        default:
            fputs(compile_usage, stderr);
            return -1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "onnxc: error: compile takes one model file\n\n%s",
                compile_usage);
        return -1;
    }
    a->model = argv[optind];
    return 0;
}

/* Apply one --shape NAME=D0xD1x... option. */
static int
bind_shape(struct ir_graph *g, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return ir_errorf("--shape '%s': expected NAME=D0xD1x...", arg);
    int64_t dims[IR_MAX_RANK];
    int rank = 0;
    const char *p = eq + 1;
    while (*p) {
        char *end;
        errno = 0;
        long long d = strtoll(p, &end, 10);
        if (end == p || d < 0 || errno == ERANGE ||
            (*end && (*end != 'x' || !end[1])))
            return ir_errorf("--shape '%s': dims must be whole numbers >= 0 "
                             "joined by x",
                             arg);
        if (rank >= IR_MAX_RANK)
            return ir_errorf("--shape '%s': rank above %d is not supported",
                             arg, IR_MAX_RANK);
        dims[rank++] = d;
        p = *end ? end + 1 : end;
    }
    char *name = strndup(arg, (size_t)(eq - arg));
    int rc = pass_bind_input_shape(g, name, rank, dims);
    free(name);
    return rc;
}

/* True when both paths name one existing file. */
static bool
same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Create the folders on the way to path, as `mkdir -p` would. */
static int
make_parent_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return ir_errorf("output path '%s' is too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return ir_errorf("cannot create folder '%s': %s", buf,
                             strerror(errno));
        *p = '/';
    }
    return 0;
}

static int
emit_ir(const struct ir_graph *g, const char *output, bool dot)
{
    void (*print)(FILE *, const struct ir_graph *) =
        dot ? ir_print_dot : ir_print;
    if (!output || strcmp(output, "-") == 0) {
        print(stdout, g);
        return 0;
    }
    FILE *f = fopen(output, "w");
    if (!f)
        return ir_errorf("cannot write '%s'", output);
    print(f, g);
    if (fclose(f) != 0)
        return ir_errorf("cannot write '%s'", output);
    return 0;
}

static int
compile(struct compile_args *a)
{
    struct fe_options opts = {.seq_lens = a->seq_lens,
                              .n_seq_lens = a->n_seq_lens,
                              .absent = a->absent,
                              .n_absent = a->n_absent};
    struct ir_graph *g = fe_load_model_with(a->model, &opts);
    if (!g)
        return 1;
    struct pass_manager pm = {.opts = &a->passes};
    int rc = 0;
    for (int i = 0; rc == 0 && i < a->n_shapes; i++)
        rc = bind_shape(g, a->shapes[i]);
    if (rc == 0)
        rc = pass_bind_dims(g, a->dim_names, a->dim_values, a->n_dims);
    if (rc == 0)
        rc = pass_run_pipeline(g, &pm);
    if (rc == 0 && a->passes.stats)
        pass_print_stats(stderr, &pm);
    char output[4096];
    if (rc == 0 && a->emit_ir) {
        rc = emit_ir(g, a->output, a->emit_dot);
    } else if (rc == 0) {
        if (!a->name_set)
            name_from_path(a->output ? a->output : a->model, a->name,
                           sizeof(a->name));
        if (!a->output) {
            snprintf(output, sizeof(output), "%s.%s", a->name,
                     a->emit == CG_EMIT_SO    ? "so"
                     : a->emit == CG_EMIT_OBJ ? "o"
                                              : "ll");
            a->output = output;
        }
        rc = make_parent_dirs(a->output);
        if (rc == 0 && same_file(a->output, a->model))
            rc = ir_errorf("the output '%s' is the model itself; choose "
                           "another -o",
                           a->output);
        a->cg.name = a->name;
        a->cg.output = a->output;
        a->cg.emit = a->emit;
        a->cg.stats = a->passes.stats ? stderr : NULL;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (rc == 0)
            rc = cg_compile(g, &a->cg);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc == 0 && a->passes.time_passes)
            fprintf(stderr, "//   %-20s %9.3f\n", "codegen (LLVM, link)",
                    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                        (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    }
    pass_manager_free(&pm);
    ir_graph_free(g);
    return rc == 0 ? 0 : 1;
}

int
tool_compile_main(int argc, char **argv)
{
    struct compile_args a;
    memset(&a, 0, sizeof(a));
    int rc = parse_args(&a, argc, argv);
    if (rc == 0)
        rc = compile(&a);
    else
        rc = rc > 0 ? 0 : 2;
    for (int i = 0; i < a.n_dims; i++)
        free(a.dim_storage[i]);
    for (int i = 0; i < a.n_seq_lens; i++)
        free((char *)a.seq_lens[i].name);
    return rc;
}
