/*
 * Shape inference and kernel parameters of the fused ops that the fusion
 * passes create (ir/ops.def, "Fused ops").  Each infer recomputes exactly
 * the shape that the unfused subgraph had, so that inference may run again
 * after fusion.
 */
#include "passes.h"
#include "../runtime/k_fused.h"

#include <string.h>

static int
check_f32(const struct ir_graph *g, const struct ir_op *op, int i)
{
    const struct ir_value *v = pass_operand(g, op, i);
    if (!v)
        return ir_error(g, op, IR_NONE, "input %d is missing", i);
    if (v->dtype != IR_DTYPE_FLOAT)
        return ir_error(g, op, op->operands[i],
                        "input %d has dtype %s; only f32 is supported", i,
                        ir_dtype_name(v->dtype));
    return 0;
}

/* Rows and row length of x viewed as [rows, n] over its last axis. */
static int
last_axis_view(const struct ir_graph *g, const struct ir_op *op, int64_t *rows,
               int64_t *n)
{
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    if (s->rank < 1)
        return ir_error(g, op, op->operands[0],
                        "input 0 must have rank 1 or more");
    int axis;
    if (pass_axis(g, op, ir_op_int(op, "axis", -1), s->rank, &axis) != 0)
        return -1;
    if (axis != s->rank - 1)
        return ir_error(g, op, IR_NONE,
                        "axis %d is not supported (only the last axis is)",
                        axis);
    *n = s->dim[s->rank - 1];
    *rows = 1;
    for (int i = 0; i < s->rank - 1; i++)
        *rows *= s->dim[i];
    return 0;
}

/* Step of a scale or bias over the row: 1 for n elements, 0 for one. */
static int
row_step(const struct ir_graph *g, const struct ir_op *op, int i, int64_t n,
         int64_t *step)
{
    const struct ir_value *v = pass_operand(g, op, i);
    int64_t count = ir_shape_numel(&v->shape);
    if (count == n || count == 1) {
        *step = count == n ? 1 : 0;
        return 0;
    }
    return ir_error(g, op, op->operands[i],
                    "input %d must have %lld elements or one", i, (long long)n);
}

/* ---- onnxc.RMSNorm(X, Scale) {axis = -1, epsilon} ---- */

static int
rms_norm_infer(struct ir_graph *g, struct ir_op *op)
{
    int64_t rows = 0, n = 0, step = 0;
    if (check_f32(g, op, 0) != 0 || check_f32(g, op, 1) != 0 ||
        last_axis_view(g, op, &rows, &n) != 0 ||
        row_step(g, op, 1, n, &step) != 0)
        return -1;
    const struct ir_value *x = pass_operand(g, op, 0);
    pass_set_result(g, op, 0, x->dtype, &x->shape);
    return 0;
}

static int
rms_norm_encode(const struct ir_graph *g, const struct ir_op *op,
                struct pass_params *p)
{
    int64_t rows = 0, n = 0, step = 0;
    if (last_axis_view(g, op, &rows, &n) != 0 ||
        row_step(g, op, 1, n, &step) != 0)
        return -1;
    pass_params_int(p, rows);
    pass_params_int(p, n);
    pass_params_int(p, step);
    pass_params_float(p, ir_op_float(op, "epsilon", 1e-6));
    return 0;
}

/* ---- onnxc.SkipLayerNorm(A, B, Scale, [Bias]) -> Y, [A + B] ---- */

static int
skip_layer_norm_infer(struct ir_graph *g, struct ir_op *op)
{
    int64_t rows = 0, n = 0, step = 0;
    for (int i = 0; i < op->n_operands; i++)
        if (pass_operand(g, op, i) && check_f32(g, op, i) != 0)
            return -1;
    if (last_axis_view(g, op, &rows, &n) != 0)
        return -1;
    const struct ir_value *a = pass_operand(g, op, 0);
    const struct ir_value *b = pass_operand(g, op, 1);
    if (!ir_shape_equal(&a->shape, &b->shape))
        return ir_error(g, op, op->operands[1],
                        "input 1 must have the shape of input 0");
    for (int i = 2; i < op->n_operands; i++)
        if (pass_operand(g, op, i) && row_step(g, op, i, n, &step) != 0)
            return -1;
    for (int i = 0; i < op->n_results; i++)
        pass_set_result(g, op, i, a->dtype, &a->shape);
    return 0;
}

