/*
 * The runtime that every generated library links, and the kernel ABI that
 * the compiler shares with it.  The compiler calls the same kernels to fold
 * constants, so a folded value and a computed one agree bit for bit.  This
 * header needs only libc.
 */
#ifndef ONNXC_RT_H
#define ONNXC_RT_H

#include <stddef.h>
#include <stdint.h>

#define RT_MAX_RANK 8
#define RT_ERROR_SIZE 512

/* Element types use the ONNX TensorProto.DataType numbers, as in the IR. */
enum rt_dtype {
    RT_FLOAT = 1,
    RT_UINT8 = 2,
    RT_INT8 = 3,
    RT_UINT16 = 4,
    RT_INT16 = 5,
    RT_INT32 = 6,
    RT_INT64 = 7,
    RT_STRING = 8, /* a const char * per element, NUL-terminated */
    RT_BOOL = 9,
    RT_FLOAT16 = 10,
    RT_DOUBLE = 11,
    RT_UINT32 = 12,
    RT_UINT64 = 13,
    RT_BFLOAT16 = 16,
};

enum rt_status {
    RT_OK = 0,
    RT_ERR_ARGUMENT = 1, /* a bad argument from the caller */
    RT_ERR_SHAPE = 2,    /* an input whose dtype, rank or dims do not match */
    RT_ERR_RUNTIME = 3,  /* a kernel rejected the data, e.g. an index */
    RT_ERR_MEMORY = 4,   /* an allocation failed */
    RT_ERR_UNSUPPORTED_CPU = 5, /* the CPU lacks the library's instructions */
};

/* The static type of one kernel operand: its dtype, rank and dims. */
struct rt_desc {
    int32_t dtype; /* 0 for an omitted optional operand */
    int32_t rank;
    int64_t dims[RT_MAX_RANK];
};

/*
 * One op as its kernel receives it.  descs contains n_inputs input descriptors,
 * then n_outputs output descriptors.  ints and floats hold the op's parameters
 * in a layout that each kernel documents above its definition.
 */
struct rt_node {
    const char *name;    /* ONNX node name, for error messages */
    const char *op_type; /* ONNX op type, for error messages */
    int32_t n_inputs;
    int32_t n_outputs;
    int32_t n_ints;
    int32_t n_floats;
    const struct rt_desc *descs;
    const int64_t *ints;
    const double *floats;
};

struct rt_pool;
struct rt_strings;

/*
 * The run-time context of a kernel: the thread pool, an error slot and the
 * storage that strings made during a run live in.
 */
struct rt_ctx {
    struct rt_pool *pool;       /* NULL runs everything on the calling thread */
    char *error;                /* RT_ERROR_SIZE bytes */
    struct rt_strings *strings; /* NULL when no kernel may make strings */
};

/*
 * A kernel.  bufs contains one data pointer per input (NULL for an omitted
 * one), then one per output.  Outputs never alias inputs.  Returns RT_OK,
 * or an error status after writing a message with rt_fail.
 */
typedef int (*rt_kernel_fn)(struct rt_ctx *ctx, const struct rt_node *node,
                            void *const *bufs);

/*
 * float16 and bfloat16 bits to and from double, defined in
 * k_elementwise_cast.c.  The from_double functions round to nearest, ties
 * to even, and overflow to infinity.
 */
double rt_f16_to_double(uint16_t h);
uint16_t rt_f16_from_double(double d);
double rt_bf16_to_double(uint16_t h);
uint16_t rt_bf16_from_double(double d);

/* Element i of a numeric tensor of dtype as a double; 0 for other dtypes. */
static inline double
rt_load_f64(const void *p, int32_t dtype, int64_t i)
{
    switch (dtype) {
    case RT_FLOAT:
        return ((const float *)p)[i];
    case RT_DOUBLE:
        return ((const double *)p)[i];
    case RT_FLOAT16:
        return rt_f16_to_double(((const uint16_t *)p)[i]);
    case RT_BFLOAT16:
        return rt_bf16_to_double(((const uint16_t *)p)[i]);
    case RT_INT8:
        return ((const int8_t *)p)[i];
    case RT_UINT8:
        return ((const uint8_t *)p)[i];
    case RT_INT16:
        return ((const int16_t *)p)[i];
    case RT_UINT16:
        return ((const uint16_t *)p)[i];
    case RT_INT32:
        return ((const int32_t *)p)[i];
    case RT_UINT32:
        return ((const uint32_t *)p)[i];
    case RT_INT64:
        return (double)((const int64_t *)p)[i];
    case RT_UINT64:
        return (double)((const uint64_t *)p)[i];
    default:
        return 0;
    }
}

