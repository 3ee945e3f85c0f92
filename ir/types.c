/*
 * Element types, op kind names and static shapes.
 */
#include "ir.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_info[IR_DTYPE_COUNT] = {
    [IR_DTYPE_UNDEFINED] = {"undef", 0},
    [IR_DTYPE_FLOAT] = {"f32", 4},
    [IR_DTYPE_UINT8] = {"u8", 1},
    [IR_DTYPE_INT8] = {"i8", 1},
    [IR_DTYPE_UINT16] = {"u16", 2},
    [IR_DTYPE_INT16] = {"i16", 2},
    [IR_DTYPE_INT32] = {"i32", 4},
    [IR_DTYPE_INT64] = {"i64", 8},
    /* A pointer per element.  No constant has this dtype. */
    [IR_DTYPE_STRING] = {"string", sizeof(const char *)},
    [IR_DTYPE_BOOL] = {"bool", 1},
    [IR_DTYPE_FLOAT16] = {"f16", 2},
    [IR_DTYPE_DOUBLE] = {"f64", 8},
    [IR_DTYPE_UINT32] = {"u32", 4},
    [IR_DTYPE_UINT64] = {"u64", 8},
    [14] = {"complex64", 0},
    [15] = {"complex128", 0},
    [IR_DTYPE_BFLOAT16] = {"bf16", 2},
};

const char *
ir_dtype_name(enum ir_dtype t)
{
    if ((int)t < 0 || t >= IR_DTYPE_COUNT)
        return "unknown";
    return dtype_info[t].name;
}

enum ir_dtype
ir_dtype_from_name(const char *name)
{
    for (int t = 1; t < IR_DTYPE_COUNT; t++)
        if (dtype_info[t].name && strcmp(dtype_info[t].name, name) == 0)
            return (enum ir_dtype)t;
    return IR_DTYPE_UNDEFINED;
}

size_t
ir_dtype_size(enum ir_dtype t)
{
    if ((int)t < 0 || t >= IR_DTYPE_COUNT)
        return 0;
    return dtype_info[t].size;
}

bool
ir_dtype_is_float(enum ir_dtype t)
{
    return t == IR_DTYPE_FLOAT || t == IR_DTYPE_DOUBLE ||
           t == IR_DTYPE_FLOAT16 || t == IR_DTYPE_BFLOAT16;
}

bool
ir_dtype_is_int(enum ir_dtype t)
{
    switch (t) {
    case IR_DTYPE_UINT8:
    case IR_DTYPE_INT8:
    case IR_DTYPE_UINT16:
    case IR_DTYPE_INT16:
    case IR_DTYPE_INT32:
    case IR_DTYPE_INT64:
    case IR_DTYPE_UINT32:
    case IR_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

static const struct {
    const char *name;
    int min_in, max_in, min_out, max_out;
} op_info[IR_OP_COUNT] = {
#define IR_OP(kind, name, min_in, max_in, min_out, max_out)                    \
    [IR_OP_##kind] = {name, min_in, max_in, min_out, max_out},
#include "ops.def"
#undef IR_OP
};

const char *
ir_op_kind_name(enum ir_op_kind k)
{
    if ((int)k < 0 || k >= IR_OP_COUNT)
        return "unknown";
    return op_info[k].name;
}

enum ir_op_kind
ir_op_kind_from_name(const char *name)
{
    for (int k = 0; k < IR_OP_COUNT; k++)
        if (strcmp(op_info[k].name, name) == 0)
            return (enum ir_op_kind)k;
    return IR_OP_COUNT;
}

void
ir_op_kind_arity(enum ir_op_kind k, int *min_in, int *max_in, int *min_out,
                 int *max_out)
{
    IR_ASSERT(k < IR_OP_COUNT);
    *min_in = op_info[k].min_in;
    *max_in = op_info[k].max_in;
    *min_out = op_info[k].min_out;
    *max_out = op_info[k].max_out;
}

struct ir_shape
ir_shape_unknown(void)
{
    struct ir_shape s;
    memset(&s, 0, sizeof(s));
    s.rank = -1;
    for (int i = 0; i < IR_MAX_RANK; i++)
        s.sym[i] = -1;
    return s;
}

struct ir_shape
ir_shape_make(int rank, const int64_t *dims)
{
    struct ir_shape s = ir_shape_unknown();
    IR_ASSERT(rank >= 0 && rank <= IR_MAX_RANK);
    s.rank = rank;
    for (int i = 0; i < rank; i++)
        s.dim[i] = dims[i];
    return s;
}

bool
ir_shape_is_static(const struct ir_shape *s)
{
    if (s->rank < 0)
        return false;
    for (int i = 0; i < s->rank; i++)
        if (s->sym[i] >= 0 || s->dim[i] < 0)
            return false;
    return true;
}

int64_t
ir_shape_numel(const struct ir_shape *s)
{
    if (!ir_shape_is_static(s))
        return -1;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (__builtin_mul_overflow(n, s->dim[i], &n))
            return -1;
    }
    return n;
}

bool
ir_shape_equal(const struct ir_shape *a, const struct ir_shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i] || a->sym[i] != b->sym[i])
            return false;
    return true;
}

