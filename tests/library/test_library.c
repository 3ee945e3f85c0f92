/*
 * Tests of a generated library's API, compiled against the header that
 * onnxc writes for examples/tiny (--name tiny, batch 1, seq_len 8).  They
 * call every entry point with NULL and out-of-range arguments, tensors of
 * the wrong dtype, rank or dims, caller workspaces and outputs that
 * overlap inputs, and run sessions concurrently.  Guard bytes around every
 * buffer check that no call writes outside the caller's memory, and that
 * a rejected call writes nothing at all.
 *
 * Usage: test_library TINY_MODEL_DIR
 */
#include "tiny.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEQ 8
#define HIDDEN 32
#define GUARD 64 /* guard bytes before and after each buffer */
#define GUARD_BYTE 0xA5
#define THREAD_RUNS 40 /* runs per thread in the concurrency tests */

static int n_passed, n_failed;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            n_passed++;                                                        \
        } else {                                                               \
            n_failed++;                                                        \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);             \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
        }                                                                      \
    } while (0)

/* A buffer with GUARD bytes of GUARD_BYTE on each side of its data. */
struct guarded {
    unsigned char *base;
    void *data;
    size_t size;
};

static struct guarded
guarded_new(size_t size)
{
    struct guarded g = {.size = size};
    /* 64-byte aligned, so data can also serve as a workspace. */
    g.base = aligned_alloc(64, (size + 2 * GUARD + 63) / 64 * 64);
    if (!g.base) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(g.base, GUARD_BYTE, size + 2 * GUARD);
    g.data = g.base + GUARD;
    return g;
}

/* True when the guards hold GUARD_BYTE and, with whole, the data too. */
static int
guarded_intact(const struct guarded *g, int whole)
{
    for (size_t i = 0; i < g->size + 2 * GUARD; i++) {
        int in_data = i >= GUARD && i < GUARD + g->size;
        if ((whole || !in_data) && g->base[i] != GUARD_BYTE)
            return 0;
    }
    return 1;
}

/* The model's inputs and outputs, with guarded output buffers. */
struct io {
    int64_t ids[SEQ], mask[SEQ];
    struct guarded hidden, pooled;
    struct onnxc_tensor in[2], out[2];
};

static const int64_t in_shape[2] = {1, SEQ};

static void
io_init(struct io *io, int variant)
{
    for (int i = 0; i < SEQ; i++) {
        io->ids[i] = (i * 7 + variant * 13 + 1) % 50;
        io->mask[i] = i < SEQ - variant % 3;
    }
    io->hidden = guarded_new(SEQ * HIDDEN * sizeof(float));
    io->pooled = guarded_new(HIDDEN * sizeof(float));
    struct onnxc_tensor in[2] = {
        {io->ids, in_shape, 2, ONNXC_INT64},
        {io->mask, in_shape, 2, ONNXC_INT64},
    };
    struct onnxc_tensor out[2] = {
        {io->hidden.data, tiny_output_shape(0), 3, ONNXC_FLOAT},
        {io->pooled.data, tiny_output_shape(1), 2, ONNXC_FLOAT},
    };
    memcpy(io->in, in, sizeof(in));
    memcpy(io->out, out, sizeof(out));
}

static void
io_reset_outputs(struct io *io)
{
    memset(io->hidden.base, GUARD_BYTE, io->hidden.size + 2 * GUARD);
    memset(io->pooled.base, GUARD_BYTE, io->pooled.size + 2 * GUARD);
}

static void
io_free(struct io *io)
{
    free(io->hidden.base);
    free(io->pooled.base);
}

static int
outputs_untouched(const struct io *io)
{
    return guarded_intact(&io->hidden, 1) && guarded_intact(&io->pooled, 1);
}

static int
guards_intact(const struct io *io)
{
    return guarded_intact(&io->hidden, 0) && guarded_intact(&io->pooled, 0);
}

/* Run a call that must be rejected with status and a message matching
 * part, without writing to any output. */
static void
expect_reject(tiny_session_t *s, struct io *io, const struct onnxc_tensor *in,
              int n_in, struct onnxc_tensor *out, int n_out, int status,
              const char *part, const char *what)
{
    io_reset_outputs(io);
    int rc = tiny_run(s, in, n_in, out, n_out);
    const char *msg = tiny_last_error(s);
    CHECK(rc == status, "%s: status %d, expected %d (%s)", what, rc, status,
          msg);
    CHECK(msg != NULL, "%s: no message", what);
    CHECK(!msg || strstr(msg, part), "%s: message '%s' lacks '%s'", what, msg,
          part);
    CHECK(outputs_untouched(io), "%s: a rejected run wrote to an output", what);
}

