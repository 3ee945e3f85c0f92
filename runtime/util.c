/*
 * Small helpers every kernel uses: element counts, dtype sizes and error
 * messages.
 */
#include "rt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int64_t
rt_numel(const struct rt_desc *d)
{
    int64_t n = 1;
    for (int i = 0; i < d->rank; i++)
        n *= d->dims[i];
    return n;
}

size_t
rt_dtype_size(int32_t dtype)
{
    switch (dtype) {
    case RT_UINT8:
    case RT_INT8:
    case RT_BOOL:
        return 1;
    case RT_UINT16:
    case RT_INT16:
    case RT_FLOAT16:
    case RT_BFLOAT16:
        return 2;
    case RT_FLOAT:
    case RT_INT32:
    case RT_UINT32:
        return 4;
    case RT_INT64:
    case RT_DOUBLE:
    case RT_UINT64:
        return 8;
    case RT_STRING:
        return sizeof(const char *);
    default:
        return 0;
    }
}

int
rt_fail(struct rt_ctx *ctx, const struct rt_node *node, int status,
        const char *fmt, ...)
{
    if (!ctx || !ctx->error)
        return status;
    int at = 0;
    if (node)
        at = snprintf(ctx->error, RT_ERROR_SIZE,
                      "%s node '%s': ", node->op_type ? node->op_type : "?",
                      node->name ? node->name : "?");
    if (at < 0 || at >= RT_ERROR_SIZE)
        at = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error + at, (size_t)(RT_ERROR_SIZE - at), fmt, ap);
    va_end(ap);
    return status;
}

/* One malloc'd block of string bytes; the blocks form a list. */
struct string_block {
    struct string_block *next;
    char bytes[];
};

struct rt_strings {
    struct string_block *head;
};

struct rt_strings *
rt_strings_create(void)
{
    return calloc(1, sizeof(struct rt_strings));
}

char *
rt_strings_alloc(struct rt_ctx *ctx, size_t n)
{
    if (!ctx || !ctx->strings || n > SIZE_MAX - sizeof(struct string_block))
        return NULL;
    struct string_block *b = malloc(sizeof(*b) + n);
    if (!b)
        return NULL;
    b->next = ctx->strings->head;
    ctx->strings->head = b;
    return b->bytes;
}

void
rt_strings_clear(struct rt_strings *s)
{
    if (!s)
        return;
    while (s->head) {
        struct string_block *next = s->head->next;
        free(s->head);
        s->head = next;
    }
}

void
rt_strings_destroy(struct rt_strings *s)
{
    rt_strings_clear(s);
    free(s);
}
