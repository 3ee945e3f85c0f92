/*
 * The math group of the op table: matrix products (MatMul, Gemm, Einsum)
 * here, normalisations in ops_math_norm.c and reductions in
 * ops_math_reduce.c.  Kernels live in runtime/k_math*.c.
 */
#include "passes.h"
#include "../runtime/k_math.h"

#include <string.h>

/* ---- defined in ops_math_norm.c ---- */

int pass_math_softmax_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_softmax_encode(const struct ir_graph *g, const struct ir_op *op,
                             struct pass_params *p);
int pass_math_batch_norm_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_batch_norm_encode(const struct ir_graph *g,
                                const struct ir_op *op, struct pass_params *p);
int pass_quant_infer(struct ir_graph *g, struct ir_op *op);
int pass_quant_encode(const struct ir_graph *g, const struct ir_op *op,
                      struct pass_params *p);
int pass_rnn_infer(struct ir_graph *g, struct ir_op *op);
int pass_rnn_encode(const struct ir_graph *g, const struct ir_op *op,
                    struct pass_params *p);
int pass_resize_infer(struct ir_graph *g, struct ir_op *op);
int pass_resize_encode(const struct ir_graph *g, const struct ir_op *op,
                       struct pass_params *p);
int pass_math_lrn_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_lrn_encode(const struct ir_graph *g, const struct ir_op *op,
                         struct pass_params *p);
int pass_math_loss_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_loss_encode(const struct ir_graph *g, const struct ir_op *op,
                          struct pass_params *p);
int pass_math_layer_norm_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_layer_norm_encode(const struct ir_graph *g,
                                const struct ir_op *op, struct pass_params *p);
int pass_math_cumsum_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_cumsum_encode(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p);

/* ---- defined in ops_math_reduce.c ---- */

int pass_math_reduce_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_reduce_encode(const struct ir_graph *g, const struct ir_op *op,
                            struct pass_params *p);
int pass_math_arg_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_arg_encode(const struct ir_graph *g, const struct ir_op *op,
                         struct pass_params *p);
int pass_math_topk_infer(struct ir_graph *g, struct ir_op *op);
int pass_math_topk_encode(const struct ir_graph *g, const struct ir_op *op,
                          struct pass_params *p);

/* ---- MatMul ---- */

static bool
is_product_dtype(enum ir_dtype t)
{
    return t == IR_DTYPE_FLOAT || t == IR_DTYPE_DOUBLE || t == IR_DTYPE_INT32 ||
           t == IR_DTYPE_INT64 || t == IR_DTYPE_UINT32 || t == IR_DTYPE_UINT64;
}

/* Check that operands 0..n-1 share one dtype that products support. */
static int
check_product_dtypes(const struct ir_graph *g, const struct ir_op *op, int n)
{
    const struct ir_value *a = pass_operand(g, op, 0);
    if (!is_product_dtype(a->dtype))
        return ir_error(g, op, op->operands[0],
                        "dtype %s is not supported (float32, float64, "
                        "int32, int64, uint32 and uint64 are)",
                        ir_dtype_name(a->dtype));
    for (int i = 1; i < n; i++) {
        const struct ir_value *v = pass_operand(g, op, i);
        if (v && v->dtype != a->dtype)
            return ir_error(g, op, op->operands[i],
                            "input %d has dtype %s but input 0 has %s", i,
                            ir_dtype_name(v->dtype), ir_dtype_name(a->dtype));
    }
    return 0;
}

/* MatMul's operands as [batch..., M, K] x [batch..., K, N]. */
struct matmul_plan {
    int64_t m, k, n;
    int n_batch;
    int64_t batch[IR_MAX_RANK][3]; /* size, A step, B step in elements */
    int64_t b_rs, b_cs;            /* B(l, j) at l * b_rs + j * b_cs */
    struct ir_shape out;
};

/*
 * B's shape and the element step of each of its dims.  With the onnxc
 * attribute perm_b, operand bi is x and B is Transpose(x, perm_b), read in
 * place; otherwise B is operand bi, row-major.
 */
