/*
 * `onnxc run`: load a generated library, feed it tensors from .npy or .pb
 * files, write its outputs as .npy files, compare them with expected
 * outputs, and time repeated runs.
 */
#include "tools.h"

#include <ctype.h>
#include <dlfcn.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char run_usage[] =
    "usage: onnxc run LIB.so [-i [NAME=]FILE]... [-o DIR] [OPTIONS]\n"
    "\n"
    "Run a library made by `onnxc compile`.  Inputs come from .npy or ONNX\n"
    "TensorProto .pb files, by input name or, without NAME=, in order.\n"
    "\n"
    "options:\n"
    "  -i, --input [NAME=]FILE   an input tensor (repeatable)\n"
    "  -o, --output-dir DIR      write each output to DIR/NAME.npy, NAME\n"
    "                            being the output name with characters\n"
    "                            outside [A-Za-z0-9._-] replaced by _\n"
    "  -e, --expect [NAME=]FILE  compare an output with FILE (repeatable)\n"
    "  --rtol R, --atol A        tolerances: |got - want| <= A + R*|want|\n"
    "                            (defaults 1e-4 and 1e-5)\n"
    "  --scaled-atol E           instead: |got - want| <= E * max(1,\n"
    "                            max|want|) for every element\n"
    "  --threads N               threads of the session (default 1)\n"
    "  --repeat N                time N runs after one warm-up run and\n"
    "                            print the median and minimum latency\n"
    "  -h, --help                print this message\n";

#define MAX_TENSORS 256

struct api {
    int (*create)(int32_t, void **);
    int (*run)(void *, const void *, int32_t, void *, int32_t);
    const char *(*last_error)(const void *);
    void (*destroy)(void *);
    int32_t (*num_inputs)(void);
    int32_t (*num_outputs)(void);
    const char *(*input_name)(int32_t);
    int32_t (*input_dtype)(int32_t);
    int32_t (*input_rank)(int32_t);
    const int64_t *(*input_shape)(int32_t);
    const char *(*output_name)(int32_t);
    int32_t (*output_dtype)(int32_t);
    int32_t (*output_rank)(int32_t);
    const int64_t *(*output_shape)(int32_t);
};

/* Same layout as struct onnxc_tensor in a generated header. */
struct api_tensor {
    void *data;
    const int64_t *shape;
    int32_t rank;
    int32_t dtype;
};

struct named_file {
    const char *name; /* NULL: by position */
    const char *path;
    char *storage;
};

struct run_args {
    const char *lib;
    struct named_file inputs[MAX_TENSORS];
    int n_inputs;
    struct named_file expects[MAX_TENSORS];
    int n_expects;
    const char *out_dir;
    double rtol, atol, scaled_atol;
    int threads;
    int repeat;
};

static int
load_api(const char *path, void **handle, struct api *api)
{
    char buf[4096];
    /* dlopen searches the library path for a bare name; make it a path. */
    if (!strchr(path, '/'))
        snprintf(buf, sizeof(buf), "./%s", path);
    else
        snprintf(buf, sizeof(buf), "%s", path);
    *handle = dlopen(buf, RTLD_NOW | RTLD_LOCAL);
    if (!*handle)
        return ir_errorf("cannot load '%s': %s", path, dlerror());
    const char *(*model_name)(void) =
        (const char *(*)(void))dlsym(*handle, "onnxc_model_name");
    if (!model_name)
        return ir_errorf("'%s' was not made by onnxc compile: it has no "
                         "onnxc_model_name symbol",
                         path);
    const char *prefix = model_name();
    struct {
        const char *suffix;
        void **slot;
    } syms[] = {
        {"create", (void **)&api->create},
        {"run", (void **)&api->run},
        {"last_error", (void **)&api->last_error},
        {"destroy", (void **)&api->destroy},
        {"num_inputs", (void **)&api->num_inputs},
        {"num_outputs", (void **)&api->num_outputs},
        {"input_name", (void **)&api->input_name},
        {"input_dtype", (void **)&api->input_dtype},
        {"input_rank", (void **)&api->input_rank},
        {"input_shape", (void **)&api->input_shape},
        {"output_name", (void **)&api->output_name},
        {"output_dtype", (void **)&api->output_dtype},
        {"output_rank", (void **)&api->output_rank},
        {"output_shape", (void **)&api->output_shape},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        snprintf(buf, sizeof(buf), "%s_%s", prefix, syms[i].suffix);
        *syms[i].slot = dlsym(*handle, buf);
        if (!*syms[i].slot)
            return ir_errorf("'%s' lacks the symbol '%s'", path, buf);
    }
    return 0;
}