static int
skip_layer_norm_encode(const struct ir_graph *g, const struct ir_op *op,
                       struct pass_params *p)
{
    int64_t rows = 0, n = 0, scale_step = 0, bias_step = 0;
    if (last_axis_view(g, op, &rows, &n) != 0 ||
        row_step(g, op, 2, n, &scale_step) != 0)
        return -1;
    if (pass_operand(g, op, 3) && row_step(g, op, 3, n, &bias_step) != 0)
        return -1;
    pass_params_int(p, rows);
    pass_params_int(p, n);
    pass_params_int(p, scale_step);
    pass_params_int(p, bias_step);
    pass_params_float(p, ir_op_float(op, "epsilon", 1e-5));
    return 0;
}

/* ---- onnxc.Attention(Q, K, V, [Mask]) ---- */

/*
 * Layouts of an Attention operand or result (attributes q_layout,
 * k_layout, v_layout and out_layout) for a logical tensor [batch..., rows,
 * cols], with H = heads:
 *   bhsd  the logical tensor itself (the default);
 *   bshd  [P..., rows, H * cols] contains [P..., H, rows, cols], as a
 *         Reshape to [P..., rows, H, cols] and a Transpose of the two axes
 *         before the last split heads in HF BERT and GPT-2 exports;
 *   sbhd  [rows, B, H * cols] contains [B * H, rows, cols], the way torch
 *         1.13's nn.MultiheadAttention splits heads.  A result in this
 *         layout has the shape [rows * B, H * cols] that the output
 *         projection of nn.MultiheadAttention reads.
 */
enum head_layout {
    LAYOUT_BHSD,
    LAYOUT_BSHD,
    LAYOUT_SBHD,
};

/* Steps that place row r of batch item i at i / div * outer +
 * i % div * inner + r * row. */
struct operand_steps {
    int64_t div, outer, inner, row;
};

/*
 * The shapes of one Attention: q [batch..., T, D], k [batch..., S, D] (or
 * [batch..., D, S] with k_transposed = 1), v [batch..., S, Dv], with the
 * same batch dims, and a mask that broadcasts to the scores [batch..., T,
 * S] without changing their shape.  Shapes here are the logical ones,
 * after the layouts are undone.
 */
struct attention_plan {
    int rank; /* of q and of the scores */
    int64_t batch, t, s, d, dv, heads;
    struct ir_shape out;            /* logical result [batch..., T, Dv] */
    struct ir_shape result;         /* the result as stored */
    enum head_layout layout[4];     /* q, k, v, result */
    struct operand_steps steps[4];  /* q, k, v, result */
    int64_t mask_step[IR_MAX_RANK]; /* per score dim, 0 where broadcast */
};

static const char *const layout_attr[4] = {"q_layout", "k_layout", "v_layout",
                                           "out_layout"};

static int
parse_layout(const struct ir_graph *g, const struct ir_op *op, int i,
             enum head_layout *layout)
{
    const char *s = ir_op_string(op, layout_attr[i], "bhsd");
    if (strcmp(s, "bhsd") == 0)
        *layout = LAYOUT_BHSD;
    else if (strcmp(s, "bshd") == 0)
        *layout = LAYOUT_BSHD;
    else if (strcmp(s, "sbhd") == 0)
        *layout = LAYOUT_SBHD;
    else
        return ir_error(g, op, IR_NONE,
                        "attribute %s is '%s'; expected bhsd, bshd or sbhd",
                        layout_attr[i], s);
    return 0;
}

