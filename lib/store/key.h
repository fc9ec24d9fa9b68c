/* key.h: what makes an object key safe to use, and to print.
 *
 * A key is a byte string. Two uses turn some keys into something else:
 * a path, where an empty, '.' or '..' segment names another object (a
 * folder store resolves it; so do S3-compatible servers that keep objects
 * as files, and HTTP clients that normalise URLs), and a line of text,
 * where a control character (a newline above all) splits or hides it.
 */
#ifndef CS_STORE_KEY_H
#define CS_STORE_KEY_H

#include <stddef.h>

/* 0 when every '/'-separated segment of KEY is non-empty and neither "."
 * nor ".." (a trailing '/' is allowed), else CS_EUSAGE. */
int cs_key_check_path(const char *key);

/* Why cs_key_check_path() refuses a key, for an error line. */
#define CS_KEY_PATH_WHY "the key has an empty, '.' or '..' segment"

/* 1 when KEY can be written as one line: no byte below 0x20, no 0x7f. */
int cs_key_is_line(const char *key);

/* KEY for a message, in BUF of SIZE bytes (truncated to fit): control
 * bytes and '\' written as C escapes (\n, \t, \\, \x01). Returns BUF. */
const char *cs_key_quote(const char *key, char *buf, size_t size);

#endif
