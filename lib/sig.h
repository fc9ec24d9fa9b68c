/* sig.h: the clean-stop protocol shared by every program.
 *
 * SIGINT/SIGTERM set a process-wide stop flag (the one other piece of
 * file-scope state in lib/, because a signal handler has no context
 * pointer): the program drains and exits 0. A second signal exits at once
 * with 128 + signal. SIGPIPE is ignored, so a closed pipe is an EPIPE error.
 */
#ifndef CS_SIG_H
#define CS_SIG_H

/* Install the handlers. Call once from main. */
int cs_sig_install(void);

/* Non-zero once a stop was requested. */
int cs_stopping(void);

/* Request a stop from inside the program (as a first signal would). */
void cs_request_stop(void);

/* A file descriptor that becomes readable when a stop is requested, for
 * poll()/epoll loops. Never read from it. -1 before cs_sig_install(). */
int cs_sig_fd(void);

#endif
