/*
 * `onnxc test-onnx`: the ONNX backend test runner.  Each test directory
 * contains model.onnx and test_data_set_N folders of input_K.pb and
 * output_K.pb files.
 * Every test runs in a child process, so a crash or a hang is counted
 * instead of ending the run.
 */
#include "tools.h"
#include "../codegen/codegen.h"
#include "../frontend/frontend.h"
#include "../passes/passes.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char test_usage[] =
    "usage: onnxc test-onnx [OPTIONS] DIR...\n"
    "\n"
    "Compile and run ONNX backend test directories (each with model.onnx\n"
    "and test_data_set_*/) and compare the outputs with rtol 1e-3 and atol\n"
    "1e-7, integers and booleans exactly.  A DIR without model.onnx is\n"
    "searched one level down for test directories.\n"
    "\n"
    "options:\n"
    "  --mode=compile|fold   compile a library (default), or evaluate by\n"
    "                        constant folding with the same kernels\n"
    "  --timeout SECONDS     time limit per test (default 120)\n"
    "  --report FILE         write a Markdown table of the results\n"
    "  --baseline FILE       a report from an earlier run: fail when a test\n"
    "                        it lists as passed no longer passes\n"
    "  --errata DIR          corrected expected outputs: DIR/SUITE/TEST/\n"
    "                        test_data_set_N/ contains copies of the inputs "
    "and\n"
    "                        the outputs to expect instead, used only when\n"
    "                        the inputs match the test's byte for byte\n"
    "  -j, --jobs N          run N tests at a time (default 1)\n"
    "  -v, --verbose         print the messages of failing tests\n"
    "  -h, --help            print this message\n";

enum result {
    RESULT_PASSED,
    RESULT_FAILED,
    RESULT_UNSUPPORTED,
    RESULT_CRASHED,
    RESULT_COUNT
};

static const char *const result_names[RESULT_COUNT] = {
    "passed", "failed", "unsupported", "crashed"};

/* Exit codes of a test child.  CHILD_PASS_ERRATA is a pass against
 * outputs from the --errata folder. */
enum {
    CHILD_PASS = 0,
    CHILD_FAIL = 10,
    CHILD_UNSUPPORTED = 11,
    CHILD_PASS_ERRATA = 12
};

struct test_opts {
    const char *baseline;
    const char *errata;
    int jobs;
    bool fold;
    int timeout;
    const char *report;
    bool verbose;
    char tmpdir[256];
};

/*
 * The tensors of one test_data_set folder.  A sequence or optional input
 * or output contributes its tensors in order, as the loader expands it.
 */
struct data_set {
    struct tool_tensor inputs[64];
    int n_inputs;
    struct tool_tensor outputs[64];
    int n_outputs;
    /* The lengths and absent optionals that the sequence and optional
     * inputs have in this data set, and the expected output names. */
    struct fe_seq_len seq_lens[64];
    const char *absent[64];
    struct fe_options opts;
    char *output_names[64];
    const char *input_names[64]; /* of tensor inputs; NULL for elements */
    struct fe_constant constants[64];
    struct tool_tensor frozen[64]; /* the data of constants */
};

/* "suite/test" for ".../data/suite/test": the last two path components. */
static const char *
base_name(const char *path)
{
    const char *end = path + strlen(path);
    while (end > path && end[-1] == '/')
        end--;
    int slashes = 0;
    for (const char *p = end; p > path; p--)
        if (p[-1] == '/' && ++slashes == 2)
            return p;
    return path;
}

static void
free_data_set(struct data_set *d)
{
    for (int i = 0; i < d->n_inputs; i++)
        tool_tensor_free(&d->inputs[i]);
    for (int i = 0; i < d->n_outputs; i++) {
        tool_tensor_free(&d->outputs[i]);
        free(d->output_names[i]);
    }
    for (int i = 0; i < d->opts.n_constants; i++)
        tool_tensor_free(&d->frozen[i]);
}

static int
load_files(const char *dir, const char *prefix, struct tool_tensor *t, int *n)
{
    *n = 0;
    for (int i = 0; i < 64; i++) {
        char path[4200];
        if (snprintf(path, sizeof(path), "%s/%s_%d.pb", dir, prefix, i) >=
                (int)sizeof(path) ||
            access(path, R_OK) != 0)
            break;
        if (tool_read_tensor(path, &t[i]) != 0)
            return -1;
        (*n)++;
    }
    return 0;
}

/* Whether two input tensors contain the same data.  The backend data
 * stores bfloat16 as uint16, so those two types match each other. */