/* ---- reading the expected outputs of examples/tiny ---- */

/* Read the float32 data of a .npy file (version 1 header) into out. */
static int
read_npy_f32(const char *path, float *out, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char head[10];
    int ok = fread(head, 1, 10, f) == 10 && memcmp(head, "\x93NUMPY", 6) == 0;
    long header_len = ok ? head[8] | head[9] << 8 : 0;
    ok = ok && fseek(f, 10 + header_len, SEEK_SET) == 0 &&
         fread(out, sizeof(float), n, f) == n;
    fclose(f);
    return ok ? 0 : -1;
}

static int
read_npy_i64(const char *path, int64_t *out, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char head[10];
    int ok = fread(head, 1, 10, f) == 10 && memcmp(head, "\x93NUMPY", 6) == 0;
    long header_len = ok ? head[8] | head[9] << 8 : 0;
    ok = ok && fseek(f, 10 + header_len, SEEK_SET) == 0 &&
         fread(out, sizeof(int64_t), n, f) == n;
    fclose(f);
    return ok ? 0 : -1;
}

/* ---- the tests ---- */

static void
test_metadata(void)
{
    CHECK(tiny_num_inputs() == 2, "%d inputs", (int)tiny_num_inputs());
    CHECK(tiny_num_outputs() == 2, "%d outputs", (int)tiny_num_outputs());
    CHECK(tiny_input_name(0) != NULL, "input 0 has no name");
    CHECK(!tiny_input_name(0) || strcmp(tiny_input_name(0), "input_ids") == 0,
          "input 0 is '%s'", tiny_input_name(0));
    CHECK(tiny_input_dtype(1) == ONNXC_INT64, "dtype %d",
          (int)tiny_input_dtype(1));
    CHECK(tiny_input_rank(0) == 2, "input 0 rank %d", (int)tiny_input_rank(0));
    CHECK(tiny_input_shape(0)[1] == SEQ, "input 0 dim 1");
    CHECK(tiny_output_rank(0) == 3, "output 0 rank %d",
          (int)tiny_output_rank(0));
    CHECK(tiny_output_shape(0)[2] == HIDDEN, "output 0 dim 2");
    const int32_t bad[] = {-1, 2, 3, INT32_MIN, INT32_MAX};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        int32_t i = bad[k];
        CHECK(tiny_input_name(i) == NULL, "input_name(%d)", (int)i);
        CHECK(tiny_input_dtype(i) == -1, "input_dtype(%d)", (int)i);
        CHECK(tiny_input_rank(i) == -1, "input_rank(%d)", (int)i);
        CHECK(tiny_input_shape(i) == NULL, "input_shape(%d)", (int)i);
        CHECK(tiny_output_name(i) == NULL, "output_name(%d)", (int)i);
        CHECK(tiny_output_dtype(i) == -1, "output_dtype(%d)", (int)i);
        CHECK(tiny_output_rank(i) == -1, "output_rank(%d)", (int)i);
        CHECK(tiny_output_shape(i) == NULL, "output_shape(%d)", (int)i);
    }
    CHECK(tiny_workspace_size() > 0, "workspace size %zu",
          tiny_workspace_size());
    CHECK(tiny_workspace_size() % 64 == 0, "workspace size %zu",
          tiny_workspace_size());
}

static void
test_null_session(void)
{
    struct io io;
    io_init(&io, 0);
    CHECK(tiny_create(1, NULL) == ONNXC_ERR_ARGUMENT, "create with NULL out");
    tiny_session_t *s = (tiny_session_t *)&io; /* must be overwritten */
    CHECK(tiny_create(100000, &s) == ONNXC_ERR_ARGUMENT,
          "create with 100000 threads");
    CHECK(s == NULL, "create with 100000 threads left a session");
    CHECK(tiny_run(NULL, io.in, 2, io.out, 2) == ONNXC_ERR_ARGUMENT,
          "run with NULL session");
    CHECK(outputs_untouched(&io), "run with NULL session wrote an output");
    CHECK(tiny_set_workspace(NULL, io.hidden.data, 1 << 20) ==
              ONNXC_ERR_ARGUMENT,
          "set_workspace with NULL session");
    CHECK(tiny_last_error(NULL) != NULL, "last_error(NULL) is NULL");
    tiny_destroy(NULL);
    io_free(&io);
}

