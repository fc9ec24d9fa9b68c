#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cs_exit_status(int err)
{
    if (err >= 0 || err == CS_ESTOP)
        return CS_EXIT_OK;
    switch (err) {
    case CS_EUSAGE:
    case AVERROR_HTTP_UNAUTHORIZED: /* credentials missing or rejected */
    case AVERROR_HTTP_FORBIDDEN:
    case AVERROR_OPTION_NOT_FOUND:
    case AVERROR_PROTOCOL_NOT_FOUND:
    case AVERROR_MUXER_NOT_FOUND:
    case AVERROR_ENCODER_NOT_FOUND:
        return CS_EXIT_USAGE;
    case AVERROR_INVALIDDATA:
    case CS_EEMPTY:
    case AVERROR_EOF:
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_DEMUXER_NOT_FOUND:
    case AVERROR_STREAM_NOT_FOUND:
    case AVERROR(ENOENT):       /* the input is missing ... */
    case AVERROR(EISDIR):       /* ... or not a file */
    case AVERROR(ENOTDIR):
    case AVERROR_HTTP_BAD_REQUEST:
    case AVERROR_HTTP_NOT_FOUND:
    case AVERROR_HTTP_OTHER_4XX: /* the server says: not worth retrying */
        return CS_EXIT_DATA;
    case CS_ENET:
    case AVERROR(ECONNREFUSED):
    case AVERROR(ECONNRESET):
    case AVERROR(ECONNABORTED):
    case AVERROR(ETIMEDOUT):
    case AVERROR(EHOSTUNREACH):
    case AVERROR(ENETUNREACH):
    case AVERROR(ENETDOWN):
    case AVERROR(EPIPE):
    case AVERROR_HTTP_SERVER_ERROR:
        return CS_EXIT_NET;
    default:
        return CS_EXIT_FAIL;
    }
}

const char *cs_strerror(int err, char *buf, size_t size)
{
    switch (err) {
    case CS_EUSAGE:
        return "invalid setting";
    case CS_ENET:
        return "peer unavailable";
    case CS_ESTOP:
        return "stopped";
    case CS_EEMPTY:
        return "empty input";
    case AVERROR_INVALIDDATA:
        return "invalid data";
    case AVERROR_EOF:
        return "unexpected end of input";
    case AVERROR(ENOENT):
        return "no such file or directory";
    default:
        break;
    }
    if (av_strerror(err, buf, size) < 0)
        snprintf(buf, size, "error %d", err);
    if (buf[0])
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

static int vset(struct cs_err *e, int code, int status, int with_code,
                const char *fmt, va_list ap)
{
    size_t n;

    if (!e || e->code < 0)
        return code;
    e->code = code;
    e->status = status;
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    n = strlen(e->msg);
    if (with_code && n < sizeof(e->msg))
        snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", CS_ERRSTR(code));
    return code;
}

int cs_err_set(struct cs_err *e, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset(e, code, cs_exit_status(code), 0, fmt, ap);
    va_end(ap);
    return code;
}

int cs_err_code(struct cs_err *e, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset(e, code, cs_exit_status(code), 1, fmt, ap);
    va_end(ap);
    return code;
}

int cs_err_setx(struct cs_err *e, int code, enum cs_exit status,
                const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset(e, code, status, 0, fmt, ap);
    va_end(ap);
    return code;
}

void cs_err_clear(struct cs_err *e)
{
    if (e)
        memset(e, 0, sizeof(*e));
}
