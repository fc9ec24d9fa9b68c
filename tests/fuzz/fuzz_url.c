/* libFuzzer target: the transport URL parser (lib/net/url.c) that maps
 * srt://, rist://, rtmp://, udp:// ... URLs and their query parameters
 * into a configuration, for sending and for receiving. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "net/endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = strndup((const char *)data, size);

    if (!url)
        return 0;
    for (int dir = 0; dir < 2; dir++) {
        struct cs_net_conf c;
        struct cs_err err = { 0 };

        cs_net_conf_parse(&c, url, dir ? CS_NET_RECV : CS_NET_SEND, &err);
        /* the URL shown in messages never holds the query (secrets) */
        if (c.shown && strchr(c.shown, '?'))
            abort();
        cs_net_conf_free(&c);
    }
    free(url);
    return 0;
}