static int
matmul_b_view(const struct ir_graph *g, const struct ir_op *op, int bi,
              struct ir_shape *b, int64_t *step)
{
    const struct ir_shape *x = &pass_operand(g, op, bi)->shape;
    int64_t x_step[IR_MAX_RANK], s = 1;
    for (int i = x->rank - 1; i >= 0; i--) {
        x_step[i] = s;
        s *= x->dim[i];
    }
    *b = *x;
    const struct ir_attr *perm = ir_op_attr(op, "perm_b");
    if (!perm) {
        memcpy(step, x_step, sizeof(int64_t) * (size_t)x->rank);
        return 0;
    }
    bool seen[IR_MAX_RANK] = {false};
    bool ok = perm->kind == IR_ATTR_INTS && perm->n == x->rank && x->rank >= 2;
    for (int i = 0; ok && i < perm->n; i++) {
        int64_t a = perm->ints[i];
        ok = a >= 0 && a < x->rank && !seen[a];
        if (ok) {
            seen[a] = true;
            b->dim[i] = x->dim[a];
            b->sym[i] = x->sym[a];
            step[i] = x_step[a];
        }
    }
    if (!ok)
        return ir_error(g, op, IR_NONE,
                        "attribute perm_b is not a permutation of input 1's "
                        "%d axes, with 2 or more",
                        x->rank);
    return 0;
}

/*
 * Plan the product of operands ai and bi with numpy rules.  A 1-D A is a
 * row [1, K] and a 1-D B a column [K, 1], and the result drops their unit
 * dim.  Batch dims broadcast both ways.  When B has no batch dims, A's
 * batch folds into M.
 */
static int
plan_product(const struct ir_graph *g, const struct ir_op *op, int ai, int bi,
             struct matmul_plan *pl)
{
    const struct ir_shape *a = &pass_operand(g, op, ai)->shape;
    struct ir_shape b_shape;
    int64_t b_dim_step[IR_MAX_RANK];
    if (matmul_b_view(g, op, bi, &b_shape, b_dim_step) != 0)
        return -1;
    const struct ir_shape *b = &b_shape;
    int ra = a->rank, rb = b->rank;
    if (ra < 1 || rb < 1)
        return ir_error(g, op, IR_NONE,
                        "inputs must have rank 1 or more, not %d and %d", ra,
                        rb);
    memset(pl, 0, sizeof(*pl));
    pl->m = ra >= 2 ? a->dim[ra - 2] : 1;
    pl->k = a->dim[ra - 1];
    int64_t kb = rb >= 2 ? b->dim[rb - 2] : b->dim[0];
    pl->n = rb >= 2 ? b->dim[rb - 1] : 1;
    if (pl->k != kb) {
        char sa[160], sb[160];
        return ir_error(g, op, IR_NONE,
                        "inner dims differ: A %s has K = %lld, B %s has "
                        "K = %lld",
                        ir_shape_format(g, a, sa, sizeof(sa)), (long long)pl->k,
                        ir_shape_format(g, b, sb, sizeof(sb)), (long long)kb);
    }

    int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
    int nb = ba > bb ? ba : bb;
    int64_t dims[IR_MAX_RANK];
    int64_t a_step = pl->m * pl->k;
    bool foldable = true;
    for (int d = nb - 1; d >= 0; d--) {
        int ia = d - (nb - ba), ib = d - (nb - bb);
        int64_t da = ia >= 0 ? a->dim[ia] : 1;
        int64_t db = ib >= 0 ? b->dim[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[160], sb[160];
            return ir_error(g, op, IR_NONE,
                            "batch dims of %s and %s cannot be broadcast",
                            ir_shape_format(g, a, sa, sizeof(sa)),
                            ir_shape_format(g, b, sb, sizeof(sb)));
        }
        dims[d] = da == 1 ? db : da;
        pl->batch[d][0] = dims[d];
        pl->batch[d][1] = da == 1 ? 0 : a_step;
        pl->batch[d][2] = db == 1 ? 0 : b_dim_step[ib];
        if (db != 1 || (da == 1 && dims[d] != 1))
            foldable = false;
        a_step *= da;
    }
    pl->b_rs = rb >= 2 ? b_dim_step[rb - 2] : b_dim_step[0];
    pl->b_cs = rb >= 2 ? b_dim_step[rb - 1] : 1;

    int r = nb;
    if (ra >= 2)
        dims[r++] = pl->m;
    if (rb >= 2)
        dims[r++] = pl->n;
    pl->out = ir_shape_make(r, dims);

    pl->n_batch = nb;
    if (foldable) {
        for (int d = 0; d < nb; d++)
            pl->m *= pl->batch[d][0];
        pl->n_batch = 0;
    }
    return 0;
}

static int
plan_matmul(const struct ir_graph *g, const struct ir_op *op,
            struct matmul_plan *pl)
{
    return plan_product(g, op, 0, 1, pl);
}

/* Append M, K, N and the batch loops of a plan: the loop count, then per
 * loop its size and A and B steps.  Batch dims of size 1 need no loop. */