/*
 * Element i of an integer tensor of dtype, sign- or zero-extended; a uint64
 * above INT64_MAX wraps to a negative value.  0 for other dtypes.
 */
static inline int64_t
rt_load_i64(const void *p, int32_t dtype, int64_t i)
{
    switch (dtype) {
    case RT_INT8:
        return ((const int8_t *)p)[i];
    case RT_UINT8:
        return ((const uint8_t *)p)[i];
    case RT_INT16:
        return ((const int16_t *)p)[i];
    case RT_UINT16:
        return ((const uint16_t *)p)[i];
    case RT_INT32:
        return ((const int32_t *)p)[i];
    case RT_UINT32:
        return ((const uint32_t *)p)[i];
    case RT_INT64:
        return ((const int64_t *)p)[i];
    case RT_UINT64:
        return (int64_t)((const uint64_t *)p)[i];
    default:
        return 0;
    }
}

/* ---- util.c ---- */

int64_t rt_numel(const struct rt_desc *d);
size_t rt_dtype_size(int32_t dtype); /* a pointer's size for strings */
/*
 * String storage.  rt_strings_alloc returns n bytes that live until
 * rt_strings_clear, or NULL when memory runs out or ctx has no storage.
 * It is not thread-safe: call it before splitting work over the pool.
 */
struct rt_strings *rt_strings_create(void);
char *rt_strings_alloc(struct rt_ctx *ctx, size_t n);
void rt_strings_clear(struct rt_strings *s);
void rt_strings_destroy(struct rt_strings *s);
/* Write "Op 'node': message" into ctx->error and return status. */
int rt_fail(struct rt_ctx *ctx, const struct rt_node *node, int status,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- pool.c: a persistent thread pool ---- */

struct rt_pool *rt_pool_create(int n_threads);
void rt_pool_destroy(struct rt_pool *pool);
int rt_pool_size(const struct rt_pool *pool); /* 1 for a NULL pool */
/*
 * Run fn(arg, i) for i in [0, n) over the pool's threads, the caller's
 * included, and return when every call has returned.
 */
void rt_parallel_for(struct rt_pool *pool, int64_t n,
                     void (*fn)(void *arg, int64_t i), void *arg);

/* ---- session.c: what a generated library exports, behind its prefix ---- */

/* An input or output of the model. */
struct rt_io {
    const char *name;
    struct rt_desc desc;
};

typedef int (*rt_forward_fn)(struct rt_ctx *ctx, void *const *inputs,
                             void *const *outputs, char *arena);

/* Vector instruction sets a library may be compiled for (x86-64). */
enum rt_isa {
    RT_ISA_BASELINE = 0,
    RT_ISA_AVX2 = 1,   /* AVX2 and FMA */
    RT_ISA_AVX512 = 2, /* AVX-512F */
};

/* A compiled model, emitted by the code generator as a constant. */
struct rt_model {
    const char *name; /* the --name prefix */
    int32_t n_inputs;
    int32_t n_outputs;
    const struct rt_io *inputs;
    const struct rt_io *outputs;
    int64_t arena_size; /* bytes of workspace one run needs */
    rt_forward_fn forward;
    int32_t isa; /* an enum rt_isa the running CPU must support */
};

/* A tensor the caller passes to a run, as the public header declares it. */
struct rt_tensor {
    void *data;
    const int64_t *shape;
    int32_t rank;
    int32_t dtype;
};

struct rt_session;

int rt_session_create(const struct rt_model *m, int n_threads,
                      struct rt_session **out);
/* Use workspace (at least m->arena_size bytes, 64-byte aligned) for runs. */
int rt_session_set_workspace(struct rt_session *s, void *workspace,
                             size_t size);
int rt_session_run(struct rt_session *s, const struct rt_tensor *inputs,
                   int32_t n_inputs, struct rt_tensor *outputs,
                   int32_t n_outputs);
const char *rt_session_error(const struct rt_session *s);
void rt_session_destroy(struct rt_session *s);

#endif
