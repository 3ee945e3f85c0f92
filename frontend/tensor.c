/*
 * TensorProto decoding: element types, shapes, data in raw_data, in the
 * typed repeated fields, or in an external file next to the model, and the
 * TensorProto files of the ONNX backend test data.
 */
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum ir_dtype
fe_dtype_from_onnx(int32_t elem_type)
{
    switch (elem_type) {
    case IR_DTYPE_FLOAT:
    case IR_DTYPE_UINT8:
    case IR_DTYPE_INT8:
    case IR_DTYPE_UINT16:
    case IR_DTYPE_INT16:
    case IR_DTYPE_INT32:
    case IR_DTYPE_INT64:
    case IR_DTYPE_STRING:
    case IR_DTYPE_BOOL:
    case IR_DTYPE_FLOAT16:
    case IR_DTYPE_DOUBLE:
    case IR_DTYPE_UINT32:
    case IR_DTYPE_UINT64:
    case IR_DTYPE_BFLOAT16:
        return (enum ir_dtype)elem_type;
    default:
        return IR_DTYPE_UNDEFINED;
    }
}

const char *
fe_unsupported_dtype_name(int32_t elem_type)
{
    switch (elem_type) {
    case 0:
        return "undefined";
    case 8:
        return "string";
    case 14:
        return "complex64";
    case 15:
        return "complex128";
    case 17:
        return "float8e4m3fn";
    case 18:
        return "float8e4m3fnuz";
    case 19:
        return "float8e5m2";
    case 20:
        return "float8e5m2fnuz";
    case 21:
        return "uint4";
    case 22:
        return "int4";
    case 23:
        return "float4e2m1";
    case 24:
        return "float8e8m0";
    case 25:
        return "uint2";
    case 26:
        return "int2";
    default:
        return "unknown";
    }
}

static uint16_t
float_to_half_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof(x));
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    int exp = (int)((x >> 23) & 0xff);
    uint32_t mant = x & 0x7fffff;

    if (exp == 0xff)
        return sign | 0x7c00 | (mant ? 0x200 : 0);
    int e = exp - 127 + 15;
    if (e >= 31)
        return sign | 0x7c00;
    uint32_t h, rem, half;
    if (e <= 0) {
        /* A subnormal half, or zero when even the subnormals underflow. */
        if (e < -10)
            return sign;
        mant |= 0x800000;
        int shift = 14 - e;
        h = mant >> shift;
        rem = mant & ((1u << shift) - 1);
        half = 1u << (shift - 1);
    } else {
        h = ((uint32_t)e << 10) | (mant >> 13);
        rem = mant & 0x1fff;
        half = 0x1000;
    }
    /* Round to nearest even; a carry into the exponent is still right. */
    if (rem > half || (rem == half && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

static uint16_t
float_to_bfloat16_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof(x));
    if ((x & 0x7fffffff) > 0x7f800000)
        return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

bool
fe_float_to_dtype(double v, enum ir_dtype dtype, void *out)
{
    float f = (float)v;
    uint16_t h;
    switch (dtype) {
    case IR_DTYPE_FLOAT:
        memcpy(out, &f, sizeof(f));
        return true;
    case IR_DTYPE_DOUBLE:
        memcpy(out, &v, sizeof(v));
        return true;
    case IR_DTYPE_FLOAT16:
        h = float_to_half_bits(f);
        memcpy(out, &h, sizeof(h));
        return true;
    case IR_DTYPE_BFLOAT16:
        h = float_to_bfloat16_bits(f);
        memcpy(out, &h, sizeof(h));
        return true;
    default:
        return false;
    }
}

int
fe_read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ir_errorf("cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = ir_xmalloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = ir_xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int err = errno;
        fclose(f);
        free(buf);
        return ir_errorf("cannot read '%s': %s", path, strerror(err));
    }
    fclose(f);
    *data = buf;
    *size = n;
    return 0;
}

char *
fe_dir_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ir_xstrdup(".");
    if (slash == path)
        return ir_xstrdup("/");
    size_t n = (size_t)(slash - path);
    char *dir = ir_xmalloc(n + 1);
    memcpy(dir, path, n);
    dir[n] = 0;
    return dir;
}