static bool
same_tensor(const struct tool_tensor *a, const struct tool_tensor *b)
{
    bool half_pair =
        (a->dtype == IR_DTYPE_UINT16 && b->dtype == IR_DTYPE_BFLOAT16) ||
        (a->dtype == IR_DTYPE_BFLOAT16 && b->dtype == IR_DTYPE_UINT16);
    if (a->dtype != b->dtype && !half_pair)
        return false;
    if (a->shape.rank != b->shape.rank || a->nbytes != b->nbytes)
        return false;
    for (int k = 0; k < a->shape.rank; k++)
        if (a->shape.dim[k] != b->shape.dim[k])
            return false;
    return a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0;
}

/*
 * Replace the expected outputs of data set k of test dir with the ones in
 * the errata folder, if it has this data set.  Returns 1 when it replaced
 * them, 0 when the folder has no correction for this data set, and -1
 * when the correction cannot be read or its inputs differ from the test's.
 */
static int
apply_errata(const char *errata, const char *dir, int k, struct data_set *d)
{
    char set[4200];
    struct stat st;
    if (snprintf(set, sizeof(set), "%s/%s/test_data_set_%d", errata,
                 base_name(dir), k) >= (int)sizeof(set) ||
        stat(set, &st) != 0)
        return 0;
    struct tool_tensor *in = calloc(64, sizeof(*in));
    struct tool_tensor *out = calloc(64, sizeof(*out));
    int n_in = 0, n_out = 0, rc = 1;
    if (!in || !out)
        rc = ir_errorf("out of memory reading '%s'", set);
    if (rc == 1 && (load_files(set, "input", in, &n_in) != 0 ||
                    load_files(set, "output", out, &n_out) != 0))
        rc = -1;
    if (rc == 1 && (n_in != d->n_inputs || n_out != d->n_outputs))
        rc = ir_errorf("errata '%s' has %d inputs and %d outputs, the test "
                       "%d and %d",
                       set, n_in, n_out, d->n_inputs, d->n_outputs);
    for (int i = 0; rc == 1 && i < n_in; i++)
        if (!same_tensor(&in[i], &d->inputs[i]))
            rc = ir_errorf("errata '%s': input %d differs from the test's, "
                           "so its outputs do not apply",
                           set, i);
    for (int i = 0; rc == 1 && i < n_out; i++) {
        tool_tensor_free(&d->outputs[i]);
        d->outputs[i] = out[i];
        out[i] = (struct tool_tensor){0};
    }
    for (int i = 0; in && i < n_in; i++)
        tool_tensor_free(&in[i]);
    for (int i = 0; out && i < n_out; i++)
        tool_tensor_free(&out[i]);
    free(in);
    free(out);
    return rc;
}

/*
 * Read file prefix_k.pb of a sequence or optional value into t[*n...],
 * and record its length or absence in d when it is an input.  names,
 * unless NULL, receives the graph output name of each tensor.
 */
static int
load_composite_file(const char *path, const struct fe_io *io,
                    struct data_set *d, struct tool_tensor *t, int *n,
                    char **names)
{
    struct fe_tensor *elems;
    int count;
    bool present;
    if (fe_load_value_file(path, io->kind, &elems, &count, &present) != 0)
        return -1;
    int rc = 0;
    if (*n + count > 64)
        rc = ir_errorf("'%s': the test has more than 64 tensors", path);
    for (int i = 0; i < count; i++) {
        if (rc == 0) {
            t[*n] = (struct tool_tensor){elems[i].dtype, elems[i].shape,
                                         elems[i].data, elems[i].nbytes};
            if (names) {
                char name[600];
                if (io->kind == FE_KIND_OPTIONAL_TENSOR)
                    snprintf(name, sizeof(name), "%s", io->name);
                else
                    snprintf(name, sizeof(name), "%s[%d]", io->name, i);
                names[*n] = strdup(name);
            }
            (*n)++;
        } else {
            free(elems[i].data);
        }
    }
    free(elems);
    if (rc != 0 || names)
        return rc;
    if (!present)
        d->absent[d->opts.n_absent++] = io->name;
    else if (io->kind != FE_KIND_OPTIONAL_TENSOR)
        d->seq_lens[d->opts.n_seq_lens++] =
            (struct fe_seq_len){io->name, count};
    return 0;
}

/*
 * Read the input_K.pb or output_K.pb files of a model with sequence or
 * optional inputs or outputs, reading each as the kind the model
 * declares.
 */
