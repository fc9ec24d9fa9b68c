#include "fetch/cache.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "log.h"

struct file {
    char *name;         /* encoded key */
    int64_t size;
    uint64_t used;      /* a clock of takes; 0: never taken */
};

struct cs_cache {
    char *dir;
    int64_t bound;
    int keep;
    struct file *f;
    size_t n, cap;
    uint64_t clock;
    /* the prefetch thread: it touches only these fields until joined */
    pthread_t thread;
    int running;
    struct cs_store *st;
    char *key;
    char *path;
    int ret;
};

static char *encode(const char *key)
{
    char *out = malloc(3 * strlen(key) + 1), *o = out;

    if (!out)
        return NULL;
    for (; *key; key++) {
        unsigned char c = (unsigned char)*key;

        /* a name is one line, whatever the key holds */
        if (c == '/' || c == '%' || c < 0x20 || c == 0x7f ||
            (c == '.' && o == out))
            o += sprintf(o, "%%%02X", (unsigned char)*key);
        else
            *o++ = *key;
    }
    *o = 0;
    return out;
}

static struct file *find(struct cs_cache *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->f[i].name, name))
            return &c->f[i];
    return NULL;
}

static int add(struct cs_cache *c, const char *name, int64_t size)
{
    struct file *f = find(c, name);

    if (f) {
        f->size = size;
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 32;
        struct file *nf = realloc(c->f, cap * sizeof(*nf));

        if (!nf)
            return AVERROR(ENOMEM);
        c->f = nf;
        c->cap = cap;
    }
    c->f[c->n].name = strdup(name);
    if (!c->f[c->n].name)
        return AVERROR(ENOMEM);
    c->f[c->n].size = size;
    c->f[c->n].used = 0;
    c->n++;
    return 0;
}

static int scan(struct cs_cache *c)
{
    DIR *d = opendir(c->dir);
    struct dirent *e;
    int ret = 0;

    if (!d)
        return AVERROR(errno);
    while (ret >= 0 && (e = readdir(d)) != NULL) {
        char *p = NULL;
        struct stat s;

        if (e->d_name[0] == '.')
            continue;
        if (asprintf(&p, "%s/%s", c->dir, e->d_name) < 0)
            return AVERROR(ENOMEM);
        if (stat(p, &s) == 0 && S_ISREG(s.st_mode))
            ret = add(c, e->d_name, s.st_size);
        free(p);
    }
    closedir(d);
    return ret;
}

int cs_cache_open(struct cs_cache **out, const char *dir, int64_t bound,
                  int keep)
{
    struct cs_cache *c = calloc(1, sizeof(*c));
    int ret = AVERROR(ENOMEM);

    *out = NULL;
    if (!c || !(c->dir = strdup(dir)))
        goto fail;
    c->bound = bound;
    c->keep = keep;
    ret = cs_mkdirs(dir);
    if (ret >= 0)
        ret = scan(c);
    if (ret < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    cs_cache_close(&c);
    return ret;
}

static void join(struct cs_cache *c)
{
    if (!c->running)
        return;
    pthread_join(c->thread, NULL);
    c->running = 0;
}

void cs_cache_close(struct cs_cache **p)
{
    struct cs_cache *c = *p;

    if (!c)
        return;
    join(c);
    for (size_t i = 0; i < c->n; i++)
        free(c->f[i].name);
    free(c->f);
    free(c->key);
    free(c->path);
    free(c->dir);
    free(c);
    *p = NULL;
}

static void *fetch_thread(void *opaque)
{
    struct cs_cache *c = opaque;

    c->ret = cs_store_read_file(c->st, c->key, c->path, NULL, NULL, NULL);
    return NULL;
}

static int cached(struct cs_cache *c, const char *name, int64_t size)
{
    struct file *f = find(c, name);

    return f && f->size == size;
}

int cs_cache_prefetch(struct cs_cache *c, struct cs_store *st,
                      const char *key, int64_t size)
{
    char *name = encode(key);
    int ret = 0;

    join(c);
    free(c->key);
    free(c->path);
    c->path = NULL;
    c->key = strdup(key);
    if (!name || !c->key || asprintf(&c->path, "%s/%s", c->dir, name) < 0) {
        c->path = NULL;
        ret = AVERROR(ENOMEM);
        goto out;
    }
    c->st = st;
    c->ret = 0;
    if (cached(c, name, size))
        goto out;
    if (pthread_create(&c->thread, NULL, fetch_thread, c)) {
        ret = AVERROR(EAGAIN);
        goto out;
    }
    c->running = 1;
out:
    free(name);
    return ret;
}

/* Evict the least recently used files outside the KEEP most recent. */
static void evict(struct cs_cache *c)
{
    int64_t total = 0;

    for (size_t i = 0; i < c->n; i++)
        total += c->f[i].size;
    while (total > c->bound) {
        struct file *lru = NULL;
        char *p = NULL;

        for (size_t i = 0; i < c->n; i++) {
            struct file *f = &c->f[i];

            if (f->used && f->used + (uint64_t)c->keep > c->clock)
                continue;
            if (!lru || f->used < lru->used)
                lru = f;
        }
        if (!lru)
            break;
        if (asprintf(&p, "%s/%s", c->dir, lru->name) >= 0) {
            unlink(p);
            cs_verbose("cache: '%s' evicted", lru->name);
            free(p);
        }
        total -= lru->size;
        free(lru->name);
        *lru = c->f[--c->n];
    }
}

int cs_cache_take(struct cs_cache *c, struct cs_store *st, const char *key,
                  int64_t size, char **path)
{
    const char *name;
    int ret = 0;

    *path = NULL;
    if (!c->key || strcmp(c->key, key))
        ret = cs_cache_prefetch(c, st, key, size);
    join(c);
    if (ret >= 0)
        ret = c->ret;
    if (ret < 0)
        return ret;
    name = strrchr(c->path, '/') + 1;
    ret = add(c, name, size);
    if (ret < 0)
        return ret;
    find(c, name)->used = ++c->clock;
    evict(c);
    *path = realpath(c->path, NULL);
    return *path ? 0 : AVERROR(errno);
}