/* ONNX stores raw and external data little-endian. */
static void
to_native_order(void *data, size_t nbytes, size_t elem_size)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint8_t *p = data;
    for (size_t i = 0; i + elem_size <= nbytes; i += elem_size)
        for (size_t a = 0, b = elem_size - 1; a < b; a++, b--) {
            uint8_t t = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = t;
        }
#else
    (void)data;
    (void)nbytes;
    (void)elem_size;
#endif
}

static int
decode_shape(const Onnx__TensorProto *t, const char *what,
             struct ir_shape *shape, int64_t *numel)
{
    if (t->n_dims > IR_MAX_RANK)
        return ir_errorf("%s has rank %zu, more than the maximum %d", what,
                         t->n_dims, IR_MAX_RANK);
    *shape = ir_shape_unknown();
    shape->rank = (int)t->n_dims;
    *numel = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0)
            return ir_errorf("%s has negative dim %lld at axis %zu", what,
                             (long long)t->dims[i], i);
        shape->dim[i] = t->dims[i];
        if (__builtin_mul_overflow(*numel, t->dims[i], numel))
            return ir_errorf("%s has too many elements: the product of its "
                             "dims overflows int64",
                             what);
    }
    return 0;
}

/* Describe dtype and shape as "f32[2,3]" for messages. */
static const char *
format_type(enum ir_dtype dtype, const struct ir_shape *shape, char *buf,
            size_t size)
{
    char dims[160];
    ir_shape_format(NULL, shape, dims, sizeof(dims));
    snprintf(buf, size, "%s%s", ir_dtype_name(dtype), dims);
    return buf;
}

static const char *
find_entry(const Onnx__TensorProto *t, const char *key)
{
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (e->key && strcmp(e->key, key) == 0)
            return e->value ? e->value : "";
    }
    return NULL;
}

/* Parse a decimal byte count, or return -1 if text is not one. */
static int64_t
parse_count(const char *text)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (errno || *end)
        return -1;
    return v;
}

/*
 * Check that location is relative, has no ".." component and, once
 * symbolic links are resolved, lies inside base_dir.  Returns the resolved
 * path (malloc'd) or NULL after an error.
 */
static char *
resolve_location(const char *location, const char *what, const char *base_dir)
{
    if (!*location) {
        ir_errorf("%s: external data location is empty", what);
        return NULL;
    }
    if (location[0] == '/' || location[0] == '\\' ||
        (location[0] && location[1] == ':')) {
        ir_errorf("%s: external data location '%s' is an absolute path; "
                  "it must be relative to the model's folder",
                  what, location);
        return NULL;
    }
    for (const char *p = location; *p;) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            ir_errorf("%s: external data location '%s' contains '..'; it "
                      "must stay inside the model's folder",
                      what, location);
            return NULL;
        }
        p += n;
        if (*p)
            p++;
    }

    size_t size = strlen(base_dir) + strlen(location) + 2;
    char *joined = ir_xmalloc(size);
    snprintf(joined, size, "%s/%s", base_dir, location);
    char *real = realpath(joined, NULL);
    if (!real) {
        ir_errorf("%s: cannot open external data file '%s': %s", what, joined,
                  strerror(errno));
        free(joined);
        return NULL;
    }
    char *real_base = realpath(base_dir, NULL);
    size_t n = real_base ? strlen(real_base) : 0;
    bool inside = real_base && strncmp(real, real_base, n) == 0 &&
                  (real[n] == '/' || strcmp(real_base, "/") == 0);
    free(real_base);
    if (!inside) {
        ir_errorf("%s: external data file '%s' resolves to '%s', outside "
                  "the model's folder '%s'",
                  what, joined, real, base_dir);
        free(joined);
        free(real);
        return NULL;
    }
    free(joined);
    return real;
}

/* Allocate tensor data, with an error instead of an exit on failure,
 * because a corrupt file can claim any size. */
static void *
alloc_data(const char *what, size_t nbytes)
{
    void *data = malloc(nbytes ? nbytes : 1);
    if (!data)
        ir_errorf("%s: cannot allocate %zu bytes", what, nbytes);
    return data;
}

/* Read external data into *data, allocated once the file is known to
 * hold nbytes. */