static int
load_typed_files(const char *dir, const char *prefix, const struct fe_io *io,
                 int n_io, struct data_set *d, bool outputs)
{
    struct tool_tensor *t = outputs ? d->outputs : d->inputs;
    int *n = outputs ? &d->n_outputs : &d->n_inputs;
    d->opts.seq_lens = d->seq_lens;
    d->opts.absent = d->absent;
    for (int k = 0; k < n_io && k < 64; k++) {
        char path[4200];
        if (snprintf(path, sizeof(path), "%s/%s_%d.pb", dir, prefix, k) >=
                (int)sizeof(path) ||
            access(path, R_OK) != 0)
            break;
        if (io[k].kind == FE_KIND_OTHER)
            return ir_errorf("%s %d '%s' is a map, a sparse tensor or a "
                             "nested sequence, which is not supported",
                             prefix, k, io[k].name);
        if (io[k].kind != FE_KIND_TENSOR) {
            if (load_composite_file(path, &io[k], d, t, n,
                                    outputs ? d->output_names : NULL) != 0)
                return -1;
            continue;
        }
        if (*n >= 64)
            return ir_errorf("'%s': the test has more than 64 tensors", path);
        if (tool_read_tensor(path, &t[*n]) != 0)
            return -1;
        if (outputs)
            d->output_names[*n] = strdup(io[k].name);
        else
            d->input_names[*n] = io[k].name;
        (*n)++;
    }
    return 0;
}

/*
 * Make the small integer and bool tensor inputs of d constants of the
 * loader, as freeze_shape_inputs does after loading.  The inputs leave
 * d's list.
 */
static void
freeze_typed_inputs(struct data_set *d)
{
    int n = 0;
    d->opts.constants = d->constants;
    for (int i = 0; i < d->n_inputs; i++) {
        struct tool_tensor *t = &d->inputs[i];
        int64_t numel = ir_shape_numel(&t->shape);
        bool small = (ir_dtype_is_int(t->dtype) || t->dtype == IR_DTYPE_BOOL) &&
                     numel <= 8;
        if (!d->input_names[i] || !small) {
            d->input_names[n] = d->input_names[i];
            d->inputs[n++] = *t;
            continue;
        }
        d->frozen[d->opts.n_constants] = *t;
        d->constants[d->opts.n_constants++] = (struct fe_constant){
            d->input_names[i], t->dtype, t->shape, t->data, t->nbytes};
    }
    d->n_inputs = n;
}

/* Check that the graph outputs are the tensors that the test expects, so
 * a sequence of the wrong length names the output that differs. */
static int
check_output_names(const struct ir_graph *g, const struct data_set *d)
{
    for (int i = 0; i < d->n_outputs && i < g->n_outputs; i++) {
        const char *name = g->values[g->outputs[i]].name;
        if (d->output_names[i] && strcmp(name, d->output_names[i]) != 0)
            return ir_errorf("output %d is '%s', but the test expects '%s'", i,
                             name, d->output_names[i]);
    }
    return 0;
}

/* Whether any of the model's inputs or outputs is not a tensor. */
static bool
has_composites(const struct fe_io *in, int n_in, const struct fe_io *out,
               int n_out)
{
    for (int i = 0; i < n_in; i++)
        if (in[i].kind != FE_KIND_TENSOR)
            return true;
    for (int i = 0; i < n_out; i++)
        if (out[i].kind != FE_KIND_TENSOR)
            return true;
    return false;
}

/*
 * The backend test data stores bfloat16 tensors as uint16; read them back
 * as the bfloat16 the model declares.
 */
static void
retype_bfloat16(struct tool_tensor *t, enum ir_dtype declared)
{
    if (declared == IR_DTYPE_BFLOAT16 && t->dtype == IR_DTYPE_UINT16)
        t->dtype = IR_DTYPE_BFLOAT16;
}

/* Bind the graph inputs to the data set's shapes. */
static int
bind_to_data(struct ir_graph *g, struct data_set *d)
{
    if (d->n_inputs != g->n_inputs)
        return ir_errorf("the test has %d inputs, the model %d", d->n_inputs,
                         (int)g->n_inputs);
    for (int32_t i = 0; i < g->n_inputs; i++) {
        struct ir_value *v = &g->values[g->inputs[i]];
        struct tool_tensor *t = &d->inputs[i];
        retype_bfloat16(t, v->dtype);
        if (v->shape.rank < 0) {
            v->shape = t->shape;
            continue;
        }
        if (v->shape.rank != t->shape.rank) {
            /* The reference implementation ignores declared shapes; a
             * few backend tests declare a rank their data lacks. */
            v->shape = t->shape;
            continue;
        }
        for (int k = 0; k < v->shape.rank; k++) {
            int32_t sym = v->shape.sym[k];
            if (sym >= 0 && g->sym_bound[sym] >= 0 &&
                g->sym_bound[sym] != t->shape.dim[k]) {
                /* Sequence elements share their declared dim names but
                 * may differ in size; take this input's from the data. */
                v->shape = t->shape;
                break;
            }
            if (sym >= 0)
                g->sym_bound[sym] = t->shape.dim[k];
            else if (v->shape.dim[k] != t->shape.dim[k])
                return ir_errorf("input '%s' dim %d is %lld in the model, "
                                 "%lld in the data",
                                 v->name, k, (long long)v->shape.dim[k],
                                 (long long)t->shape.dim[k]);
        }
    }
    return pass_bind_dims(g, NULL, NULL, 0);
}

