/*
 * Shape inference and kernel parameters of the recurrent layers RNN, GRU
 * and LSTM (opsets 7 and 14; layout = 1, batch first, from opset 14).
 * Inputs: X, W, R, then the optional B, sequence_lens, initial_h and, for
 * LSTM, initial_c and P.
 */
#include "passes.h"
#include "../runtime/k_math.h"

#include <string.h>

int pass_rnn_infer(struct ir_graph *g, struct ir_op *op);
int pass_rnn_encode(const struct ir_graph *g, const struct ir_op *op,
                    struct pass_params *p);

struct rnn_setup {
    int kind, direction, dirs, gates, n_act;
    int64_t seq, batch, input, hidden;
    bool batch_first;
    int act[6];
    double alpha[6], beta[6];
};

static const struct {
    const char *name;
    int code;
    double alpha, beta; /* the defaults of the ONNX op of that name */
} activations[] = {
    {"Sigmoid", RT_RNN_SIGMOID, 0, 0},
    {"Tanh", RT_RNN_TANH, 0, 0},
    {"Relu", RT_RNN_RELU, 0, 0},
    {"Affine", RT_RNN_AFFINE, 1.0, 0},
    {"LeakyRelu", RT_RNN_LEAKY_RELU, 0.01, 0},
    {"ThresholdedRelu", RT_RNN_THRESHOLDED_RELU, 1.0, 0},
    {"ScaledTanh", RT_RNN_SCALED_TANH, 1.0, 1.0},
    {"HardSigmoid", RT_RNN_HARD_SIGMOID, 0.2, 0.5},
    {"Elu", RT_RNN_ELU, 1.0, 0},
    {"Softsign", RT_RNN_SOFTSIGN, 0, 0},
    {"Softplus", RT_RNN_SOFTPLUS, 0, 0},
};

