#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

static volatile sig_atomic_t stop_count;
static int wake_pipe[2] = { -1, -1 };

static void on_signal(int signo)
{
    int saved = errno;

    if (stop_count > 0)
        _exit(128 + signo);
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
