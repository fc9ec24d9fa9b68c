/* streams.c: the children of cs-recv --exec (see streams.h). */
#include "net/streams.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavutil/mem.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "net/tsbuf.h"

extern char **environ;

#define BACKOFF_MAX 30.0
#define PIPE_SIZE (1 << 20)

struct cs_stream {
    char name[128];
    char protocol[16];
    char remote[64];
    int on;                 /* a publisher feeds it */
    pid_t pid;              /* the child; 0: none */
    int fd;                 /* its stdin; -1: none */
    pid_t dying;            /* a child being stopped; 0: none */
    int64_t kill_at;        /* when DYING gets SIGKILL */
    int64_t off_since;      /* when its last publisher left */
    int64_t started_at;     /* when the child started */
    int64_t restart_at;     /* no child before then */
    double backoff;         /* seconds before the next restart */
    int publishers, restarts;
    int64_t bytes, dropped;
    struct cs_tsout *out;
};

struct cs_streams {
    pthread_mutex_t lock;
    const char *command;
    double linger;
    struct cs_stream **s;
    int n;
};

int cs_streams_open(struct cs_streams **out, const char *command,
                    double linger)
{
    struct cs_streams *t = av_mallocz(sizeof(*t));

    *out = t;
    if (!t)
        return AVERROR(ENOMEM);
    pthread_mutex_init(&t->lock, NULL);
    t->command = command;
    t->linger = linger;
    return 0;
}

/* environ without our three names, then NAME=value for each of them
 * (those three strings in OWN, for the caller to free). */
static char **child_env(const struct cs_stream *st, char *own[3])
{
    static const char *const ours[] = { "CS_STREAM=", "CS_PROTOCOL=",
                                        "CS_REMOTE=" };
    const char *vals[] = { st->name, st->protocol, st->remote };
    size_t n = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    env = av_calloc(n + 4, sizeof(*env));
    for (size_t i = 0; env && i < n; i++) {
        int skip = 0;

        for (int j = 0; j < 3; j++)
            skip |= !strncmp(environ[i], ours[j], strlen(ours[j]));
        if (!skip)
            env[k++] = environ[i];
    }
    for (int j = 0; j < 3; j++) {
        size_t len = strlen(ours[j]) + strlen(vals[j]) + 1;

        own[j] = av_malloc(len);
        if (own[j])
            snprintf(own[j], len, "%s%s", ours[j], vals[j]);
        if (env && own[j])
            env[k++] = own[j];
    }
    if (env && (!own[0] || !own[1] || !own[2]))
        av_freep(&env);
    return env;
}

/* posix_spawn /bin/sh -c COMMAND in a new process group, PIPE_R as its
 * stdin, stdout and stderr ours, no other descriptor, with default signal
 * handling (we ignore SIGPIPE). */
static int run_child(struct cs_streams *t, struct cs_stream *st, int pipe_r,
                     char **env)
{
    char *argv[] = { "sh", "-c", (char *)t->command, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t def, none;
    int ret;

    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigemptyset(&none);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipe_r, 0);
    /* none of our sockets and pipes (a listening port would stay bound) */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&at);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
                             POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    ret = posix_spawn(&st->pid, "/bin/sh", &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (ret)
        st->pid = 0;
    return ret ? AVERROR(ret) : 0;
}

/* Start ST's child (lock held). On failure ST stays without one and
 * tries again after its back-off. */
static void spawn(struct cs_streams *t, struct cs_stream *st)
{
    char *own[3] = { NULL, NULL, NULL };
    char **env = child_env(st, own);
    int p[2] = { -1, -1 };
    int ret = env ? 0 : AVERROR(ENOMEM);

    if (ret >= 0 && pipe2(p, O_CLOEXEC) < 0)
        ret = AVERROR(errno);
    if (ret >= 0)
        ret = run_child(t, st, p[0], env);
    if (p[0] >= 0)
        close(p[0]);
    for (int j = 0; j < 3; j++)
        av_free(own[j]);
    av_free(env);
    if (ret < 0) {
        if (p[1] >= 0)
            close(p[1]);
        st->restart_at = cs_now_us() + (int64_t)(st->backoff * 1e6);
        cs_warn("'%s': cannot start its command: %s; trying again in "
                "%g s", st->name, CS_ERRSTR(ret), st->backoff);
        st->backoff = st->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX
                                                    : st->backoff * 2;
        return;
    }
    (void)fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);
    st->fd = p[1];
    st->started_at = cs_now_us();
    cs_tsout_free(st->out);
    cs_tsout_init(st->out, st->fd);
    cs_tsout_new_session(st->out);
    cs_info("'%s': started its command (pid %d)", st->name, (int)st->pid);
}

