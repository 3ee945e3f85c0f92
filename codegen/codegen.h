/*
 * Code generation: the memory plan, the LLVM module that runs the planned
 * kernels, and the shared library and header written from it.  Only
 * codegen/ includes LLVM.
 */
#ifndef ONNXC_CODEGEN_H
#define ONNXC_CODEGEN_H

#include "../ir/ir.h"

enum cg_emit {
    CG_EMIT_SO,   /* shared library plus header */
    CG_EMIT_OBJ,  /* relocatable object plus header */
    CG_EMIT_LLVM, /* optimised LLVM IR text */
};

struct cg_options {
    const char *name;   /* C identifier prefix of the generated API */
    const char *output; /* path of the file to write */
    const char *header; /* path of the header; NULL writes NAME.h beside */
    enum cg_emit emit;
    int opt_level;  /* 0 to 3 */
    const char *cc; /* compiler driver that links the library */
    FILE *stats;    /* where to print statistics, or NULL */
};

/* ---- plan.c: the static memory plan ---- */

struct cg_plan {
    int64_t *offset;    /* per value: arena offset, or -1 if not in it */
    int32_t *base;      /* per value: the value it is a view of, or -1 */
    int64_t *base_byte; /* per view: its first byte inside base */
    bool *skip;         /* per op: all its results are views, no call */
    int64_t arena_size; /* bytes, a multiple of the alignment */
    int64_t naive_size; /* bytes without buffer reuse, for statistics */
};

int cg_plan_memory(const struct ir_graph *g, struct cg_plan *plan);
void cg_plan_free(struct cg_plan *plan);

/* ---- emit.c ---- */

/* Compile g (already inferred, all shapes static) with the options o. */
int cg_compile(const struct ir_graph *g, const struct cg_options *o);

/* ---- header.c ---- */

int cg_write_header(const struct ir_graph *g, const char *name,
                    const char *path);
bool cg_is_identifier(const char *name);

#endif
