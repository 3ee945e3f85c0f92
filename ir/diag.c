/*
 * Error reporting for the compiler.  Model errors name the op, node, opset
 * and value; internal invariants abort with file and line.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

static FILE *error_stream;

void
ir_set_error_stream(FILE *f)
{
    error_stream = f;
}

FILE *
ir_error_stream(void)
{
    return error_stream ? error_stream : stderr;
}

static FILE *
stream(void)
{
    return ir_error_stream();
}

int
ir_error(const struct ir_graph *g, const struct ir_op *op, int32_t value,
         const char *fmt, ...)
{
    FILE *out = stream();
    fprintf(out, "onnxc: error: ");
    if (op)
        fprintf(out, "%s node '%s' (opset %d): ", ir_op_kind_name(op->kind),
                op->name, op->opset);
    if (g && value != IR_NONE && value >= 0 && value < g->n_values) {
        const struct ir_value *v = &g->values[value];
        char shape[160];
        ir_shape_format(g, &v->shape, shape, sizeof(shape));
        fprintf(out, "value '%s' (%s%s): ", v->name, ir_dtype_name(v->dtype),
                shape);
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    return -1;
}

int
ir_errorf(const char *fmt, ...)
{
    FILE *out = stream();
    fprintf(out, "onnxc: error: ");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    return -1;
}

_Noreturn void
ir_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "onnxc: internal error: %s:%d: assertion '%s' failed\n",
            file, line, cond);
    abort();
}

void *
ir_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "onnxc: out of memory allocating %zu bytes\n", n);
        exit(1);
    }
    return p;
}

void *
ir_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "onnxc: out of memory allocating %zu x %zu bytes\n", n,
                size);
        exit(1);
    }
    return p;
}

void *
ir_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "onnxc: out of memory allocating %zu bytes\n", n);
        exit(1);
    }
    return q;
}

char *
ir_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ir_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
