/* opt.h: one description per option, from which getopt_long's table,
 * --help, --dump-options (for the completions and the man-page check) are
 * all made. The options every program has are defined here once.
 */
#ifndef CS_OPT_H
#define CS_OPT_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/rational.h>

/* How an option's value is stored. Typed options are parsed, checked
 * against their range and stored at OFF in the command's config by the
 * parser itself; CS_OPT_CALL options go to the command's callback. */
enum cs_opt_type {
    CS_OPT_CALL = 0,   /* the callback handles it (by its key) */
    CS_OPT_FLAG,       /* int: set to 1; takes no value */
    CS_OPT_STRING,     /* const char *: the argument itself, not empty */
    CS_OPT_INT,        /* int, within [min, max] */
    CS_OPT_DOUBLE,     /* double, within [min, max] */
    CS_OPT_SECONDS,    /* double: "2", "0.5", "200ms", within [min, max] */
    CS_OPT_RATE,       /* int64_t: bits per second, "800k", "2M" */
    CS_OPT_BYTES,      /* int64_t: "64M", "1GiB" */
    CS_OPT_ENUM,       /* int: the index of the word in COMPLETE */
    CS_OPT_RATIONAL,   /* AVRational: "25", "30000/1001" */
};

struct cs_opt {
    const char *name;     /* long name without "--"; NULL ends a table */
    int key;              /* short letter, a value >= 256 (CS_OPT_KEY), or
                           * 0 for a typed long-only option */
    const char *arg;      /* metavariable ("WxH"); NULL: takes no argument */
    const char *help;     /* one line, lower case */
    const char *def;      /* default: for a typed option, a value that is
                           * parsed into the field before the command line
                           * is; else (or with SHOWN) only shown by --help */
    const char *complete; /* "file", "dir", "a b c" (a word list; the
                           * values of an enum), or NULL */
    enum cs_opt_type type;
    size_t off;           /* offsetof(the command's config, the field) */
    double min, max;      /* range of a number; both 0: any (>= 0) */
    const char *shown;    /* the default as --help says it, when it is
                           * not a value ("the input's"), or NULL */
};

/* Keys for long-only options: CS_OPT_KEY(0), CS_OPT_KEY(1), ... */
#define CS_OPT_KEY(n) (256 + (n))

struct cs_cmd {
    const char *name;      /* "cs-decode" */
    const char *synopsis;  /* "[options] [INPUT]" */
    const char *summary;   /* one line */
    const struct cs_opt *opts;
    const char *epilog;    /* optional text after the options, or NULL */
    const char *commands;  /* subcommands, space-separated, or NULL */
};

/* What the common options set. */
struct cs_common {
    int verbosity;          /* -q: -1, -v: +1 each */
    const char *stats;      /* --stats FILE|- or NULL */
};

struct cs_err;

/* Called for each CS_OPT_CALL option; returns 0, or a negative code after
 * filling ERR (cs_opt_bad does) to stop with a usage error. */
typedef int (*cs_opt_fn)(void *cfg, int key, const char *arg,
                         struct cs_err *err);

enum { CS_OPT_EXIT = 0 };

/* --dump-options prints one line per option: name, short letter,
 * metavariable, completion, help, default value, default as words (when
 * --help shows words instead of the value), separated by tabs; a command
 * with subcommands first prints "@commands" with the words in the
 * completion field. */

/* Parse argv into CFG: first the defaults of the typed options, then the
 * command line. Initialises logging (cs_log_init) from -q/-v. Returns the
 * index of the first operand (>= 1) to go on, CS_OPT_EXIT when --help,
 * --version or --dump-options was printed (exit 0), or a negative code with
 * ERR filled (exit CS_EXIT_USAGE). */
int cs_opt_parse(const struct cs_cmd *cmd, int argc, char **argv,
                 struct cs_common *common, cs_opt_fn fn, void *cfg,
                 struct cs_err *err);

/* Parse ARG as option O's type into CFG (as the parser does for a typed
 * option), filling ERR with the house-style message when it is not a
 * valid value. */
int cs_opt_store(const struct cs_opt *o, const char *arg, void *cfg,
                 struct cs_err *err);

/* Print the help text to stdout. */
void cs_opt_help(const struct cs_cmd *cmd);

/* Value parsers: 0 on success, CS_EUSAGE on a malformed value (nothing is
 * printed: the caller names the option). */
int cs_parse_int(const char *s, long min, long max, long *out);
int cs_parse_double(const char *s, double min, double max, double *out);
/* "2", "0.5", "1.5s", "200ms". */
int cs_parse_seconds(const char *s, double *out);
/* Bit rates: "800k", "2M", "1.5M", "128000" (decimal multipliers). */
int cs_parse_rate(const char *s, int64_t *out);
/* Byte sizes: "5M", "64MiB", "1G", "4096" (binary multipliers). */
int cs_parse_bytes(const char *s, int64_t *out);
/* "1280x720"; both even is not required here. */
int cs_parse_size(const char *s, int *w, int *h);
/* "25", "12.5", "30000/1001". */
int cs_parse_rational(const char *s, AVRational *out);

/* Fill ERR with a bad option value in the house style and return
 * CS_EUSAGE: "invalid value 'x' for --bitrate: expected a rate like 2M".
 * OPT is the name without "--". */
int cs_opt_bad(struct cs_err *err, const char *opt, const char *value,
               const char *expected);


#endif
