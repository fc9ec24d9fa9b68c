/* libFuzzer target: cs-serve's media playlist parser (lib/http/m3u8.c),
 * its delta updates and date range lists. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/m3u8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_id(void *ctx, const char *id)
{
    *(size_t *)ctx += strlen(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct cs_m3u8 m;
    size_t ids = 0;

    if (cs_m3u8_parse(&m, text, size) == 0) {
        for (int mode = CS_SKIP_YES; mode <= CS_SKIP_V2; mode++) {
            char *out = NULL;
            size_t len = 0;

            /* (a playlist may hold NUL bytes: no strlen) */
            if (cs_m3u8_delta(&m, text, size, mode, "a\tb", &out,
                              &len) == 0 && out && out[len])
                abort();
            free(out);
        }
        for (int64_t msn = m.first_msn - 1; msn <= m.last_msn + 2; msn++)
            cs_m3u8_nparts(&m, msn);
        cs_m3u8_free(&m);
    }
    cs_m3u8_daterange_ids(text, size, on_id, &ids);
    return 0;
}