/* The activation functions: the attribute's, else the defaults. */
static int
rnn_activations(const struct ir_graph *g, const struct ir_op *op,
                struct rnn_setup *s)
{
    static const char *const defaults[3][3] = {
        {"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    s->n_act = s->kind + 1;
    const struct ir_attr *list = ir_op_attr(op, "activations");
    const struct ir_attr *alphas = ir_op_attr(op, "activation_alpha");
    const struct ir_attr *betas = ir_op_attr(op, "activation_beta");
    int total = s->n_act * s->dirs;
    if (list && (list->kind != IR_ATTR_STRINGS || list->n != total))
        return ir_error(g, op, IR_NONE,
                        "attribute activations must list %d functions, %d "
                        "per direction",
                        total, s->n_act);
    for (int a = 0; a < total; a++) {
        const char *name =
            list ? list->strings[a] : defaults[s->kind][a % s->n_act];
        int found = -1;
        for (size_t k = 0; k < sizeof(activations) / sizeof(activations[0]);
             k++)
            if (strcmp(activations[k].name, name) == 0)
                found = (int)k;
        if (found < 0)
            return ir_error(g, op, IR_NONE, "activation '%s' is not supported",
                            name);
        s->act[a] = activations[found].code;
        s->alpha[a] = alphas && alphas->kind == IR_ATTR_FLOATS && a < alphas->n
                          ? alphas->floats[a]
                          : activations[found].alpha;
        s->beta[a] = betas && betas->kind == IR_ATTR_FLOATS && a < betas->n
                         ? betas->floats[a]
                         : activations[found].beta;
    }
    return 0;
}

/* Fail unless operand i, when present, has dtype t and shape dims[0..n). */
static int
check_operand(const struct ir_graph *g, const struct ir_op *op, int i,
              const char *what, enum ir_dtype t, int n, const int64_t *dims)
{
    const struct ir_value *v = pass_operand(g, op, i);
    if (!v)
        return 0;
    struct ir_shape want = ir_shape_make(n, dims);
    char got_s[160], want_s[160];
    if (v->dtype != t || !ir_shape_equal(&v->shape, &want))
        return ir_error(g, op, op->operands[i], "%s must be %s%s, not %s%s",
                        what, ir_dtype_name(t),
                        ir_shape_format(g, &want, want_s, sizeof(want_s)),
                        ir_dtype_name(v->dtype),
                        ir_shape_format(g, &v->shape, got_s, sizeof(got_s)));
    return 0;
}

static int
rnn_setup(const struct ir_graph *g, const struct ir_op *op, struct rnn_setup *s)
{
    memset(s, 0, sizeof(*s));
    s->kind = op->kind == IR_OP_LSTM  ? RT_RNN_LSTM
              : op->kind == IR_OP_GRU ? RT_RNN_GRU
                                      : RT_RNN_SIMPLE;
    s->gates = rt_rnn_gates(s->kind);
    const char *dir = ir_op_string(op, "direction", "forward");
    if (strcmp(dir, "forward") == 0)
        s->direction = RT_RNN_FORWARD;
    else if (strcmp(dir, "reverse") == 0)
        s->direction = RT_RNN_REVERSE;
    else if (strcmp(dir, "bidirectional") == 0)
        s->direction = RT_RNN_BIDIRECTIONAL;
    else
        return ir_error(g, op, IR_NONE,
                        "direction '%s' is invalid; expected forward, "
                        "reverse or bidirectional",
                        dir);
    s->dirs = s->direction == RT_RNN_BIDIRECTIONAL ? 2 : 1;
    int64_t layout = ir_op_int(op, "layout", 0);
    if (layout != 0 && layout != 1)
        return ir_error(g, op, IR_NONE,
                        "layout %lld is invalid; expected 0 or 1",
                        (long long)layout);
    s->batch_first = layout == 1;
    double clip = ir_op_float(op, "clip", 1);
    if (!(clip > 0))
        return ir_error(g, op, IR_NONE,
                        "clip %g is invalid; the threshold must be positive",
                        clip);
    const struct ir_value *x = pass_operand(g, op, 0);
    const struct ir_value *w = pass_operand(g, op, 1);
    if (!x || !w || !pass_operand(g, op, 2))
        return ir_error(g, op, IR_NONE, "inputs X, W and R are required");
    if (x->dtype != IR_DTYPE_FLOAT && x->dtype != IR_DTYPE_DOUBLE)
        return ir_error(g, op, op->operands[0],
                        "dtype %s is not supported (float32 and float64 "
                        "are)",
                        ir_dtype_name(x->dtype));
    char buf[160];
    if (x->shape.rank != 3 || w->shape.rank != 3)
        return ir_error(g, op, op->operands[0], "X %s and W must have rank 3",
                        ir_shape_format(g, &x->shape, buf, sizeof(buf)));
    s->seq = x->shape.dim[s->batch_first ? 1 : 0];
    s->batch = x->shape.dim[s->batch_first ? 0 : 1];
    s->input = x->shape.dim[2];
    s->hidden = ir_op_int(op, "hidden_size", w->shape.dim[1] / s->gates);
    if (s->hidden < 1)
        return ir_error(g, op, IR_NONE, "hidden_size must be positive");
    if (ir_op_int(op, "input_forget", 0) != 0 && s->kind != RT_RNN_LSTM)
        return ir_error(g, op, IR_NONE, "input_forget is an LSTM attribute");
    int64_t d = s->dirs, gh = s->gates * s->hidden, hs = s->hidden;
    int64_t w_dims[3] = {d, gh, s->input}, r_dims[3] = {d, gh, hs};
    int64_t b_dims[2] = {d, 2 * gh}, lens_dims[1] = {s->batch};
    int64_t state_dims[3] = {d, s->batch, hs}, p_dims[2] = {d, 3 * hs};
    if (s->batch_first) {
        state_dims[0] = s->batch;
        state_dims[1] = d;
    }
    enum ir_dtype t = x->dtype;
    if (check_operand(g, op, 1, "W", t, 3, w_dims) != 0 ||
        check_operand(g, op, 2, "R", t, 3, r_dims) != 0 ||
        check_operand(g, op, 3, "B", t, 2, b_dims) != 0 ||
        check_operand(g, op, 4, "sequence_lens", IR_DTYPE_INT32, 1,
                      lens_dims) != 0 ||
        check_operand(g, op, 5, "initial_h", t, 3, state_dims) != 0 ||
        check_operand(g, op, 6, "initial_c", t, 3, state_dims) != 0 ||
        check_operand(g, op, 7, "P", t, 2, p_dims) != 0)
        return -1;
    return rnn_activations(g, op, s);
}

int
pass_rnn_infer(struct ir_graph *g, struct ir_op *op)
{
    struct rnn_setup s;
    if (rnn_setup(g, op, &s) != 0)
        return -1;
    enum ir_dtype t = pass_operand(g, op, 0)->dtype;
    int64_t y[4] = {s.seq, s.dirs, s.batch, s.hidden};
    int64_t state[3] = {s.dirs, s.batch, s.hidden};
    if (s.batch_first) {
        int64_t yb[4] = {s.batch, s.seq, s.dirs, s.hidden};
        memcpy(y, yb, sizeof(y));
        state[0] = s.batch;
        state[1] = s.dirs;
    }
    struct ir_shape ys = ir_shape_make(4, y), hs = ir_shape_make(3, state);
    pass_set_result(g, op, 0, t, &ys);
    for (int i = 1; i < op->n_results; i++)
        pass_set_result(g, op, i, t, &hs);
    return 0;
}

int
pass_rnn_encode(const struct ir_graph *g, const struct ir_op *op,
                struct pass_params *p)
{
    struct rnn_setup s;
    if (rnn_setup(g, op, &s) != 0)
        return -1;
    pass_params_int(p, s.kind);
    pass_params_int(p, s.direction);
    pass_params_int(p, s.seq);
    pass_params_int(p, s.batch);
    pass_params_int(p, s.input);
    pass_params_int(p, s.hidden);
    pass_params_int(p, s.batch_first);
    pass_params_int(p, ir_op_int(op, "linear_before_reset", 0) != 0);
    pass_params_int(p, ir_op_int(op, "input_forget", 0) != 0);
    pass_params_int(p, s.n_act);
    for (int a = 0; a < s.n_act * s.dirs; a++)
        pass_params_int(p, s.act[a]);
    const struct ir_attr *clip = ir_op_attr(op, "clip");
    pass_params_float(p, clip ? ir_op_float(op, "clip", 0) : 0);
    for (int a = 0; a < s.n_act * s.dirs; a++) {
        pass_params_float(p, s.alpha[a]);
        pass_params_float(p, s.beta[a]);
    }
    return 0;
}
