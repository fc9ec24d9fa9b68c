/* run.c: the part of cs-send and cs-recv after option parsing. */
#include "net/transfer.h"

#include <string.h>

#include "err.h"
#include "log.h"
#include "opt.h"
#include "sig.h"

int cs_transfer_opt(struct cs_transfer_args *a, int key, const char *arg)
{
    long n;

    if (key == 't') {
        if (cs_parse_seconds(arg, &a->timeout) < 0 || a->timeout <= 0)
            return cs_opt_bad("timeout", arg, "seconds, like 5 or 0.5");
        return 0;
    }
    if (!strcmp(arg, "forever")) {
        a->retry = -1;
        return 0;
    }
    if (cs_parse_int(arg, 0, 1000000, &n) < 0)
        return cs_opt_bad("retry", arg, "a count or 'forever'");
    a->retry = (int)n;
    return 0;
}

int cs_transfer_run(const struct cs_transfer_args *a, enum cs_net_dir dir)
{
    struct cs_transfer t = { .fd = dir == CS_NET_SEND ? 0 : 1 };
    struct cs_net_conf net = { 0 };
    int ret;

    ret = cs_net_conf_parse(&net, a->url, dir);
    if (ret < 0)
        goto out;
    net.timeout = a->timeout;
    net.access = a->access;
    if (a->access && (net.ops != &cs_net_srt ||
                      net.mode != CS_NET_LISTENER)) {
        cs_error("--access needs an srt:// URL in listener mode");
        ret = CS_EUSAGE;
        goto out;
    }
    t.pace = a->pace;
    t.retry = a->retry;
    t.once = a->once;
    ret = cs_sig_install();
    if (ret < 0) {
        cs_error("cannot start: %s", CS_ERRSTR(ret));
        goto out;
    }
    ret = cs_opt_stats_open(&t.stats, a->stats);
    if (ret < 0)
        goto out;
    ret = dir == CS_NET_SEND ? cs_transfer_send(&net, &t)
                             : cs_transfer_recv(&net, &t);
    if (ret < 0 && ret != CS_ESTOP)
        cs_error("%s", t.err[0] ? t.err : CS_ERRSTR(ret));
out:
    cs_stats_close(&t.stats, NULL);
    cs_net_conf_free(&net);
    return ret;
}

int cs_transfer_main(const struct cs_cmd *cmd, int argc, char **argv,
                     struct cs_transfer_args *a, cs_opt_fn fn,
                     enum cs_net_dir dir)
{
    struct cs_common common = { 0 };
    int first;

    first = cs_opt_parse(cmd, argc, argv, &common, fn, a);
    if (first <= 0)
        return first == CS_OPT_EXIT ? CS_EXIT_OK : CS_EXIT_USAGE;
    if (argc - first != 1) {
        cs_error("expected one URL (see --help)");
        return CS_EXIT_USAGE;
    }
    a->url = argv[first];
    a->stats = common.stats;
    return cs_exit_status(cs_transfer_run(a, dir));
}
