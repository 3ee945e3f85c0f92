/*
 * Tensor files: NumPy .npy (format versions 1 to 3, little-endian, C
 * order) and ONNX TensorProto .pb files, plus the numeric comparison that
 * `onnxc run --expect` and the conformance runner use.
 */
#include "tools.h"
#include "../frontend/frontend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *descr;
    enum ir_dtype dtype;
} npy_types[] = {
    {"f4", IR_DTYPE_FLOAT},  {"f8", IR_DTYPE_DOUBLE}, {"f2", IR_DTYPE_FLOAT16},
    {"i8", IR_DTYPE_INT64},  {"i4", IR_DTYPE_INT32},  {"i2", IR_DTYPE_INT16},
    {"i1", IR_DTYPE_INT8},   {"u8", IR_DTYPE_UINT64}, {"u4", IR_DTYPE_UINT32},
    {"u2", IR_DTYPE_UINT16}, {"u1", IR_DTYPE_UINT8},  {"b1", IR_DTYPE_BOOL},
};
#define N_NPY_TYPES ((int)(sizeof(npy_types) / sizeof(npy_types[0])))

void
tool_tensor_free(struct tool_tensor *t)
{
    free(t->data);
    t->data = NULL;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Parse the header dictionary: descr, fortran_order and shape. */
static int
parse_npy_header(const char *path, const char *h, struct tool_tensor *t)
{
    const char *d = strstr(h, "'descr'");
    const char *f = strstr(h, "'fortran_order'");
    const char *s = strstr(h, "'shape'");
    if (!d || !f || !s)
        return ir_errorf("'%s': the .npy header lacks descr, fortran_order "
                         "or shape",
                         path);
    d = strchr(d + 7, '\'');
    if (!d)
        return ir_errorf("'%s': malformed descr in the .npy header", path);
    d++;
    if (d[0] == '>')
        return ir_errorf("'%s': big-endian .npy data is not supported", path);
    if (d[0] == '<' || d[0] == '|' || d[0] == '=')
        d++;
    t->dtype = IR_DTYPE_UNDEFINED;
    for (int i = 0; i < N_NPY_TYPES; i++)
        if (strncmp(d, npy_types[i].descr, 2) == 0 && d[2] == '\'')
            t->dtype = npy_types[i].dtype;
    if (t->dtype == IR_DTYPE_UNDEFINED)
        return ir_errorf("'%s': .npy dtype '%.8s' is not supported", path, d);
    if (strncmp(strchr(f, ':') ? strchr(f, ':') + 1 : f, " True", 5) == 0)
        return ir_errorf("'%s': Fortran-order .npy data is not supported",
                         path);
    s = strchr(s, '(');
    if (!s)
        return ir_errorf("'%s': malformed shape in the .npy header", path);
    s++;
    t->shape = ir_shape_make(0, NULL);
    while (*s && *s != ')') {
        while (*s == ' ' || *s == ',')
            s++;
        if (*s == ')')
            break;
        char *end;
        long long dim = strtoll(s, &end, 10);
        if (end == s || dim < 0)
            return ir_errorf("'%s': malformed shape in the .npy header", path);
        if (t->shape.rank >= IR_MAX_RANK)
            return ir_errorf("'%s': rank above %d is not supported", path,
                             IR_MAX_RANK);
        t->shape.dim[t->shape.rank++] = dim;
        s = end;
        while (*s == 'L' || *s == ' ')
            s++;
    }
    return 0;
}

static int
read_npy(const char *path, struct tool_tensor *t)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ir_errorf("cannot open '%s'", path);
    unsigned char pre[10];
    int rc = -1;
    char *header = NULL;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        ir_errorf("'%s' is not a .npy file", path);
        goto out;
    }
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else {
        unsigned char more[2];
        if (fread(more, 1, 2, f) != 2) {
            ir_errorf("'%s': truncated .npy header", path);
            goto out;
        }
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)more[0] << 16 |
               (size_t)more[1] << 24;
    }
    if (hlen > (1u << 20)) {
        ir_errorf("'%s': .npy header is too long", path);
        goto out;
    }
    header = ir_xmalloc(hlen + 1);
    if (fread(header, 1, hlen, f) != hlen) {
        ir_errorf("'%s': truncated .npy header", path);
        goto out;
    }
    header[hlen] = 0;
    if (parse_npy_header(path, header, t) != 0)
        goto out;
    int64_t n = ir_shape_numel(&t->shape);
    if (n < 0 || (uint64_t)n > (UINT64_MAX >> 4)) {
        ir_errorf("'%s': the shape's element count overflows", path);
        goto out;
    }
    t->nbytes = (size_t)n * ir_dtype_size(t->dtype);
    long data_at = ftell(f);
    if (fseek(f, 0, SEEK_END) != 0 || ftell(f) - data_at < (long)t->nbytes) {
        ir_errorf("'%s': the file holds fewer than the %zu data bytes its "
                  "header promises",
                  path, t->nbytes);
        goto out;
    }
    fseek(f, data_at, SEEK_SET);
    t->data = ir_xmalloc(t->nbytes + 1);
    if (fread(t->data, 1, t->nbytes, f) != t->nbytes) {
        ir_errorf("'%s': the file holds fewer than the %zu data bytes its "
                  "header promises",
                  path, t->nbytes);
        tool_tensor_free(t);
        goto out;
    }
    rc = 0;
out:
    free(header);
    fclose(f);
    return rc;
}

