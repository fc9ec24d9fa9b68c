/* hls/output.c: where the packager writes. One store, or several written
 * alike (-o given more than once: two origins behind the edges).
 *
 * With one output every failure ends the run, as it always has. With
 * several, each is independent: a write that fails on one marks it down
 * (cfg->on_output hears it), and the run goes on as long as another output
 * took the write. A down output is skipped, and tried again with the first
 * write a second later; when it takes one it is up again, and first gets
 * the files written once (init segments, the master playlist) so that an
 * origin that came back empty can serve the stream. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hls/internal.h"
#include "hls/names.h"

#define RETRY_US 1000000

static int is_sticky(const char *name, enum cs_file_kind kind)
{
    return kind == CS_FILE_INIT || !strcmp(name, CS_NAME_MASTER);
}

/* Keep the last bytes of NAME; an old name makes room when all are in
 * use (the oldest init generation is the least likely to be asked for). */
static void keep_sticky(struct cs_pkg *p, const char *name, const void *data,
                        size_t len, enum cs_file_kind kind)
{
    struct cs_sticky *s = NULL;
    void *copy;
    int i;

    for (i = 0; i < p->nsticky && !s; i++)
        if (!strcmp(p->sticky[i].name, name))
            s = &p->sticky[i];
    if (!s && p->nsticky < CS_MAX_STICKY)
        s = &p->sticky[p->nsticky++];
    if (!s) {
        free(p->sticky[0].data);
        memmove(p->sticky, p->sticky + 1,
                (CS_MAX_STICKY - 1) * sizeof(*p->sticky));
        s = &p->sticky[CS_MAX_STICKY - 1];
        s->data = NULL;
    }
    copy = malloc(len ? len : 1);
    if (!copy)
        return;     /* only a comeback would miss it */
    memcpy(copy, data, len);
    free(s->data);
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->data = copy;
    s->len = len;
    s->kind = kind;
}

static void report(struct cs_pkg *p, struct cs_pkg_out *o, const char *why)
{
    if (p->cfg->on_output)
        p->cfg->on_output(p->cfg->opaque, o->st->location, why);
}

/* A down output's turn: the files written once, then what is asked. */
static int comeback(struct cs_pkg *p, struct cs_pkg_out *o, struct cs_err *e)
{
    int ret = 0;

    for (int i = 0; i < p->nsticky && ret >= 0; i++)
        ret = cs_store_put(o->st, p->sticky[i].name, p->sticky[i].data,
                           p->sticky[i].len, p->sticky[i].kind, e);
    return ret;
}

static int put_one(struct cs_pkg *p, struct cs_pkg_out *o, const char *name,
                   const void *data, size_t len, enum cs_file_kind kind)
{
    struct cs_err e = { 0 };
    int64_t now = cs_now_us();
    int ret = 0;

    if (o->down && now < o->retry_us) {
        o->skipped++;
        return CS_ENET;
    }
    if (o->down)
        ret = comeback(p, o, &e);
    if (ret >= 0)
        ret = cs_store_put(o->st, name, data, len, kind, &e);
    if (ret < 0) {
        o->failed++;
        o->retry_us = now + RETRY_US;
        if (!o->down)
            report(p, o, e.msg);
        o->down = 1;
        return ret;
    }
    if (o->down)
        report(p, o, NULL);
    o->down = 0;
    return ret;
}

int cs_pkg_out_put(struct cs_pkg *p, const char *name, const void *data,
                   size_t len, enum cs_file_kind kind, struct cs_err *err)
{
    int ok = 0, ret = 0;

    if (p->nouts == 1)
        return cs_store_put(p->outs[0].st, name, data, len, kind, err);
    if (is_sticky(name, kind))
        keep_sticky(p, name, data, len, kind);
    for (int i = 0; i < p->nouts; i++) {
        int r = put_one(p, &p->outs[i], name, data, len, kind);

        if (r >= 0)
            ok = 1;
        else if (!ret)
            ret = r;
    }
    if (ok)
        return 0;
    return cs_err_code(err, ret, "cannot write '%s' to any output", name);
}

void cs_pkg_out_delete(struct cs_pkg *p, const char *name)
{
    for (int i = 0; i < p->nouts; i++)
        if (!p->outs[i].down)
            cs_store_delete(p->outs[i].st, name);
}

int cs_pkg_out_exists(struct cs_pkg *p, const char *name)
{
    int64_t size;
    char etag[80];

    for (int i = 0; i < p->nouts; i++) {
        int ret = p->outs[i].down ? AVERROR(ENOENT) :
                  cs_store_stat(p->outs[i].st, name, &size, etag);

        if (ret >= 0 || ret == AVERROR(ENOSYS))
            return 1;           /* there, or it may be */
    }
    return 0;
}

/* The first output that answers: a down origin does not hide the state
 * the other one holds. */
int cs_pkg_out_read(struct cs_pkg *p, const char *name, size_t max,
                    char **data, size_t *len)
{
    int ret = AVERROR(ENOENT);

    for (int i = 0; i < p->nouts; i++) {
        ret = cs_store_read_mem(p->outs[i].st, name, max, data, len);
        if (ret != CS_ENET)
            break;
    }
    return ret;
}

int cs_pkg_out_open(struct cs_pkg *p)
{
    const struct cs_pkg_config *cfg = p->cfg;
    int n = cfg->noutputs > 0 ? cfg->noutputs : 1;
    /* with several outputs a dead one must not hold the others up */
    struct cs_store_opts oo = { .token = cfg->token,
                                .retries = n > 1 ? 1 : 3,
                                .timeout_ms = n > 1 ? 3000 : 10000 };
    int ret = 0;

    for (int i = 0; i < n && ret >= 0; i++) {
        const char *where = cfg->noutputs > 0 ? cfg->outputs[i]
                                              : cfg->output;

        ret = cs_store_open(&p->outs[i].st, where, &oo, p->err);
        if (ret < 0)
            return cs_err_code(p->err, ret, "cannot open '%s'", where);
        p->nouts++;
    }
    return ret;
}

void cs_pkg_out_close(struct cs_pkg *p)
{
    for (int i = 0; i < p->nouts; i++)
        cs_store_close(&p->outs[i].st);
    p->nouts = 0;
    for (int i = 0; i < p->nsticky; i++)
        free(p->sticky[i].data);
    p->nsticky = 0;
}

void cs_pkg_out_stats(const struct cs_pkg *p, cJSON *o)
{
    cJSON *a;

    if (p->nouts < 2)
        return;
    a = cJSON_AddArrayToObject(o, "outputs");
    for (int i = 0; a && i < p->nouts; i++) {
        cJSON *x = cJSON_CreateObject();

        cJSON_AddStringToObject(x, "output", p->outs[i].st->location);
        cJSON_AddBoolToObject(x, "up", !p->outs[i].down);
        cJSON_AddNumberToObject(x, "failed_writes",
                                (double)p->outs[i].failed);
        cJSON_AddNumberToObject(x, "skipped_writes",
                                (double)p->outs[i].skipped);
        cJSON_AddItemToArray(a, x);
    }
}
