/* key.c: the checks of key.h. */
#include "store/key.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

int cs_key_check_path(const char *key)
{
    const char *s = key;

    for (;;) {
        const char *end = strchr(s, '/');
        size_t n = end ? (size_t)(end - s) : strlen(s);

        /* the last segment may be empty: "dir/" */
        if ((n == 0 && (end || s == key)) || (n == 1 && s[0] == '.') ||
            (n == 2 && s[0] == '.' && s[1] == '.'))
            return CS_EUSAGE;
        if (!end)
            return 0;
        s = end + 1;
    }
}

int cs_key_is_line(const char *key)
{
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static size_t quote_one(unsigned char c, char out[5])
{
    static const char named[] = "\a a\b b\t t\n n\v v\f f\r r";
    const char *hit = c && c < 0x20 ? strchr(named, (char)c) : NULL;

    if (c == '\\')
        return (size_t)snprintf(out, 5, "\\\\");
    if (hit)
        return (size_t)snprintf(out, 5, "\\%c", hit[2]);
    if (c < 0x20 || c == 0x7f)
        return (size_t)snprintf(out, 5, "\\x%02x", c);
    out[0] = (char)c;
    out[1] = 0;
    return 1;
}

const char *cs_key_quote(const char *key, char *buf, size_t size)
{
    size_t n = 0;

    if (!size)
        return buf;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        char one[5];
        size_t k = quote_one(*p, one);

        if (n + k >= size)
            break;
        memcpy(buf + n, one, k);
        n += k;
    }
    buf[n] = 0;
    return buf;
}
