/* cmd/common.h: what every command's main does the same way, linked into
 * each program (as FFmpeg's fftools share cmdutils.c). This is the one
 * place where an error value becomes a line on stderr and an exit status.
 */
#ifndef CS_CMD_COMMON_H
#define CS_CMD_COMMON_H

#include "err.h"
#include "opt.h"

struct cs_stats;

/* Parse the command line (cs_opt_parse). Returns the index of the first
 * operand; or, when the program should end now, a value <= 0 with *status
 * set: 0 after --help/--version/--dump-options, CS_EXIT_USAGE after the
 * one error line. */
int cs_cmd_parse(const struct cs_cmd *cmd, int argc, char **argv,
                 struct cs_common *common, cs_opt_fn fn, void *cfg,
                 int *status);

/* The end of a run: RET is what the library returned, ERR what it said.
 * A failure is printed once ("cs-x: MESSAGE", or the code's description
 * when ERR holds nothing); returns the exit status of cs(7). A stop by
 * signal is a clean end (0). */
int cs_cmd_exit(const struct cs_err *err, int ret);

/* Print a usage error about the shape of the command line ("cs-x:
 * MESSAGE; try 'cs-x --help'") and return CS_EXIT_USAGE. */
int cs_cmd_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print a setting that cannot work ("cs-x: MESSAGE": options that
 * contradict each other, a missing one) and return CS_EXIT_USAGE. */
int cs_cmd_conflict(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Open --stats PATH (NULL: no statistics) and install the signal handlers:
 * the two steps every command takes before its run. On failure, fills ERR
 * (a --stats path that cannot be opened is a usage error, status 2). */
int cs_cmd_start(struct cs_stats **stats, const char *path,
                 struct cs_err *err);

#endif
