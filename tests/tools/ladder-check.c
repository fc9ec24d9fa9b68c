/* ladder-check: unit checks of lib/ladder (rung parsing and sizing, the
 * bounded queue, the timeline, the variant labels). Prints one line per
 * failed check and exits 1 if any failed.
 * "ladder-check FILE" instead prints the label cs_ladder_variant_get()
 * reads from each video stream of FILE: "INDEX NAME BITRATE WxH FPS". */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/avutil.h>

#include "err.h"
#include "ladder/ladder.h"
#include "ladder/queue.h"
#include "ladder/spec.h"
#include "ladder/tsfix.h"
#include "log.h"

static int failed;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            printf("failed: %s (line %d)\n", #cond, __LINE__);              \
            failed = 1;                                                     \
        }                                                                   \
    } while (0)

static void check_rungs(void)
{
    struct cs_rung r[CS_LADDER_MAX_RUNGS];
    struct cs_venc_settings g;
    int n;

    cs_venc_defaults(&g);
    g.preset = "medium";
    CHECK(cs_rungs_parse("1080p:6M,360p:800k@30:preset=fast:gop=4,"
                         "720p:3M:codec=hevc:name=hd", r, &n, NULL) == 0);
    CHECK(n == 3);
    CHECK(r[1].enc.bitrate == 800000 && r[1].fps_cap.num == 30);
    CHECK(r[1].enc.gop == 4 && !strcmp(r[1].preset, "fast"));
    CHECK(r[2].enc.codec == CS_VCODEC_HEVC && !strcmp(r[2].name, "hd"));
    cs_rungs_defaults(r, n, &g);
    /* 4:3 source at 60 fps: 1080p is left out, sorted largest first. */
    CHECK(cs_rungs_fit(r, &n, 960, 720, (AVRational){ 1, 1 },
                       (AVRational){ 60, 1 }, 0, NULL) == 0);
    CHECK(n == 2);
    CHECK(r[0].enc.width == 960 && r[0].enc.height == 720);
    CHECK(!strcmp(r[0].enc.preset, "medium"));
    CHECK(r[1].enc.width == 480 && r[1].enc.height == 360);
    CHECK(r[1].enc.fps.num == 30 && !strcmp(r[1].enc.preset, "fast"));
    CHECK(cs_rungs_parse("720p", r, &n, NULL) == CS_EUSAGE);
    CHECK(cs_rungs_parse("720x:3M", r, &n, NULL) == CS_EUSAGE);
    CHECK(cs_rungs_parse("720p:3M:speed=9", r, &n, NULL) == CS_EUSAGE);
    CHECK(cs_rungs_parse("1080p:1M,1080p:1M,1080p:1M,1080p:1M,1080p:1M,"
                         "1080p:1M,1080p:1M,1080p:1M,1080p:1M", r, &n, NULL) < 0);
    /* Anamorphic 720x576 with 16:11 pixels: 1047x576 on screen. */
    CHECK(cs_rungs_parse("360p:1M", r, &n, NULL) == 0);
    CHECK(cs_rungs_fit(r, &n, 720, 576, (AVRational){ 16, 11 },
                       (AVRational){ 25, 1 }, 0, NULL) == 0);
    CHECK(r[0].enc.width == 654 && r[0].enc.height == 360);
}

struct producer {
    struct cs_queue *q;
    int pushed;
};

static void *produce(void *opaque)
{
    struct producer *p = opaque;
    static int items[16];

    for (int i = 0; i < 16; i++) {
        items[i] = i;
        if (cs_queue_push(p->q, &items[i]) < 0)
            break;
        __atomic_store_n(&p->pushed, i + 1, __ATOMIC_SEQ_CST);
    }
    cs_queue_close(p->q);
    return NULL;
}