static struct cs_stream *find(struct cs_streams *t, const char *name)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->s[i]->name, name))
            return t->s[i];
    return NULL;
}

static struct cs_stream *add(struct cs_streams *t, const char *name)
{
    struct cs_stream **a, *st = av_mallocz(sizeof(*st));

    a = st ? av_realloc_array(t->s, (size_t)t->n + 1, sizeof(*a)) : NULL;
    if (st)
        st->out = av_mallocz(sizeof(*st->out));
    if (!a || !st->out) {
        if (st)
            av_free(st->out);
        av_free(st);
        return NULL;
    }
    t->s = a;
    t->s[t->n++] = st;
    snprintf(st->name, sizeof(st->name), "%s", name);
    st->fd = -1;
    st->backoff = 1;
    return st;
}

/* A publisher is back: the PES the last one left unfinished go. */
static void tell_cut(struct cs_stream *st)
{
    int64_t pes = st->out->hold.cut_pes, n;

    cs_tsout_new_session(st->out);
    n = st->out->hold.cut_pes - pes;
    if (n > 0)
        cs_warn("'%s': dropped %lld unfinished PES that the last publisher "
                "left cut short", st->name, (long long)n);
}

struct cs_stream *cs_streams_start(struct cs_streams *t, const char *name,
                                   const char *protocol, const char *remote)
{
    struct cs_stream *st;

    pthread_mutex_lock(&t->lock);
    st = find(t, name);
    if (!st)
        st = add(t, name);
    if (st && st->on) {
        st = NULL;
    } else if (st) {
        snprintf(st->protocol, sizeof(st->protocol), "%s", protocol);
        snprintf(st->remote, sizeof(st->remote), "%s", remote);
        st->on = 1;
        st->publishers++;
        if (st->fd >= 0) {
            cs_info("'%s': its publisher is back within --linger; the same "
                    "child goes on", st->name);
            tell_cut(st);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return st;
}

int cs_streams_write(struct cs_streams *t, struct cs_stream *st,
                     const uint8_t *buf, int n)
{
    int fd, ret;

    pthread_mutex_lock(&t->lock);
    if (st->fd < 0 && !st->pid && cs_now_us() >= st->restart_at)
        spawn(t, st);
    fd = st->fd;
    if (fd < 0)
        st->dropped += n;
    pthread_mutex_unlock(&t->lock);
    if (fd < 0)
        return 0;
    ret = cs_tsout_write(st->out, buf, n);
    pthread_mutex_lock(&t->lock);
    if (ret >= 0)
        st->bytes += n;
    else if (ret != CS_EDATA) {
        /* the child is gone (EPIPE): tick() reaps it, the next write
         * after the back-off starts another */
        close(st->fd);
        st->fd = -1;
    }
    pthread_mutex_unlock(&t->lock);
    return ret == CS_EDATA ? ret : 0;
}

void cs_streams_end(struct cs_streams *t, struct cs_stream *st)
{
    pthread_mutex_lock(&t->lock);
    st->on = 0;
    st->off_since = cs_now_us();
    pthread_mutex_unlock(&t->lock);
}

/* Close the child's stdin and send its group SIGTERM; SIGKILL later. */
static void stop_child(struct cs_stream *st, int64_t now)
{
    /* its stream ends here: what waited for its PES to be whole goes */
    if (st->fd >= 0 && !st->on)
        (void)cs_tsout_flush(st->out);
    if (st->fd >= 0)
        close(st->fd);
    st->fd = -1;
    if (!st->pid)
        return;
    kill(-st->pid, SIGTERM);
    if (st->dying)      /* an earlier one still going: no more waiting */
        kill(-st->dying, SIGKILL);
    st->dying = st->pid;
    st->pid = 0;
    st->kill_at = now + (int64_t)(CS_STREAMS_KILL_AFTER * 1e6);
}

static void say_exit(const struct cs_stream *st, int status, int on)
{
    char how[64];

    if (WIFSIGNALED(status))
        snprintf(how, sizeof(how), "was killed by signal %d",
                 WTERMSIG(status));
    else
        snprintf(how, sizeof(how), "exited with status %d",
                 WEXITSTATUS(status));
    if (on)
        cs_warn("'%s': its command %s; starting it again in %g s",
                st->name, how, st->backoff);
    else
        cs_info("'%s': its command %s", st->name, how);
}

/* The child of ST exited on its own (lock held). */
static void child_exited(struct cs_stream *st, int status, int64_t now)
{
    if (now - st->started_at > (int64_t)(BACKOFF_MAX * 1e6))
        st->backoff = 1;
    say_exit(st, status, st->on);
    st->pid = 0;
    if (!st->on) {
        if (st->fd >= 0)
            close(st->fd);
        st->fd = -1;
        return;
    }
    st->restarts++;
    st->restart_at = now + (int64_t)(st->backoff * 1e6);
    st->backoff = st->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX
                                                : st->backoff * 2;
}

static void tick_one(struct cs_streams *t, struct cs_stream *st,
                     int64_t now)
{
    int status;

    if (st->pid && waitpid(st->pid, &status, WNOHANG) == st->pid)
        child_exited(st, status, now);
    if (st->dying && waitpid(st->dying, &status, WNOHANG) == st->dying)
        st->dying = 0;
    if (st->dying && now >= st->kill_at) {
        cs_warn("'%s': its command did not stop within %g s; killed it",
                st->name, CS_STREAMS_KILL_AFTER);
        kill(-st->dying, SIGKILL);
        st->kill_at = INT64_MAX;
    }
    if (!st->on && st->pid &&
        now - st->off_since >= (int64_t)(t->linger * 1e6)) {
        cs_info("'%s': no publisher for %g s; stopping its command",
                st->name, t->linger);
        stop_child(st, now);
    }
}

void cs_streams_tick(struct cs_streams *t)
{
    int64_t now = cs_now_us();

    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < t->n; i++)
        tick_one(t, t->s[i], now);
    pthread_mutex_unlock(&t->lock);
}

void cs_streams_stats(struct cs_streams *t, cJSON *obj)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, "streams");

    pthread_mutex_lock(&t->lock);
    for (int i = 0; arr && i < t->n; i++) {
        const struct cs_stream *st = t->s[i];
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "stream", st->name);
        cJSON_AddStringToObject(o, "protocol", st->protocol);
        cJSON_AddBoolToObject(o, "on", st->on);
        cJSON_AddNumberToObject(o, "child_pid", st->pid);
        cJSON_AddNumberToObject(o, "publishers", st->publishers);
        cJSON_AddNumberToObject(o, "restarts", st->restarts);
        cJSON_AddNumberToObject(o, "bytes", (double)st->bytes);
        cJSON_AddNumberToObject(o, "bytes_dropped", (double)st->dropped);
        cJSON_AddNumberToObject(o, "pes_cut", (double)st->out->hold.cut_pes);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&t->lock);
}

/* Wait for every stopped child, SIGKILL after the bound. */
static void reap_all(struct cs_streams *t)
{
    int64_t until = cs_now_us() + (int64_t)(CS_STREAMS_KILL_AFTER * 1e6);
    int left = 1;

    while (left) {
        int64_t now = cs_now_us();

        left = 0;
        for (int i = 0; i < t->n; i++) {
            struct cs_stream *st = t->s[i];
            int status;

            if (st->dying && waitpid(st->dying, &status, WNOHANG) != 0)
                st->dying = 0;
            if (st->dying && now >= until)
                kill(-st->dying, SIGKILL);
            left |= st->dying != 0;
        }
        if (left)
            usleep(20000);
    }
}

void cs_streams_close(struct cs_streams **pt)
{
    struct cs_streams *t = *pt;
    int64_t now = cs_now_us();

    if (!t)
        return;
    for (int i = 0; i < t->n; i++)
        stop_child(t->s[i], now);
    reap_all(t);
    for (int i = 0; i < t->n; i++) {
        cs_tsout_free(t->s[i]->out);
        av_free(t->s[i]->out);
        av_free(t->s[i]);
    }
    av_free(t->s);
    pthread_mutex_destroy(&t->lock);
    av_freep(pt);
}
