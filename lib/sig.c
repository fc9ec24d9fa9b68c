#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

static volatile sig_atomic_t stop_count;
static volatile sig_atomic_t first_ms;  /* when the first signal came */
static int wake_pipe[2] = { -1, -1 };

/* Milliseconds of the monotonic clock, modulo what fits (clock_gettime is
 * async-signal-safe). */
static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)(ts.tv_sec % 1000000) * 1000 + ts.tv_nsec / 1000000;
}

/* The first SIGINT/SIGTERM asks for a clean stop; a later one stops at
 * once. A repeat within half a second is the same request delivered twice:
 * timeout(1) and a kill of the process group send it to us and to our
 * group, and a clean stop must not turn into a hard one. */
static void on_signal(int signo)
{
    int saved = errno;
    long now = now_ms();

    if (stop_count > 0) {
        if (now - first_ms >= 0 && now - first_ms < 500) {
            errno = saved;
            return;
        }
        _exit(128 + signo);
    }
    first_ms = now;
    stop_count = 1;
    if (wake_pipe[1] >= 0) {
        ssize_t r = write(wake_pipe[1], "x", 1);
        (void)r;
    }
    errno = saved;
}

int cs_sig_install(void)
{
    struct sigaction sa;

    if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return AVERROR(errno);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return AVERROR(errno);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int cs_stopping(void)
{
    return stop_count > 0;
}

void cs_request_stop(void)
{
    if (!stop_count) {
        stop_count = 1;
        if (wake_pipe[1] >= 0) {
            ssize_t r = write(wake_pipe[1], "x", 1);
            (void)r;
        }
    }
}

int cs_sig_fd(void)
{
    return wake_pipe[0];
}
