/*
 * Tensor files: NumPy .npy (format versions 1 to 3, little-endian, C
 * order) and ONNX TensorProto .pb files, plus the numeric comparison that
 * `onnxc run --expect` and the conformance runner use.
 */
#include "tools.h"
#include "../frontend/frontend.h"

#include <limits.h>
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

/*
 * Parse the header dictionary: descr, fortran_order and shape.  Byte
 * strings ('S') and unicode strings ('U') give dtype string and *width,
 * the bytes or code points of one element.
 */
static int
parse_npy_header(const char *path, const char *h, struct tool_tensor *t,
                 size_t *width, bool *unicode)
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
    if ((d[0] == 'S' || d[0] == 'U') && d[1] >= '0' && d[1] <= '9') {
        char *end;
        unsigned long long w = strtoull(d + 1, &end, 10);
        if (*end != '\'' || w == 0 || w > (1u << 20))
            return ir_errorf("'%s': .npy string dtype '%.*s' is not "
                             "supported: its width must be 1 to %u",
                             path, (int)(end - d), d, 1u << 20);
        t->dtype = IR_DTYPE_STRING;
        *width = (size_t)w;
        *unicode = d[0] == 'U';
    }
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

/* Append code point c to out as UTF-8; returns the bytes written. */
static size_t
put_utf8(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xe0 | c >> 12);
        out[1] = (char)(0x80 | (c >> 6 & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | c >> 18);
    out[1] = (char)(0x80 | (c >> 12 & 0x3f));
    out[2] = (char)(0x80 | (c >> 6 & 0x3f));
    out[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/*
 * Turn fixed-width .npy strings in t->data into the tensor form: one
 * pointer per element, then the NUL-terminated strings (UTF-8 for
 * unicode data).  Padding NULs end a string.
 */
static int
unpack_strings(const char *path, struct tool_tensor *t, size_t width,
               bool unicode)
{
    size_t n = (size_t)ir_shape_numel(&t->shape);
    size_t max_len = width * (unicode ? 4 : 1);
    char **ptrs = ir_xmalloc(n * sizeof(char *) + n * (max_len + 1) + 1);
    char *bytes = (char *)(ptrs + n);
    const unsigned char *src = t->data;
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = bytes;
        size_t end = width;
        for (size_t k = 0; k < width; k++) {
            uint32_t c;
            if (unicode) {
                const unsigned char *q = src + (i * width + k) * 4;
                c = (uint32_t)q[0] | (uint32_t)q[1] << 8 |
                    (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
                if (c > 0x10ffff || (c >= 0xd800 && c < 0xe000)) {
                    free(ptrs);
                    return ir_errorf("'%s': element %zu holds the invalid "
                                     "code point U+%X",
                                     path, i, (unsigned)c);
                }
            } else {
                c = src[i * width + k];
            }
            if (c == 0) {
                end = k;
                break;
            }
            bytes += unicode ? put_utf8(c, bytes) : (*bytes = (char)c, 1);
        }
        /* NULs pad a string to the width.  One before other bytes is in
         * the string, which a NUL-terminated string cannot contain. */
        size_t unit = unicode ? 4 : 1;
        for (size_t k = end * unit; k < width * unit; k++) {
            if (src[i * width * unit + k] != 0) {
                free(ptrs);
                return ir_errorf("'%s': element %zu contains a NUL character "
                                 "before its end, which a NUL-terminated "
                                 "string cannot contain",
                                 path, i);
            }
        }
        *bytes++ = 0;
    }
    free(t->data);
    t->data = ptrs;
    t->nbytes = n * sizeof(char *);
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
    size_t width = 0;
    bool unicode = false;
    if (parse_npy_header(path, header, t, &width, &unicode) != 0)
        goto out;
    int64_t n = ir_shape_numel(&t->shape);
    if (n < 0 || (uint64_t)n > (UINT64_MAX >> 4)) {
        ir_errorf("'%s': the shape's element count overflows", path);
        goto out;
    }
    size_t elem_size = t->dtype == IR_DTYPE_STRING ? width * (unicode ? 4 : 1)
                                                   : ir_dtype_size(t->dtype);
    if (elem_size != 0 && (uint64_t)n > (uint64_t)LONG_MAX / elem_size) {
        ir_errorf("'%s': the header promises %lld elements of %zu bytes, "
                  "more than a file can hold",
                  path, (long long)n, elem_size);
        goto out;
    }
    t->nbytes = (size_t)n * elem_size;
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
    rc = t->dtype == IR_DTYPE_STRING ? unpack_strings(path, t, width, unicode)
                                     : 0;
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
    char str_descr[32];
    size_t width = 0, n_elems = (size_t)ir_shape_numel(&t->shape);
    const char *const *strs = t->data;
    if (t->dtype == IR_DTYPE_STRING) {
        /* Byte strings as wide as the longest; numpy reads them as 'S'. */
        width = 1;
        for (size_t i = 0; i < n_elems; i++)
            if (strlen(strs[i]) > width)
                width = strlen(strs[i]);
        snprintf(str_descr, sizeof(str_descr), "S%zu", width);
        descr = str_descr;
    }
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
    int n = snprintf(
        header, sizeof(header),
        "{'descr': '%c%s', 'fortran_order': False, "
        "'shape': (%s), }",
        descr[0] == 'b' || descr[0] == 'S' || descr[1] == '1' ? '|' : '<',
        descr, shape);
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
    if (t->dtype == IR_DTYPE_STRING) {
        for (size_t i = 0; i < n_elems; i++) {
            size_t len = strlen(strs[i]);
            fwrite(strs[i], 1, len, f);
            for (size_t k = len; k < width; k++)
                fputc(0, f);
        }
    } else {
        fwrite(t->data, 1, t->nbytes, f);
    }
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

/* Print at most 60 bytes of s in quotes, control bytes escaped so that a
 * model's output cannot send terminal control sequences. */
static void
print_escaped(FILE *out, const char *s)
{
    fputc('"', out);
    const unsigned char *p = (const unsigned char *)s;
    for (int i = 0; p[i] && i < 60; i++) {
        if (p[i] == '"' || p[i] == '\\')
            fprintf(out, "\\%c", p[i]);
        else if (p[i] < 0x20 || p[i] == 0x7f)
            fprintf(out, "\\x%02x", p[i]);
        else
            fputc(p[i], out);
    }
    fputs(strlen(s) > 60 ? "\"..." : "\"", out);
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
    int64_t n = ir_shape_numel(&want->shape), bad = 0;
    if (want->dtype == IR_DTYPE_STRING) {
        const char *const *gs = got->data, *const *ws = want->data;
        for (int64_t i = 0; i < n; i++) {
            if (strcmp(gs[i], ws[i]) == 0 || bad++ >= 5)
                continue;
            FILE *err = ir_error_stream();
            fprintf(err, "%s: element %lld is ", label, (long long)i);
            print_escaped(err, gs[i]);
            fputs(", expected ", err);
            print_escaped(err, ws[i]);
            fputc('\n', err);
        }
        if (bad)
            return ir_errorf("%s: %lld of %lld strings differ", label,
                             (long long)bad, (long long)n);
        return 0;
    }
    /* Half floats too compare as their values, with the tolerances. */
    bool exact = !ir_dtype_is_float(want->dtype);
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
