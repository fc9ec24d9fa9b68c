/* err.h: error codes, error values and the exit-status table shared by
 * every program.
 *
 * Library functions return 0 (or a count) on success and a negative code on
 * failure: AVERROR(errno), AVERROR_* from libav*, or one of the CS_E* codes
 * below. An entry point that can say more than a code takes a caller-owned
 * struct cs_err and fills it with one line naming what failed and why; the
 * library never prints an error. Only main prints it (once) and turns it
 * into an exit status.
 */
#ifndef CS_ERR_H
#define CS_ERR_H

#include <libavutil/error.h>

/* The exit statuses, as documented in cs(7). */
enum cs_exit {
    CS_EXIT_OK = 0,      /* done (also a clean stop on SIGINT/SIGTERM) */
    CS_EXIT_FAIL = 1,    /* runtime failure: I/O, internal */
    CS_EXIT_USAGE = 2,   /* usage or configuration error: do not restart */
    CS_EXIT_DATA = 3,    /* bad input data */
    CS_EXIT_NET = 4,     /* peer or network unavailable: worth retrying */
};

#define CS_EUSAGE FFERRTAG('C', 'S', 'U', 'S') /* bad option or setting */
#define CS_ENET   FFERRTAG('C', 'S', 'N', 'T') /* peer unavailable */
#define CS_EDATA  AVERROR_INVALIDDATA           /* input is not what it should be */
#define CS_ESTOP  FFERRTAG('C', 'S', 'S', 'P') /* stopped by a signal */
#define CS_EEMPTY FFERRTAG('C', 'S', 'E', 'M') /* input holds nothing */

/* One failure, as a value. The first failure recorded wins: the cause
 * survives the unwinding of its callers, who may add nothing or only
 * context. Zero-initialise (or cs_err_clear) before use. */
struct cs_err {
    int code;        /* the negative code; 0 while nothing failed */
    int status;      /* exit status (enum cs_exit) chosen for it */
    char msg[480];   /* one line, no program name, no full stop */
};

/* Record CODE with a message made from FMT, unless E already holds a
 * failure, and return CODE (so `return cs_err_set(e, ret, ...);`). The exit
 * status follows the code (cs_exit_status). E may be NULL. */
int cs_err_set(struct cs_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with the code's description appended: "FMT: no such file". */
int cs_err_code(struct cs_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same as cs_err_set with an explicit exit status, for a failure whose
 * code alone would map to another one (a --stats path that cannot be
 * opened is a usage error whatever errno says). */
int cs_err_setx(struct cs_err *e, int code, enum cs_exit status,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Whether E holds a failure. */
static inline int cs_err_failed(const struct cs_err *e)
{
    return e && e->code < 0;
}

/* Forget what E holds. */
void cs_err_clear(struct cs_err *e);

/* Map an error code to the exit status of the table above. */
int cs_exit_status(int err);

/* A short lower-case description of an error code. Thread-safe: returns a
 * static string or writes into buf. */
const char *cs_strerror(int err, char *buf, size_t size);

/* Convenience for one message: uses a per-call buffer in the macro. */
#define CS_ERRSTR(e) cs_strerror((e), (char[128]){0}, 128)

#endif