int
tool_read_tensor(const char *path, struct tool_tensor *t)
{
    memset(t, 0, sizeof(*t));
    if (ends_with(path, ".pb"))
        return fe_load_tensor_file(path, &t->dtype, &t->shape, &t->data,
                                   &t->nbytes, NULL);
    return read_npy(path, t);
}

int
tool_write_npy(const char *path, const struct tool_tensor *t)
{
    const char *descr = NULL;
    for (int i = 0; i < N_NPY_TYPES; i++)
        if (npy_types[i].dtype == t->dtype)
            descr = npy_types[i].descr;
    if (!descr)
        return ir_errorf("cannot write dtype %s to .npy",
                         ir_dtype_name(t->dtype));
    char shape[256] = "";
    size_t at = 0;
    for (int i = 0; i < t->shape.rank; i++)
        at += (size_t)snprintf(shape + at, sizeof(shape) - at, "%lld,%s",
                               (long long)t->shape.dim[i],
                               i + 1 < t->shape.rank ? " " : "");
    if (t->shape.rank > 1)
        shape[strlen(shape) - 1] = 0; /* (2, 3) rather than (2, 3,) */
    char header[512];
    int n =
        snprintf(header, sizeof(header),
                 "{'descr': '%c%s', 'fortran_order': False, "
                 "'shape': (%s), }",
                 descr[0] == 'b' || descr[1] == '1' ? '|' : '<', descr, shape);
    /* Pad with spaces so the data starts at a multiple of 64 bytes. */
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return ir_errorf("cannot write '%s'", path);
    int hlen = n + pad + 1;
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(header, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(t->data, 1, t->nbytes, f);
    if (fclose(f) != 0)
        return ir_errorf("cannot write '%s'", path);
    return 0;
}

static double
element(const struct tool_tensor *t, int64_t i)
{
    const void *p = t->data;
    switch (t->dtype) {
    case IR_DTYPE_FLOAT:
        return ((const float *)p)[i];
    case IR_DTYPE_DOUBLE:
        return ((const double *)p)[i];
    case IR_DTYPE_FLOAT16:
        return ir_half_to_float(((const uint16_t *)p)[i]);
    case IR_DTYPE_BFLOAT16:
        return ir_bf16_to_float(((const uint16_t *)p)[i]);
    case IR_DTYPE_INT64:
        return (double)((const int64_t *)p)[i];
    case IR_DTYPE_INT32:
        return ((const int32_t *)p)[i];
    case IR_DTYPE_INT16:
        return ((const int16_t *)p)[i];
    case IR_DTYPE_INT8:
        return ((const int8_t *)p)[i];
    case IR_DTYPE_UINT64:
        return (double)((const uint64_t *)p)[i];
    case IR_DTYPE_UINT32:
        return ((const uint32_t *)p)[i];
    case IR_DTYPE_UINT16:
        return ((const uint16_t *)p)[i];
    case IR_DTYPE_UINT8:
    case IR_DTYPE_BOOL:
        return ((const uint8_t *)p)[i];
    default:
        return 0;
    }
}

int
tool_compare(const char *label, const struct tool_tensor *got,
             const struct tool_tensor *want, double rtol, double atol,
             double *max_err)
{
    char sg[160], sw[160];
    *max_err = 0;
    if (got->dtype != want->dtype)
        return ir_errorf("%s: dtype is %s, expected %s", label,
                         ir_dtype_name(got->dtype), ir_dtype_name(want->dtype));
    if (!ir_shape_equal(&got->shape, &want->shape))
        return ir_errorf("%s: shape is %s, expected %s", label,
                         ir_shape_format(NULL, &got->shape, sg, sizeof(sg)),
                         ir_shape_format(NULL, &want->shape, sw, sizeof(sw)));
    /* Half floats too compare as their values, with the tolerances. */
    bool exact = !ir_dtype_is_float(want->dtype);
    int64_t n = ir_shape_numel(&want->shape), bad = 0;
    for (int64_t i = 0; i < n; i++) {
        bool ok;
        double g, w;
        if (exact && ir_dtype_size(want->dtype) == 8 &&
            want->dtype != IR_DTYPE_DOUBLE) {
            ok = memcmp((const char *)got->data + 8 * i,
                        (const char *)want->data + 8 * i, 8) == 0;
            g = element(got, i);
            w = element(want, i);
        } else if (exact && ir_dtype_size(want->dtype) == 2) {
            uint16_t gb, wb;
            memcpy(&gb, (const char *)got->data + 2 * i, 2);
            memcpy(&wb, (const char *)want->data + 2 * i, 2);
            ok = gb == wb;
            g = gb; /* compared and reported as raw bits */
            w = wb;
        } else {
            g = element(got, i);
            w = element(want, i);
            if (exact)
                ok = g == w;
            else if (isnan(w) || isnan(g))
                ok = isnan(w) && isnan(g);
            else if (isinf(w) || isinf(g))
                ok = g == w;
            else
                ok = fabs(g - w) <= atol + rtol * fabs(w);
        }
        if (!isnan(g) && !isnan(w) && !isinf(g) && !isinf(w) &&
            fabs(g - w) > *max_err)
            *max_err = fabs(g - w);
        if (!ok && bad++ < 5)
            fprintf(ir_error_stream(),
                    "%s: element %lld is %.9g, expected "
                    "%.9g\n",
                    label, (long long)i, g, w);
    }
    if (bad)
        return ir_errorf("%s: %lld of %lld elements differ beyond rtol %g, "
                         "atol %g",
                         label, (long long)bad, (long long)n, rtol, atol);
    return 0;
}