static int
read_external(const Onnx__TensorProto *t, const char *what,
              const char *base_dir, void **data, size_t nbytes)
{
    if (!base_dir)
        return ir_errorf("%s: external data is not allowed for a model "
                         "loaded from memory without a folder",
                         what);
    const char *location = find_entry(t, "location");
    if (!location)
        return ir_errorf("%s: external data has no 'location' entry", what);
    const char *offset_text = find_entry(t, "offset");
    const char *length_text = find_entry(t, "length");
    int64_t offset = offset_text ? parse_count(offset_text) : 0;
    int64_t length = length_text ? parse_count(length_text) : (int64_t)nbytes;
    if (offset < 0)
        return ir_errorf("%s: external data offset '%s' is not a "
                         "non-negative integer",
                         what, offset_text);
    if (length < 0)
        return ir_errorf("%s: external data length '%s' is not a "
                         "non-negative integer",
                         what, length_text);
    if ((uint64_t)length != nbytes)
        return ir_errorf("%s: external data length is %lld bytes, but its "
                         "dtype and shape need %zu",
                         what, (long long)length, nbytes);

    char *path = resolve_location(location, what, base_dir);
    if (!path)
        return -1;
    int rc = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer, because the
     * check below rejects everything but a regular file anyway. */
    FILE *f = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        rc = ir_errorf("%s: cannot open external data file '%s': %s", what,
                       path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = ir_errorf("%s: external data file '%s' is not a regular file",
                       what, path);
        close(fd);
        goto out;
    }
    f = fdopen(fd, "rb");
    if (!f) {
        rc = ir_errorf("%s: cannot open external data file '%s': %s", what,
                       path, strerror(errno));
        close(fd);
        goto out;
    }
    if (fseeko(f, 0, SEEK_END) != 0) {
        rc = ir_errorf("%s: cannot seek in '%s': %s", what, path,
                       strerror(errno));
        goto out;
    }
    int64_t file_size = (int64_t)ftello(f);
    if (file_size < 0 || offset > file_size ||
        (uint64_t)(file_size - offset) < nbytes) {
        rc = ir_errorf("%s: external data file '%s' has %lld bytes, too "
                       "few for %zu bytes at offset %lld",
                       what, path, (long long)file_size, nbytes,
                       (long long)offset);
        goto out;
    }
    *data = alloc_data(what, nbytes);
    if (!*data) {
        rc = -1;
        goto out;
    }
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0 ||
        fread(*data, 1, nbytes, f) != nbytes) {
        rc = ir_errorf("%s: cannot read %zu bytes at offset %lld of '%s'", what,
                       nbytes, (long long)offset, path);
        free(*data);
        *data = NULL;
    }
out:
    if (f)
        fclose(f);
    free(path);
    return rc;
}

/* memcpy, but an empty repeated field may have a NULL array. */
static void
copy_elements(void *data, const void *src, size_t n, size_t elem_size)
{
    if (n)
        memcpy(data, src, n * elem_size);
}

/* The typed repeated field that dtype uses: its name and length. */
static const char *
typed_field(const Onnx__TensorProto *t, enum ir_dtype dtype, size_t *count)
{
    switch (dtype) {
    case IR_DTYPE_FLOAT:
        *count = t->n_float_data;
        return "float_data";
    case IR_DTYPE_DOUBLE:
        *count = t->n_double_data;
        return "double_data";
    case IR_DTYPE_INT64:
        *count = t->n_int64_data;
        return "int64_data";
    case IR_DTYPE_UINT32:
    case IR_DTYPE_UINT64:
        *count = t->n_uint64_data;
        return "uint64_data";
    default:
        /* The rest keep each element, or its bit pattern, in int32_data. */
        *count = t->n_int32_data;
        return "int32_data";
    }
}

/* Copy the typed repeated field that dtype uses into data, which has
 * room for numel elements; typed_field has checked the count. */
