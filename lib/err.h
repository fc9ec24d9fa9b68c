/* err.h: error codes and the exit-status table shared by every program.
 *
 * Library functions return 0 (or a count) on success and a negative code on
 * failure: AVERROR(errno), AVERROR_* from libav*, or one of the CS_E* codes
 * below. Only main turns a code into an exit status, with cs_exit_status().
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

/* Map an error code to the exit status of the table above. */
int cs_exit_status(int err);

/* A short lower-case description of an error code. Thread-safe: returns a
 * static string or writes into buf. */
const char *cs_strerror(int err, char *buf, size_t size);

/* Convenience for one message: uses a per-call buffer in the macro. */
#define CS_ERRSTR(e) cs_strerror((e), (char[128]){0}, 128)

#endif