static void
encode_plan(const struct matmul_plan *pl, struct pass_params *p)
{
    pass_params_int(p, pl->m);
    pass_params_int(p, pl->k);
    pass_params_int(p, pl->n);
    int n_loops = 0;
    for (int d = 0; d < pl->n_batch; d++)
        n_loops += pl->batch[d][0] != 1;
    pass_params_int(p, n_loops);
    for (int d = 0; d < pl->n_batch; d++) {
        if (pl->batch[d][0] == 1)
            continue;
        for (int j = 0; j < 3; j++)
            pass_params_int(p, pl->batch[d][j]);
    }
}

static int
matmul_infer(struct ir_graph *g, struct ir_op *op)
{
    struct matmul_plan pl;
    if (check_product_dtypes(g, op, 2) != 0 || plan_matmul(g, op, &pl) != 0)
        return -1;
    pass_set_result(g, op, 0, pass_operand(g, op, 0)->dtype, &pl.out);
    return 0;
}

static int
matmul_encode(const struct ir_graph *g, const struct ir_op *op,
              struct pass_params *p)
{
    struct matmul_plan pl;
    if (plan_matmul(g, op, &pl) != 0)
        return -1;
    encode_plan(&pl, p);
    pass_params_int(p, pass_layout_panel_width(op));
    pass_params_int(p, pass_layout_is_packed(op));
    if (ir_op_attr(op, "perm_b")) {
        pass_params_int(p, pl.b_rs);
        pass_params_int(p, pl.b_cs);
    }
    return 0;
}

/* ---- Det ---- */

/* Det (opset 11): [..., M, M] -> [...]. */
static int
det_infer(struct ir_graph *g, struct ir_op *op)
{
    const struct ir_value *x = pass_operand(g, op, 0);
    if (x->dtype != IR_DTYPE_FLOAT && x->dtype != IR_DTYPE_DOUBLE)
        return ir_error(g, op, op->operands[0],
                        "dtype %s is not supported (float32 and float64 "
                        "are)",
                        ir_dtype_name(x->dtype));
    int r = x->shape.rank;
    char buf[160];
    if (r < 2 || x->shape.dim[r - 1] != x->shape.dim[r - 2])
        return ir_error(g, op, op->operands[0],
                        "the input %s must be square matrices, [..., M, M]",
                        ir_shape_format(g, &x->shape, buf, sizeof(buf)));
    struct ir_shape out = ir_shape_make(r - 2, x->shape.dim);
    pass_set_result(g, op, 0, x->dtype, &out);
    return 0;
}

/* ints: [M]. */
static int
det_encode(const struct ir_graph *g, const struct ir_op *op,
           struct pass_params *p)
{
    const struct ir_shape *s = &pass_operand(g, op, 0)->shape;
    pass_params_int(p, s->dim[s->rank - 1]);
    return 0;
}

/* ---- MatMulInteger, QLinearMatMul ---- */

/*
 * Operand positions of the integer products: A, B, then per input its
 * zero point and (QLinearMatMul) scale, and the output's scale and zero
 * point.  -1 where the op has none.
 */
struct int_product_operands {
    int a, b, a_zp, b_zp, a_scale, b_scale, y_scale, y_zp;
};

static struct int_product_operands
int_product_operands(const struct ir_op *op)
{
    if (op->kind == IR_OP_MATMUL_INTEGER)
        return (struct int_product_operands){0, 1, 2, 3, -1, -1, -1, -1};
    return (struct int_product_operands){0, 3, 2, 5, 1, 4, 6, 7};
}

/* A zero point or scale: one value, or one per row of a 2-D A or column
 * of a 2-D B (count, as the kernel reads it). */
static int
check_per_row(const struct ir_graph *g, const struct ir_op *op, int i,
              enum ir_dtype dtype, int64_t count, const char *what)
{
    const struct ir_value *v = pass_operand(g, op, i);
    if (!v)
        return 0;
    if (v->dtype != dtype)
        return ir_error(g, op, op->operands[i], "%s has dtype %s; expected %s",
                        what, ir_dtype_name(v->dtype), ir_dtype_name(dtype));
    int64_t n = ir_shape_numel(&v->shape);
    if (n != 1 && count == 1)
        return ir_error(g, op, op->operands[i],
                        "%s has %lld values; expected one, since one per row "
                        "(per column) is supported only for a 2-D A (B)",
                        what, (long long)n);
    if (n != 1 && n != count)
        return ir_error(g, op, op->operands[i],
                        "%s has %lld values; one, or one per row of a 2-D A "
                        "(per column of a 2-D B), %lld, is supported",
                        what, (long long)n, (long long)count);
    return 0;
}