static void check_queue(void)
{
    struct producer p = { NULL, 0 };
    pthread_t t;
    void *item;
    int peak, next = 0, ret;

    CHECK(cs_queue_alloc(&p.q, 3, NULL) == 0);
    pthread_create(&t, NULL, produce, &p);
    usleep(200000);
    /* Back-pressure: the producer waits once three items are queued. */
    CHECK(__atomic_load_n(&p.pushed, __ATOMIC_SEQ_CST) == 3);
    while ((ret = cs_queue_pop(p.q, &item)) == 0)
        CHECK(*(int *)item == next++);
    CHECK(ret == AVERROR_EOF && next == 16);
    pthread_join(t, NULL);
    CHECK(cs_queue_depth(p.q, &peak) == 0 && peak == 3);
    cs_queue_free(&p.q);
    CHECK(p.q == NULL);

    CHECK(cs_queue_alloc(&p.q, 2, NULL) == 0);
    CHECK(cs_queue_push(p.q, &next) == 0);
    cs_queue_abort(p.q, AVERROR(EPIPE));
    CHECK(cs_queue_depth(p.q, NULL) == 0);
    CHECK(cs_queue_push(p.q, &next) == AVERROR(EPIPE));
    CHECK(cs_queue_pop(p.q, &item) == AVERROR(EPIPE));
    cs_queue_free(&p.q);
}

static int64_t fix(struct cs_tsfix *tl, int slot, int64_t dts)
{
    AVPacket pkt = { 0 };

    pkt.pts = pkt.dts = dts;
    pkt.duration = 3600;
    cs_tsfix_fix(tl, slot, &pkt, (AVRational){ 1, 90000 });
    return pkt.dts;
}

static void check_timeline(void)
{
    struct cs_tsfix tl;

    cs_tsfix_init(&tl, 1000000);
    CHECK(fix(&tl, 0, 126000) == 126000);
    CHECK(fix(&tl, 0, 129600) == 129600);
    CHECK(fix(&tl, 0, 129600 + 45000) == 129600 + 45000); /* 0.5 s gap */
    CHECK(fix(&tl, 0, 90000) == 129600 + 48600);           /* back: closed */
    CHECK(fix(&tl, 0, 93600) == 129600 + 52200);
    CHECK(fix(&tl, 1, 8000000) == 8000000);  /* other slot: its own */
    /* 40 s ahead: a jump, closed */
    CHECK(fix(&tl, 0, 93600 + 3600000) == 129600 + 55800);
    CHECK(tl.jumps == 2);
    /* a 10 s pause (a publisher that came back): kept */
    CHECK(fix(&tl, 0, 93600 + 3600000 + 3600 + 900000) ==
          129600 + 55800 + 3600 + 900000);
    CHECK(tl.jumps == 2);
}

static void check_variant(void)
{
    AVFormatContext *fmt = avformat_alloc_context();
    struct cs_ladder_variant v = { "720p", 3000000, 1280, 720, { 30, 1 } };
    struct cs_ladder_variant got;
    AVStream *st;

    st = avformat_new_stream(fmt, NULL);
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    CHECK(cs_ladder_variant_set(fmt, 0, &v) == 0);
    CHECK(cs_ladder_variant_get(fmt, 0, &got) == 0);
    CHECK(!strcmp(got.name, "720p") && got.bitrate == 3000000);
    CHECK(got.width == 1280 && got.height == 720 && got.fps.num == 30);
    /* As after MPEG-TS: only the program's SDT strings are left. */
    av_dict_free(&st->metadata);
    memset(&got, 0, sizeof(got));
    CHECK(cs_ladder_variant_get(fmt, 0, &got) == 0);
    CHECK(!strcmp(got.name, "720p") && got.bitrate == 3000000);
    CHECK(got.width == 1280 && got.height == 720 && got.fps.den == 1);
    avformat_new_stream(fmt, NULL)->codecpar->codec_type =
        AVMEDIA_TYPE_AUDIO;
    CHECK(cs_ladder_variant_share(fmt, 1) == 0);
    CHECK(fmt->programs[0]->nb_stream_indexes == 2);
    CHECK(cs_ladder_variant_get(fmt, 1, &got) == AVERROR(ENOENT));
    avformat_free_context(fmt);
}

static int print_labels(const char *path)
{
    AVFormatContext *fmt = NULL;
    struct cs_ladder_variant v;

    if (avformat_open_input(&fmt, path, NULL, NULL) < 0 ||
        avformat_find_stream_info(fmt, NULL) < 0)
        return 1;
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if (cs_ladder_variant_get(fmt, (int)i, &v) == 0)
            printf("%u %s %" PRId64 " %dx%d %d/%d\n", i, v.name, v.bitrate,
                   v.width, v.height, v.fps.num, v.fps.den);
    avformat_close_input(&fmt);
    return 0;
}

int main(int argc, char **argv)
{
    cs_log_init("ladder-check", -1);
    if (argc > 1)
        return print_labels(argv[1]);
    check_rungs();
    check_queue();
    check_timeline();
    check_variant();
    return failed;
}
