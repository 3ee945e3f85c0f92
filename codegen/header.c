/*
 * The C header of a generated library: the tensor type shared by every
 * onnxc library, and the model's entry points behind its prefix, with the
 * inputs and outputs listed in comments and as constants.
 */
#include "codegen.h"

#include <ctype.h>
#include <string.h>

bool
cg_is_identifier(const char *name)
{
    if (!name || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

static const char *
c_dtype(enum ir_dtype t)
{
    switch (t) {
    case IR_DTYPE_FLOAT:
        return "float32 (float)";
    case IR_DTYPE_DOUBLE:
        return "float64 (double)";
    case IR_DTYPE_INT64:
        return "int64 (int64_t)";
    case IR_DTYPE_INT32:
        return "int32 (int32_t)";
    case IR_DTYPE_BOOL:
        return "bool (uint8_t, 0 or 1)";
    case IR_DTYPE_STRING:
        return "string (const char *)";
    default:
        return ir_dtype_name(t);
    }
}

/*
 * Print a model-supplied name inside a C comment.  Bytes outside printable
 * ASCII become \xNN and a '/' after '*' becomes \x2f, so no name can end
 * the comment and inject code.
 */
static void
put_comment_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool ends_comment =
            *p == '/' && p > (const unsigned char *)s && p[-1] == '*';
        if (*p < 0x20 || *p > 0x7e || ends_comment || *p == '\\')
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
}

static void
print_io(FILE *f, const struct ir_graph *g, const char *what,
         const int32_t *values, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        const struct ir_value *v = &g->values[values[i]];
        char shape[256];
        ir_shape_format(g, &v->shape, shape, sizeof(shape));
        fprintf(f, " *   %s %d: \"", what, (int)i);
        put_comment_text(f, v->name);
        fprintf(f, "\" %s %s\n", c_dtype(v->dtype), shape);
    }
}

static const char common_types[] =
    "#ifndef ONNXC_TENSOR_DEFINED\n"
    "#define ONNXC_TENSOR_DEFINED\n"
    "/* Element types, numbered as ONNX TensorProto.DataType. */\n"
    "enum onnxc_dtype {\n"
    "    ONNXC_FLOAT = 1,\n"
    "    ONNXC_UINT8 = 2,\n"
    "    ONNXC_INT8 = 3,\n"
    "    ONNXC_UINT16 = 4,\n"
    "    ONNXC_INT16 = 5,\n"
    "    ONNXC_INT32 = 6,\n"
    "    ONNXC_INT64 = 7,\n"
    "    ONNXC_STRING = 8, /* data is an array of const char * */\n"
    "    ONNXC_BOOL = 9,\n"
    "    ONNXC_FLOAT16 = 10,\n"
    "    ONNXC_DOUBLE = 11,\n"
    "    ONNXC_UINT32 = 12,\n"
    "    ONNXC_UINT64 = 13,\n"
    "    ONNXC_BFLOAT16 = 16,\n"
    "};\n\n"
    "/* Return codes of the entry points. */\n"
    "enum onnxc_status {\n"
    "    ONNXC_OK = 0,\n"
    "    ONNXC_ERR_ARGUMENT = 1, /* a NULL or otherwise invalid argument */\n"
    "    ONNXC_ERR_SHAPE = 2,    /* a tensor of the wrong dtype or shape */\n"
    "    ONNXC_ERR_RUNTIME = 3,  /* the data was rejected, e.g. an index */\n"
    "    ONNXC_ERR_MEMORY = 4,   /* an allocation failed */\n"
    "    /* The CPU lacks instructions the library was compiled for. */\n"
    "    ONNXC_ERR_UNSUPPORTED_CPU = 5,\n"
    "};\n\n"
    "/* A dense row-major tensor owned by the caller. */\n"
    "struct onnxc_tensor {\n"
    "    void *data;\n"
    "    const int64_t *shape; /* rank dims */\n"
    "    int32_t rank;\n"
    "    int32_t dtype; /* an enum onnxc_dtype */\n"
    "};\n"
    "#endif\n\n";