static int
int_product_infer(struct ir_graph *g, struct ir_op *op)
{
    struct int_product_operands o = int_product_operands(op);
    const struct ir_value *a = pass_operand(g, op, o.a);
    const struct ir_value *b = pass_operand(g, op, o.b);
    if (!a || !b)
        return ir_error(g, op, IR_NONE, "inputs A and B are required");
    for (int i = 0; i < 2; i++) {
        const struct ir_value *v = i ? b : a;
        if (v->dtype != IR_DTYPE_UINT8 && v->dtype != IR_DTYPE_INT8)
            return ir_error(g, op, op->operands[i ? o.b : o.a],
                            "input %s has dtype %s; int8 and uint8 are "
                            "supported",
                            i ? "B" : "A", ir_dtype_name(v->dtype));
    }
    struct matmul_plan pl;
    if (plan_product(g, op, o.a, o.b, &pl) != 0)
        return -1;
    int64_t rows = a->shape.rank == 2 ? a->shape.dim[0] : 1;
    int64_t cols = b->shape.rank == 2 ? b->shape.dim[1] : 1;
    if (check_per_row(g, op, o.a_zp, a->dtype, rows, "A's zero point") != 0 ||
        check_per_row(g, op, o.b_zp, b->dtype, cols, "B's zero point") != 0)
        return -1;
    if (op->kind == IR_OP_MATMUL_INTEGER) {
        pass_set_result(g, op, 0, IR_DTYPE_INT32, &pl.out);
        return 0;
    }
    const struct ir_value *y_zp = pass_operand(g, op, o.y_zp);
    enum ir_dtype y = y_zp ? y_zp->dtype : IR_DTYPE_UINT8;
    /* Opset 21 allows float16 and bfloat16 scales, all of one dtype. */
    const struct ir_value *a_scale = pass_operand(g, op, o.a_scale);
    enum ir_dtype ts = a_scale ? a_scale->dtype : IR_DTYPE_FLOAT;
    bool half = ts == IR_DTYPE_FLOAT16 || ts == IR_DTYPE_BFLOAT16;
    if (!half || op->opset < 21)
        ts = IR_DTYPE_FLOAT;
    if (check_per_row(g, op, o.a_scale, ts, rows, "A's scale") ||
        check_per_row(g, op, o.b_scale, ts, cols, "B's scale") ||
        check_per_row(g, op, o.y_scale, ts, 1, "Y's scale") ||
        check_per_row(g, op, o.y_zp, y, 1, "Y's zero point"))
        return -1;
    if (y != IR_DTYPE_UINT8 && y != IR_DTYPE_INT8)
        return ir_error(g, op, op->operands[o.y_zp],
                        "Y's zero point has dtype %s; int8 and uint8 are "
                        "supported",
                        ir_dtype_name(y));
    pass_set_result(g, op, 0, y, &pl.out);
    return 0;
}

/* ints: [M, K, N, batch loops as for MatMul, then the positions of A's
 * and B's zero points, A's, B's and Y's scales and Y's zero point among
 * the inputs, -1 where absent]. */
static int
int_product_encode(const struct ir_graph *g, const struct ir_op *op,
                   struct pass_params *p)
{
    struct int_product_operands o = int_product_operands(op);
    struct matmul_plan pl;
    if (plan_product(g, op, o.a, o.b, &pl) != 0)
        return -1;
    encode_plan(&pl, p);
    int at[6] = {o.a_zp, o.b_zp, o.a_scale, o.b_scale, o.y_scale, o.y_zp};
    for (int i = 0; i < 6; i++)
        pass_params_int(p,
                        at[i] >= 0 && pass_operand(g, op, at[i]) ? at[i] : -1);
    return 0;
}

/* ---- Gemm ---- */

struct gemm_plan {
    int64_t m, k, n;
    int64_t c_rs, c_cs; /* C's steps along rows and columns of Y */
};

/* Gemm (opset 11+): A [M, K] or [K, M], B [K, N] or [N, K], C broadcast
 * unidirectionally to [M, N]. */
static int
plan_gemm(const struct ir_graph *g, const struct ir_op *op,
          struct gemm_plan *pl)
{
    const struct ir_shape *a = &pass_operand(g, op, 0)->shape;
    const struct ir_shape *b = &pass_operand(g, op, 1)->shape;
    if (a->rank != 2 || b->rank != 2)
        return ir_error(g, op, IR_NONE,
                        "A and B must have rank 2, not %d and %d", a->rank,
                        b->rank);
    bool ta = ir_op_int(op, "transA", 0) != 0;
    bool tb = ir_op_int(op, "transB", 0) != 0;
    pl->m = a->dim[ta ? 1 : 0];
    pl->k = a->dim[ta ? 0 : 1];
    int64_t kb = b->dim[tb ? 1 : 0];
    pl->n = b->dim[tb ? 0 : 1];
    if (pl->k != kb)
        return ir_error(g, op, IR_NONE,
                        "inner dims differ: K = %lld in A and %lld in B "
                        "(transA %d, transB %d)",
                        (long long)pl->k, (long long)kb, ta, tb);

