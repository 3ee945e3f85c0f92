/*
 * Name tables of the ONNX frontend: a string-keyed hash table with linear
 * probing, and made-up value names that collide with no name of the model.
 */
#include "loader.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64-bit. */
static uint64_t
hash_string(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void
fe_name_map_free(struct fe_name_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* The slot of key, or the empty slot where it would go. */
static size_t
find_slot(const struct fe_name_map *m, const char *key)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)hash_string(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & mask;
    return i;
}

int32_t
fe_name_map_get(const struct fe_name_map *m, const char *key)
{
    if (m->cap == 0)
        return IR_NONE;
    size_t i = find_slot(m, key);
    return m->keys[i] ? m->vals[i] : IR_NONE;
}

static void
grow(struct fe_name_map *m)
{
    struct fe_name_map old = *m;
    m->cap = old.cap ? 2 * old.cap : 64;
    m->keys = ir_xcalloc(m->cap, sizeof(char *));
    m->vals = ir_xcalloc(m->cap, sizeof(int32_t));
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.keys[i])
            continue;
        size_t j = find_slot(m, old.keys[i]);
        m->keys[j] = old.keys[i];
        m->vals[j] = old.vals[i];
    }
    free(old.keys);
    free(old.vals);
}

void
fe_name_map_put(struct fe_name_map *m, const char *key, int32_t val)
{
    /* Keep the load factor at most one half. */
    if (2 * (m->n + 1) > m->cap)
        grow(m);
    size_t i = find_slot(m, key);
    if (!m->keys[i]) {
        m->keys[i] = ir_xstrdup(key);
        m->n++;
    }
    m->vals[i] = val;
}

char *
fe_unique_name(struct fe_loader *ld, const char *base)
{
    size_t size = strlen(base) + 24;
    char *name = ir_xmalloc(size);
    snprintf(name, size, "%s", base);
    for (int n = 1; fe_name_map_get(&ld->taken, name) != IR_NONE; n++)
        snprintf(name, size, "%s_%d", base, n);
    fe_name_map_put(&ld->taken, name, 0);
    return name;
}
