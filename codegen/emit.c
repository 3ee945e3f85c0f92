/*
 * The LLVM module of a generated library.  It starts from the runtime's
 * bitcode, which is embedded in onnxc at build time.  It adds the weights,
 * one constant descriptor per op and a forward function that calls each
 * op's kernel on planned workspace offsets.  Optimising the whole module
 * for the host CPU then inlines kernels and specialises them to constant
 * shapes.
 */
#include "codegen.h"
#include "../passes/passes.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
extern const char cg_runtime_bitcode[];
extern const char cg_runtime_bitcode_end[];

/* Public entry points: PREFIX_<suffix> wraps rt_api_<suffix>. */
static const char *const api_suffixes[] = {
    "create",       "run",          "set_workspace",
    "last_error",   "destroy",      "workspace_size",
    "num_inputs",   "num_outputs",  "input_name",
    "input_dtype",  "input_rank",   "input_shape",
    "output_name",  "output_dtype", "output_rank",
    "output_shape",
};
#define N_API ((int)(sizeof(api_suffixes) / sizeof(api_suffixes[0])))

struct emitter {
    const struct ir_graph *g;
    const struct cg_options *o;
    struct cg_plan plan;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTargetMachineRef tm;
    LLVMTypeRef i8, i32, i64, ptr;
    LLVMTypeRef desc_type, node_type, io_type, model_type;
    LLVMValueRef *value_globals; /* per value: weight global, or NULL */
    int64_t weight_bytes;
    int n_globals;
};

static char *
global_name(struct emitter *e, const char *kind)
{
    static char buf[64];
    snprintf(buf, sizeof(buf), "onnxc.%s.%d", kind, e->n_globals++);
    return buf;
}

static LLVMValueRef
private_const(struct emitter *e, LLVMValueRef init, const char *kind,
              unsigned align)
{
    LLVMValueRef gv =
        LLVMAddGlobal(e->mod, LLVMTypeOf(init), global_name(e, kind));
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
    if (align)
        LLVMSetAlignment(gv, align);
    return gv;
}

static LLVMValueRef
const_string(struct emitter *e, const char *s)
{
    LLVMValueRef init = LLVMConstStringInContext2(e->ctx, s, strlen(s), 0);
    return private_const(e, init, "str", 1);
}

static LLVMValueRef
const_i32(struct emitter *e, int64_t v)
{
    return LLVMConstInt(e->i32, (unsigned long long)v, 1);
}

static LLVMValueRef
const_i64(struct emitter *e, int64_t v)
{
    return LLVMConstInt(e->i64, (unsigned long long)v, 1);
}

static void
make_types(struct emitter *e)
{
    e->i8 = LLVMInt8TypeInContext(e->ctx);
    e->i32 = LLVMInt32TypeInContext(e->ctx);
    e->i64 = LLVMInt64TypeInContext(e->ctx);
    e->ptr = LLVMPointerTypeInContext(e->ctx, 0);

    LLVMTypeRef desc[] = {e->i32, e->i32, LLVMArrayType2(e->i64, RT_MAX_RANK)};
    e->desc_type = LLVMStructTypeInContext(e->ctx, desc, 3, 0);
    LLVMTypeRef node[] = {e->ptr, e->ptr, e->i32, e->i32, e->i32,
                          e->i32, e->ptr, e->ptr, e->ptr};
    e->node_type = LLVMStructTypeInContext(e->ctx, node, 9, 0);
    LLVMTypeRef io[] = {e->ptr, e->desc_type};
    e->io_type = LLVMStructTypeInContext(e->ctx, io, 2, 0);
    LLVMTypeRef model[] = {e->ptr, e->i32, e->i32, e->ptr,
                           e->ptr, e->i64, e->ptr, e->i32};
    e->model_type = LLVMStructTypeInContext(e->ctx, model, 8, 0);
}