    pl->c_rs = pl->c_cs = 0;
    const struct ir_value *c = pass_operand(g, op, 2);
    if (!c)
        return 0;
    const struct ir_shape *cs = &c->shape;
    int64_t cm = cs->rank >= 2 ? cs->dim[cs->rank - 2] : 1;
    int64_t cn = cs->rank >= 1 ? cs->dim[cs->rank - 1] : 1;
    if (cs->rank > 2 || (cm != 1 && cm != pl->m) || (cn != 1 && cn != pl->n)) {
        char buf[160];
        return ir_error(g, op, op->operands[2],
                        "C %s cannot be broadcast to [%lld,%lld]",
                        ir_shape_format(g, cs, buf, sizeof(buf)),
                        (long long)pl->m, (long long)pl->n);
    }
    pl->c_cs = cn == 1 ? 0 : 1;
    pl->c_rs = cm == 1 ? 0 : cn;
    return 0;
}

static int
gemm_infer(struct ir_graph *g, struct ir_op *op)
{
    struct gemm_plan pl;
    if (check_product_dtypes(g, op, 3) != 0 || plan_gemm(g, op, &pl) != 0)
        return -1;
    enum ir_dtype t = pass_operand(g, op, 0)->dtype;
    if (ir_dtype_is_int(t) &&
        (ir_op_float(op, "alpha", 1) != 1 || ir_op_float(op, "beta", 1) != 1))
        return ir_error(g, op, IR_NONE,
                        "alpha or beta other than 1 is not supported for "
                        "integer dtypes");
    int64_t dims[2] = {pl.m, pl.n};
    struct ir_shape out = ir_shape_make(2, dims);
    pass_set_result(g, op, 0, t, &out);
    return 0;
}

static int
gemm_encode(const struct ir_graph *g, const struct ir_op *op,
            struct pass_params *p)
{
    struct gemm_plan pl;
    if (plan_gemm(g, op, &pl) != 0)
        return -1;
    pass_params_int(p, pl.m);
    pass_params_int(p, pl.k);
    pass_params_int(p, pl.n);
    pass_params_int(p, ir_op_int(op, "transA", 0) != 0);
    pass_params_int(p, ir_op_int(op, "transB", 0) != 0);
    pass_params_int(p, pl.c_rs);
    pass_params_int(p, pl.c_cs);
    pass_params_int(p, pass_layout_panel_width(op));
    pass_params_int(p, pass_layout_is_packed(op));
    pass_params_float(p, ir_op_float(op, "alpha", 1));
    pass_params_float(p, ir_op_float(op, "beta", 1));
    return 0;
}

/* ---- Einsum ---- */

enum {
    LETTERS = 52,                       /* A-Z, then a-z */
    MAX_LABELS = LETTERS + IR_MAX_RANK, /* then the ellipsis dims */
    MAX_EINSUM_INPUTS = 16,
};

/* An Einsum equation resolved against its operand shapes. */
struct einsum_plan {
    int n_in;
    int64_t size[MAX_LABELS]; /* -1 while the label is unused */
    int64_t stride[MAX_EINSUM_INPUTS][MAX_LABELS];
    int out[IR_MAX_RANK]; /* output labels in order */
    int n_out;
    int order[MAX_LABELS]; /* output labels, then summed labels */
    int n_labels;
};

static int
letter_label(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return 26 + c - 'a';
    return -1;
}

static char
label_letter(int l)
{
    return (char)(l < 26 ? 'A' + l : 'a' + l - 26);
}

/*
 * Parse one term ("ij", "...ii", "b...") into labels; an ellipsis becomes
 * n_ell labels LETTERS + n_max_ell - n_ell ... so that ellipsis dims align
 * at the right across operands.  With rank < 0, n_ell is derived from the
 * labels (the output term).  Returns the label count or -1.
 */
