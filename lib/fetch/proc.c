#include "fetch/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "sig.h"

extern char **environ;

/* What a child keeps of the environment: the locale, the paths, proxies
 * and certificates. Credentials (AWS_*, ingest tokens) and anything else
 * stay with us. */
static const char *const env_keep[] = {
    "PATH=", "HOME=", "USER=", "LOGNAME=", "LANG=", "LANGUAGE=", "LC_",
    "TZ=", "TMPDIR=", "TERM=", "http_proxy=", "https_proxy=", "no_proxy=",
    "HTTP_PROXY=", "HTTPS_PROXY=", "NO_PROXY=", "SSL_CERT_FILE=",
    "SSL_CERT_DIR=", "REQUESTS_CA_BUNDLE=", "PYTHONPATH=", "PYTHONHOME=",
    "VIRTUAL_ENV=", "XDG_CACHE_HOME=", NULL,
};

static int env_kept(const char *var)
{
    for (int i = 0; env_keep[i]; i++)
        if (!strncmp(var, env_keep[i], strlen(env_keep[i])))
            return 1;
    return 0;
}

/* The scrubbed environment (malloc'ed array of pointers into environ). */
static char **child_env(void)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    env = calloc(n + 1, sizeof(*env));
    for (size_t i = 0; env && i < n; i++)
        if (env_kept(environ[i]))
            env[k++] = environ[i];
    return env;
}

/* The child leads a process group of its own, so that a stop reaches
 * whatever it started in turn (yt-dlp runs ffmpeg). */
static int spawn(char *const argv[], int quiet, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    char **env = child_env();
    int ret;

    if (!env)
        return AVERROR(ENOMEM);
    posix_spawnattr_init(&at);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    if (quiet)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    ret = posix_spawnp(pid, argv[0], &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    free(env);
    return ret ? AVERROR(ret) : 0;
}

/* Read the child's output until EOF, a stop request, or MAX bytes. */
static int collect(int fd, size_t max, char **out, size_t *len)
{
    struct pollfd p[2] = { { fd, POLLIN, 0 }, { cs_sig_fd(), POLLIN, 0 } };
    size_t cap = 0;

    for (;;) {
        ssize_t n;

        if (poll(p, p[1].fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
            return AVERROR(errno);
        if (cs_stopping())
            return CS_ESTOP;
        if (!(p[0].revents & (POLLIN | POLLHUP)))
            continue;
        if (*len + 65536 + 1 > cap) {
            char *b;

            cap = (*len + 65536 + 1) * 2;
            b = realloc(*out, cap);
            if (!b)
                return AVERROR(ENOMEM);
            *out = b;
        }
        n = read(fd, *out + *len, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? AVERROR(errno) : 0;
        *len += (size_t)n;
        (*out)[*len] = 0;
        if (*len > max)
            return CS_EDATA;
    }
}

int cs_proc_run(char *const argv[], int quiet, size_t max, char **out,
                size_t *len)
{
    int fds[2], ret, status = 0;
    pid_t pid;

    *out = calloc(1, 1);
    *len = 0;
    if (!*out)
        return AVERROR(ENOMEM);
    if (pipe2(fds, O_CLOEXEC) < 0)
        return AVERROR(errno);
    ret = spawn(argv, quiet, fds[1], &pid);
    close(fds[1]);
    if (ret < 0) {
        close(fds[0]);
        return ret == AVERROR(ENOENT) ? 127 : ret;
    }
    ret = collect(fds[0], max, out, len);
    close(fds[0]);
    if (ret < 0)
        kill(-pid, SIGTERM);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (ret < 0) {
        /* whatever of the group outlived its leader */
        kill(-pid, SIGKILL);
        return ret;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