char *
ir_shape_format(const struct ir_graph *g, const struct ir_shape *s, char *buf,
                size_t size)
{
    size_t at = 0;
    if (size == 0)
        return buf;
    buf[0] = 0;
    if (s->rank < 0) {
        snprintf(buf, size, "[*]");
        return buf;
    }
    at += (size_t)snprintf(buf + at, size - at, "[");
    for (int i = 0; i < s->rank && at < size; i++) {
        const char *sep = i ? "," : "";
        if (s->sym[i] >= 0 && g && s->sym[i] < g->n_syms)
            at += (size_t)snprintf(buf + at, size - at, "%s%s", sep,
                                   g->syms[s->sym[i]]);
        else if (s->sym[i] >= 0)
            at += (size_t)snprintf(buf + at, size - at, "%s?", sep);
        else if (s->dim[i] == -1)
            at += (size_t)snprintf(buf + at, size - at, "%s?", sep);
        else
            at += (size_t)snprintf(buf + at, size - at, "%s%lld", sep,
                                   (long long)s->dim[i]);
    }
    if (at < size)
        snprintf(buf + at, size - at, "]");
    return buf;
}

/* IEEE half-precision bits to float; every half is exact as a float. */
float
ir_half_to_float(uint16_t h)
{
    int exp = (h >> 10) & 0x1f;
    int mant = h & 0x3ff;
    float sign = (h & 0x8000) ? -1.0f : 1.0f;
    if (exp == 0x1f)
        return mant ? NAN : sign * INFINITY;
    if (exp == 0)
        return sign * ldexpf((float)mant, -24);
    return sign * ldexpf((float)(mant | 0x400), exp - 25);
}

/*
 * Float to IEEE half with round to nearest even; the scaled values are
 * exact in double, so nearbyint does the only rounding.
 * NOTE: parse.c has the same conversion; ir.h declares no shared one.
 */
uint16_t
ir_float_to_half(float f)
{
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    double a = fabs((double)f);
    if (isnan(f))
        return sign | 0x7e00;
    if (a >= 65520.0)
        return sign | 0x7c00;
    if (a < ldexp(1.0, -14))
        return sign | (uint16_t)nearbyint(ldexp(a, 24));
    int e;
    frexp(a, &e);
    e -= 1; /* now 2^e <= a < 2^(e+1) */
    double q = nearbyint(ldexp(a, 10 - e));
    if (q == 2048.0) {
        q = 1024.0;
        e++;
    }
    if (e > 15)
        return sign | 0x7c00;
    return sign | (uint16_t)((e + 15) << 10) | (uint16_t)(q - 1024.0);
}

uint16_t
ir_float_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof(x));
    if (isnan(f))
        return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

float
ir_bf16_to_float(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}