static int
parse_term(const struct ir_graph *g, const struct ir_op *op, const char *s,
           size_t len, int rank, int max_ell, int *labels, int *n_ell)
{
    int n = 0, letters = 0;
    bool ell = false;
    for (size_t i = 0; i < len; i++)
        letters += letter_label(s[i]) >= 0;
    if (rank >= 0)
        *n_ell = rank - letters;
    for (size_t i = 0; i < len; i++) {
        int l = letter_label(s[i]);
        if (l >= 0) {
            if (n >= IR_MAX_RANK)
                return ir_error(g, op, IR_NONE,
                                "a term has more than %d "
                                "labels",
                                IR_MAX_RANK);
            labels[n++] = l;
            continue;
        }
        if (s[i] != '.' || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.' ||
            ell)
            return ir_error(g, op, IR_NONE,
                            "equation term '%.*s' is "
                            "invalid: use letters and at most one '...'",
                            (int)len, s);
        ell = true;
        i += 2;
        if (*n_ell < 0 || n + *n_ell > IR_MAX_RANK)
            return ir_error(g, op, IR_NONE,
                            "equation term '%.*s' does not "
                            "match an input of rank %d",
                            (int)len, s, rank);
        for (int e = 0; e < *n_ell; e++)
            labels[n++] = LETTERS + max_ell - *n_ell + e;
    }
    if (!ell && rank >= 0 && letters != rank)
        return ir_error(g, op, IR_NONE,
                        "equation term '%.*s' has %d labels "
                        "but the input has rank %d",
                        (int)len, s, letters, rank);
    if (!ell)
        *n_ell = 0;
    return n;
}

/* Record the size of label l seen on an axis of size d. */
static int
bind_label(const struct ir_graph *g, const struct ir_op *op,
           struct einsum_plan *pl, int l, int64_t d)
{
    if (pl->size[l] < 0 || pl->size[l] == 1) {
        pl->size[l] = d;
        return 0;
    }
    if (d != 1 && d != pl->size[l]) {
        if (l < LETTERS)
            return ir_error(g, op, IR_NONE,
                            "label '%c' has sizes %lld and "
                            "%lld",
                            label_letter(l), (long long)pl->size[l],
                            (long long)d);
        return ir_error(g, op, IR_NONE,
                        "the dims under '...' cannot be "
                        "broadcast: sizes %lld and %lld",
                        (long long)pl->size[l], (long long)d);
    }
    return 0;
}

/* Parse the explicit output term, or build the implicit one. */
static int
plan_einsum_output(const struct ir_graph *g, const struct ir_op *op,
                   struct einsum_plan *pl, const char *arrow, const int *count,
                   int max_ell)
{
    if (arrow) {
        const char *s = arrow + 2;
        int n_ell = max_ell;
        int n = parse_term(g, op, s, strlen(s), -1, max_ell, pl->out, &n_ell);
        if (n < 0)
            return -1;
        pl->n_out = n;
        for (int i = 0; i < n; i++) {
            int l = pl->out[i];
            if (l < LETTERS && !count[l])
                return ir_error(g, op, IR_NONE,
                                "output label '%c' is in "
                                "no input",
                                label_letter(l));
            for (int j = 0; j < i; j++)
                if (pl->out[j] == l)
                    return ir_error(g, op, IR_NONE,
                                    "output label '%c' "
                                    "repeats",
                                    label_letter(l));
        }
        return 0;
    }
    /* Implicit: the ellipsis dims, then labels used once, in ASCII order. */
    pl->n_out = 0;
    for (int e = 0; e < max_ell; e++)
        pl->out[pl->n_out++] = LETTERS + e;
    for (int l = 0; l < LETTERS; l++) {
        if (count[l] != 1)
            continue;
        if (pl->n_out >= IR_MAX_RANK)
            return ir_error(g, op, IR_NONE,
                            "the output has more than %d "
                            "dims",
                            IR_MAX_RANK);
        pl->out[pl->n_out++] = l;
    }
    return 0;
}

/*
 * Resolve the equation (opset 12): terms separated by ',', an optional
 * "->output", spaces ignored.  A label repeated within a term takes a
 * diagonal; labels absent from the output are summed.
 */
static int
plan_einsum(const struct ir_graph *g, const struct ir_op *op,
            struct einsum_plan *pl)
{
    const char *eq = ir_op_string(op, "equation", NULL);
    if (!eq)
        return ir_error(g, op, IR_NONE, "missing the 'equation' attribute");
    char buf[256];
    size_t len = 0;
    for (const char *c = eq; *c && len + 1 < sizeof(buf); c++)
        if (*c != ' ')
            buf[len++] = *c;
    buf[len] = 0;
    if (op->n_operands > MAX_EINSUM_INPUTS)
        return ir_error(g, op, IR_NONE,
                        "more than %d inputs are not "
                        "supported",
                        MAX_EINSUM_INPUTS);

    memset(pl, 0, sizeof(*pl));
    for (int l = 0; l < MAX_LABELS; l++)
        pl->size[l] = -1;
    pl->n_in = op->n_operands;
    char *arrow = strstr(buf, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - buf) : len;

