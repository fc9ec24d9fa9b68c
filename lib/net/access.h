/* net/access.h: who may publish to a listener (--access FILE): SRT by
 * stream id and passphrase, RTMP by stream key (the passphrase column).
 *
 * One entry a line: STREAMID PASSPHRASE MODE, where PASSPHRASE is "-" for
 * none and MODE is "publish" (may send to us), "play" (may receive from
 * us) or "both". '#' starts a comment. A stream id in SRT's access-control
 * syntax ("#!::r=live/cat,m=publish") is matched by its r= resource.
 */
#ifndef CS_NET_ACCESS_H
#define CS_NET_ACCESS_H

#include <stddef.h>

enum cs_access_mode {
    CS_ACCESS_PUBLISH = 1 << 0,
    CS_ACCESS_PLAY = 1 << 1,
};

struct cs_access_entry {
    char *streamid;
    char *passphrase;       /* NULL: none */
    unsigned modes;
};

struct cs_access {
    struct cs_access_entry *e;
    int n;
};

struct cs_err;

/* Load PATH into *out. Returns 0, AVERROR(errno) when it cannot be read,
 * or CS_EUSAGE for a bad line. Free with cs_access_free(). */
int cs_access_load(struct cs_access **out, const char *path);
void cs_access_free(struct cs_access **a);

/* Read PATH as cs_access_load() does and forget it, so that a command can
 * say which line is wrong before it listens. Codes as cs_access_load();
 * for a bad line ERR names it ("invalid access file 'F': line N: ..."),
 * for a file that cannot be read ERR is left to the caller. */
int cs_access_check(const char *path, struct cs_err *err);

/* The entry for a stream id as a caller sent it, or NULL. *MODE gets the
 * mode the caller asked for in SRT's syntax (m=publish/request), or 0. */
const struct cs_access_entry *cs_access_find(const struct cs_access *a,
                                             const char *streamid,
                                             unsigned *mode);

/* The entry granting MODE whose secret (the PASSPHRASE column) is KEY, or
 * NULL: an RTMP publisher's stream key. Every entry is compared, each in
 * constant time, so that the time taken says nothing about the keys. */
const struct cs_access_entry *cs_access_find_key(const struct cs_access *a,
                                                 const char *key,
                                                 unsigned mode);

/* Non-zero when A (LA bytes) equals B (LB bytes), in a time that depends
 * only on the lengths. */
int cs_secret_equal(const char *a, size_t la, const char *b, size_t lb);

#endif