static int
parse_named(struct named_file *list, int *n, const char *arg, const char *what)
{
    if (*n >= MAX_TENSORS)
        return ir_errorf("too many %s files (at most %d)", what, MAX_TENSORS);
    struct named_file *f = &list[(*n)++];
    const char *eq = strchr(arg, '=');
    if (eq) {
        f->storage = strndup(arg, (size_t)(eq - arg));
        f->name = f->storage;
        f->path = eq + 1;
    } else {
        f->path = arg;
    }
    return 0;
}

static int
parse_number(const char *opt, const char *arg, double *out)
{
    char *end;
    *out = strtod(arg, &end);
    if (end == arg || *end || !(*out >= 0))
        return ir_errorf("%s '%s': expected a number >= 0", opt, arg);
    return 0;
}

static int
parse_run_args(struct run_args *a, int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"output-dir", required_argument, NULL, 'o'},
        {"expect", required_argument, NULL, 'e'},
        {"rtol", required_argument, NULL, 'r'},
        {"atol", required_argument, NULL, 'a'},
        {"scaled-atol", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"repeat", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    double v;
    optind = 1;
    a->rtol = 1e-4;
    a->atol = 1e-5;
    a->scaled_atol = -1;
    a->threads = 1;
    while ((c = getopt_long(argc, argv, "i:o:e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (parse_named(a->inputs, &a->n_inputs, optarg, "input") != 0)
                return -1;
            break;
        case 'e':
            if (parse_named(a->expects, &a->n_expects, optarg, "expect") != 0)
                return -1;
            break;
        case 'o':
            a->out_dir = optarg;
            break;
        case 'r':
            if (parse_number("--rtol", optarg, &a->rtol) != 0)
                return -1;
            break;
        case 'a':
            if (parse_number("--atol", optarg, &a->atol) != 0)
                return -1;
            break;
        case 's':
            if (parse_number("--scaled-atol", optarg, &a->scaled_atol) != 0)
                return -1;
            break;
        case 't':
        case 'n': {
            char *end;
            v = strtod(optarg, &end);
            if (end == optarg || *end || v != floor(v) || v < 1 || v > 1e6)
                return ir_errorf("%s '%s': expected a whole number from 1 "
                                 "to 1000000",
                                 c == 't' ? "--threads" : "--repeat", optarg);
            if (c == 't')
                a->threads = (int)v;
            else
                a->repeat = (int)v;
            break;
        }
        case 'h':
            fputs(run_usage, stdout);
            return 1;
        default:
            fputs(run_usage, stderr);
            return -1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "onnxc: error: run takes one library file\n\n%s",
                run_usage);
        return -1;
    }
    a->lib = argv[optind];
    return 0;
}

/* The meaning of an enum onnxc_status code. */
static const char *
status_text(int status)
{
    switch (status) {
    case 1:
        return "invalid argument";
    case 2:
        return "wrong tensor dtype or shape";
    case 3:
        return "the data was rejected";
    case 4:
        return "out of memory (the workspace or threads could not be "
               "allocated)";
    case 5:
        return "this CPU lacks vector instructions that the library was "
               "compiled for; compile the model on this machine";
    default:
        return "unknown status";
    }
}

/* Index of the tensor named name, or -1. */
static int
find_name(const char *(*name_at)(int32_t), int32_t n, const char *name)
{
    for (int32_t i = 0; i < n; i++)
        if (strcmp(name_at(i), name) == 0)
            return i;
    return -1;
}

static void
safe_file_name(const char *name, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < size; p++)
        out[n++] =
            isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'
                ? *p
                : '_';
    out[n] = 0;
}

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int
time_runs(const struct api *api, void *s, struct api_tensor *in, int32_t ni,
          struct api_tensor *out, int32_t no, int repeat)
{
    double *ms = calloc((size_t)repeat, sizeof(double));
    if (!ms)
        return ir_errorf("out of memory");
    for (int r = 0; r < repeat; r++) {
        double t0 = now_ms();
        if (api->run(s, in, ni, out, no) != 0) {
            free(ms);
            return ir_errorf("run failed: %s", api->last_error(s));
        }
        ms[r] = now_ms() - t0;
    }
    qsort(ms, (size_t)repeat, sizeof(double), cmp_double);
    printf("latency over %d runs: median %.3f ms, min %.3f ms\n", repeat,
           ms[repeat / 2], ms[0]);
    free(ms);
    return 0;
}