    /* The widest ellipsis first, so that every term aligns to it. */
    int max_ell = 0, labels[IR_MAX_RANK], count[MAX_LABELS] = {0};
    for (int pass = 0; pass < 2; pass++) {
        const char *t = buf;
        for (int i = 0; i < pl->n_in; i++) {
            const char *end = memchr(t, ',', lhs_len - (size_t)(t - buf));
            size_t tl = end ? (size_t)(end - t) : lhs_len - (size_t)(t - buf);
            if ((i + 1 < pl->n_in) != (end != NULL))
                return ir_error(g, op, IR_NONE,
                                "equation '%s' has a "
                                "different number of terms than the %d "
                                "inputs",
                                eq, pl->n_in);
            const struct ir_shape *s = &pass_operand(g, op, i)->shape;
            int n_ell;
            int n = parse_term(g, op, t, tl, s->rank, max_ell, labels, &n_ell);
            if (n < 0)
                return -1;
            if (pass == 0 && n_ell > max_ell)
                max_ell = n_ell;
            for (int a = 0; pass == 1 && a < n; a++) {
                int l = labels[a];
                int64_t step = 1;
                for (int b = a + 1; b < n; b++)
                    step *= s->dim[b];
                if (bind_label(g, op, pl, l, s->dim[a]) != 0)
                    return -1;
                count[l]++;
                /* An axis of size 1 broadcasts: it adds no stride. */
                if (s->dim[a] != 1)
                    pl->stride[i][l] += step;
            }
            t = end ? end + 1 : t + tl;
        }
    }
    for (int e = 0; e < max_ell; e++)
        if (pl->size[LETTERS + e] < 0)
            pl->size[LETTERS + e] = 1;
    if (plan_einsum_output(g, op, pl, arrow, count, max_ell) != 0)
        return -1;

    bool in_out[MAX_LABELS] = {false};
    pl->n_labels = 0;
    for (int i = 0; i < pl->n_out; i++) {
        in_out[pl->out[i]] = true;
        pl->order[pl->n_labels++] = pl->out[i];
    }
    for (int l = 0; l < MAX_LABELS; l++)
        if (pl->size[l] >= 0 && !in_out[l])
            pl->order[pl->n_labels++] = l;
    return 0;
}

static int
einsum_infer(struct ir_graph *g, struct ir_op *op)
{
    struct einsum_plan pl;
    for (int i = 0; i < op->n_operands; i++)
        if (!pass_operand(g, op, i))
            return ir_error(g, op, IR_NONE, "input %d is omitted", i);
    enum ir_dtype t = pass_operand(g, op, 0)->dtype;
    if (t == IR_DTYPE_BOOL || t == IR_DTYPE_FLOAT16 || t == IR_DTYPE_BFLOAT16 ||
        ir_dtype_size(t) == 0 || t == IR_DTYPE_STRING)
        return ir_error(g, op, op->operands[0], "dtype %s is not supported",
                        ir_dtype_name(t));
    for (int i = 1; i < op->n_operands; i++)
        if (pass_operand(g, op, i)->dtype != t)
            return ir_error(g, op, op->operands[i],
                            "input %d has a different dtype than input 0", i);
    if (plan_einsum(g, op, &pl) != 0)
        return -1;
    int64_t dims[IR_MAX_RANK];
    for (int i = 0; i < pl.n_out; i++)
        dims[i] = pl.size[pl.out[i]];
    struct ir_shape out = ir_shape_make(pl.n_out, dims);
    pass_set_result(g, op, 0, t, &out);
    return 0;
}

static int
einsum_encode(const struct ir_graph *g, const struct ir_op *op,
              struct pass_params *p)
{
    struct einsum_plan pl;
    if (plan_einsum(g, op, &pl) != 0)
        return -1;
    pass_params_int(p, pl.n_in);
    pass_params_int(p, pl.n_labels);
    pass_params_int(p, pl.n_out);
    for (int j = 0; j < pl.n_labels; j++)
        pass_params_int(p, pl.size[pl.order[j]]);
    for (int i = 0; i < pl.n_in; i++)
        for (int j = 0; j < pl.n_labels; j++)
            pass_params_int(p, pl.stride[i][pl.order[j]]);
    return 0;
}

/* ---- the table ---- */

#define KERNEL(fn) .kernel_name = #fn, .kernel = fn
#define REDUCE(k)                                                              \
    {IR_OP_##k, pass_math_reduce_infer, pass_math_reduce_encode,               \
     KERNEL(rt_kernel_reduce)}