static LLVMValueRef
const_desc(struct emitter *e, const struct rt_desc *d)
{
    LLVMValueRef dims[RT_MAX_RANK];
    for (int i = 0; i < RT_MAX_RANK; i++)
        dims[i] = const_i64(e, d->dims[i]);
    LLVMValueRef fields[] = {const_i32(e, d->dtype), const_i32(e, d->rank),
                             LLVMConstArray2(e->i64, dims, RT_MAX_RANK)};
    return LLVMConstStructInContext(e->ctx, fields, 3, 0);
}

/* The weight global of constant value v, made on first use. */
static LLVMValueRef
weight_global(struct emitter *e, int32_t v)
{
    if (e->value_globals[v])
        return e->value_globals[v];
    const struct ir_value *val = &e->g->values[v];
    LLVMValueRef init = LLVMConstStringInContext2(
        e->ctx, val->data ? val->data : "", val->nbytes, 1);
    e->value_globals[v] = private_const(e, init, "weight", 64);
    e->weight_bytes += (int64_t)val->nbytes;
    return e->value_globals[v];
}

/* A global array of n constants of type t, or a null pointer if n is 0. */
static LLVMValueRef
const_array(struct emitter *e, LLVMTypeRef t, LLVMValueRef *items, int n,
            const char *kind)
{
    if (n == 0)
        return LLVMConstPointerNull(e->ptr);
    return private_const(e, LLVMConstArray2(t, items, (uint64_t)n), kind, 8);
}

static LLVMValueRef
node_global(struct emitter *e, const struct ir_op *op,
            const struct pass_kernel_call *call)
{
    int nd = op->n_operands + op->n_results;
    LLVMValueRef *items =
        ir_xcalloc((size_t)nd + call->params.n_ints + call->params.n_floats + 1,
                   sizeof(LLVMValueRef));
    for (int i = 0; i < nd; i++)
        items[i] = const_desc(e, &call->descs[i]);
    LLVMValueRef descs = const_array(e, e->desc_type, items, nd, "descs");
    for (int i = 0; i < call->params.n_ints; i++)
        items[i] = const_i64(e, call->params.ints[i]);
    LLVMValueRef ints =
        const_array(e, e->i64, items, call->params.n_ints, "ints");
    LLVMTypeRef f64 = LLVMDoubleTypeInContext(e->ctx);
    for (int i = 0; i < call->params.n_floats; i++)
        items[i] = LLVMConstReal(f64, call->params.floats[i]);
    LLVMValueRef floats =
        const_array(e, f64, items, call->params.n_floats, "floats");
    free(items);

    LLVMValueRef fields[] = {
        const_string(e, op->name),
        const_string(e, ir_op_kind_name(op->kind)),
        const_i32(e, op->n_operands),
        const_i32(e, op->n_results),
        const_i32(e, call->params.n_ints),
        const_i32(e, call->params.n_floats),
        descs,
        ints,
        floats,
    };
    LLVMValueRef init = LLVMConstStructInContext(e->ctx, fields, 9, 0);
    return private_const(e, init, "node", 8);
}

/* The address of value v inside the forward function. */
static LLVMValueRef
value_address(struct emitter *e, int32_t v, LLVMValueRef *input_ptrs,
              LLVMValueRef arena)
{
    const struct ir_value *val = &e->g->values[v];
    if (val->kind == IR_VALUE_CONST)
        return weight_global(e, v);
    if (val->kind == IR_VALUE_INPUT) {
        for (int32_t i = 0; i < e->g->n_inputs; i++)
            if (e->g->inputs[i] == v)
                return input_ptrs[i];
        IR_ASSERT(!"graph input missing from the input list");
    }
    if (e->plan.base[v] >= 0) {
        LLVMValueRef base =
            value_address(e, e->plan.base[v], input_ptrs, arena);
        LLVMValueRef off = const_i64(e, e->plan.base_byte[v]);
        return LLVMBuildInBoundsGEP2(e->b, e->i8, base, &off, 1, "");
    }
    IR_ASSERT(e->plan.offset[v] >= 0);
    LLVMValueRef off = const_i64(e, e->plan.offset[v]);
    return LLVMBuildInBoundsGEP2(e->b, e->i8, arena, &off, 1, "");
}