/* The logical [batch..., rows, cols] tensor that operand i stores. */
static int
logical_operand(const struct ir_graph *g, const struct ir_op *op, int i,
                enum head_layout layout, int64_t heads, struct ir_shape *out)
{
    const struct ir_shape *x = &pass_operand(g, op, i)->shape;
    int r = x->rank;
    *out = *x;
    if (layout == LAYOUT_BHSD)
        return 0;
    if (i == 1 && ir_op_int(op, "k_transposed", 0) != 0)
        return ir_error(g, op, IR_NONE,
                        "k_transposed must be 0 when k_layout is not bhsd");
    if (r < 2 || r + 1 > IR_MAX_RANK || x->dim[r - 1] % heads != 0 ||
        (layout == LAYOUT_SBHD && r != 3))
        return ir_error(g, op, op->operands[i],
                        "input %d does not have a %s shape for %lld heads", i,
                        layout == LAYOUT_BSHD ? "[P..., S, H * D]"
                                              : "[S, B, H * D]",
                        (long long)heads);
    if (layout == LAYOUT_BSHD) {
        out->rank = r + 1;
        out->dim[r - 2] = heads;
        out->dim[r - 1] = x->dim[r - 2];
        out->dim[r] = x->dim[r - 1] / heads;
    } else {
        out->dim[0] = x->dim[1] * heads;
        out->dim[1] = x->dim[0];
        out->dim[2] = x->dim[2] / heads;
    }
    for (int k = 0; k < out->rank; k++)
        out->sym[k] = -1;
    return 0;
}

/* Steps of a logical [batch..., rows, cols] tensor stored in layout. */
static struct operand_steps
layout_steps(enum head_layout layout, int64_t heads, int64_t batch,
             int64_t rows, int64_t cols)
{
    struct operand_steps st = {.div = 1, .outer = rows * cols, .row = cols};
    if (layout == LAYOUT_BSHD) {
        st.div = heads;
        st.outer = rows * heads * cols;
        st.inner = cols;
        st.row = heads * cols;
    } else if (layout == LAYOUT_SBHD) {
        st.outer = cols;
        st.row = batch * cols;
    }
    return st;
}

/* The stored result of the logical result pl->out in pl->layout[3]. */
static int
plan_result(const struct ir_graph *g, const struct ir_op *op,
            struct attention_plan *pl)
{
    const struct ir_shape *o = &pl->out;
    int r = pl->rank;
    pl->result = *o;
    enum head_layout layout = pl->layout[3];
    if (layout == LAYOUT_BHSD)
        return 0;
    if ((layout == LAYOUT_BSHD && (r < 3 || o->dim[r - 3] != pl->heads)) ||
        (layout == LAYOUT_SBHD && (r != 3 || o->dim[0] % pl->heads != 0)))
        return ir_error(g, op, IR_NONE,
                        "out_layout %s does not fit a result of rank %d "
                        "with %lld heads",
                        ir_op_string(op, layout_attr[3], ""), r,
                        (long long)pl->heads);
    if (layout == LAYOUT_BSHD) {
        pl->result.rank = r - 1;
        pl->result.dim[r - 3] = pl->t;
        pl->result.dim[r - 2] = pl->heads * pl->dv;
    } else {
        pl->result.rank = 2;
        pl->result.dim[0] = pl->t * (o->dim[0] / pl->heads);
        pl->result.dim[1] = pl->heads * pl->dv;
    }
    for (int k = 0; k < pl->result.rank; k++)
        pl->result.sym[k] = -1;
    return 0;
}

