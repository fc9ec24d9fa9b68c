/* libFuzzer target: cs-segment's restart state (lib/hls/state.c), read
 * back into a packager with a video and an audio track, then written
 * again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hls/internal.h"
#include "hls/names.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct cs_pkg_config cfg = { .output = "out" };
    static struct cs_pkg p;
    struct cs_state_pending pend;
    struct cs_err err = { 0 };
    char *text;

    cs_log_init("fuzz", -1);    /* the warnings are not what is tested */
    memset(&p, 0, sizeof(p));
    p.cfg = &cfg;
    p.err = &err;
    p.ntracks = 2;
    snprintf(p.tracks[0].name, sizeof(p.tracks[0].name), "v0");
    snprintf(p.tracks[1].name, sizeof(p.tracks[1].name), "audio");
    if (cs_state_load(&p, (const char *)data, size, &pend) > 0) {
        for (int i = 0; i < pend.ndels; i++)
            if (!cs_name_is_own(pend.dels[i].name))
                abort();        /* a deletion a restart must not do */
        text = cs_state_text(&p);
        free(text);
    }
    free(pend.dels);
    for (int i = 0; i < p.ntracks; i++)
        free(p.tracks[i].segs);
    return 0;
}