static LLVMValueRef
load_slot(struct emitter *e, LLVMValueRef array, int64_t i)
{
    LLVMValueRef idx = const_i64(e, i);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(e->b, e->ptr, array, &idx, 1, "");
    return LLVMBuildLoad2(e->b, e->ptr, slot, "");
}

static int
emit_forward(struct emitter *e, LLVMValueRef fn)
{
    const struct ir_graph *g = e->g;
    LLVMBasicBlockRef entry =
        LLVMAppendBasicBlockInContext(e->ctx, fn, "entry");
    LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(e->ctx, fn, "fail");
    LLVMPositionBuilderAtEnd(e->b, fail);
    LLVMValueRef status = LLVMBuildPhi(e->b, e->i32, "status");
    LLVMBuildRet(e->b, status);

    LLVMPositionBuilderAtEnd(e->b, entry);
    LLVMValueRef kctx = LLVMGetParam(fn, 0);
    LLVMValueRef inputs = LLVMGetParam(fn, 1);
    LLVMValueRef outputs = LLVMGetParam(fn, 2);
    LLVMValueRef arena = LLVMGetParam(fn, 3);

    int max_bufs = 1;
    for (int32_t i = 0; i < g->n_ops; i++) {
        int n = g->ops[i].n_operands + g->ops[i].n_results;
        if (n > max_bufs)
            max_bufs = n;
    }
    LLVMValueRef bufs =
        LLVMBuildArrayAlloca(e->b, e->ptr, const_i32(e, max_bufs), "bufs");
    LLVMValueRef *input_ptrs =
        ir_xcalloc((size_t)g->n_inputs + 1, sizeof(LLVMValueRef));
    for (int32_t i = 0; i < g->n_inputs; i++)
        input_ptrs[i] = load_slot(e, inputs, i);

    LLVMTypeRef kparams[] = {e->ptr, e->ptr, e->ptr};
    LLVMTypeRef kernel_type = LLVMFunctionType(e->i32, kparams, 3, 0);
    int rc = 0;
    for (int32_t i = 0; i < g->n_ops && rc == 0; i++) {
        const struct ir_op *op = &g->ops[i];
        if (e->plan.skip[i])
            continue;
        struct pass_kernel_call call;
        if (pass_kernel_call_init(g, op, &call) != 0) {
            rc = -1;
            break;
        }
        LLVMValueRef kernel =
            LLVMGetNamedFunction(e->mod, call.impl->kernel_name);
        if (!kernel) {
            rc = ir_error(g, op, IR_NONE,
                          "internal error: kernel '%s' is "
                          "missing from the runtime bitcode",
                          call.impl->kernel_name);
            pass_kernel_call_free(&call);
            break;
        }
        LLVMValueRef node = node_global(e, op, &call);
        pass_kernel_call_free(&call);

        int slot = 0;
        for (int k = 0; k < op->n_operands; k++, slot++) {
            LLVMValueRef p =
                op->operands[k] == IR_NONE
                    ? LLVMConstPointerNull(e->ptr)
                    : value_address(e, op->operands[k], input_ptrs, arena);
            LLVMValueRef idx = const_i64(e, slot);
            LLVMBuildStore(
                e->b, p,
                LLVMBuildInBoundsGEP2(e->b, e->ptr, bufs, &idx, 1, ""));
        }
        for (int k = 0; k < op->n_results; k++, slot++) {
            LLVMValueRef p =
                value_address(e, op->results[k], input_ptrs, arena);
            LLVMValueRef idx = const_i64(e, slot);
            LLVMBuildStore(
                e->b, p,
                LLVMBuildInBoundsGEP2(e->b, e->ptr, bufs, &idx, 1, ""));
        }
        LLVMValueRef args[] = {kctx, node, bufs};
        LLVMValueRef r = LLVMBuildCall2(e->b, kernel_type, kernel, args, 3, "");
        LLVMValueRef bad =
            LLVMBuildICmp(e->b, LLVMIntNE, r, const_i32(e, 0), "");
        LLVMBasicBlockRef next =
            LLVMAppendBasicBlockInContext(e->ctx, fn, "next");
        LLVMBuildCondBr(e->b, bad, fail, next);
        LLVMBasicBlockRef here = LLVMGetInsertBlock(e->b);
        LLVMAddIncoming(status, &r, &here, 1);
        LLVMPositionBuilderAtEnd(e->b, next);
    }

    for (int32_t i = 0; rc == 0 && i < g->n_outputs; i++) {
        int32_t v = g->outputs[i];
        const struct ir_value *val = &g->values[v];
        int64_t bytes =
            ir_shape_numel(&val->shape) * (int64_t)ir_dtype_size(val->dtype);
        if (bytes == 0)
            continue;
        LLVMValueRef dst = load_slot(e, outputs, i);
        LLVMValueRef src = value_address(e, v, input_ptrs, arena);
        LLVMBuildMemCpy(e->b, dst, 1, src, 1, const_i64(e, bytes));
    }
    LLVMBuildRet(e->b, const_i32(e, 0));
    free(input_ptrs);
    return rc;
}