static int
scale_mode(const struct ir_graph *g, const struct ir_op *op, const char *name,
           int *mode)
{
    const char *s = ir_op_string(op, name, "none");
    if (strcmp(s, "none") == 0)
        *mode = RT_ATTENTION_SCALE_NONE;
    else if (strcmp(s, "mul") == 0)
        *mode = RT_ATTENTION_SCALE_MUL;
    else if (strcmp(s, "div") == 0)
        *mode = RT_ATTENTION_SCALE_DIV;
    else
        return ir_error(g, op, IR_NONE,
                        "attribute %s is '%s'; expected none, mul or div", name,
                        s);
    return 0;
}

static int
mask_mode(const struct ir_graph *g, const struct ir_op *op, int *mode)
{
    const char *s = ir_op_string(op, "mask_mode", "add");
    if (!pass_operand(g, op, 3))
        *mode = RT_ATTENTION_MASK_NONE;
    else if (strcmp(s, "add") == 0)
        *mode = RT_ATTENTION_MASK_ADD;
    else if (strcmp(s, "where_keep") == 0)
        *mode = RT_ATTENTION_MASK_KEEP_TRUE;
    else if (strcmp(s, "where_fill") == 0)
        *mode = RT_ATTENTION_MASK_FILL_TRUE;
    else
        return ir_error(g, op, IR_NONE,
                        "attribute mask_mode is '%s'; expected add, "
                        "where_keep or where_fill",
                        s);
    return 0;
}

static int
plan_mask(const struct ir_graph *g, const struct ir_op *op,
          struct attention_plan *pl)
{
    const struct ir_value *mask = pass_operand(g, op, 3);
    memset(pl->mask_step, 0, sizeof(pl->mask_step));
    if (!mask)
        return 0;
    int mode;
    if (mask_mode(g, op, &mode) != 0)
        return -1;
    enum ir_dtype want =
        mode == RT_ATTENTION_MASK_ADD ? IR_DTYPE_FLOAT : IR_DTYPE_BOOL;
    if (mask->dtype != want)
        return ir_error(g, op, op->operands[3], "the mask must be %s",
                        ir_dtype_name(want));
    const struct ir_shape *ms = &mask->shape;
    if (ms->rank > pl->rank)
        return ir_error(g, op, op->operands[3],
                        "the mask has a higher rank than the scores");
    int64_t step = 1;
    for (int i = ms->rank - 1; i >= 0; i--) {
        int sd = pl->rank - ms->rank + i;
        int64_t want_dim = sd == pl->rank - 1   ? pl->s
                           : sd == pl->rank - 2 ? pl->t
                                                : pl->out.dim[sd];
        if (ms->dim[i] != want_dim && ms->dim[i] != 1)
            return ir_error(g, op, op->operands[3],
                            "the mask does not broadcast to the scores");
        pl->mask_step[sd] = ms->dim[i] == 1 ? 0 : step;
        step *= ms->dim[i];
    }
    return 0;
}