/* The entry points; each @ stands for the model's prefix. */
static const char api_decls[] =
    "typedef struct rt_session @_session_t;\n\n"
    "/*\n"
    " * Create a session that runs on num_threads threads (one when it is\n"
    " * 0 or less).  More than 1024 returns ONNXC_ERR_ARGUMENT.  Sessions\n"
    " * can run concurrently, but one session runs one call at a time.\n"
    " */\n"
    "int @_create(int32_t num_threads, @_session_t **out);\n"
    "/*\n"
    " * Run the model.  Tensors come in the order listed above, with\n"
    " * exactly the listed dtype and shape; outputs are written into\n"
    " * the caller's buffers.  Returns ONNXC_OK or an error status,\n"
    " * with a message from @_last_error.  A string tensor's data is\n"
    " * an array of pointers to NUL-terminated strings; the pointers\n"
    " * written to a string output point into the session or into the\n"
    " * inputs, and stay valid until the next run or @_destroy.\n"
    " */\n"
    "int @_run(@_session_t *s, const struct onnxc_tensor *inputs,\n"
    "          int32_t num_inputs, struct onnxc_tensor *outputs,\n"
    "          int32_t num_outputs);\n"
    "/*\n"
    " * Run in a caller-owned workspace of at least @_workspace_size()\n"
    " * bytes, aligned to 64 bytes, instead of the session's own.\n"
    " */\n"
    "int @_set_workspace(@_session_t *s, void *workspace, size_t size);\n"
    "size_t @_workspace_size(void);\n"
    "const char *@_last_error(const @_session_t *s);\n"
    "void @_destroy(@_session_t *s);\n\n"
    "/* Model description; an index out of range gives NULL or -1. */\n"
    "int32_t @_num_inputs(void);\n"
    "int32_t @_num_outputs(void);\n"
    "const char *@_input_name(int32_t i);\n"
    "int32_t @_input_dtype(int32_t i);\n"
    "int32_t @_input_rank(int32_t i);\n"
    "const int64_t *@_input_shape(int32_t i);\n"
    "const char *@_output_name(int32_t i);\n"
    "int32_t @_output_dtype(int32_t i);\n"
    "int32_t @_output_rank(int32_t i);\n"
    "const int64_t *@_output_shape(int32_t i);\n\n";

static void
put_api(FILE *f, const char *name)
{
    for (const char *p = api_decls; *p; p++) {
        if (*p == '@')
            fputs(name, f);
        else
            fputc(*p, f);
    }
}

int
cg_write_header(const struct ir_graph *g, const char *name, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return ir_errorf("cannot write header '%s'", path);
    char guard[256];
    snprintf(guard, sizeof(guard), "%s", name);
    for (char *p = guard; *p; p++)
        *p = (char)toupper((unsigned char)*p);

    fprintf(f, "/* Generated by onnxc from graph '");
    put_comment_text(f, g->name);
    fprintf(f, "'.  Do not edit. */\n");
    fprintf(f, "#ifndef %s_ONNXC_H\n#define %s_ONNXC_H\n\n", guard, guard);
    fprintf(f, "#include <stddef.h>\n#include <stdint.h>\n\n");
    fprintf(f, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    fputs(common_types, f);
    fprintf(f, "/*\n * Model '%s'.\n", name);
    print_io(f, g, "input", g->inputs, g->n_inputs);
    print_io(f, g, "output", g->outputs, g->n_outputs);
    fprintf(f, " */\n");
    fprintf(f, "#define %s_NUM_INPUTS %d\n", guard, (int)g->n_inputs);
    fprintf(f, "#define %s_NUM_OUTPUTS %d\n\n", guard, (int)g->n_outputs);

    put_api(f, name);
    fprintf(f, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
    if (fclose(f) != 0)
        return ir_errorf("cannot write header '%s'", path);
    return 0;
}
