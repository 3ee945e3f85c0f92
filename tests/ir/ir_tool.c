/*
 * ir-tool: a driver that runs the IR text parser, printer and verifier on
 * a file, for the lit tests in this directory.
 *
 *   ir-tool roundtrip FILE   parse FILE and print the graph to stdout
 *   ir-tool verify FILE      parse FILE and run ir_verify; print "ok"
 *   ir-tool verify-unfilled FILE
 *                            as verify, but first clear each value's
 *                            producer, uses and output flag, as a pass
 *                            that skips ir_graph_fill_uses leaves them
 *   ir-tool stress SEED N    build N random graphs through the ir.h API
 *                            and check that print, parse, print gives the
 *                            same text each time; print "ok N"
 *
 * Each exits 1 after printing the error when a step fails.
 */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

/* Read a whole file into a NUL-terminated buffer, or return NULL. */
static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ir_errorf("cannot open '%s'", path);
        return NULL;
    }
    size_t len = 0, cap = 4096;
    char *text = ir_xmalloc(cap);
    size_t n;
    while ((n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            cap *= 2;
            text = ir_xrealloc(text, cap);
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        ir_errorf("cannot read '%s'", path);
        free(text);
        return NULL;
    }
    if (memchr(text, 0, len)) {
        ir_errorf("'%s' contains a NUL byte", path);
        free(text);
        return NULL;
    }
    text[len] = 0;
    return text;
}

/* ---- stress: random graphs built through the API ---- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static int
rng_below(int n)
{
    return (int)(rng() % (uint64_t)n);
}

/*
 * Return a random name: plain, or any bytes from 1 to 255, or NULL (for
 * a made-up name) when allow_null.  unique is appended to keep names apart.
 */
static char *
random_name(char *buf, size_t size, int unique, bool allow_null)
{
    int style = rng_below(allow_null ? 4 : 3);
    if (style == 3)
        return NULL;
    if (style == 0) {
        snprintf(buf, size, "v%d", unique);
        return buf;
    }
    size_t len = (size_t)rng_below(12);
    if (len + 16 > size)
        len = size - 16;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(1 + rng_below(255));
    snprintf(buf + len, size - len, "%s%d", style == 1 ? "" : "\"%", unique);
    return buf;
}

static enum ir_dtype
random_dtype(void)
{
    static const enum ir_dtype types[] = {
        IR_DTYPE_FLOAT,  IR_DTYPE_UINT8,    IR_DTYPE_INT8,      IR_DTYPE_UINT16,
        IR_DTYPE_INT16,  IR_DTYPE_INT32,    IR_DTYPE_INT64,     IR_DTYPE_STRING,
        IR_DTYPE_BOOL,   IR_DTYPE_FLOAT16,  IR_DTYPE_DOUBLE,    IR_DTYPE_UINT32,
        IR_DTYPE_UINT64, IR_DTYPE_BFLOAT16, IR_DTYPE_UNDEFINED,
    };
    return types[rng_below((int)(sizeof(types) / sizeof(types[0])))];
}

static struct ir_shape
random_shape(const struct ir_graph *g, bool static_only)
{
    struct ir_shape s = ir_shape_unknown();
    if (!static_only && rng_below(6) == 0)
        return s;
    s.rank = rng_below(4);
    for (int i = 0; i < s.rank; i++) {
        int pick = static_only ? 0 : rng_below(4);
        if (pick == 1 && g->n_syms > 0) {
            s.sym[i] = rng_below(g->n_syms);
            s.dim[i] = -1;
        } else if (pick == 2) {
            s.dim[i] = -1;
        } else {
            s.dim[i] = rng_below(6);
        }
    }
    return s;
}