static int
plan_attention(const struct ir_graph *g, const struct ir_op *op,
               struct attention_plan *pl)
{
    for (int i = 0; i < 3; i++)
        if (check_f32(g, op, i) != 0)
            return -1;
    memset(pl, 0, sizeof(*pl));
    pl->heads = ir_op_int(op, "heads", 1);
    if (pl->heads < 1)
        return ir_error(g, op, IR_NONE,
                        "attribute heads is %lld; expected 1 "
                        "or more",
                        (long long)pl->heads);
    struct ir_shape shapes[3];
    for (int i = 0; i < 4; i++)
        if (parse_layout(g, op, i, &pl->layout[i]) != 0 ||
            (i < 3 && logical_operand(g, op, i, pl->layout[i], pl->heads,
                                      &shapes[i]) != 0))
            return -1;
    const struct ir_shape *q = &shapes[0], *k = &shapes[1], *v = &shapes[2];
    int r = q->rank;
    if (r < 2 || k->rank != r || v->rank != r)
        return ir_error(g, op, IR_NONE,
                        "q, k and v must have the same rank, 2 or more");
    pl->rank = r;
    pl->batch = 1;
    for (int i = 0; i < r - 2; i++) {
        if (k->dim[i] != q->dim[i] || v->dim[i] != q->dim[i])
            return ir_error(g, op, IR_NONE,
                            "q, k and v must have the same batch dims");
        pl->batch *= q->dim[i];
    }
    bool kt = ir_op_int(op, "k_transposed", 0) != 0;
    pl->t = q->dim[r - 2];
    pl->d = q->dim[r - 1];
    pl->s = kt ? k->dim[r - 1] : k->dim[r - 2];
    int64_t kd = kt ? k->dim[r - 2] : k->dim[r - 1];
    pl->dv = v->dim[r - 1];
    if (kd != pl->d || v->dim[r - 2] != pl->s)
        return ir_error(g, op, IR_NONE,
                        "k and v do not match q's head size and each "
                        "other's sequence length");
    pl->out = *q;
    pl->out.dim[r - 1] = pl->dv;
    const int64_t rows[4] = {pl->t, pl->s, pl->s, pl->t};
    const int64_t cols[4] = {pl->d, pl->d, pl->dv, pl->dv};
    for (int i = 0; i < 4; i++)
        pl->steps[i] =
            layout_steps(pl->layout[i], pl->heads, pl->batch, rows[i], cols[i]);
    if (plan_result(g, op, pl) != 0)
        return -1;
    return plan_mask(g, op, pl);
}

static int
attention_infer(struct ir_graph *g, struct ir_op *op)
{
    struct attention_plan pl;
    int mode;
    if (plan_attention(g, op, &pl) != 0 ||
        scale_mode(g, op, "q_scale_op", &mode) != 0 ||
        scale_mode(g, op, "scale_op", &mode) != 0)
        return -1;
    pass_set_result(g, op, 0, IR_DTYPE_FLOAT, &pl.result);
    return 0;
}

static int
attention_encode(const struct ir_graph *g, const struct ir_op *op,
                 struct pass_params *p)
{
    struct attention_plan pl;
    int q_mode = 0, s_mode = 0, m_mode = 0;
    if (plan_attention(g, op, &pl) != 0 ||
        scale_mode(g, op, "q_scale_op", &q_mode) != 0 ||
        scale_mode(g, op, "scale_op", &s_mode) != 0 ||
        mask_mode(g, op, &m_mode) != 0)
        return -1;
    pass_params_int(p, pl.batch);
    pass_params_int(p, pl.t);
    pass_params_int(p, pl.s);
    pass_params_int(p, pl.d);
    pass_params_int(p, pl.dv);
    pass_params_int(p, ir_op_int(op, "k_transposed", 0) != 0);
    pass_params_int(p, q_mode);
    pass_params_int(p, s_mode);
    pass_params_int(p, m_mode);
    int nb = pl.rank - 2;
    pass_params_int(p, nb);
    for (int i = 0; i < nb; i++)
        pass_params_int(p, pl.out.dim[i]);
    for (int i = 0; i < pl.rank; i++)
        pass_params_int(p, pl.mask_step[i]);
    for (int i = 0; i < 4; i++) {
        pass_params_int(p, pl.steps[i].div);
        pass_params_int(p, pl.steps[i].outer);
        pass_params_int(p, pl.steps[i].inner);
        pass_params_int(p, pl.steps[i].row);
    }
    pass_params_float(p, ir_op_float(op, "q_scale", 1.0));
    pass_params_float(p, ir_op_float(op, "scale", 1.0));
    pass_params_float(p, ir_op_float(op, "fill", 0.0));
    return 0;
}

/* ---- onnxc.FusedMatMul(X, W, Bias, [Residual]) {activation} ---- */