static int
check_expected(const struct run_args *a, const struct api *api,
               const struct tool_tensor *outs, int32_t no)
{
    int rc = 0;
    for (int i = 0; i < a->n_expects; i++) {
        const struct named_file *f = &a->expects[i];
        int k = f->name ? find_name(api->output_name, no, f->name) : i;
        if (k < 0 || k >= no) {
            rc = ir_errorf("--expect %s: the model has no output %s%s", f->path,
                           f->name ? "named " : "number ",
                           f->name ? f->name : "in that position");
            continue;
        }
        struct tool_tensor want;
        if (tool_read_tensor(f->path, &want) != 0) {
            rc = -1;
            continue;
        }
        double rtol = a->rtol, atol = a->atol, max_err, max_ref = 1;
        if (a->scaled_atol >= 0 && ir_dtype_is_float(want.dtype)) {
            int64_t n = ir_shape_numel(&want.shape);
            for (int64_t j = 0; j < n; j++) {
                double w =
                    want.dtype == IR_DTYPE_FLOAT    ? ((float *)want.data)[j]
                    : want.dtype == IR_DTYPE_DOUBLE ? ((double *)want.data)[j]
                                                    : 0;
                if (isfinite(w) && fabs(w) > max_ref)
                    max_ref = fabs(w);
            }
            rtol = 0;
            atol = a->scaled_atol * max_ref;
        }
        const char *label = api->output_name(k);
        if (tool_compare(label, &outs[k], &want, rtol, atol, &max_err) != 0)
            rc = -1;
        else if (want.dtype == IR_DTYPE_STRING)
            printf("%s: ok, all %lld strings equal\n", label,
                   (long long)ir_shape_numel(&want.shape));
        else
            printf("%s: ok, max abs error %.3g (tolerance %.3g + %.3g*|want|)"
                   "\n",
                   label, max_err, atol, rtol);
        tool_tensor_free(&want);
    }
    return rc;
}

static int
write_outputs(const struct run_args *a, const struct api *api,
              const struct tool_tensor *outs, int32_t no)
{
    mkdir(a->out_dir, 0777);
    for (int32_t i = 0; i < no; i++) {
        char file[512], path[4096];
        safe_file_name(api->output_name(i), file, sizeof(file));
        snprintf(path, sizeof(path), "%s/%s.npy", a->out_dir, file);
        if (tool_write_npy(path, &outs[i]) != 0)
            return -1;
        printf("wrote %s\n", path);
    }
    return 0;
}

