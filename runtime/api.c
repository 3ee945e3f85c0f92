/*
 * The public entry points of a generated library.  The code generator
 * emits one wrapper per function, named PREFIX_<suffix>, that passes the
 * library's model as the first argument; the suffix is this file's
 * function name without "rt_api_".
 */
#include "rt.h"

#include <stddef.h>

int
rt_api_create(const struct rt_model *m, int32_t n_threads,
              struct rt_session **out)
{
    return rt_session_create(m, n_threads, out);
}

int
rt_api_run(const struct rt_model *m, struct rt_session *s,
           const struct rt_tensor *inputs, int32_t n_inputs,
           struct rt_tensor *outputs, int32_t n_outputs)
{
    (void)m;
    return rt_session_run(s, inputs, n_inputs, outputs, n_outputs);
}

int
rt_api_set_workspace(const struct rt_model *m, struct rt_session *s,
                     void *workspace, size_t size)
{
    (void)m;
    return rt_session_set_workspace(s, workspace, size);
}

const char *
rt_api_last_error(const struct rt_model *m, const struct rt_session *s)
{
    (void)m;
    return rt_session_error(s);
}

void
rt_api_destroy(const struct rt_model *m, struct rt_session *s)
{
    (void)m;
    rt_session_destroy(s);
}

size_t
rt_api_workspace_size(const struct rt_model *m)
{
    return (size_t)m->arena_size;
}

int32_t
rt_api_num_inputs(const struct rt_model *m)
{
    return m->n_inputs;
}

int32_t
rt_api_num_outputs(const struct rt_model *m)
{
    return m->n_outputs;
}

static const struct rt_io *
io_at(const struct rt_model *m, int32_t output, int32_t i)
{
    int32_t n = output ? m->n_outputs : m->n_inputs;
    if (i < 0 || i >= n)
        return NULL;
    return output ? &m->outputs[i] : &m->inputs[i];
}

const char *
rt_api_input_name(const struct rt_model *m, int32_t i)
{
    const struct rt_io *io = io_at(m, 0, i);
    return io ? io->name : NULL;
}

int32_t
rt_api_input_dtype(const struct rt_model *m, int32_t i)
{
    const struct rt_io *io = io_at(m, 0, i);
    return io ? io->desc.dtype : -1;
}

int32_t
rt_api_input_rank(const struct rt_model *m, int32_t i)
{
    const struct rt_io *io = io_at(m, 0, i);
    return io ? io->desc.rank : -1;
}

const int64_t *
rt_api_input_shape(const struct rt_model *m, int32_t i)
{
    const struct rt_io *io = io_at(m, 0, i);
    return io ? io->desc.dims : NULL;
}

const char *
rt_api_output_name(const struct rt_model *m, int32_t i)
{
    const struct rt_io *io = io_at(m, 1, i);
    return io ? io->name : NULL;
}

int32_t
rt_api_output_dtype(const struct rt_model *m, int32_t i)
{
    const struct rt_io *io = io_at(m, 1, i);
    return io ? io->desc.dtype : -1;
}

int32_t
rt_api_output_rank(const struct rt_model *m, int32_t i)
{
    const struct rt_io *io = io_at(m, 1, i);
    return io ? io->desc.rank : -1;
}

const int64_t *
rt_api_output_shape(const struct rt_model *m, int32_t i)
{
    const struct rt_io *io = io_at(m, 1, i);
    return io ? io->desc.dims : NULL;
}