static LLVMValueRef
io_table(struct emitter *e, const int32_t *values, int32_t n)
{
    LLVMValueRef *items = ir_xcalloc((size_t)n + 1, sizeof(LLVMValueRef));
    for (int32_t i = 0; i < n; i++) {
        const struct ir_value *v = &e->g->values[values[i]];
        struct rt_desc d;
        pass_desc_from_value(v, &d);
        LLVMValueRef fields[] = {const_string(e, v->name), const_desc(e, &d)};
        items[i] = LLVMConstStructInContext(e->ctx, fields, 2, 0);
    }
    LLVMValueRef table = const_array(e, e->io_type, items, n, "io");
    free(items);
    return table;
}

/* The rt_isa level that the host features the code targets imply. */
static int
isa_of_features(const char *features)
{
    if (strstr(features, "+avx512f"))
        return RT_ISA_AVX512;
    if (strstr(features, "+avx2") && strstr(features, "+fma"))
        return RT_ISA_AVX2;
    return RT_ISA_BASELINE;
}

static LLVMValueRef
emit_model(struct emitter *e, LLVMValueRef forward, const char *features)
{
    LLVMValueRef fields[] = {
        const_string(e, e->o->name),
        const_i32(e, e->g->n_inputs),
        const_i32(e, e->g->n_outputs),
        io_table(e, e->g->inputs, e->g->n_inputs),
        io_table(e, e->g->outputs, e->g->n_outputs),
        const_i64(e, e->plan.arena_size),
        forward,
        const_i32(e, isa_of_features(features)),
    };
    LLVMValueRef init = LLVMConstStructInContext(e->ctx, fields, 8, 0);
    return private_const(e, init, "model", 8);
}

/* PREFIX_suffix(args...) { return rt_api_suffix(&model, args...); } */
static int
emit_wrapper(struct emitter *e, LLVMValueRef model, const char *suffix)
{
    char target[64], name[256];
    snprintf(target, sizeof(target), "rt_api_%s", suffix);
    snprintf(name, sizeof(name), "%s_%s", e->o->name, suffix);
    LLVMValueRef callee = LLVMGetNamedFunction(e->mod, target);
    if (!callee)
        return ir_errorf("internal error: '%s' is missing from the runtime "
                         "bitcode",
                         target);
    LLVMTypeRef ft = LLVMGlobalGetValueType(callee);
    unsigned n = LLVMCountParamTypes(ft);
    LLVMTypeRef *params = ir_xcalloc(n + 1, sizeof(LLVMTypeRef));
    LLVMGetParamTypes(ft, params);
    LLVMTypeRef wt =
        LLVMFunctionType(LLVMGetReturnType(ft), params + 1, n - 1, 0);
    LLVMValueRef fn = LLVMAddFunction(e->mod, name, wt);
    LLVMSetVisibility(fn, LLVMDefaultVisibility);
    LLVMPositionBuilderAtEnd(e->b,
                             LLVMAppendBasicBlockInContext(e->ctx, fn, ""));
    LLVMValueRef *args = ir_xcalloc(n + 1, sizeof(LLVMValueRef));
    args[0] = model;
    for (unsigned i = 1; i < n; i++)
        args[i] = LLVMGetParam(fn, i - 1);
    LLVMValueRef r = LLVMBuildCall2(e->b, ft, callee, args, n, "");
    if (LLVMGetTypeKind(LLVMGetReturnType(ft)) == LLVMVoidTypeKind)
        LLVMBuildRetVoid(e->b);
    else
        LLVMBuildRet(e->b, r);
    free(params);
    free(args);
    return 0;
}

