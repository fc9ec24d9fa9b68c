/* ladder/air.c: always on air. A thread watches for pictures; when none
 * has come for a while it puts the slate (and silence) on the timeline in
 * step with the clock, and the input's next keyframe takes over again. */
#include <errno.h>
#include <time.h>

#include "clock.h"
#include "ladder/internal.h"
#include "log.h"

static void deadline(struct timespec *ts, int64_t us)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += us / 1000000;
    ts->tv_nsec += (long)(us % 1000000) * 1000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

/* Put slate pictures (and silence after each) on the timeline up to where
 * the clock says the output should be. The lock is held. */
static int fill(struct cs_ladder_air *a, int64_t now)
{
    int64_t until = a->last_t_us + (now - a->last_wall_us);
    const struct cs_ladder_air_sink *s = &a->sink;
    int ret = 0;

    while (ret >= 0 && a->next_t_us <= until) {
        ret = s->picture(s->opaque, a->slate, a->next_t_us);
        if (ret >= 0)
            ret = s->silence(s->opaque, a->next_t_us + a->frame_us);
        a->next_t_us += a->frame_us;
        a->slate_frames++;
    }
    return ret;
}

static void tick(struct cs_ladder_air *a)
{
    int64_t now = cs_now_us();

    if (a->seen && !a->on_slate && now - a->last_wall_us >= a->after_us) {
        a->on_slate = 1;
        a->slates++;
        a->next_t_us = a->last_t_us + a->frame_us;
        cs_warn("no picture for %.1f s: the slate is on air",
                (now - a->last_wall_us) / 1e6);
    }
    if (a->on_slate)
        a->err = fill(a, now);
}

static void *watch(void *opaque)
{
    struct cs_ladder_air *a = opaque;
    struct timespec ts;

    pthread_mutex_lock(&a->lock);
    while (!a->stop && a->err >= 0) {
        tick(a);
        deadline(&ts, a->frame_us);
        while (!a->stop && pthread_cond_timedwait(&a->wake, &a->lock,
                                                  &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

static int init_sync(struct cs_ladder_air *a)
{
    pthread_condattr_t attr;
    int ret = pthread_condattr_init(&attr);

    if (!ret)
        ret = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (!ret)
        ret = pthread_cond_init(&a->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (ret)
        return AVERROR(ret);
    ret = pthread_mutex_init(&a->lock, NULL);
    if (ret) {
        pthread_cond_destroy(&a->wake);
        return AVERROR(ret);
    }
    a->sync = 1;
    return 0;
}

int cs_ladder_air_start(struct cs_ladder_air *a)
{
    int ret = init_sync(a);

    if (ret < 0)
        return ret;
    ret = pthread_create(&a->thread, NULL, watch, a);
    if (ret)
        return AVERROR(ret);
    a->running = 1;
    return 0;
}

void cs_ladder_air_lock(struct cs_ladder_air *a)
{
    pthread_mutex_lock(&a->lock);
}

void cs_ladder_air_unlock(struct cs_ladder_air *a)
{
    pthread_mutex_unlock(&a->lock);
}

int cs_ladder_air_picture(struct cs_ladder_air *a, int64_t in_us, int key,
                          int64_t *t_us)
{
    if (a->err < 0)
        return a->err;
    if (a->on_slate) {
        if (!key)
            return 0;
        a->on_slate = 0;
        a->offset_us = a->next_t_us - in_us;
        cs_info("the picture is back after %.1f s",
                (cs_now_us() - a->last_wall_us) / 1e6);
    }
    *t_us = in_us + a->offset_us;
    a->seen = 1;
    a->last_t_us = *t_us;
    a->last_wall_us = cs_now_us();
    return 1;
}

int cs_ladder_air_audio(struct cs_ladder_air *a, int64_t *offset_us)
{
    if (a->err < 0)
        return a->err;
    *offset_us = a->offset_us;
    return !a->on_slate;
}

int cs_ladder_air_stop(struct cs_ladder_air *a)
{
    if (a->running) {
        pthread_mutex_lock(&a->lock);
        a->stop = 1;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->thread, NULL);
        a->running = 0;
    }
    return a->err;
}

void cs_ladder_air_free(struct cs_ladder_air *a)
{
    cs_ladder_air_stop(a);
    if (a->sync) {
        pthread_mutex_destroy(&a->lock);
        pthread_cond_destroy(&a->wake);
        a->sync = 0;
    }
    av_frame_free(&a->slate);
}
