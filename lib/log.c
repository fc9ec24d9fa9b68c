#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

/* Process-wide. prog, level and tty are written once by cs_log_init()
 * before threads start; progress_open (a progress line is on the terminal
 * without its newline) changes while threads run, libav*'s codec threads
 * included (through av_callback), so it is atomic: exactly one line
 * written after a progress line starts with the newline that ends it. */
static struct {
    char prog[64];
    int level;
    int tty;
    atomic_int progress_open;
} conf = { "cs", CS_LOG_INFO, 0, 0 };

static void write_line(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

void cs_vlog(int level, const char *fmt, va_list ap)
{
    char buf[2048];
    int n, m;

    if (!cs_log_enabled(level))
        return;
    n = snprintf(buf, sizeof(buf), "%s%s: %s",
                 atomic_exchange(&conf.progress_open, 0) ? "\n" : "",
                 conf.prog, level == CS_LOG_WARN ? "warning: " : "");
    if (n < 0 || (size_t)n >= sizeof(buf))
        return;
    m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    if (m < 0)
        return;
    n += m;
    if ((size_t)n > sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    while (n > 0 && buf[n - 1] == '\n')
        n--;
    buf[n++] = '\n';
    write_line(buf, (size_t)n);
}

void cs_log(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cs_vlog(level, fmt, ap);
    va_end(ap);
}

static void av_callback(void *avcl, int level, const char *fmt, va_list ap)
{
    char line[1024];
    int prefix = 1;
    int ours;

    if (level > AV_LOG_VERBOSE)
        ours = CS_LOG_DEBUG + 1;
    else if (level > AV_LOG_INFO)
        ours = CS_LOG_DEBUG;
    else
        ours = CS_LOG_VERBOSE;
    if (!cs_log_enabled(ours))
        return;
    av_log_format_line(avcl, level, fmt, ap, line, sizeof(line), &prefix);
    cs_log(ours, "%s", line);
}

void cs_log_init(const char *prog, int verbosity)
{
    const char *base = strrchr(prog, '/');

    snprintf(conf.prog, sizeof(conf.prog), "%s", base ? base + 1 : prog);
    if (verbosity < 0)
        conf.level = CS_LOG_ERROR;
    else
        conf.level = CS_LOG_INFO + verbosity;
    conf.tty = isatty(2);
    av_log_set_callback(av_callback);
    av_log_set_level(conf.level >= CS_LOG_DEBUG + 1 ? AV_LOG_DEBUG
                     : conf.level >= CS_LOG_DEBUG ? AV_LOG_VERBOSE
                     : conf.level >= CS_LOG_VERBOSE ? AV_LOG_INFO
                                                    : AV_LOG_QUIET);
}

const char *cs_log_prog(void)
{
    return conf.prog;
}

int cs_log_enabled(int level)
{
    return level <= conf.level;
}

void cs_progress(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    if (!conf.tty || conf.level < CS_LOG_INFO)
        return;
    buf[0] = '\r';
    va_start(ap, fmt);
    n = vsnprintf(buf + 1, sizeof(buf) - 5, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(buf) - 6)
        n = (int)sizeof(buf) - 6;
    memcpy(buf + 1 + n, "\033[K", 3);
    write_line(buf, (size_t)n + 4);
    atomic_store(&conf.progress_open, 1);
}

void cs_progress_end(void)
{
    if (atomic_exchange(&conf.progress_open, 0))
        write_line("\n", 1);
}