/* Every bad argument of tiny_run, each rejected before anything runs. */
static void
test_bad_runs(tiny_session_t *s)
{
    struct io io;
    io_init(&io, 0);
    struct onnxc_tensor in[2], out[2];

    expect_reject(s, &io, NULL, 2, io.out, 2, ONNXC_ERR_ARGUMENT, "NULL",
                  "inputs NULL");
    expect_reject(s, &io, io.in, 2, NULL, 2, ONNXC_ERR_ARGUMENT, "NULL",
                  "outputs NULL");
    const int32_t counts[] = {-1, 0, 1, 3, INT32_MAX, INT32_MIN};
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        expect_reject(s, &io, io.in, counts[k], io.out, 2, ONNXC_ERR_ARGUMENT,
                      "expected 2 inputs", "wrong input count");
        expect_reject(s, &io, io.in, 2, io.out, counts[k], ONNXC_ERR_ARGUMENT,
                      "expected 2 inputs and 2 outputs", "wrong output count");
    }

    memcpy(in, io.in, sizeof(in));
    in[0].data = NULL;
    expect_reject(s, &io, in, 2, io.out, 2, ONNXC_ERR_ARGUMENT,
                  "input 'input_ids': data is NULL", "input data NULL");
    memcpy(out, io.out, sizeof(out));
    out[1].data = NULL;
    expect_reject(s, &io, io.in, 2, out, 2, ONNXC_ERR_ARGUMENT, "data is NULL",
                  "output data NULL");

    memcpy(in, io.in, sizeof(in));
    in[1].shape = NULL;
    expect_reject(s, &io, in, 2, io.out, 2, ONNXC_ERR_SHAPE,
                  "input 'attention_mask': shape is (no shape)", "shape NULL");

    const int32_t dtypes[] = {ONNXC_FLOAT, ONNXC_INT32, 0, -1, 999};
    for (size_t k = 0; k < sizeof(dtypes) / sizeof(dtypes[0]); k++) {
        memcpy(in, io.in, sizeof(in));
        in[0].dtype = dtypes[k];
        expect_reject(s, &io, in, 2, io.out, 2, ONNXC_ERR_SHAPE,
                      "expected int64", "wrong input dtype");
    }
    memcpy(out, io.out, sizeof(out));
    out[0].dtype = ONNXC_DOUBLE;
    expect_reject(s, &io, io.in, 2, out, 2, ONNXC_ERR_SHAPE,
                  "output 'last_hidden_state': dtype is float64, expected "
                  "float32",
                  "wrong output dtype");

    /* The rank is checked before the shape array, which has only 2 dims. */
    const int32_t ranks[] = {0, 1, 3, 8, 9, -1, INT32_MAX, INT32_MIN};
    for (size_t k = 0; k < sizeof(ranks) / sizeof(ranks[0]); k++) {
        memcpy(in, io.in, sizeof(in));
        in[0].rank = ranks[k];
        expect_reject(s, &io, in, 2, io.out, 2, ONNXC_ERR_SHAPE,
                      "expected [1,8]", "wrong input rank");
    }

    const int64_t bad_dims[][2] = {
        {1, 9}, {2, 8}, {1, 7}, {0, 8}, {1, -8}, {INT64_MAX, 8},
    };
    for (size_t k = 0; k < sizeof(bad_dims) / sizeof(bad_dims[0]); k++) {
        memcpy(in, io.in, sizeof(in));
        in[1].shape = bad_dims[k];
        expect_reject(s, &io, in, 2, io.out, 2, ONNXC_ERR_SHAPE,
                      "input 'attention_mask': shape is", "wrong input dims");
    }
    const int64_t out_dims[3] = {1, SEQ, HIDDEN + 1};
    memcpy(out, io.out, sizeof(out));
    out[0].shape = out_dims;
    expect_reject(s, &io, io.in, 2, out, 2, ONNXC_ERR_SHAPE,
                  "expected [1,8,32]", "wrong output dims");

    /* Outputs that share memory with an input or with each other. */
    memcpy(out, io.out, sizeof(out));
    out[1].data = io.ids;
    expect_reject(s, &io, io.in, 2, out, 2, ONNXC_ERR_ARGUMENT,
                  "output 'pooler_output' overlaps input 'input_ids'",
                  "output aliasing an input");
    memcpy(out, io.out, sizeof(out));
    out[1].data = (float *)io.hidden.data + 5;
    expect_reject(s, &io, io.in, 2, out, 2, ONNXC_ERR_ARGUMENT,
                  "overlaps output 'last_hidden_state'", "outputs overlapping");
    io_free(&io);
}