static int
activation_code(const struct ir_graph *g, const struct ir_op *op, int *code)
{
    const char *s = ir_op_string(op, "activation", "none");
    if (strcmp(s, "none") == 0)
        *code = RT_FUSED_ACT_NONE;
    else if (strcmp(s, "relu") == 0)
        *code = RT_FUSED_ACT_RELU;
    else if (strcmp(s, "gelu") == 0)
        *code = RT_FUSED_ACT_GELU;
    else if (strcmp(s, "gelu_tanh") == 0)
        *code = RT_FUSED_ACT_GELU_TANH;
    else
        return ir_error(g, op, IR_NONE,
                        "attribute activation is '%s'; expected none, "
                        "relu, gelu or gelu_tanh",
                        s);
    return 0;
}

/* X [..., K] times W [K, N] gives [..., N], viewed as [m, k] x [k, n]. */
static int
fused_matmul_view(const struct ir_graph *g, const struct ir_op *op, int64_t *m,
                  int64_t *k, int64_t *n, struct ir_shape *out)
{
    for (int i = 0; i < op->n_operands; i++)
        if (pass_operand(g, op, i) && check_f32(g, op, i) != 0)
            return -1;
    const struct ir_shape *x = &pass_operand(g, op, 0)->shape;
    const struct ir_shape *w = &pass_operand(g, op, 1)->shape;
    if (x->rank < 2 || w->rank != 2 || x->dim[x->rank - 1] != w->dim[0])
        return ir_error(g, op, IR_NONE,
                        "X must have rank 2 or more and W must be [K, N] "
                        "with X's last dim as K");
    *k = w->dim[0];
    *n = w->dim[1];
    *m = 1;
    for (int i = 0; i < x->rank - 1; i++)
        *m *= x->dim[i];
    *out = *x;
    out->dim[x->rank - 1] = *n;
    const struct ir_value *bias = pass_operand(g, op, 2);
    if (ir_shape_numel(&bias->shape) != *n)
        return ir_error(g, op, op->operands[2],
                        "the bias must have N = %lld elements", (long long)*n);
    const struct ir_value *res = pass_operand(g, op, 3);
    if (res && !ir_shape_equal(&res->shape, out))
        return ir_error(g, op, op->operands[3],
                        "the residual must have the shape of the result");
    return 0;
}

static int
fused_matmul_infer(struct ir_graph *g, struct ir_op *op)
{
    int64_t m, k, n;
    struct ir_shape out;
    int code;
    if (fused_matmul_view(g, op, &m, &k, &n, &out) != 0 ||
        activation_code(g, op, &code) != 0)
        return -1;
    pass_set_result(g, op, 0, IR_DTYPE_FLOAT, &out);
    return 0;
}

static int
fused_matmul_encode(const struct ir_graph *g, const struct ir_op *op,
                    struct pass_params *p)
{
    int64_t m, k, n;
    struct ir_shape out;
    int code;
    if (fused_matmul_view(g, op, &m, &k, &n, &out) != 0 ||
        activation_code(g, op, &code) != 0)
        return -1;
    pass_params_int(p, m);
    pass_params_int(p, k);
    pass_params_int(p, n);
    pass_params_int(p, code);
    pass_params_int(p, pass_operand(g, op, 3) != NULL);
    pass_params_int(p, pass_layout_panel_width(op));
    pass_params_int(p, pass_layout_is_packed(op));
    return 0;
}

#define KERNEL(fn) .kernel_name = #fn, .kernel = fn

const struct pass_op_impl pass_ops_fused[] = {
    {IR_OP_RMS_NORM, rms_norm_infer, rms_norm_encode,
     KERNEL(rt_kernel_rms_norm)},
    {IR_OP_SKIP_LAYER_NORM, skip_layer_norm_infer, skip_layer_norm_encode,
     KERNEL(rt_kernel_skip_layer_norm)},
    {IR_OP_ATTENTION, attention_infer, attention_encode,
     KERNEL(rt_kernel_attention)},
    {IR_OP_FUSED_MATMUL, fused_matmul_infer, fused_matmul_encode,
     KERNEL(rt_kernel_fused_matmul)},
    {.kind = IR_OP_COUNT},
};
