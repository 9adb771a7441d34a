/* Open-addressing hash map from a non-zero uint64 key to a pointer, with
 * linear probing and backward-shift deletion (no tombstones). */
#include <stdlib.h>

#include "util/util.h"

static size_t slot(const struct ms__hmap *m, uint64_t key)
{
    return (size_t)ms__mix64(key) & (m->cap - 1);
}

static int grow(struct ms__hmap *m)
{
    struct ms__hmap n = {0};
    size_t i;

    n.cap = m->cap ? m->cap * 2 : 64;
    n.keys = calloc(n.cap, sizeof *n.keys);
    n.vals = calloc(n.cap, sizeof *n.vals);
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return MPISNAP_ENOMEM;
    }
    for (i = 0; i < m->cap; i++)
        if (m->keys[i])
            ms__hmap_put(&n, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

int ms__hmap_put(struct ms__hmap *m, uint64_t key, void *val)
{
    size_t i;

    if ((m->len + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return MPISNAP_ENOMEM;
    for (i = slot(m, key); m->keys[i] && m->keys[i] != key;
         i = (i + 1) & (m->cap - 1))
        ;
    if (!m->keys[i])
        m->len++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

void *ms__hmap_get(const struct ms__hmap *m, uint64_t key)
{
    size_t i;

    if (!m->len)
        return NULL;
    for (i = slot(m, key); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == key)
            return m->vals[i];
    return NULL;
}

void *ms__hmap_del(struct ms__hmap *m, uint64_t key)
{
    size_t i, j, home;
    void *val;

    if (!m->len)
        return NULL;
    for (i = slot(m, key); m->keys[i] != key; i = (i + 1) & (m->cap - 1))
        if (!m->keys[i])
            return NULL;
    val = m->vals[i];
    m->len--;
    /* Shift later entries of the probe run back into the hole. */
    for (j = (i + 1) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1)) {
        home = slot(m, m->keys[j]);
        if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1))) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = NULL;
    return val;
}

void ms__hmap_free(struct ms__hmap *m)
{
    free(m->keys);
    free(m->vals);
    *m = (struct ms__hmap){0};
}
