/* proc.h: run a program and collect what it prints. */
#ifndef CS_FETCH_PROC_H
#define CS_FETCH_PROC_H

#include <stddef.h>

/* Run ARGV (argv[0] looked up in PATH) with standard input from /dev/null,
 * standard error passed through when QUIET is 0 (else discarded), and its
 * standard output (at most MAX bytes) into a malloc'ed NUL-terminated *out.
 * The child gets a scrubbed environment: PATH, HOME, the locale, proxies
 * and certificate paths, nothing else (no AWS_* credentials, no tokens).
 * The child runs in a process group of its own: a stop request (sig.h)
 * terminates the group and gives CS_ESTOP. Returns
 * the exit status (>= 0; 127 when the program could not start) or a
 * negative code. The caller frees *out. */
int cs_proc_run(char *const argv[], int quiet, size_t max, char **out,
                size_t *len);

#endif
