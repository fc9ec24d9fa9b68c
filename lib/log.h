/* log.h: one-line messages on stderr, prefixed with the program name.
 *
 * The level is process-wide and set once by cs_log_init() before any thread
 * starts; it is the one piece of file-scope state in lib/ besides the stop
 * flag (sig.h), because libav*'s log callback has no user pointer. Only
 * whether a progress line is open changes later, from any thread (libav*
 * logs from its codec threads too), under a lock.
 * Control characters in a message (a peer's stream id, a remote file
 * name) are printed as \xNN: one message is always one line.
 * libav* messages are routed here and shown only with -v (they are noise in
 * a one-line error report).
 */
#ifndef CS_LOG_H
#define CS_LOG_H

#include <stdarg.h>

enum cs_log_level {
    CS_LOG_QUIET = -1,  /* -q: errors only */
    CS_LOG_ERROR = 0,
    CS_LOG_WARN = 1,
    CS_LOG_INFO = 2,    /* default: notes a user should see */
    CS_LOG_VERBOSE = 3, /* -v */
    CS_LOG_DEBUG = 4,   /* -vv */
};

/* Set the program name ("cs-decode") and the verbosity (0 default, <0 quiet,
 * >0 more), and route libav* logging through cs_log. */
void cs_log_init(const char *prog, int verbosity);

/* The program name given to cs_log_init. */
const char *cs_log_prog(void);

/* True when messages of this level are printed. */
int cs_log_enabled(int level);

/* Print one line "PROG: message" (warnings get "warning: "). A trailing
 * newline in fmt is optional. Safe from several threads: the line is written
 * with one write(2). */
void cs_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cs_vlog(int level, const char *fmt, va_list ap);

#define cs_error(...) cs_log(CS_LOG_ERROR, __VA_ARGS__)
#define cs_warn(...) cs_log(CS_LOG_WARN, __VA_ARGS__)
#define cs_info(...) cs_log(CS_LOG_INFO, __VA_ARGS__)
#define cs_verbose(...) cs_log(CS_LOG_VERBOSE, __VA_ARGS__)
#define cs_debug(...) cs_log(CS_LOG_DEBUG, __VA_ARGS__)

/* A progress line on stderr, rewritten in place, only when stderr is a
 * terminal and not quiet. cs_progress_end() finishes it with a newline. */
void cs_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cs_progress_end(void);

#endif
