/* libFuzzer target: cs-serve's handling of what a client sends: the
 * request head its gate checks (lib/http/gate.c), a Range header
 * (lib/http/static.c) and the path mapped below the root (lib/http/
 * files.c). The first byte picks one. The two files are included to
 * reach their static functions. */
#include "http/gate.c"
#include "http/static.c"

#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static void make_root(void)
{
    char *made;

    snprintf(root, sizeof(root), "/tmp/cs-fuzz-http-%d", (int)getpid());
    mkdir(root, 0755);
    made = realpath(root, NULL);
    if (made) {
        snprintf(root, sizeof(root), "%s", made);
        free(made);
    }
    mkdir(strcat(strcpy((char[80]){ 0 }, root), "/v0"), 0755);
}

static void resolve(const char *url)
{
    static struct cs_req r;

    r.ffd = -1;
    cs_http_resolve(root, -1, &r, url, 0);
    if (cs_http_resolve(root, -1, &r, url, 1) == 0 &&
        strncmp(r.abs, root, strlen(root)))
        abort();                /* a path out of the root */
    if (r.ffd >= 0)
        close(r.ffd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    int64_t off = 0, len = 0;

    if (!root[0])
        make_root();
    if (size < 1)
        return 0;
    s = strndup((const char *)data + 1, size - 1);
    if (!s)
        return 0;
    switch (data[0] % 3) {
    case 0:
        check_head((const char *)data + 1, size - 1, 1 << 20);
        break;
    case 1:
        if (parse_range(s, 1000, &off, &len) == 1 &&
            (off < 0 || len <= 0 || off + len > 1000))
            abort();            /* a range outside the file */
        break;
    default:
        resolve(s);
    }
    free(s);
    return 0;
}
