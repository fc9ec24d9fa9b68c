/* A libFuzzer target for the RTMP parser (lib/net/rtmpproto.c): the bytes
 * a client sends, handshake included, fed in pieces whose sizes the first
 * byte picks, with every command and data message decoded as AMF0.
 *
 * Built and run with the other targets by `make fuzz` (seeds in
 * tests/fuzz/corpus/rtmp: a handshake, connect and publish).
 *
 * A fixed prefix (C0, C1, C2) can be given by seeding the corpus with a
 * capture of a real publisher (tcpdump of ffmpeg -f flv rtmp://...).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/rtmpproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(const struct cs_rtmp_msg *m)
{
    struct cs_amf_cmd cmd;
    int video, audio;

    if (m->type == CS_RTMP_COMMAND)
        (void)cs_amf_command(m->data, m->len, &cmd);
    else if (m->type == CS_RTMP_DATA)
        (void)cs_amf_metadata(m->data, m->len, &video, &audio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[1 << 18];
    struct cs_rtmp_parser p;
    size_t piece, have = 0, off = 1;

    if (size < 1)
        return 0;
    piece = (size_t)data[0] * 97 + 1;
    cs_rtmp_parser_init(&p);
    /* The server's way: append what arrived, parse, keep the rest. */
    while (off < size || have) {
        size_t k = size - off < piece ? size - off : piece, used, pos = 0;
        struct cs_rtmp_msg m;
        int ev = 0;

        if (k > sizeof(buf) - have)
            k = sizeof(buf) - have;
        memcpy(buf + have, data + off, k);
        have += k;
        off += k;
        while ((ev = cs_rtmp_parse(&p, buf + pos, have - pos, &used,
                                   &m)) > 0) {
            pos += used;
            if (ev == CS_RTMP_MSG)
                decode(&m);
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
        if (ev < 0 || (k == 0 && ev == CS_RTMP_NEED))
            break;
    }
    cs_rtmp_parser_free(&p);
    return 0;
}
