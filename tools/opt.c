/*
 * `onnxc opt`: read the IR text form (or an ONNX model), run the passes
 * named on the command line and print the IR.  Pass tests drive it from
 * lit with FileCheck patterns on what it prints.
 */
#include "tools.h"
#include "../frontend/frontend.h"
#include "../passes/passes.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char opt_usage[] =
    "usage: onnxc opt FILE [--passes=P1,P2,...] [OPTIONS]\n"
    "\n"
    "Read FILE, IR text (.ir) or an ONNX model (.onnx), run passes on it\n"
    "and print the IR to stdout.  Without --passes it runs the default\n"
    "pipeline.  Symbolic dims are bound only when --dim is given.\n"
    "\n"
    "options:\n"
    "  --passes=LIST        comma-separated pass names, run in order\n"
    "  --dim NAME=VALUE     bind a symbolic dim (repeatable)\n"
    "  --emit=ir|dot        print IR text (default) or Graphviz DOT\n"
    "  --print-after-all    print the IR to stderr after every pass\n"
    "  --stats              print pass statistics to stderr\n"
    "  --explain-fusion     print to stderr, for each op a fusion pass\n"
    "                       examined, whether it fused and if not why\n"
    "                       (alias --remarks)\n"
    "  --disable-pass=PASS  skip PASS (repeatable)\n"
    "  --list-passes        list the passes and exit\n"
    "  -h, --help           print this message\n";

#define MAX_PASSES 64

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ir_errorf("cannot open '%s'", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = ir_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2)
            buf = ir_xrealloc(buf, cap *= 2);
    }
    buf[n] = 0;
    fclose(f);
    return buf;
}

static struct ir_graph *
load(const char *path)
{
    size_t len = strlen(path);
    if (len > 5 && strcmp(path + len - 5, ".onnx") == 0)
        return fe_load_model(path);
    char *text = read_file(path);
    if (!text)
        return NULL;
    struct ir_graph *g = ir_parse(text, path);
    free(text);
    return g;
}

static int
parse_pass_list(char *list, const struct pass **passes, int *n)
{
    *n = 0;
    for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
        const struct pass *p = pass_find(name);
        if (!p)
            return ir_errorf("--passes: no pass named '%s'; --list-passes "
                             "lists them",
                             name);
        if (*n >= MAX_PASSES)
            return ir_errorf("--passes: at most %d passes", MAX_PASSES);
        passes[(*n)++] = p;
    }
    return 0;
}

int
tool_opt_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"passes", required_argument, NULL, 'p'},
        {"dim", required_argument, NULL, 'd'},
        {"print-after-all", no_argument, NULL, 'a'},
        {"emit", required_argument, NULL, 'm'},
        {"stats", no_argument, NULL, 's'},
        {"explain-fusion", no_argument, NULL, 'e'},
        {"remarks", no_argument, NULL, 'e'},
        {"disable-pass", required_argument, NULL, 'x'},
        {"list-passes", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct pass *passes[MAX_PASSES];
    int n_passes = -1;
    const char *dim_names[MAX_PASSES];
    int64_t dim_values[MAX_PASSES];
    int n_dims = 0;
    struct pass_options po = {0};
    const char *disabled[MAX_PASSES];
    int n_disabled = 0;
    po.disabled = disabled;
    char *list = NULL;
    bool dot = false;
    int c, rc = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            free(list);
            list = strdup(optarg);
            rc = parse_pass_list(list, passes, &n_passes);
            break;
        case 'd': {
            char *eq = strchr(optarg, '=');
            char *end = NULL;
            long long v = eq ? strtoll(eq + 1, &end, 10) : -1;
            if (!eq || eq == optarg || !end || *end || v < 0 ||
                n_dims >= MAX_PASSES) {
                rc = ir_errorf("--dim '%s': expected NAME=VALUE", optarg);
                break;
            }
            *eq = 0;
            dim_names[n_dims] = optarg;
            dim_values[n_dims++] = v;
            break;
        }
        case 'a':
            po.print_after_all = true;
            break;
        case 'm':
            if (strcmp(optarg, "ir") != 0 && strcmp(optarg, "dot") != 0) {
                rc = ir_errorf("--emit=%s: expected ir or dot", optarg);
                break;
            }
            dot = strcmp(optarg, "dot") == 0;
            break;
        case 's':
            po.stats = true;
            break;
        case 'e':
            po.explain = true;
            break;
        case 'x':
            if (!pass_find(optarg) || n_disabled >= MAX_PASSES) {
                rc = ir_errorf("--disable-pass=%s: no pass named '%s'; "
                               "--list-passes lists them",
                               optarg, optarg);
                break;
            }
            disabled[n_disabled++] = optarg;
            break;
        case 'l':
            pass_list(stdout);
            free(list);
            return 0;
        case 'h':
            fputs(opt_usage, stdout);
            free(list);
            return 0;
        default:
            fputs(opt_usage, stderr);
            free(list);
            return 2;
        }
    }
    if (rc != 0) {
        free(list);
        return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "onnxc: error: opt takes one input file\n\n%s",
                opt_usage);
        free(list);
        return 2;
    }
    struct ir_graph *g = load(argv[optind]);
    if (!g) {
        free(list);
        return 1;
    }
    /* Text IR is written by hand: check it before any pass relies on it. */
    if (ir_verify(g) != 0) {
        ir_graph_free(g);
        free(list);
        return 1;
    }
    po.verify_each = true;
    po.n_disabled = n_disabled;
    struct pass_manager pm = {.opts = &po};
    if (n_dims > 0)
        rc = pass_bind_dims(g, dim_names, dim_values, n_dims);
    if (rc == 0)
        rc = n_passes < 0 ? pass_run_pipeline(g, &pm)
                          : pass_run_list(g, &pm, passes, n_passes);
    if (rc == 0) {
        if (po.stats)
            pass_print_stats(stderr, &pm);
        if (dot)
            ir_print_dot(stdout, g);
        else
            ir_print(stdout, g);
    }
    pass_manager_free(&pm);
    ir_graph_free(g);
    free(list);
    return rc == 0 ? 0 : 1;
}