const struct pass_op_impl pass_ops_math[] = {
    {IR_OP_MATMUL, matmul_infer, matmul_encode, KERNEL(rt_kernel_matmul)},
    {IR_OP_GEMM, gemm_infer, gemm_encode, KERNEL(rt_kernel_gemm)},
    {IR_OP_MATMUL_INTEGER, int_product_infer, int_product_encode,
     KERNEL(rt_kernel_int_product)},
    {IR_OP_QLINEAR_MATMUL, int_product_infer, int_product_encode,
     KERNEL(rt_kernel_int_product)},
    {IR_OP_EINSUM, einsum_infer, einsum_encode, KERNEL(rt_kernel_einsum)},
    {IR_OP_DET, det_infer, det_encode, KERNEL(rt_kernel_det)},
    {IR_OP_SOFTMAX, pass_math_softmax_infer, pass_math_softmax_encode,
     KERNEL(rt_kernel_softmax)},
    {IR_OP_LOG_SOFTMAX, pass_math_softmax_infer, pass_math_softmax_encode,
     KERNEL(rt_kernel_softmax)},
    {IR_OP_HARDMAX, pass_math_softmax_infer, pass_math_softmax_encode,
     KERNEL(rt_kernel_softmax)},
    {IR_OP_LAYER_NORMALIZATION, pass_math_layer_norm_infer,
     pass_math_layer_norm_encode, KERNEL(rt_kernel_layer_norm)},
    {IR_OP_CUMSUM, pass_math_cumsum_infer, pass_math_cumsum_encode,
     KERNEL(rt_kernel_cumsum)},
    {IR_OP_BATCH_NORMALIZATION, pass_math_batch_norm_infer,
     pass_math_batch_norm_encode, KERNEL(rt_kernel_batch_norm)},
    {IR_OP_INSTANCE_NORMALIZATION, pass_math_batch_norm_infer,
     pass_math_batch_norm_encode, KERNEL(rt_kernel_batch_norm)},
    {IR_OP_RNN, pass_rnn_infer, pass_rnn_encode, KERNEL(rt_kernel_rnn)},
    {IR_OP_GRU, pass_rnn_infer, pass_rnn_encode, KERNEL(rt_kernel_rnn)},
    {IR_OP_LSTM, pass_rnn_infer, pass_rnn_encode, KERNEL(rt_kernel_rnn)},
    {IR_OP_RESIZE, pass_resize_infer, pass_resize_encode,
     KERNEL(rt_kernel_resize)},
    {IR_OP_UPSAMPLE, pass_resize_infer, pass_resize_encode,
     KERNEL(rt_kernel_resize)},
    {IR_OP_LRN, pass_math_lrn_infer, pass_math_lrn_encode,
     KERNEL(rt_kernel_lrn)},
    {IR_OP_QUANTIZE_LINEAR, pass_quant_infer, pass_quant_encode,
     KERNEL(rt_kernel_quantize)},
    {IR_OP_DEQUANTIZE_LINEAR, pass_quant_infer, pass_quant_encode,
     KERNEL(rt_kernel_quantize)},
    {IR_OP_DYNAMIC_QUANTIZE_LINEAR, pass_quant_infer, pass_quant_encode,
     KERNEL(rt_kernel_quantize)},
    {IR_OP_NLL_LOSS, pass_math_loss_infer, pass_math_loss_encode,
     KERNEL(rt_kernel_nll_loss)},
    {IR_OP_SOFTMAX_CROSS_ENTROPY_LOSS, pass_math_loss_infer,
     pass_math_loss_encode, KERNEL(rt_kernel_nll_loss)},
    REDUCE(REDUCE_L1),
    REDUCE(REDUCE_L2),
    REDUCE(REDUCE_LOG_SUM),
    REDUCE(REDUCE_LOG_SUM_EXP),
    REDUCE(REDUCE_MAX),
    REDUCE(REDUCE_MEAN),
    REDUCE(REDUCE_MIN),
    REDUCE(REDUCE_PROD),
    REDUCE(REDUCE_SUM),
    REDUCE(REDUCE_SUM_SQUARE),
    REDUCE(GLOBAL_AVERAGE_POOL),
    REDUCE(GLOBAL_MAX_POOL),
    {IR_OP_ARG_MAX, pass_math_arg_infer, pass_math_arg_encode,
     KERNEL(rt_kernel_arg_reduce)},
    {IR_OP_ARG_MIN, pass_math_arg_infer, pass_math_arg_encode,
     KERNEL(rt_kernel_arg_reduce)},
    {IR_OP_TOPK, pass_math_topk_infer, pass_math_topk_encode,
     KERNEL(rt_kernel_topk)},
    {.kind = IR_OP_COUNT},
};