static void
copy_typed_field(const Onnx__TensorProto *t, enum ir_dtype dtype, int64_t numel,
                 void *data)
{
    size_t n = (size_t)numel;
    switch (dtype) {
    case IR_DTYPE_FLOAT:
        copy_elements(data, t->float_data, n, sizeof(float));
        return;
    case IR_DTYPE_DOUBLE:
        copy_elements(data, t->double_data, n, sizeof(double));
        return;
    case IR_DTYPE_INT64:
        copy_elements(data, t->int64_data, n, sizeof(int64_t));
        return;
    case IR_DTYPE_UINT64:
        copy_elements(data, t->uint64_data, n, sizeof(uint64_t));
        return;
    case IR_DTYPE_UINT32:
        for (size_t i = 0; i < n; i++)
            ((uint32_t *)data)[i] = (uint32_t)t->uint64_data[i];
        return;
    default:
        break;
    }

    const int32_t *src = t->int32_data;
    for (size_t i = 0; i < n; i++) {
        switch (dtype) {
        case IR_DTYPE_INT32:
            ((int32_t *)data)[i] = src[i];
            break;
        case IR_DTYPE_INT16:
            ((int16_t *)data)[i] = (int16_t)src[i];
            break;
        case IR_DTYPE_UINT16:
        case IR_DTYPE_FLOAT16:
        case IR_DTYPE_BFLOAT16:
            ((uint16_t *)data)[i] = (uint16_t)src[i];
            break;
        case IR_DTYPE_INT8:
            ((int8_t *)data)[i] = (int8_t)src[i];
            break;
        case IR_DTYPE_UINT8:
            ((uint8_t *)data)[i] = (uint8_t)src[i];
            break;
        case IR_DTYPE_BOOL:
            ((uint8_t *)data)[i] = src[i] != 0;
            break;
        default:
            IR_ASSERT(!"dtype without a typed field");
        }
    }
}

/* Read the tensor's data, from wherever it is, into *data (malloc'd). */
static int
read_data(const Onnx__TensorProto *t, const char *what, const char *base_dir,
          enum ir_dtype dtype, const struct ir_shape *shape, int64_t numel,
          void **data, size_t nbytes)
{
    char type[200];
    format_type(dtype, shape, type, sizeof(type));
    size_t elem_size = ir_dtype_size(dtype);

    if (t->has_data_location &&
        t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        if (read_external(t, what, base_dir, data, nbytes))
            return -1;
        to_native_order(*data, nbytes, elem_size);
        return 0;
    }
    if (t->has_raw_data) {
        if (t->raw_data.len != nbytes)
            return ir_errorf("%s: raw_data has %zu bytes, but %s needs %zu",
                             what, t->raw_data.len, type, nbytes);
        *data = alloc_data(what, nbytes);
        if (!*data)
            return -1;
        if (nbytes)
            memcpy(*data, t->raw_data.data, nbytes);
        to_native_order(*data, nbytes, elem_size);
        return 0;
    }
    size_t count;
    const char *field = typed_field(t, dtype, &count);
    if ((int64_t)count != numel)
        return ir_errorf("%s: %s has %zu values, but %s needs %lld", what,
                         field, count, type, (long long)numel);
    *data = alloc_data(what, nbytes);
    if (!*data)
        return -1;
    copy_typed_field(t, dtype, numel, *data);
    return 0;
}

int
fe_decode_tensor(const Onnx__TensorProto *t, const char *what,
                 const char *base_dir, enum ir_dtype *dtype_out,
                 struct ir_shape *shape_out, void **data_out,
                 size_t *nbytes_out)
{
    if (!t->has_data_type || t->data_type == 0)
        return ir_errorf("%s has no data type", what);
    enum ir_dtype dtype = fe_dtype_from_onnx(t->data_type);
    if (dtype == IR_DTYPE_UNDEFINED)
        return ir_errorf("%s has element type %s (%d), which is not "
                         "supported",
                         what, fe_unsupported_dtype_name(t->data_type),
                         (int)t->data_type);
    if (dtype == IR_DTYPE_STRING)
        return ir_errorf("%s is a string tensor; string constants are not "
                         "supported (string graph inputs and outputs are)",
                         what);
    if (t->segment)
        return ir_errorf("%s is a segment of a larger tensor, which is not "
                         "supported",
                         what);

    struct ir_shape shape;
    int64_t numel = 0;
    if (decode_shape(t, what, &shape, &numel))
        return -1;
    size_t elem_size = ir_dtype_size(dtype);
    size_t nbytes;
    if (numel > (int64_t)(SIZE_MAX / 2) ||
        __builtin_mul_overflow((size_t)numel, elem_size, &nbytes))
        return ir_errorf("%s is too large: %lld elements of %zu bytes", what,
                         (long long)numel, elem_size);

    void *data = NULL;
    if (read_data(t, what, base_dir, dtype, &shape, numel, &data, nbytes))
        return -1;
    *dtype_out = dtype;
    *shape_out = shape;
    *data_out = data;
    *nbytes_out = nbytes;
    return 0;
}