static int
compare_outputs(const struct ir_graph *g, const struct tool_tensor *got,
                const struct data_set *d)
{
    if (d->n_outputs != g->n_outputs)
        return ir_errorf("the test has %d outputs, the model %d", d->n_outputs,
                         (int)g->n_outputs);
    int rc = check_output_names(g, d);
    for (int i = 0; i < d->n_outputs; i++) {
        double err;
        retype_bfloat16((struct tool_tensor *)&d->outputs[i],
                        g->values[g->outputs[i]].dtype);
        if (tool_compare(g->values[g->outputs[i]].name, &got[i], &d->outputs[i],
                         1e-3, 1e-7, &err) != 0)
            rc = -1;
    }
    return rc;
}

/* Evaluate the graph by folding: the inputs become constants. */
static int
run_fold(struct ir_graph *g, const struct data_set *d)
{
    for (int32_t i = 0; i < g->n_inputs; i++) {
        struct ir_value *v = &g->values[g->inputs[i]];
        if (d->inputs[i].dtype == IR_DTYPE_STRING)
            return ir_errorf("input '%s' is a string tensor, and string "
                             "constants are not supported",
                             v->name);
        void *copy = ir_xmalloc(d->inputs[i].nbytes + 1);
        memcpy(copy, d->inputs[i].data, d->inputs[i].nbytes);
        v->dtype = d->inputs[i].dtype;
        ir_value_set_const(g, g->inputs[i], copy, d->inputs[i].nbytes);
    }
    /* The inputs are constants now; the verifier rejects a constant that
     * is still listed as a graph input. */
    g->n_inputs = 0;
    struct pass_manager pm = {0};
    int rc = pass_run_pipeline(g, &pm);
    pass_manager_free(&pm);
    if (rc != 0)
        return -1;
    struct tool_tensor got[64];
    for (int32_t i = 0; i < g->n_outputs && i < 64; i++) {
        const struct ir_value *v = &g->values[g->outputs[i]];
        if (v->kind != IR_VALUE_CONST)
            return ir_errorf("output '%s' was not folded", v->name);
        got[i] = (struct tool_tensor){v->dtype, v->shape, v->data, v->nbytes};
    }
    return compare_outputs(g, got, d);
}

struct api_tensor {
    void *data;
    const int64_t *shape;
    int32_t rank;
    int32_t dtype;
};

/* Mark the graph inputs that value v is computed from. */
static void
mark_sources(const struct ir_graph *g, int32_t v, bool *seen, bool *frozen)
{
    if (v == IR_NONE || seen[v])
        return;
    seen[v] = true;
    for (int32_t j = 0; j < g->n_inputs && j < 64; j++)
        if (g->inputs[j] == v)
            frozen[j] = true;
    int32_t p = g->values[v].producer;
    if (p == IR_NONE)
        return;
    for (int k = 0; k < g->ops[p].n_operands; k++)
        mark_sources(g, g->ops[p].operands[k], seen, frozen);
}

/*
 * Turn the inputs that ops read at compile time into constants holding the
 * test's data: operands after the first (Reshape's shape, Slice's starts,
 * axes, pads, ...), every operand of ConstantOfShape and Range, the inputs
 * that the condition of an If or the trip count and condition of a Loop
 * are computed from, and integer inputs of at most 8 elements.  onnxc
 * compiles for static shapes, so such inputs must be known; backend tests
 * feed them as inputs.  map receives, per remaining input, its data index.
 */
static void
freeze_shape_inputs(struct ir_graph *g, const struct data_set *d, int *map)
{
    bool frozen[64] = {false};
    bool *seen = ir_xcalloc((size_t)g->n_values + 1, sizeof(bool));
    ir_graph_fill_uses(g);
    for (int32_t i = 0; i < g->n_ops; i++) {
        const struct ir_op *op = &g->ops[i];
        int n_control = op->kind == IR_OP_IF     ? 1
                        : op->kind == IR_OP_LOOP ? 2
                                                 : 0;
        for (int k = 0; k < n_control && k < op->n_operands; k++)
            mark_sources(g, op->operands[k], seen, frozen);
    }
    free(seen);
    for (int32_t i = 0; i < g->n_ops; i++) {
        const struct ir_op *op = &g->ops[i];
        bool all =
            op->kind == IR_OP_CONSTANT_OF_SHAPE || op->kind == IR_OP_RANGE;
        for (int k = all ? 0 : 1; k < op->n_operands; k++)
            for (int32_t j = 0; j < g->n_inputs && j < 64; j++)
                if (op->operands[k] == g->inputs[j])
                    frozen[j] = true;
    }
    /* Small integer inputs, such as a window size, are shape-like too. */
    for (int32_t j = 0; j < g->n_inputs && j < 64; j++) {
        const struct ir_value *v = &g->values[g->inputs[j]];
        if (ir_dtype_is_int(v->dtype) && ir_shape_numel(&v->shape) >= 0 &&
            ir_shape_numel(&v->shape) <= 8)
            frozen[j] = true;
    }
    int32_t n = 0;
    for (int32_t j = 0; j < g->n_inputs && j < 64; j++) {
        if (!frozen[j]) {
            map[n] = j;
            g->inputs[n++] = g->inputs[j];
            continue;
        }
        const struct tool_tensor *t = &d->inputs[j];
        void *copy = ir_xmalloc(t->nbytes + 1);
        memcpy(copy, t->data, t->nbytes);
        ir_value_set_const(g, g->inputs[j], copy, t->nbytes);
    }
    g->n_inputs = n;
}

