/* libFuzzer target: the S3 XML replies (lib/store/s3xml.c): errors,
 * listings, multipart answers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_object(void *opaque, const struct cs_s3_object *o)
{
    /* a key handed over is always whole: NUL-terminated in its field */
    *(size_t *)opaque += strlen(o->key);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cs_s3xml x;
    size_t keys = 0;

    memset(&x, 0, sizeof(x));
    x.fn = on_object;
    x.opaque = &keys;
    if (size > (16 << 20))
        return 0;
    cs_s3xml_parse(&x, (const char *)data, size);
    return 0;
}