static int
run(const struct run_args *a)
{
    void *handle = NULL, *session = NULL;
    struct api api;
    int rc = load_api(a->lib, &handle, &api);
    if (rc != 0) {
        if (handle)
            dlclose(handle);
        return 1;
    }
    int32_t ni = api.num_inputs(), no = api.num_outputs();
    struct tool_tensor *ins = calloc((size_t)ni + 1, sizeof(*ins));
    struct tool_tensor *outs = calloc((size_t)no + 1, sizeof(*outs));
    struct api_tensor *tin = calloc((size_t)ni + 1, sizeof(*tin));
    struct api_tensor *tout = calloc((size_t)no + 1, sizeof(*tout));
    if (a->n_inputs != ni)
        rc = ir_errorf("the model has %d inputs but %d were given", (int)ni,
                       a->n_inputs);
    for (int i = 0; rc == 0 && i < a->n_inputs; i++) {
        const struct named_file *f = &a->inputs[i];
        int k = f->name ? find_name(api.input_name, ni, f->name) : i;
        if (k < 0) {
            rc = ir_errorf("-i %s=%s: the model has no input named '%s'",
                           f->name, f->path, f->name);
            break;
        }
        if (ins[k].data) {
            rc = ir_errorf("input '%s' is given twice", api.input_name(k));
            break;
        }
        rc = tool_read_tensor(f->path, &ins[k]);
        tin[k] = (struct api_tensor){ins[k].data, ins[k].shape.dim,
                                     ins[k].shape.rank, (int32_t)ins[k].dtype};
    }
    for (int32_t i = 0; rc == 0 && i < no; i++) {
        struct tool_tensor *t = &outs[i];
        t->dtype = (enum ir_dtype)api.output_dtype(i);
        t->shape = ir_shape_make(api.output_rank(i), api.output_shape(i));
        t->nbytes = (size_t)ir_shape_numel(&t->shape) * ir_dtype_size(t->dtype);
        t->data = calloc(t->nbytes + 1, 1);
        if (!t->data) {
            rc = ir_errorf("cannot allocate %zu bytes for output '%s'",
                           t->nbytes, api.output_name(i));
            break;
        }
        tout[i] = (struct api_tensor){t->data, t->shape.dim, t->shape.rank,
                                      (int32_t)t->dtype};
    }
    int status = rc == 0 ? api.create(a->threads, &session) : 0;
    if (status != 0)
        rc = ir_errorf("cannot create a session of '%s' with %d threads: %s",
                       a->lib, a->threads, status_text(status));
    if (rc == 0 && api.run(session, tin, ni, tout, no) != 0)
        rc = ir_errorf("run failed: %s", api.last_error(session));
    if (rc == 0 && a->repeat > 0)
        rc = time_runs(&api, session, tin, ni, tout, no, a->repeat);
    if (rc == 0 && a->repeat == 0)
        printf("ran %s: %d inputs, %d outputs\n", a->lib, (int)ni, (int)no);
    if (rc == 0 && a->out_dir)
        rc = write_outputs(a, &api, outs, no);
    if (rc == 0)
        rc = check_expected(a, &api, outs, no);
    if (session)
        api.destroy(session);
    for (int32_t i = 0; i < ni; i++)
        tool_tensor_free(&ins[i]);
    for (int32_t i = 0; i < no; i++)
        tool_tensor_free(&outs[i]);
    free(ins);
    free(outs);
    free(tin);
    free(tout);
    dlclose(handle);
    return rc == 0 ? 0 : 1;
}

int
tool_run_main(int argc, char **argv)
{
    struct run_args a;
    memset(&a, 0, sizeof(a));
    int rc = parse_run_args(&a, argc, argv);
    if (rc == 0)
        rc = run(&a);
    else
        rc = rc > 0 ? 0 : 2;
    for (int i = 0; i < a.n_inputs; i++)
        free(a.inputs[i].storage);
    for (int i = 0; i < a.n_expects; i++)
        free(a.expects[i].storage);
    return rc;
}