/* onnxc_model_name() returns the prefix, so `onnxc run` finds the API. */
static void
emit_name_function(struct emitter *e)
{
    LLVMTypeRef ft = LLVMFunctionType(e->ptr, NULL, 0, 0);
    LLVMValueRef fn = LLVMAddFunction(e->mod, "onnxc_model_name", ft);
    LLVMSetVisibility(fn, LLVMDefaultVisibility);
    LLVMPositionBuilderAtEnd(e->b,
                             LLVMAppendBasicBlockInContext(e->ctx, fn, ""));
    LLVMBuildRet(e->b, const_string(e, e->o->name));
}

static bool
is_exported(struct emitter *e, const char *name)
{
    if (strcmp(name, "onnxc_model_name") == 0)
        return true;
    size_t len = strlen(e->o->name);
    if (strncmp(name, e->o->name, len) != 0 || name[len] != '_')
        return false;
    for (int i = 0; i < N_API; i++)
        if (strcmp(name + len + 1, api_suffixes[i]) == 0)
            return true;
    return false;
}

/*
 * Hide everything but the API, so two generated libraries never bind each
 * other's runtime symbols, and retarget the runtime's functions from the
 * generic CPU clang compiled them for to the host CPU.
 */
static void
finish_functions(struct emitter *e, const char *cpu, const char *features)
{
    for (LLVMValueRef fn = LLVMGetFirstFunction(e->mod); fn;
         fn = LLVMGetNextFunction(fn)) {
        if (LLVMIsDeclaration(fn))
            continue;
        const char *name = LLVMGetValueName2(fn, &(size_t){0});
        if (!is_exported(e, name))
            LLVMSetLinkage(fn, LLVMInternalLinkage);
        static const char *const keys[] = {"target-cpu", "target-features",
                                           "tune-cpu"};
        for (int k = 0; k < 3; k++)
            LLVMRemoveStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                             keys[k],
                                             (unsigned)strlen(keys[k]));
        LLVMAddAttributeAtIndex(
            fn, LLVMAttributeFunctionIndex,
            LLVMCreateStringAttribute(e->ctx, "target-cpu", 10, cpu,
                                      (unsigned)strlen(cpu)));
        LLVMAddAttributeAtIndex(
            fn, LLVMAttributeFunctionIndex,
            LLVMCreateStringAttribute(e->ctx, "target-features", 15, features,
                                      (unsigned)strlen(features)));
    }
    for (LLVMValueRef gv = LLVMGetFirstGlobal(e->mod); gv;
         gv = LLVMGetNextGlobal(gv)) {
        if (!LLVMIsDeclaration(gv) &&
            LLVMGetLinkage(gv) != LLVMPrivateLinkage &&
            LLVMGetLinkage(gv) != LLVMAppendingLinkage)
            LLVMSetLinkage(gv, LLVMInternalLinkage);
    }
}

static int
load_runtime(struct emitter *e)
{
    size_t size = (size_t)(cg_runtime_bitcode_end - cg_runtime_bitcode);
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(
        cg_runtime_bitcode, size, "runtime.bc", 0);
    if (LLVMParseBitcodeInContext2(e->ctx, buf, &e->mod)) {
        LLVMDisposeMemoryBuffer(buf);
        return ir_errorf("internal error: the embedded runtime bitcode "
                         "does not parse");
    }
    LLVMDisposeMemoryBuffer(buf);
    return 0;
}

