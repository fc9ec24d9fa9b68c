/* libFuzzer target: the LL-HLS request directives of cs-serve (lib/http/
 * llhls.c: _HLS_msn, _HLS_part, _HLS_skip) against a playlist: which
 * requests are too far ahead, which are satisfied, the cache age. The
 * input is "MSN\nPART\nSKIP\n" then the playlist. The file is included
 * to reach its static functions. */
#include "http/llhls.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of *P (at most END), NUL-terminated into BUF. */
static const char *field(const char **p, const char *end, char *buf,
                         size_t n)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);

    if (len >= n)
        len = n - 1;
    memcpy(buf, *p, len);
    buf[len] = 0;
    *p = nl ? nl + 1 : end;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    char msn[32], part[32], skip[32], cache[64];
    static struct cs_req r;
    struct cs_m3u8 m;

    memset(&r, 0, sizeof(r));
    field(&p, end, msn, sizeof(msn));
    field(&p, end, part, sizeof(part));
    field(&p, end, skip, sizeof(skip));
    if (parse_uint(msn, &r.msn) == 0)
        r.has_msn = 1;
    if (parse_uint(part, &r.part) == 0)
        r.has_part = r.has_msn;
    r.skip = !strcmp(skip, "YES") ? CS_SKIP_YES :
             !strcmp(skip, "v2") ? CS_SKIP_V2 : CS_SKIP_NO;
    if (cs_m3u8_parse(&m, p, (size_t)(end - p)) < 0)
        return 0;
    if (!too_far(&r, &m))
        satisfied(&r, &m);
    advance_limit(&m);
    cache_control(&r, &m, cache, sizeof(cache));
    cs_m3u8_free(&m);
    return 0;
}