static double
random_double(void)
{
    uint64_t bits = rng();
    double d;
    if (rng_below(3) == 0)
        return (double)(rng_below(2001) - 1000) / 8;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static void
add_random_const(struct ir_graph *g, int unique)
{
    char buf[64];
    enum ir_dtype t = random_dtype();
    struct ir_shape s = random_shape(g, rng_below(5) != 0);
    size_t nbytes;
    int64_t numel = ir_shape_numel(&s);
    if (numel >= 0 && ir_dtype_size(t) > 0 && rng_below(6) != 0)
        nbytes = (size_t)numel * ir_dtype_size(t);
    else
        nbytes = (size_t)rng_below(100);
    if (rng_below(8) == 0 && t != IR_DTYPE_UNDEFINED) {
        /* Large enough to be elided whatever the dtype. */
        s = ir_shape_make(1, (int64_t[]){40});
        nbytes = 40 * ir_dtype_size(t);
    }
    unsigned char *data = ir_xmalloc(nbytes + 1);
    for (size_t i = 0; i < nbytes; i++)
        data[i] = (unsigned char)rng();
    ir_const_add(g, random_name(buf, sizeof(buf), unique, true), t, &s, data,
                 nbytes);
    free(data);
}

static void
add_random_attr(struct ir_graph *g, struct ir_op *op, int unique)
{
    char buf[64];
    char *name = random_name(buf, sizeof(buf), unique, false);
    struct ir_attr a;
    memset(&a, 0, sizeof(a));
    a.name = name;
    a.tensor = IR_NONE;
    int n = rng_below(4);
    int64_t ints[4];
    double floats[4];
    char strbuf[4][64];
    char *strings[4];
    for (int i = 0; i < n; i++) {
        ints[i] = (int64_t)rng();
        floats[i] = random_double();
        strings[i] = random_name(strbuf[i], sizeof(strbuf[i]), i, false);
    }
    switch (rng_below(7)) {
    case 0:
        ir_op_set_int(op, name, (int64_t)rng());
        break;
    case 1:
        ir_op_set_float(op, name, random_double());
        break;
    case 2:
        ir_op_set_string(op, name, random_name(strbuf[0], 64, 0, false));
        break;
    case 3:
        ir_op_set_ints(op, name, ints, n);
        break;
    case 4:
        ir_op_set_floats(op, name, floats, n);
        break;
    case 5:
        a.kind = IR_ATTR_STRINGS;
        a.n = n;
        a.strings = strings;
        ir_op_set_attr(op, &a);
        break;
    default:
        for (int32_t v = 0; v < g->n_values; v++) {
            if (g->values[v].kind == IR_VALUE_CONST) {
                a.kind = IR_ATTR_TENSOR;
                a.tensor = v;
                ir_op_set_attr(op, &a);
                break;
            }
        }
    }
}

static void
add_random_op(struct ir_graph *g, int unique)
{
    char buf[64];
    int32_t operands[5];
    int32_t results[3];
    int n_operands = rng_below(5), n_results = rng_below(3);
    for (int i = 0; i < n_operands; i++)
        operands[i] = g->n_values == 0 || rng_below(5) == 0
                          ? IR_NONE
                          : rng_below(g->n_values);
    for (int i = 0; i < n_results; i++) {
        struct ir_shape s = random_shape(g, false);
        results[i] =
            ir_value_add(g, random_name(buf, sizeof(buf), unique * 8 + i, true),
                         IR_VALUE_RESULT, random_dtype(), &s);
    }
    int32_t id =
        ir_op_add(g, (enum ir_op_kind)rng_below(IR_OP_COUNT),
                  random_name(buf, sizeof(buf), unique, true),
                  rng_below(3) + 12, operands, n_operands, results, n_results);
    int n_attrs = rng_below(4);
    for (int i = 0; i < n_attrs; i++)
        add_random_attr(g, &g->ops[id], i);
    g->ops[id].dead = rng_below(8) == 0;
}

static struct ir_graph *
random_graph(void)
{
    char buf[64];
    struct ir_graph *g = ir_graph_new(random_name(buf, sizeof(buf), 0, true));
    g->opset = rng_below(20);
    int n_syms = rng_below(4);
    for (int i = 0; i < n_syms; i++) {
        int32_t sym = ir_sym_intern(g, random_name(buf, sizeof(buf), i, false));
        g->sym_bound[sym] = rng_below(2) ? -1 : rng_below(100);
    }
    int n_inputs = rng_below(4);
    for (int i = 0; i < n_inputs; i++) {
        struct ir_shape s = random_shape(g, false);
        int32_t v =
            ir_value_add(g, random_name(buf, sizeof(buf), 100 + i, true),
                         IR_VALUE_INPUT, random_dtype(), &s);
        ir_graph_add_input(g, v);
    }
    int n_consts = rng_below(5);
    for (int i = 0; i < n_consts; i++)
        add_random_const(g, 200 + i);
    int n_ops = rng_below(7);
    for (int i = 0; i < n_ops; i++)
        add_random_op(g, 300 + i);
    int n_outputs = g->n_values ? rng_below(4) : 0;
    for (int i = 0; i < n_outputs; i++)
        ir_graph_add_output(g, rng_below(g->n_values));
    ir_graph_fill_uses(g);
    return g;
}

static char *
print_to_string(const struct ir_graph *g)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        ir_errorf("open_memstream failed");
        exit(1);
    }
    ir_print(f, g);
    fclose(f);
    return text;
}

static int
stress(uint64_t seed, int count)
{
    rng_state = seed ? seed : 1;
    for (int i = 0; i < count; i++) {
        struct ir_graph *g = random_graph();
        char *first = print_to_string(g);
        struct ir_graph *back = ir_parse(first, "<printed>");
        if (!back) {
            fprintf(stderr, "graph %d: the printed text does not parse:\n%s", i,
                    first);
            return 1;
        }
        char *second = print_to_string(back);
        if (strcmp(first, second) != 0) {
            fprintf(stderr,
                    "graph %d: the text changed after parsing:\n"
                    "%s---\n%s",
                    i, first, second);
            return 1;
        }
        free(first);
        free(second);
        ir_graph_free(g);
        ir_graph_free(back);
    }
    printf("ok %d\n", count);
    return 0;
}

static int
usage(void)
{
    fprintf(stderr, "usage: ir-tool roundtrip FILE\n"
                    "       ir-tool verify FILE\n"
                    "       ir-tool verify-unfilled FILE\n"
                    "       ir-tool stress SEED COUNT\n");
    return 2;
}

int
main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "stress") == 0)
        return stress(strtoull(argv[2], NULL, 10), atoi(argv[3]));
    if (argc != 3)
        return usage();
    bool unfilled = strcmp(argv[1], "verify-unfilled") == 0;
    bool verify = unfilled || strcmp(argv[1], "verify") == 0;
    if (!verify && strcmp(argv[1], "roundtrip") != 0)
        return usage();

    char *text = read_file(argv[2]);
    if (!text)
        return 1;
    struct ir_graph *g = ir_parse(text, argv[2]);
    free(text);
    if (!g)
        return 1;

    for (int32_t v = 0; unfilled && v < g->n_values; v++) {
        g->values[v].producer = IR_NONE;
        g->values[v].n_uses = 0;
        g->values[v].is_output = false;
    }

    int rc = 0;
    if (verify) {
        rc = ir_verify(g) < 0 ? 1 : 0;
        if (rc == 0)
            printf("ok\n");
    } else {
        ir_print(stdout, g);
    }
    ir_graph_free(g);
    return rc;
}