static int
make_target(struct emitter *e, char **cpu, char **features)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &err)) {
        ir_errorf("no LLVM target for '%s': %s", triple, err);
        LLVMDisposeMessage(err);
        LLVMDisposeMessage(triple);
        return -1;
    }
    *cpu = LLVMGetHostCPUName();
    *features = LLVMGetHostCPUFeatures();
    static const LLVMCodeGenOptLevel levels[] = {
        LLVMCodeGenLevelNone, LLVMCodeGenLevelLess, LLVMCodeGenLevelDefault,
        LLVMCodeGenLevelAggressive};
    int level = e->o->opt_level < 0   ? 0
                : e->o->opt_level > 3 ? 3
                                      : e->o->opt_level;
    e->tm =
        LLVMCreateTargetMachine(target, triple, *cpu, *features, levels[level],
                                LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMSetTarget(e->mod, triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(e->tm);
    char *dl = LLVMCopyStringRepOfTargetData(layout);
    LLVMSetDataLayout(e->mod, dl);
    LLVMDisposeMessage(dl);
    LLVMDisposeTargetData(layout);
    LLVMDisposeMessage(triple);
    return 0;
}

static int
optimize(struct emitter *e)
{
    char pipeline[32];
    snprintf(pipeline, sizeof(pipeline), "default<O%d>",
             e->o->opt_level < 0   ? 0
             : e->o->opt_level > 3 ? 3
                                   : e->o->opt_level);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMErrorRef err = LLVMRunPasses(e->mod, pipeline, e->tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (err) {
        char *msg = LLVMGetErrorMessage(err);
        ir_errorf("LLVM optimisation failed: %s", msg);
        LLVMDisposeErrorMessage(msg);
        return -1;
    }
    return 0;
}

/* Run `cc -shared` to turn the object into a library. */
static int
link_library(const struct cg_options *o, const char *object)
{
    const char *cc = o->cc ? o->cc : "cc";
    /* The soname is the file name, so programs that link the library
     * record it without the folder and find it through their rpath. */
    const char *base = strrchr(o->output, '/');
    base = base ? base + 1 : o->output;
    char soname[1024];
    snprintf(soname, sizeof(soname), "-Wl,-soname,%s", base);
    char *argv[] = {(char *)cc,
                    "-shared",
                    "-o",
                    (char *)o->output,
                    (char *)object,
                    soname,
                    "-Wl,-z,noexecstack",
                    "-lm",
                    "-lpthread",
                    NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, cc, NULL, NULL, argv, environ);
    if (rc != 0)
        return ir_errorf("cannot run the linker '%s': %s (set --cc)", cc,
                         strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return ir_errorf("waiting for '%s' failed: %s", cc,
                             strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return ir_errorf("linking '%s' with '%s' failed", o->output, cc);
    return 0;
}

static int
write_output(struct emitter *e)
{
    char *err = NULL;
    const struct cg_options *o = e->o;
    if (o->emit == CG_EMIT_LLVM) {
        if (LLVMPrintModuleToFile(e->mod, o->output, &err)) {
            ir_errorf("cannot write '%s': %s", o->output, err);
            LLVMDisposeMessage(err);
            return -1;
        }
        return 0;
    }
    size_t len = strlen(o->output) + 16;
    char *object = ir_xmalloc(len);
    snprintf(object, len, "%s%s", o->output, o->emit == CG_EMIT_SO ? ".o" : "");
    int rc = 0;
    if (LLVMTargetMachineEmitToFile(e->tm, e->mod, object, LLVMObjectFile,
                                    &err)) {
        rc = ir_errorf("cannot write '%s': %s", object, err);
        LLVMDisposeMessage(err);
    } else if (o->emit == CG_EMIT_SO) {
        rc = link_library(o, object);
        unlink(object);
    }
    free(object);
    return rc;
}

static int
header_path(const struct cg_options *o, char *buf, size_t size)
{
    if (o->header) {
        snprintf(buf, size, "%s", o->header);
        return 0;
    }
    const char *slash = strrchr(o->output, '/');
    int dir = slash ? (int)(slash - o->output + 1) : 0;
    if (snprintf(buf, size, "%.*s%s.h", dir, o->output, o->name) >= (int)size)
        return ir_errorf("output path '%s' is too long", o->output);
    return 0;
}

int
cg_compile(const struct ir_graph *g, const struct cg_options *o)
{
    if (!cg_is_identifier(o->name))
        return ir_errorf("--name '%s' is not a C identifier", o->name);
    struct emitter e;
    memset(&e, 0, sizeof(e));
    e.g = g;
    e.o = o;
    e.value_globals = ir_xcalloc((size_t)g->n_values + 1, sizeof(LLVMValueRef));
    e.ctx = LLVMContextCreate();
    int rc = cg_plan_memory(g, &e.plan);
    if (rc == 0)
        rc = load_runtime(&e);
    char *cpu = NULL, *features = NULL;
    if (rc == 0)
        rc = make_target(&e, &cpu, &features);
    if (rc == 0) {
        e.b = LLVMCreateBuilderInContext(e.ctx);
        make_types(&e);
        LLVMTypeRef fparams[] = {e.ptr, e.ptr, e.ptr, e.ptr};
        LLVMValueRef forward = LLVMAddFunction(
            e.mod, "onnxc.forward", LLVMFunctionType(e.i32, fparams, 4, 0));
        rc = emit_forward(&e, forward);
        LLVMValueRef model = rc == 0 ? emit_model(&e, forward, features) : NULL;
        for (int i = 0; rc == 0 && i < N_API; i++)
            rc = emit_wrapper(&e, model, api_suffixes[i]);
        if (rc == 0)
            emit_name_function(&e);
    }
    if (rc == 0) {
        finish_functions(&e, cpu, features);
        char *msg = NULL;
        if (LLVMVerifyModule(e.mod, LLVMReturnStatusAction, &msg)) {
            rc = ir_errorf("internal error: invalid LLVM module: %s", msg);
        }
        LLVMDisposeMessage(msg);
    }
    if (rc == 0)
        rc = optimize(&e);
    if (rc == 0)
        rc = write_output(&e);
    if (rc == 0 && o->emit != CG_EMIT_LLVM) {
        char path[4096];
        rc = header_path(o, path, sizeof(path));
        if (rc == 0)
            rc = cg_write_header(g, o->name, path);
    }
    if (rc == 0 && o->stats) {
        fprintf(o->stats, "%-12s %-32s %lld\n", "codegen", "arena bytes",
                (long long)e.plan.arena_size);
        fprintf(o->stats, "%-12s %-32s %lld\n", "codegen",
                "arena bytes saved by reuse",
                (long long)(e.plan.naive_size - e.plan.arena_size));
        fprintf(o->stats, "%-12s %-32s %lld\n", "codegen", "weight bytes",
                (long long)e.weight_bytes);
        int views = 0;
        for (int32_t i = 0; i < g->n_ops; i++)
            views += e.plan.skip[i];
        fprintf(o->stats, "%-12s %-32s %d\n", "codegen", "kernel calls",
                (int)g->n_ops - views);
        fprintf(o->stats, "%-12s %-32s %d\n", "codegen",
                "ops made views, no call", views);
    }
    if (cpu)
        LLVMDisposeMessage(cpu);
    if (features)
        LLVMDisposeMessage(features);
    if (e.b)
        LLVMDisposeBuilder(e.b);
    if (e.tm)
        LLVMDisposeTargetMachine(e.tm);
    if (e.mod)
        LLVMDisposeModule(e.mod);
    LLVMContextDispose(e.ctx);
    cg_plan_free(&e.plan);
    free(e.value_globals);
    return rc;
}