static int
run_compiled(struct ir_graph *g, const struct data_set *d,
             const struct test_opts *o, bool freeze)
{
    int map[64];
    for (int i = 0; i < 64; i++)
        map[i] = i;
    if (freeze)
        freeze_shape_inputs(g, d, map);
    struct pass_manager pm = {0};
    int rc = pass_run_pipeline(g, &pm);
    pass_manager_free(&pm);
    if (rc != 0)
        return -1;
    char lib[512];
    snprintf(lib, sizeof(lib), "%s/t%d.so", o->tmpdir, (int)getpid());
    struct cg_options cg = {
        .name = "t", .output = lib, .emit = CG_EMIT_SO, .opt_level = 2};
    char header[600];
    snprintf(header, sizeof(header), "%s.h", lib);
    cg.header = header;
    if (cg_compile(g, &cg) != 0)
        return -1;
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    unlink(lib);
    unlink(header);
    if (!h)
        return ir_errorf("cannot load the compiled test: %s", dlerror());
    int (*create)(int32_t, void **) =
        (int (*)(int32_t, void **))dlsym(h, "t_create");
    int (*run)(void *, const void *, int32_t, void *, int32_t) =
        (int (*)(void *, const void *, int32_t, void *, int32_t))dlsym(h,
                                                                       "t_run");
    const char *(*last_error)(const void *) =
        (const char *(*)(const void *))dlsym(h, "t_last_error");
    void (*destroy)(void *) = (void (*)(void *))dlsym(h, "t_destroy");
    if (!create || !run || !last_error || !destroy)
        return ir_errorf("the compiled test lacks its entry points");

    struct api_tensor in[64], out[64];
    struct tool_tensor got[64];
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const struct tool_tensor *t = &d->inputs[map[i]];
        in[i] = (struct api_tensor){t->data, t->shape.dim, t->shape.rank,
                                    (int32_t)t->dtype};
    }
    for (int32_t i = 0; i < g->n_outputs; i++) {
        const struct ir_value *v = &g->values[g->outputs[i]];
        got[i].dtype = v->dtype;
        got[i].shape = v->shape;
        got[i].nbytes =
            (size_t)ir_shape_numel(&v->shape) * ir_dtype_size(v->dtype);
        got[i].data = calloc(got[i].nbytes + 1, 1);
        out[i] = (struct api_tensor){got[i].data, got[i].shape.dim,
                                     got[i].shape.rank, (int32_t)v->dtype};
    }
    void *s = NULL;
    rc = create(1, &s);
    if (rc == 0 && run(s, in, g->n_inputs, out, g->n_outputs) != 0)
        rc = ir_errorf("run failed: %s", last_error(s));
    if (rc == 0)
        rc = compare_outputs(g, got, d);
    destroy(s);
    for (int32_t i = 0; i < g->n_outputs; i++)
        free(got[i].data);
    return rc;
}

static bool
log_contains(FILE *log, const char *needle)
{
    fflush(log);
    long end = ftell(log);
    if (end <= 0)
        return false;
    char *text = calloc((size_t)end + 1, 1);
    rewind(log);
    bool found = text && fread(text, 1, (size_t)end, log) == (size_t)end &&
                 strstr(text, needle);
    free(text);
    fseek(log, 0, SEEK_END);
    return found;
}

