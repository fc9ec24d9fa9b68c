#include "stats.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "log.h"

struct cs_stats {
    FILE *f;
    int own;
    int failed;         /* a write failed: said once, then quiet */
    int64_t start_us;
    int64_t next_us;
    pthread_mutex_t lock;
};

int cs_stats_open(struct cs_stats **out, const char *path)
{
    struct cs_stats *st;

    *out = NULL;
    if (!path)
        return 0;
    st = calloc(1, sizeof(*st));
    if (!st)
        return AVERROR(ENOMEM);
    if (!strcmp(path, "-")) {
        st->f = stderr;
    } else {
        st->f = fopen(path, "w");
        st->own = 1;
    }
    if (!st->f) {
        int err = AVERROR(errno);

        free(st);
        return err;
    }
    pthread_mutex_init(&st->lock, NULL);
    st->start_us = cs_now_us();
    st->next_us = st->start_us + 1000000;
    *out = st;
    return 0;
}

int cs_stats_due(struct cs_stats *st)
{
    int64_t now;
    int due = 0;

    if (!st)
        return 0;
    now = cs_now_us();
    pthread_mutex_lock(&st->lock);
    if (now >= st->next_us) {
        due = 1;
        st->next_us += 1000000;
        if (st->next_us <= now)
            st->next_us = now + 1000000;
    }
    pthread_mutex_unlock(&st->lock);
    return due;
}

void cs_stats_emit(struct cs_stats *st, cJSON *obj)
{
    char *text;

    if (!st || !obj) {
        cJSON_Delete(obj);
        return;
    }
    cJSON_AddNumberToObject(obj, "time_ms", (double)(cs_wall_us() / 1000));
    cJSON_AddNumberToObject(obj, "elapsed_s",
                            (double)(cs_now_us() - st->start_us) / 1e6);
    text = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (!text)
        return;
    pthread_mutex_lock(&st->lock);
    if ((fprintf(st->f, "%s\n", text) < 0 || fflush(st->f) != 0) &&
        !st->failed) {
        st->failed = 1;
        cs_warn("cannot write statistics: %s", CS_ERRSTR(AVERROR(errno)));
    }
    pthread_mutex_unlock(&st->lock);
    free(text);
}

void cs_stats_close(struct cs_stats **pst, cJSON *final)
{
    struct cs_stats *st = *pst;

    if (!st) {
        cJSON_Delete(final);
        return;
    }
    if (!final)
        final = cJSON_CreateObject();
    if (final) {
        cJSON_AddBoolToObject(final, "final", 1);
        cs_stats_emit(st, final);
    }
    if (st->own && fclose(st->f) != 0 && !st->failed)
        cs_warn("cannot write statistics: %s", CS_ERRSTR(AVERROR(errno)));
    pthread_mutex_destroy(&st->lock);
    free(st);
    *pst = NULL;
}