/* Run io through s and check its guards; returns the status. */
static int
run_checked(tiny_session_t *s, struct io *io, const char *what)
{
    io_reset_outputs(io);
    int rc = tiny_run(s, io->in, 2, io->out, 2);
    CHECK(rc == ONNXC_OK, "%s: %s", what, tiny_last_error(s));
    CHECK(guards_intact(io), "%s: a run wrote outside an output buffer", what);
    CHECK(rc != ONNXC_OK || tiny_last_error(s)[0] == 0,
          "%s: error '%s' left after a successful run", what,
          tiny_last_error(s));
    return rc;
}

static int
same_bits(const struct io *a, const struct io *b)
{
    return memcmp(a->hidden.data, b->hidden.data, a->hidden.size) == 0 &&
           memcmp(a->pooled.data, b->pooled.data, a->pooled.size) == 0;
}

static double
max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= d))
            d = isnan(e) ? INFINITY : e;
    }
    return d;
}

/* The stored PyTorch outputs of examples/tiny, within 1e-4. */
static void
test_expected_outputs(const char *dir)
{
    struct io io;
    io_init(&io, 0);
    char path[4096];
    float want_hidden[SEQ * HIDDEN], want_pooled[HIDDEN];
    snprintf(path, sizeof(path), "%s/input_ids.npy", dir);
    int ok = read_npy_i64(path, io.ids, SEQ) == 0;
    snprintf(path, sizeof(path), "%s/attention_mask.npy", dir);
    ok = ok && read_npy_i64(path, io.mask, SEQ) == 0;
    snprintf(path, sizeof(path), "%s/last_hidden_state.npy", dir);
    ok = ok && read_npy_f32(path, want_hidden, SEQ * HIDDEN) == 0;
    snprintf(path, sizeof(path), "%s/pooler_output.npy", dir);
    ok = ok && read_npy_f32(path, want_pooled, HIDDEN) == 0;
    CHECK(ok, "cannot read the .npy files in %s", dir);
    tiny_session_t *s = NULL;
    CHECK(tiny_create(1, &s) == ONNXC_OK, "create");
    if (ok && s && run_checked(s, &io, "reference run") == ONNXC_OK) {
        double d1 = max_diff(io.hidden.data, want_hidden, SEQ * HIDDEN);
        double d2 = max_diff(io.pooled.data, want_pooled, HIDDEN);
        CHECK(d1 <= 1e-4, "hidden state differs from PyTorch's by %g", d1);
        CHECK(d2 <= 1e-4, "pooled output differs from PyTorch's by %g", d2);
    }
    tiny_destroy(s);
    io_free(&io);
}

static void
test_workspace(void)
{
    size_t size = tiny_workspace_size();
    tiny_session_t *s = NULL;
    CHECK(tiny_create(1, &s) == ONNXC_OK, "create");
    if (!s)
        return;
    struct io ref, io;
    io_init(&ref, 1);
    io_init(&io, 1);
    run_checked(s, &ref, "run in the session's workspace");

    struct guarded ws = guarded_new(size + 64);
    CHECK(tiny_set_workspace(s, NULL, size) == ONNXC_ERR_ARGUMENT,
          "NULL workspace");
    CHECK(tiny_set_workspace(s, (char *)ws.data + 8, size) ==
              ONNXC_ERR_ARGUMENT,
          "unaligned workspace");
    CHECK(strstr(tiny_last_error(s), "aligned to 64"), "message '%s'",
          tiny_last_error(s));
    CHECK(tiny_set_workspace(s, ws.data, size - 1) == ONNXC_ERR_ARGUMENT,
          "workspace one byte too small");
    CHECK(strstr(tiny_last_error(s), "too small"), "message '%s'",
          tiny_last_error(s));
    CHECK(tiny_set_workspace(s, ws.data, 0) == ONNXC_ERR_ARGUMENT,
          "empty workspace");
    CHECK(guarded_intact(&ws, 1), "a rejected workspace was written to");
    /* After the rejections the session still runs in its own workspace. */
    run_checked(s, &io, "run after rejected workspaces");
    CHECK(same_bits(&io, &ref), "results changed after rejections");

    CHECK(tiny_set_workspace(s, ws.data, size) == ONNXC_OK, "%s",
          tiny_last_error(s));
    run_checked(s, &io, "run in a caller workspace");
    CHECK(same_bits(&io, &ref), "caller workspace changes the results");
    /* The workspace's first `size` bytes may be written, no byte more. */
    CHECK(guarded_intact(&ws, 0), "a run wrote outside the workspace");
    int tail_ok = 1;
    for (size_t i = size; i < ws.size; i++)
        tail_ok &= ((unsigned char *)ws.data)[i] == GUARD_BYTE;
    CHECK(tail_ok, "a run wrote past workspace_size() bytes");
    /* Garbage left in the workspace must not leak into the results. */
    memset(ws.data, 0x7F, size);
    run_checked(s, &io, "run in a dirty workspace");
    CHECK(same_bits(&io, &ref), "a dirty workspace changes the results");

    tiny_destroy(s);
    free(ws.base);
    io_free(&ref);
    io_free(&io);
}