/* The body of a test child.  Returns a CHILD_* exit code. */
static int
test_child(const char *dir, const struct test_opts *o, FILE *log)
{
    ir_set_error_stream(log);
    char path[4096];
    snprintf(path, sizeof(path), "%s/model.onnx", dir);
    struct fe_io *in_io = NULL, *out_io = NULL;
    int n_in_io = 0, n_out_io = 0;
    int rc = fe_model_io(path, &in_io, &n_in_io, &out_io, &n_out_io);
    bool typed = rc == 0 && has_composites(in_io, n_in_io, out_io, n_out_io);
    bool corrected = false;
    for (int k = 0; rc == 0; k++) {
        char set[4096];
        snprintf(set, sizeof(set), "%s/test_data_set_%d", dir, k);
        struct stat st;
        if (stat(set, &st) != 0)
            break;
        struct data_set d;
        memset(&d, 0, sizeof(d));
        struct ir_graph *g = NULL;
        if (typed) {
            /* The data decides the lengths, so it comes first. */
            rc = load_typed_files(set, "input", in_io, n_in_io, &d, false);
            if (rc == 0)
                rc =
                    load_typed_files(set, "output", out_io, n_out_io, &d, true);
            g = rc == 0 ? fe_load_model_with(path, &d.opts) : NULL;
            rc = g ? 0 : -1;
        } else {
            /* The model first, so that an unsupported op explains data
             * files that onnxc cannot read.  The retry below needs the
             * data when the loader wanted a constant. */
            g = fe_load_model(path);
            rc = g || log_contains(log, "must be a constant") ? 0 : -1;
            if (rc == 0)
                rc = load_files(set, "input", d.inputs, &d.n_inputs);
            if (rc == 0)
                rc = load_files(set, "output", d.outputs, &d.n_outputs);
            for (int i = 0; i < d.n_inputs && i < n_in_io; i++)
                d.input_names[i] = in_io[i].name;
            if (!g)
                rc = -1;
        }
        if (rc == 0 && o->errata) {
            int applied = apply_errata(o->errata, dir, k, &d);
            corrected |= applied == 1;
            rc = applied < 0 ? -1 : 0;
        }
        bool loaded = g != NULL;
        if (rc == 0)
            rc = bind_to_data(g, &d);
        if (rc == 0)
            rc = o->fold ? run_fold(g, &d) : run_compiled(g, &d, o, false);
        ir_graph_free(g);
        g = NULL;
        if (rc != 0 && !o->fold && log_contains(log, "must be a constant")) {
            /* Retry with the shape-like inputs frozen to the test data. */
            rewind(log);
            if (ftruncate(fileno(log), 0) != 0)
                break;
            /* The frontend reads sequence positions and the control of
             * If and Loop over sequences while loading. */
            if (!loaded)
                freeze_typed_inputs(&d);
            g = fe_load_model_with(path, &d.opts);
            rc = g ? bind_to_data(g, &d) : -1;
            if (rc == 0)
                rc = run_compiled(g, &d, o, true);
            ir_graph_free(g);
        }
        free_data_set(&d);
    }
    fe_io_free(in_io, n_in_io);
    fe_io_free(out_io, n_out_io);
    if (rc == 0)
        return corrected ? CHILD_PASS_ERRATA : CHILD_PASS;
    if (log_contains(log, "not supported") || log_contains(log, "unsupported"))
        return CHILD_UNSUPPORTED;
    return CHILD_FAIL;
}

/* A test running in a child process. */
struct running {
    pid_t pid;
    FILE *log;
    int index;
};

static pid_t
start_test(const char *dir, const struct test_opts *o, FILE *log)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        alarm((unsigned)o->timeout);
        _exit(test_child(dir, o, log));
    }
    return pid;
}

/* Classify a finished child and read its messages into message.
 * corrected receives whether it passed against errata outputs. */
static enum result
finish_test(int status, FILE *log, char *message, size_t size, bool *corrected)
{
    *corrected = false;
    rewind(log);
    size_t n = fread(message, 1, size - 1, log);
    message[n] = 0;
    if (WIFSIGNALED(status)) {
        snprintf(message + n, size - n, "killed by signal %d%s",
                 WTERMSIG(status),
                 WTERMSIG(status) == SIGALRM ? " (timed out)" : "");
        return RESULT_CRASHED;
    }
    switch (WEXITSTATUS(status)) {
    case CHILD_PASS:
        return RESULT_PASSED;
    case CHILD_PASS_ERRATA:
        *corrected = true;
        return RESULT_PASSED;
    case CHILD_FAIL:
        return RESULT_FAILED;
    case CHILD_UNSUPPORTED:
        return RESULT_UNSUPPORTED;
    default:
        /* Sanitizers and aborts exit with other codes. */
        snprintf(message + n, size - n, "exited with status %d",
                 WEXITSTATUS(status));
        return RESULT_CRASHED;
    }
}

static bool
is_test_dir(const char *dir)
{
    char path[4200];
    if (snprintf(path, sizeof(path), "%s/model.onnx", dir) >= (int)sizeof(path))
        return false;
    return access(path, R_OK) == 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Expand the arguments into a sorted list of test directories. */
static char **
collect(int argc, char **argv, int *n, bool *missing)
{
    int cap = 64;
    char **list = malloc(sizeof(char *) * (size_t)cap);
    *n = 0;
    for (int i = 0; i < argc; i++) {
        char **found = NULL;
        int nf = 0;
        if (is_test_dir(argv[i])) {
            found = malloc(sizeof(char *));
            found[nf++] = strdup(argv[i]);
        } else {
            DIR *d = opendir(argv[i]);
            if (!d) {
                fprintf(stderr,
                        "onnxc: error: '%s' is not a test "
                        "directory and cannot be read\n",
                        argv[i]);
                *missing = true;
                continue;
            }
            int fcap = 64;
            found = malloc(sizeof(char *) * (size_t)fcap);
            for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.')
                    continue;
                char path[4096];
                if (snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name) >=
                    (int)sizeof(path))
                    continue;
                if (!is_test_dir(path))
                    continue;
                if (nf == fcap)
                    found =
                        realloc(found, sizeof(char *) * (size_t)(fcap *= 2));
                found[nf++] = strdup(path);
            }
            closedir(d);
            qsort(found, (size_t)nf, sizeof(char *), cmp_str);
        }
        for (int k = 0; k < nf; k++) {
            if (*n == cap)
                list = realloc(list, sizeof(char *) * (size_t)(cap *= 2));
            list[(*n)++] = found[k];
        }
        free(found);
    }
    return list;
}

