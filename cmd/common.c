#include "common.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "sig.h"
#include "stats.h"

int cs_cmd_parse(const struct cs_cmd *cmd, int argc, char **argv,
                 struct cs_common *common, cs_opt_fn fn, void *cfg,
                 int *status)
{
    struct cs_err err = { 0 };
    int first = cs_opt_parse(cmd, argc, argv, common, fn, cfg, &err);

    *status = CS_EXIT_OK;
    if (first < 0)
        *status = cs_cmd_exit(&err, first);
    return first;
}

int cs_cmd_exit(const struct cs_err *err, int ret)
{
    if (cs_err_failed(err)) {
        if (err->code == CS_ESTOP)
            return CS_EXIT_OK;
        cs_log(CS_LOG_ERROR, "%s", err->msg);
        return err->status;
    }
    if (ret >= 0 || ret == CS_ESTOP)
        return CS_EXIT_OK;
    cs_log(CS_LOG_ERROR, "%s", CS_ERRSTR(ret));
    return cs_exit_status(ret);
}

/* One usage line, with the --help hint when HINT. */
static int usage_line(int hint, const char *fmt, va_list ap)
{
    char msg[400];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (hint)
        cs_log(CS_LOG_ERROR, "%s; try '%s --help'", msg, cs_log_prog());
    else
        cs_log(CS_LOG_ERROR, "%s", msg);
    return CS_EXIT_USAGE;
}

int cs_cmd_usage(const char *fmt, ...)
{
    va_list ap;
    int status;

    va_start(ap, fmt);
    status = usage_line(1, fmt, ap);
    va_end(ap);
    return status;
}

int cs_cmd_conflict(const char *fmt, ...)
{
    va_list ap;
    int status;

    va_start(ap, fmt);
    status = usage_line(0, fmt, ap);
    va_end(ap);
    return status;
}

int cs_cmd_start(struct cs_stats **stats, const char *path,
                 struct cs_err *err)
{
    int ret = cs_sig_install();

    if (ret < 0)
        return cs_err_code(err, ret, "cannot install the signal handlers");
    if (!stats)
        return 0;
    ret = cs_stats_open(stats, path);
    if (ret < 0)
        return cs_err_setx(err, ret, CS_EXIT_USAGE,
                           "cannot open '%s' for --stats: %s", path,
                           CS_ERRSTR(ret));
    return 0;
}
