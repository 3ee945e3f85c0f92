/*
 * Helpers that shape inference and parameter encoding share: operand
 * access, constant operands read as integers, axes and broadcasting.
 */
#include "passes.h"

#include <math.h>
#include <string.h>

const struct ir_value *
pass_operand(const struct ir_graph *g, const struct ir_op *op, int i)
{
    if (i < 0 || i >= op->n_operands || op->operands[i] == IR_NONE)
        return NULL;
    return &g->values[op->operands[i]];
}

bool
pass_operand_is_const(const struct ir_graph *g, const struct ir_op *op, int i)
{
    const struct ir_value *v = pass_operand(g, op, i);
    return v && v->kind == IR_VALUE_CONST;
}

int
pass_operand_ints(const struct ir_graph *g, const struct ir_op *op, int i,
                  int64_t *out, int max, int *n)
{
    const struct ir_value *v = pass_operand(g, op, i);
    if (!v)
        return ir_error(g, op, IR_NONE, "input %d is missing", i);
    if (v->kind != IR_VALUE_CONST)
        return ir_error(g, op, op->operands[i],
                        "input %d must be a constant once the input dims "
                        "are bound, but it depends on run-time data",
                        i);
    if (v->dtype != IR_DTYPE_INT64 && v->dtype != IR_DTYPE_INT32)
        return ir_error(g, op, op->operands[i],
                        "input %d must be int32 or int64", i);
    int64_t count = ir_shape_numel(&v->shape);
    if (count < 0 || count > max)
        return ir_error(g, op, op->operands[i],
                        "input %d holds %lld values; at most %d are "
                        "supported",
                        i, (long long)count, max);
    for (int64_t k = 0; k < count; k++) {
        if (v->dtype == IR_DTYPE_INT64) {
            int64_t x;
            memcpy(&x, (const char *)v->data + 8 * k, 8);
            out[k] = x;
        } else {
            int32_t x;
            memcpy(&x, (const char *)v->data + 4 * k, 4);
            out[k] = x;
        }
    }
    *n = (int)count;
    return 0;
}

int
pass_operand_scalar(const struct ir_graph *g, const struct ir_op *op, int i,
                    double *out)
{
    const struct ir_value *v = pass_operand(g, op, i);
    if (!v)
        return ir_error(g, op, IR_NONE, "input %d is missing", i);
    if (v->kind != IR_VALUE_CONST || ir_shape_numel(&v->shape) != 1)
        return ir_error(g, op, op->operands[i],
                        "input %d must be a constant with one element", i);
    const void *p = v->data;
    switch (v->dtype) {
    case IR_DTYPE_FLOAT:
        *out = *(const float *)p;
        break;
    case IR_DTYPE_DOUBLE:
        *out = *(const double *)p;
        break;
    case IR_DTYPE_INT64:
        *out = (double)*(const int64_t *)p;
        break;
    case IR_DTYPE_INT32:
        *out = *(const int32_t *)p;
        break;
    case IR_DTYPE_INT16:
        *out = *(const int16_t *)p;
        break;
    case IR_DTYPE_INT8:
        *out = *(const int8_t *)p;
        break;
    case IR_DTYPE_UINT8:
        *out = *(const uint8_t *)p;
        break;
    case IR_DTYPE_UINT16:
        *out = *(const uint16_t *)p;
        break;
    case IR_DTYPE_UINT32:
        *out = *(const uint32_t *)p;
        break;
    case IR_DTYPE_UINT64:
        *out = (double)*(const uint64_t *)p;
        break;
    case IR_DTYPE_BOOL:
        *out = *(const uint8_t *)p;
        break;
    default:
        return ir_error(g, op, op->operands[i],
                        "input %d has a dtype this op does not support", i);
    }
    return 0;
}

void
pass_set_result(struct ir_graph *g, struct ir_op *op, int i,
                enum ir_dtype dtype, const struct ir_shape *shape)
{
    IR_ASSERT(i >= 0 && i < op->n_results);
    struct ir_value *v = &g->values[op->results[i]];
    v->dtype = dtype;
    v->shape = *shape;
}

int
pass_axis(const struct ir_graph *g, const struct ir_op *op, int64_t axis,
          int rank, int *out)
{
    if (axis < -rank || axis >= rank)
        return ir_error(g, op, IR_NONE, "axis %lld is out of range for rank %d",
                        (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

int
pass_broadcast(const struct ir_graph *g, const struct ir_op *op,
               const struct ir_shape *a, const struct ir_shape *b,
               struct ir_shape *out)
{
    int rank = a->rank > b->rank ? a->rank : b->rank;
    int64_t dims[IR_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        int ia = i - (rank - a->rank), ib = i - (rank - b->rank);
        int64_t da = ia >= 0 ? a->dim[ia] : 1;
        int64_t db = ib >= 0 ? b->dim[ib] : 1;
        if (da == db || db == 1)
            dims[i] = da;
        else if (da == 1)
            dims[i] = db;
        else {
            char sa[160], sb[160];
            return ir_error(g, op, IR_NONE,
                            "shapes %s and %s cannot be broadcast: dim %d "
                            "is %lld in one and %lld in the other",
                            ir_shape_format(g, a, sa, sizeof(sa)),
                            ir_shape_format(g, b, sb, sizeof(sb)), i,
                            (long long)da, (long long)db);
        }
    }
    *out = ir_shape_make(rank, dims);
    return 0;
}