/* The first error line of text (or its first line), with | made safe. */
static void
first_line(const char *text, char *out, size_t size)
{
    const char *error = strstr(text, "error:");
    if (error) {
        while (error > text && error[-1] != '\n')
            error--;
        text = error;
    }
    size_t n = 0;
    while (text[n] && text[n] != '\n' && n + 1 < size) {
        out[n] = text[n] == '|' ? '/' : text[n];
        n++;
    }
    out[n] = 0;
}

/* The tests a report lists as passed, as one string "|name|name|...|". */
static char *
read_baseline(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "onnxc: error: cannot read baseline '%s'\n", path);
        return NULL;
    }
    size_t cap = 4096, n = 1;
    char *passed = malloc(cap);
    char line[1024];
    passed[0] = '|';
    while (fgets(line, sizeof(line), f)) {
        char name[512], result[32];
        int end = 0;
        /* sscanf counts the name as matched even if the rest differs, so
         * %n checks that the whole "| name | result |" prefix matched. */
        if (sscanf(line, "| %511s | %31s |%n", name, result, &end) != 2 ||
            end == 0 || strcmp(result, "passed") != 0)
            continue;
        size_t len = strlen(name);
        if (n + len + 2 > cap)
            passed = realloc(passed, cap = 2 * (cap + len));
        memcpy(passed + n, name, len);
        n += len;
        passed[n++] = '|';
    }
    passed[n] = 0;
    fclose(f);
    return passed;
}

static bool
baseline_passed(const char *passed, const char *name)
{
    char key[600];
    snprintf(key, sizeof(key), "|%s|", name);
    return passed && strstr(passed, key);
}