/*
 * Decode a string tensor into one allocation: numel pointers, then the
 * NUL-terminated strings they point to.  A string with a NUL byte inside
 * is rejected, because a NUL-terminated string cannot contain it.
 */
static int
decode_strings(const Onnx__TensorProto *t, const char *what,
               struct ir_shape *shape_out, void **data_out, size_t *nbytes_out)
{
    struct ir_shape shape;
    int64_t numel = 0;
    if (decode_shape(t, what, &shape, &numel))
        return -1;
    if (t->has_raw_data ||
        (t->has_data_location &&
         t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
        return ir_errorf("%s is a string tensor stored as raw or external "
                         "data; strings must be in string_data",
                         what);
    if ((int64_t)t->n_string_data != numel)
        return ir_errorf("%s: string_data has %zu values, but its shape "
                         "needs %lld",
                         what, t->n_string_data, (long long)numel);
    size_t total = (size_t)numel * sizeof(char *);
    for (size_t i = 0; i < t->n_string_data; i++) {
        const uint8_t *nul =
            t->string_data[i].len
                ? memchr(t->string_data[i].data, 0, t->string_data[i].len)
                : NULL;
        if (nul)
            return ir_errorf("%s: string %zu contains a NUL byte at offset "
                             "%zu, which a NUL-terminated string cannot "
                             "contain",
                             what, i, (size_t)(nul - t->string_data[i].data));
        total += t->string_data[i].len + 1;
    }
    char **ptrs = alloc_data(what, total + 1);
    if (!ptrs)
        return -1;
    char *bytes = (char *)(ptrs + numel);
    for (size_t i = 0; i < t->n_string_data; i++) {
        size_t len = t->string_data[i].len;
        if (len)
            memcpy(bytes, t->string_data[i].data, len);
        bytes[len] = 0;
        ptrs[i] = bytes;
        bytes += len + 1;
    }
    *shape_out = shape;
    *data_out = ptrs;
    *nbytes_out = (size_t)numel * sizeof(char *);
    return 0;
}

int
fe_decode_data_tensor(const Onnx__TensorProto *t, const char *what,
                      const char *base_dir, enum ir_dtype *dtype,
                      struct ir_shape *shape, void **data, size_t *nbytes)
{
    if (t->has_data_type && t->data_type == IR_DTYPE_STRING) {
        *dtype = IR_DTYPE_STRING;
        return decode_strings(t, what, shape, data, nbytes);
    }
    return fe_decode_tensor(t, what, base_dir, dtype, shape, data, nbytes);
}

int
fe_load_tensor_file(const char *path, enum ir_dtype *dtype,
                    struct ir_shape *shape, void **data, size_t *nbytes,
                    char **name_out)
{
    uint8_t *bytes;
    size_t size;
    if (fe_read_file(path, &bytes, &size))
        return -1;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, size, bytes);
    free(bytes);
    if (!t)
        return ir_errorf("'%s' is not a valid TensorProto file: protobuf "
                         "decoding failed (truncated or another format)",
                         path);

    char what[512];
    if (t->name && *t->name)
        snprintf(what, sizeof(what), "tensor '%s' in '%s'", t->name, path);
    else
        snprintf(what, sizeof(what), "tensor in '%s'", path);
    char *dir = fe_dir_name(path);
    int rc = fe_decode_data_tensor(t, what, dir, dtype, shape, data, nbytes);
    free(dir);
    if (rc == 0 && name_out)
        *name_out = t->name && *t->name ? ir_xstrdup(t->name) : NULL;
    onnx__tensor_proto__free_unpacked(t, NULL);
    return rc;
}
