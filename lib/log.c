#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

/* Process-wide. prog, level and tty are written once by cs_log_init()
 * before threads start; progress_open (a progress line is on the terminal
 * without its newline) changes while threads run, libav*'s codec threads
 * included (through av_callback). It is read, changed and its line
 * written under one lock, so that exactly one line written after a
 * progress line starts with the newline that ends it, and no line lands
 * in the middle of a progress line. */
static struct {
    char prog[64];
    int level;
    int tty;
    int progress_open;
    pthread_mutex_t lock;
} conf = { "cs", CS_LOG_INFO, 0, 0, PTHREAD_MUTEX_INITIALIZER };

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

/* The length of the "user:password@" at P, just after a URL's "://"
 * (0 when there is none). */
static size_t userinfo_len(const char *p)
{
    size_t auth = strcspn(p, "/?#'\" \t\n"), at = 0;

    for (size_t i = 0; i < auth; i++)
        if (p[i] == '@')
            at = i + 1;
    return at > 1 ? at : 0;
}

/* SRC into DST with the credentials of a URL masked ("***@"), and the
 * control bytes (in a remote peer's stream id, a file name) as \xNN, so
 * that a line stays one line and cannot move the terminal's cursor.
 * Returns the length written (DST is NUL-terminated). */
static size_t escape(char *dst, size_t size, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    const char *start = src;
    size_t o = 0;

    for (; *src && o + 5 < size; src++) {
        unsigned char c = (unsigned char)*src;
        size_t ui = src - start >= 3 && !memcmp(src - 3, "://", 3) ?
                    userinfo_len(src) : 0;

        if (ui) {
            memcpy(dst + o, "***@", 4);
            o += 4;
            src += ui - 1;
            continue;
        }
        if (c >= 0x20 && c != 0x7f) {
            dst[o++] = (char)c;
            continue;
        }
        dst[o++] = '\\';
        dst[o++] = 'x';
        dst[o++] = hex[c >> 4];
        dst[o++] = hex[c & 15];
    }
    dst[o] = 0;
    return o;
}

void cs_vlog(int level, const char *fmt, va_list ap)
{
    char msg[2048], buf[4096];
    int n, m;

    if (!cs_log_enabled(level))
        return;
    m = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (m < 0)
        return;
    if ((size_t)m >= sizeof(msg))
        m = (int)sizeof(msg) - 1;
    while (m > 0 && msg[m - 1] == '\n')
        msg[--m] = 0;
    pthread_mutex_lock(&conf.lock);
    n = snprintf(buf, sizeof(buf), "%s%s: %s",
                 conf.progress_open ? "\n" : "", conf.prog,
                 level == CS_LOG_WARN ? "warning: " : "");
    conf.progress_open = 0;
    if (n >= 0 && (size_t)n < sizeof(buf) - 2) {
        n += (int)escape(buf + n, sizeof(buf) - (size_t)n - 1, msg);
        buf[n++] = '\n';
        write_line(buf, (size_t)n);
    }
    pthread_mutex_unlock(&conf.lock);
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
    pthread_mutex_lock(&conf.lock);
    write_line(buf, (size_t)n + 4);
    conf.progress_open = 1;
    pthread_mutex_unlock(&conf.lock);
}

void cs_progress_end(void)
{
    pthread_mutex_lock(&conf.lock);
    if (conf.progress_open)
        write_line("\n", 1);
    conf.progress_open = 0;
    pthread_mutex_unlock(&conf.lock);
}