int
tool_test_onnx_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"report", required_argument, NULL, 'r'},
        {"baseline", required_argument, NULL, 'b'},
        {"errata", required_argument, NULL, 'e'},
        {"verbose", no_argument, NULL, 'v'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct test_opts o = {.timeout = 120, .jobs = 1};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vhj:", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (strcmp(optarg, "fold") == 0)
                o.fold = true;
            else if (strcmp(optarg, "compile") != 0) {
                fprintf(stderr,
                        "onnxc: error: --mode=%s: expected compile "
                        "or fold\n",
                        optarg);
                return 2;
            }
            break;
        case 't':
            o.timeout = atoi(optarg);
            if (o.timeout <= 0) {
                fprintf(stderr,
                        "onnxc: error: --timeout %s: expected "
                        "seconds > 0\n",
                        optarg);
                return 2;
            }
            break;
        case 'r':
            o.report = optarg;
            break;
        case 'b':
            o.baseline = optarg;
            break;
        case 'e':
            o.errata = optarg;
            break;
        case 'v':
            o.verbose = true;
            break;
        case 'j':
            o.jobs = atoi(optarg);
            if (o.jobs < 1 || o.jobs > 256) {
                fprintf(stderr,
                        "onnxc: error: --jobs %s: expected 1 to "
                        "256\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            fputs(test_usage, stdout);
            return 0;
        default:
            fputs(test_usage, stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fputs(test_usage, stderr);
        return 2;
    }
    snprintf(o.tmpdir, sizeof(o.tmpdir), "/tmp/onnxc-test-XXXXXX");
    if (!mkdtemp(o.tmpdir)) {
        fprintf(stderr, "onnxc: error: cannot create a temporary folder\n");
        return 1;
    }
    char *baseline = NULL;
    if (o.baseline && !(baseline = read_baseline(o.baseline)))
        return 1;
    int regressions = 0;
    int n;
    bool missing = false;
    char **tests = collect(argc - optind, argv + optind, &n, &missing);
    if (missing) {
        for (int i = 0; i < n; i++)
            free(tests[i]);
        free(tests);
        free(baseline);
        rmdir(o.tmpdir);
        return 1;
    }
    int counts[RESULT_COUNT] = {0};
    FILE *report = o.report ? fopen(o.report, "w") : NULL;
    if (o.report && !report)
        fprintf(stderr, "onnxc: error: cannot write '%s'\n", o.report);
    if (report) {
        fprintf(report,
                "# ONNX backend test results\n\n"
                "Written by `onnxc test-onnx --report`; CI reruns the same "
                "tests with\n`--baseline` on this file and fails when a test "
                "listed as passed\nno longer passes.  Tolerances: rtol 1e-3, "
                "atol 1e-7, integers and\nbooleans exact.\n\n");
        if (o.errata)
            fprintf(report,
                    "A row whose message says \"expected outputs from the "
                    "errata folder\"\ncompares with corrected outputs "
                    "given by `--errata`; onnxc keeps them in\n"
                    "tests/conformance/errata, whose README says why each "
                    "one differs.\n\n");
        fprintf(report, "| test | result | message |\n| --- | --- | --- |\n");
    }
    enum result *results = calloc((size_t)n + 1, sizeof(enum result));
    char **messages = calloc((size_t)n + 1, sizeof(char *));
    bool *done = calloc((size_t)n + 1, sizeof(bool));
    bool *corrected = calloc((size_t)n + 1, sizeof(bool));
    int n_corrected = 0;
    struct running *slots = calloc((size_t)o.jobs, sizeof(struct running));
    int started = 0, finished = 0, printed = 0, active = 0;
    while (finished < n) {
        while (active < o.jobs && started < n) {
            FILE *log = tmpfile();
            pid_t pid = log ? start_test(tests[started], &o, log) : -1;
            if (pid < 0) {
                if (log)
                    fclose(log);
                results[started] = RESULT_CRASHED;
                messages[started] = strdup("cannot start the test process");
                done[started] = true;
                finished++;
                started++;
                continue;
            }
            for (int k = 0; k < o.jobs; k++) {
                if (slots[k].pid == 0) {
                    slots[k] = (struct running){pid, log, started};
                    break;
                }
            }
            active++;
            started++;
        }
        int status = 0;
        pid_t pid = active ? waitpid(-1, &status, 0) : 0;
        if (pid < 0 && errno == EINTR)
            continue;
        for (int k = 0; pid > 0 && k < o.jobs; k++) {
            if (slots[k].pid != pid)
                continue;
            char message[4096];
            int idx = slots[k].index;
            results[idx] = finish_test(status, slots[k].log, message,
                                       sizeof(message), &corrected[idx]);
            messages[idx] = strdup(message);
            done[idx] = true;
            fclose(slots[k].log);
            slots[k].pid = 0;
            active--;
            finished++;
        }
        /* Print in the order of the list, as results arrive. */
        for (; printed < n && done[printed]; printed++) {
            int i = printed;
            enum result r = results[i];
            char line[512];
            counts[r]++;
            first_line(messages[i], line, sizeof(line));
            if (corrected[i]) {
                snprintf(line, sizeof(line),
                         "expected outputs from the errata folder");
                n_corrected++;
            }
            bool quiet = r == RESULT_PASSED && !corrected[i];
            printf("%-12s %s%s%s\n", result_names[r], base_name(tests[i]),
                   quiet ? "" : ": ", quiet ? "" : line);
            if (o.verbose && r != RESULT_PASSED)
                fputs(messages[i], stdout);
            if (r != RESULT_PASSED &&
                baseline_passed(baseline, base_name(tests[i]))) {
                printf("regression: %s passed in %s\n", base_name(tests[i]),
                       o.baseline);
                regressions++;
            }
            if (report)
                fprintf(report, "| %s | %s | %s |\n", base_name(tests[i]),
                        result_names[r], quiet ? "" : line);
            fflush(stdout);
            free(messages[i]);
            free(tests[i]);
        }
    }
    free(slots);
    free(done);
    free(corrected);
    free(messages);
    free(results);
    free(tests);
    printf("%d passed, %d failed, %d unsupported, %d crashed\n",
           counts[RESULT_PASSED], counts[RESULT_FAILED],
           counts[RESULT_UNSUPPORTED], counts[RESULT_CRASHED]);
    if (n_corrected)
        printf("%d of the passed tests expected outputs from %s\n", n_corrected,
               o.errata);
    if (report) {
        fprintf(report, "\n%d passed, %d failed, %d unsupported, %d crashed\n",
                counts[RESULT_PASSED], counts[RESULT_FAILED],
                counts[RESULT_UNSUPPORTED], counts[RESULT_CRASHED]);
        if (n_corrected)
            fprintf(report,
                    "%d of the passed tests expected outputs from the "
                    "errata folder\n",
                    n_corrected);
        fclose(report);
    }
    rmdir(o.tmpdir);
    free(baseline);
    if (baseline) {
        if (regressions)
            printf("%d regressions from %s\n", regressions, o.baseline);
        return regressions || counts[RESULT_CRASHED] ? 1 : 0;
    }
    return counts[RESULT_FAILED] || counts[RESULT_CRASHED] ? 1 : 0;
}
