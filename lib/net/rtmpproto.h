/* net/rtmpproto.h: the RTMP wire format as pure functions over bytes, for
 * the listener in rtmpserv.c and for a fuzzer.
 *
 * The parser takes what a client sent, one step a call: the handshake's
 * C0+C1, its C2, then chunk after chunk until a whole message is
 * assembled. It allocates only the messages being assembled, all bounded
 * (CS_RTMP_MAX_*), and never reads past the bytes it is given.
 */
#ifndef CS_NET_RTMPPROTO_H
#define CS_NET_RTMPPROTO_H

#include <stddef.h>
#include <stdint.h>

#define CS_RTMP_HANDSHAKE 1536
#define CS_RTMP_MAX_CSID 64             /* chunk streams a connection uses */
#define CS_RTMP_MAX_MSG (4 << 20)       /* bytes in one message */
#define CS_RTMP_MAX_HELD (8 << 20)      /* bytes of all partial messages */
#define CS_RTMP_MAX_CHUNK 65536         /* largest Set Chunk Size taken */
#define CS_RTMP_MAX_HEADER 18           /* a chunk header's bytes, at most */

/* Message types (RTMP 1.0, 5.4 and 7.1). */
enum cs_rtmp_type {
    CS_RTMP_SET_CHUNK_SIZE = 1,
    CS_RTMP_ABORT = 2,
    CS_RTMP_ACK = 3,
    CS_RTMP_USER_CONTROL = 4,
    CS_RTMP_WINDOW_ACK = 5,
    CS_RTMP_PEER_BW = 6,
    CS_RTMP_AUDIO = 8,
    CS_RTMP_VIDEO = 9,
    CS_RTMP_DATA_AMF3 = 15,
    CS_RTMP_COMMAND_AMF3 = 17,
    CS_RTMP_DATA = 18,
    CS_RTMP_COMMAND = 20,
};

enum cs_rtmp_event {
    CS_RTMP_NEED = 0,   /* more bytes are needed (nothing was used) */
    CS_RTMP_C1,         /* C0+C1 read: answer with S0 S1 S2 */
    CS_RTMP_READY,      /* C2 read: the handshake is done */
    CS_RTMP_CHUNK,      /* a chunk was taken; no message is complete */
    CS_RTMP_MSG,        /* a message is complete */
};

struct cs_rtmp_msg {
    uint8_t type;
    uint32_t stream;            /* message stream id */
    uint32_t ts;                /* milliseconds */
    uint32_t len;
    const uint8_t *data;        /* valid until the next call */
};

struct cs_rtmp_cs {             /* one chunk stream's last header */
    uint32_t id;                /* 0: slot unused */
    uint32_t ts, delta, len, stream, have, cap;
    uint8_t type;
    uint8_t ext;                /* its timestamp field was extended */
    uint8_t *buf;               /* the message being assembled (grown as
                                 * its chunks come, not as announced) */
};

struct cs_rtmp_parser {
    int state;                  /* 0: C0+C1, 1: C2, 2: chunks */
    uint32_t chunk_size;        /* the client's, 128 until it says */
    uint32_t max_msg;           /* bytes in one message (init: the
                                 * most, CS_RTMP_MAX_MSG); a caller may
                                 * lower it, e.g. before a publish */
    struct cs_rtmp_cs cs[CS_RTMP_MAX_CSID];
    size_t held;                /* bytes in partial messages */
    uint8_t *done;              /* the message last returned */
    char why[96];               /* the cause of a failure */
};

void cs_rtmp_parser_init(struct cs_rtmp_parser *p);
void cs_rtmp_parser_free(struct cs_rtmp_parser *p);

/* Take one step over BUF[0..N): *USED gets the bytes taken. Returns an
 * event; with CS_RTMP_C1, MSG->data points at C1 (in BUF); with
 * CS_RTMP_MSG, MSG is the message. Returns -1 for a malformed or
 * over-limit input (p->why says what); the connection must end then.
 * Set Chunk Size and Abort take effect here (and are returned). */
int cs_rtmp_parse(struct cs_rtmp_parser *p, const uint8_t *buf, size_t n,
                  size_t *used, struct cs_rtmp_msg *msg);

/* AMF0 (the values commands and metadata are made of). */
#define CS_AMF_ARGS 4
#define CS_AMF_STR 256

enum cs_amf_kind { CS_AMF_OTHER = 0, CS_AMF_NUM, CS_AMF_TEXT };

/* A command message: NAME TXN OBJECT ARGS... (RTMP 1.0, 7.2). Strings
 * longer than CS_AMF_STR - 1 bytes make the message malformed. */
struct cs_amf_cmd {
    char name[64];
    double txn;
    char app[CS_AMF_STR];       /* the command object's "app", if any */
    int nargs;
    enum cs_amf_kind kind[CS_AMF_ARGS];
    double num[CS_AMF_ARGS];
    char str[CS_AMF_ARGS][CS_AMF_STR];
};

/* Decode a command message. Returns 0, or -1 when it is malformed. */
int cs_amf_command(const uint8_t *d, size_t n, struct cs_amf_cmd *c);

/* A data message: "@setDataFrame" "onMetaData" {..} or "onMetaData"
 * {..}. Returns 1 for metadata, with *HAS_VIDEO and *HAS_AUDIO saying
 * whether it names a video and an audio codec; 0 for another data
 * message; -1 when it is malformed. */
int cs_amf_metadata(const uint8_t *d, size_t n, int *has_video,
                    int *has_audio);

/* Writing: each call appends to o->buf (o->size bytes of room, o->len
 * used), or sets o->full when the room is short. */
struct cs_amf_out {
    uint8_t *buf;
    size_t size, len;
    int full;                   /* a write did not fit */
};

void cs_amf_put_num(struct cs_amf_out *o, double v);
void cs_amf_put_str(struct cs_amf_out *o, const char *s);
void cs_amf_put_null(struct cs_amf_out *o);
void cs_amf_put_obj_start(struct cs_amf_out *o);
void cs_amf_put_prop(struct cs_amf_out *o, const char *name);
void cs_amf_put_obj_end(struct cs_amf_out *o);

/* Append message TYPE on chunk stream CSID (2..63) and message stream
 * STREAM to O, cut into chunks of CHUNK bytes. */
void cs_rtmp_put_msg(struct cs_amf_out *o, int csid, uint8_t type,
                     uint32_t stream, uint32_t ts, const uint8_t *data,
                     size_t len, uint32_t chunk);

#endif