/* ---- concurrency ---- */

struct worker {
    tiny_session_t *session;
    const struct io *ref;
    struct io io;
    int mismatches;
    int errors;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < THREAD_RUNS; i++) {
        io_reset_outputs(&w->io);
        if (tiny_run(w->session, w->io.in, 2, w->io.out, 2) != ONNXC_OK ||
            !guards_intact(&w->io))
            w->errors++;
        else if (!same_bits(&w->io, w->ref))
            w->mismatches++;
    }
    return NULL;
}

/*
 * Run two sessions on two threads at once, each with other inputs, and
 * compare every run bit for bit with a reference from the same kind of
 * session run alone.  Sessions of num_threads threads.
 */
static void
test_two_sessions(int num_threads)
{
    struct io ref[2];
    struct worker w[2];
    memset(w, 0, sizeof(w));
    for (int k = 0; k < 2; k++) {
        io_init(&ref[k], k + 2);
        io_init(&w[k].io, k + 2);
        CHECK(tiny_create(num_threads, &w[k].session) == ONNXC_OK, "create");
        if (!w[k].session)
            return;
        run_checked(w[k].session, &ref[k], "reference run");
        w[k].ref = &ref[k];
    }
    CHECK(!same_bits(&ref[0], &ref[1]), "the two inputs give one result");
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        CHECK(pthread_create(&t[k], NULL, worker_main, &w[k]) == 0,
              "pthread_create");
    for (int k = 0; k < 2; k++) {
        pthread_join(t[k], NULL);
        CHECK(w[k].errors == 0, "thread %d: %d failed runs (%d threads)", k,
              w[k].errors, num_threads);
        CHECK(w[k].mismatches == 0,
              "thread %d: %d of %d runs differ from the reference "
              "(%d threads per session)",
              k, w[k].mismatches, THREAD_RUNS, num_threads);
        tiny_destroy(w[k].session);
        io_free(&w[k].io);
        io_free(&ref[k]);
    }
}

/* A session of 2 threads against one of 1: equal within float rounding,
 * since a split reduction may add in another order. */
static void
test_threaded_session(void)
{
    tiny_session_t *one = NULL, *two = NULL;
    CHECK(tiny_create(1, &one) == ONNXC_OK, "create");
    CHECK(tiny_create(2, &two) == ONNXC_OK, "create");
    if (!one || !two)
        return;
    struct io a, b;
    io_init(&a, 4);
    io_init(&b, 4);
    run_checked(one, &a, "1-thread run");
    for (int i = 0; i < 10; i++) {
        run_checked(two, &b, "2-thread run");
        double d = max_diff(a.hidden.data, b.hidden.data, SEQ * HIDDEN);
        d = fmax(d, max_diff(a.pooled.data, b.pooled.data, HIDDEN));
        CHECK(d <= 1e-5, "2 threads differ from 1 by %g", d);
    }
    tiny_destroy(one);
    tiny_destroy(two);
    io_free(&a);
    io_free(&b);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_library TINY_MODEL_DIR\n");
        return 2;
    }
    test_metadata();
    test_null_session();

    tiny_session_t *s = NULL;
    CHECK(tiny_create(0, &s) == ONNXC_OK, "create with 0 threads");
    if (s) {
        test_bad_runs(s);
        /* After every rejection the session still runs. */
        struct io io;
        io_init(&io, 0);
        run_checked(s, &io, "run after rejected calls");
        io_free(&io);
        tiny_destroy(s);
    }
    test_expected_outputs(argv[1]);
    test_workspace();
    test_two_sessions(1);
    test_two_sessions(2);
    test_threaded_session();

    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
