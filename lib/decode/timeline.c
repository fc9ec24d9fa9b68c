#include "decode/timeline.h"

#include <errno.h>
#include <math.h>

#include <libavutil/imgutils.h>

#include "err.h"
#include "log.h"
#include "media/resample.h"
#include "media/scale.h"

#define AUDIO_CHUNK 1024
/* A jump larger than this inside one input starts a new time origin. */
#define MAX_JUMP_S 5.0
/* Audio that outlasts the video by less than this is cut at the video. */
#define AUDIO_TAIL_S 0.5

struct cs_timeline {
    int w, h;
    enum AVPixelFormat fmt;
    AVRational fps;
    int rate;             /* audio samples a second */
    struct cs_timeline_sink sink;
    struct cs_scaler *scaler;
    struct cs_resampler *resampler;
    int64_t k;            /* next output frame */
    int64_t a_out;        /* audio samples written */
    /* The current input's segment: its streams (NULL: none). */
    const AVStream *vst, *ast;
    int64_t seg_a;        /* first audio sample of the segment */
    double pos;           /* the inputs' lengths summed (s): where the
                             segment starts on the exact timeline */
    double late;          /* how much later its first slot is (s) */
    int64_t skip_a;       /* audio samples before the origin, to drop */
    double origin;        /* input time (s) that maps to the segment start */
    int origin_set;
    int origin_guessed;   /* origin from the video stream's start time,
                             until its first frame tells it */
    int video_started;
    AVFrame *last;        /* the picture being shown */
    int last_shown;       /* times it was written */
    int64_t dropped;      /* pictures never written */
    int64_t duplicated;   /* frames written again (or black filler) */
    double last_t;        /* its local time */
    double vid_end;       /* local time the video reaches */
    int audio_started;
    int64_t limit;        /* frames to write at most; 0: no limit */
};

int cs_timeline_alloc(struct cs_timeline **out, int width, int height,
                      enum AVPixelFormat fmt, AVRational fps, int rate,
                      const struct cs_timeline_sink *sink)
{
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    struct cs_timeline *t = av_mallocz(sizeof(*t));

    *out = NULL;
    if (!t)
        return AVERROR(ENOMEM);
    t->w = width;
    t->h = height;
    t->fmt = fmt;
    t->fps = fps;
    t->rate = rate;
    t->sink = *sink;
    t->scaler = cs_scaler_alloc(width, height, fmt, CS_SCALE_PAD);
    t->resampler = cs_resampler_alloc(rate, &stereo,
                                      AV_SAMPLE_FMT_S16);
    if (!t->scaler || !t->resampler) {
        cs_timeline_free(&t);
        return AVERROR(ENOMEM);
    }
    *out = t;
    return 0;
}

/* The time of frame K in the current input. Measured from where the input
 * starts on the exact timeline, not from its first slot: an input that
 * starts up to a frame late (its start rounded) is placed that much
 * earlier, so that the rounding never adds up from input to input. */
static double local_time(const struct cs_timeline *t, int64_t k)
{
    return (double)k * t->fps.den / t->fps.num - t->pos;
}

static int64_t samples_at(const struct cs_timeline *t, int64_t k)
{
    return av_rescale(k, (int64_t)t->rate * t->fps.den, t->fps.num);
}

/* Write queued audio up to LIMIT samples (global), in chunks. */
static int pump_audio(struct cs_timeline *t, int64_t limit, int partial)
{
    while (t->a_out < limit) {
        int64_t want = limit - t->a_out;
        int nb = want < AUDIO_CHUNK ? (int)want : AUDIO_CHUNK;
        AVFrame *f;
        int ret;

        if (cs_resampler_queued(t->resampler) < nb ||
            (nb < AUDIO_CHUNK && !partial))
            return 0;
        ret = cs_resampler_read(t->resampler, nb, &f);
        if (ret < 0)
            return ret;
        f->pts = t->a_out;
        ret = t->sink.audio(t->sink.opaque, f);
        av_frame_free(&f);
        if (ret < 0)
            return ret;
        t->a_out += nb;
    }
    return 0;
}

/* Silence after the audio written and queued, up to END samples (global). */
static int silence_to(struct cs_timeline *t, int64_t end)
{
    int64_t want = end - t->a_out - cs_resampler_queued(t->resampler);

    return want > 0 ? cs_resampler_silence(t->resampler, (int)want) : 0;
}

/* Whether the frame limit is reached: no more slots. */
static int full(const struct cs_timeline *t)
{
    return t->limit > 0 && t->k >= t->limit;
}

/* Write the picture being shown into the next slot. */
static int emit_video(struct cs_timeline *t)
{
    AVFrame *f = t->last;
    int ret;

    f->pts = t->k;
    ret = t->sink.video(t->sink.opaque, f);
    if (ret < 0)
        return ret;
    if (t->last_shown++)
        t->duplicated++;
    t->k++;
    /* An input without sound: silence with each frame, as it goes. Not
     * all of it at the input's end: the muxer holds the pictures until
     * the sound catches up, so that a live output stood still for the
     * length of the input and then came in a burst (a 6 s clip without
     * sound in the demo's channel added 5 s of latency for good). */
    ret = t->ast ? 0 : silence_to(t, samples_at(t, t->k));
    return ret < 0 ? ret : pump_audio(t, samples_at(t, t->k), 0);
}

/* Show picture F next (SHOWN: count its first write as a repeat); the
 * picture it replaces is dropped if it was never written. */
static void set_last(struct cs_timeline *t, AVFrame *f, int shown)
{
    if (t->last && !t->last_shown)
        t->dropped++;
    av_frame_free(&t->last);
    t->last = f;
    t->last_shown = shown;
}

int cs_timeline_begin(struct cs_timeline *t, const struct cs_input *in)
{
    const AVFormatContext *fmt = in->fmt;
    const AVStream *vst = in->vidx >= 0 ? fmt->streams[in->vidx] : NULL;
    int64_t start = fmt->start_time;

    /* The picture's first frame starts the segment: an audio stream that
     * starts earlier (Opus' pre-skip in Matroska moves the file's start
     * before it) would lengthen every input by the difference. */
    if (vst && vst->start_time != AV_NOPTS_VALUE)
        start = av_rescale_q(vst->start_time, vst->time_base,
                             AV_TIME_BASE_Q);
    cs_timeline_begin_streams(t, vst,
                              in->aidx >= 0 ? fmt->streams[in->aidx] : NULL,
                              start);
    /* That start time is not always the picture's: for a short Matroska
     * file with Opus, libavformat gives the video stream the file's start
     * (Opus' pre-skip, -7 ms) while its first frame is at +7 ms. The first
     * frame corrects it (14 ms too long a clip otherwise: 1000 clips of
     * the channel ended 128 ms past their sum). */
    t->origin_guessed = vst != NULL && start != AV_NOPTS_VALUE;
    return 0;
}

int cs_timeline_begin_streams(struct cs_timeline *t, const AVStream *vst,
                              const AVStream *ast, int64_t start)
{
    set_last(t, NULL, 0);
    t->vst = vst;
    t->ast = ast;
    t->late = local_time(t, t->k);
    t->seg_a = t->a_out + cs_resampler_queued(t->resampler);
    t->origin_set = 0;
    t->origin_guessed = 0;
    t->video_started = 0;
    t->origin = 0;
    if (start != AV_NOPTS_VALUE) {
        t->origin = start / (double)AV_TIME_BASE;
        t->origin_set = 1;
    }
    t->last_t = 0;
    t->vid_end = 0;
    t->audio_started = 0;
    t->skip_a = 0;
    return 0;
}

static double frame_time(const AVStream *st, const AVFrame *f,
                         double fallback)
{
    int64_t ts = f->best_effort_timestamp;

    if (ts == AV_NOPTS_VALUE)
        return fallback;
    return ts * av_q2d(st->time_base);
}

static double frame_duration(const struct cs_timeline *t, const AVFrame *f)
{
    const AVStream *st = t->vst;
    AVRational r = st->avg_frame_rate;

    if (f->pkt_duration > 0)
        return f->pkt_duration * av_q2d(st->time_base);
    if (r.num > 0 && r.den > 0)
        return av_q2d(av_inv_q(r));
    return av_q2d(av_inv_q(t->fps));
}

/* Audio samples before the picture, to drop: from the queue at once, the
 * rest as it arrives. */
static void skip_audio(struct cs_timeline *t, int64_t n)
{
    int q = cs_resampler_queued(t->resampler);

    t->skip_a += n;
    q = q < t->skip_a ? q : (int)t->skip_a;
    cs_resampler_drop(t->resampler, q);
    t->skip_a -= q;
}

/* The segment's first picture, at TS: the origin guessed before it moves
 * to it if it is later, and the audio placed on the old origin (none of it
 * written yet: audio goes out only with the picture's slots) loses the
 * difference. A picture earlier than the origin keeps it (it is shown from
 * the segment's start). */
static void first_picture(struct cs_timeline *t, double ts)
{
    double shift = ts - t->origin;

    if (!(shift > 0 && shift < MAX_JUMP_S))
        return;
    t->origin = ts;
    if (t->audio_started)
        skip_audio(t, lrint(shift * t->rate));
}

int cs_timeline_video(struct cs_timeline *t, const AVFrame *frame)
{
    double half = 0.5 * t->fps.den / t->fps.num;
    double dur = frame_duration(t, frame);
    double ts, lt;
    AVFrame *scaled;
    int ret;

    if (full(t))
        return 0;   /* past the limit: not the output's, not counted */
    ts = frame_time(t->vst, frame, t->origin + t->last_t + dur);
    if (!t->video_started && t->origin_guessed &&
        frame->best_effort_timestamp != AV_NOPTS_VALUE)
        first_picture(t, ts);
    t->video_started = 1;
    if (!t->origin_set) {
        t->origin = ts;
        t->origin_set = 1;
    }
    lt = ts - t->origin;
    if (t->last && (lt < t->last_t - half || lt > t->last_t + MAX_JUMP_S)) {
        /* A timestamp jump inside the input: carry on from here. */
        cs_verbose("timestamp jump of %.3f s in the input", lt - t->last_t);
        t->origin += lt - (t->last_t + dur);
        lt = t->last_t + dur;
    }
    if (lt < 0 && !t->last)
        lt = 0;
    ret = cs_scaler_run(t->scaler, frame, &scaled);
    if (ret < 0)
        return ret;
    if (!t->last)
        set_last(t, scaled, 0); /* fills from the segment start */
    while (!full(t) && local_time(t, t->k) + half < lt) {
        ret = emit_video(t);
        if (ret < 0)
            goto out;
    }
    if (full(t))
        goto out;
    if (t->last != scaled)
        set_last(t, scaled, 0);
    scaled = NULL;
    t->last_t = lt;
    if (lt + dur > t->vid_end)
        t->vid_end = lt + dur;
    /* The nearest picture for the next slot: send it now, not when the
     * next one arrives (one frame less of latency). */
    ret = 0;
    if (!full(t) && local_time(t, t->k) < lt + half)
        ret = emit_video(t);
out:
    if (scaled && scaled != t->last)
        av_frame_free(&scaled);
    return ret;
}

int cs_timeline_audio(struct cs_timeline *t, const AVFrame *frame)
{
    int ret;

    if (!t->audio_started) {
        double ts = frame_time(t->ast, frame, t->origin);
        double lead;

        if (!t->origin_set) {
            t->origin = ts;
            t->origin_set = 1;
        }
        lead = ts - t->origin - t->late;
        t->audio_started = 1;
        /* Audio that starts late: silence until it does; audio that starts
         * early: what comes before the picture is dropped. */
        if (lead > 0 && lead < MAX_JUMP_S) {
            ret = cs_resampler_silence(t->resampler,
                                       (int)lrint(lead * t->rate));
            if (ret < 0)
                return ret;
        } else if (lead < 0 && lead > -MAX_JUMP_S) {
            t->skip_a = lrint(-lead * t->rate);
        }
    }
    ret = cs_resampler_send(t->resampler, frame);
    if (ret < 0)
        return ret;
    if (t->skip_a > 0)
        skip_audio(t, 0);
    return pump_audio(t, samples_at(t, t->k), 0);
}

static AVFrame *black_frame(const struct cs_timeline *t)
{
    AVFrame *f = av_frame_alloc();
    ptrdiff_t ls[4];

    if (!f)
        return NULL;
    f->width = t->w;
    f->height = t->h;
    f->format = t->fmt;
    if (av_frame_get_buffer(f, 0) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    for (int i = 0; i < 4; i++)
        ls[i] = f->linesize[i];
    av_image_fill_black(f->data, ls, t->fmt, AVCOL_RANGE_MPEG, t->w, t->h);
    return f;
}

/* The frame the segment of DUR seconds ends at. Its end is rounded on the
 * exact timeline (the inputs' lengths summed), not its length alone: one
 * rounding per input would add up to a drift of many frames. */
static int64_t segment_end(struct cs_timeline *t, double dur)
{
    double fps = av_q2d(t->fps);
    int64_t end_k;

    t->pos += dur;
    end_k = llrint(t->pos * fps);
    if (end_k < t->k)
        end_k = t->k;
    /* frames written past the exact end (timestamps beyond the length
     * the input gave) are kept, and the timeline goes on from them */
    if (end_k > llrint(t->pos * fps) + 1)
        t->pos = end_k / fps;
    return end_k;
}

/* Where the picture of the current input ends (local time). A container
 * with a coarse clock (Matroska's milliseconds) rounds each timestamp and
 * duration, so a clip at a constant rate ends up to a tick off its rate's
 * grid: such an end is put on the grid (a 60 fps clip of 42 frames lasted
 * 0.699 s, not 0.7, and the channel's 259 Matroska clips in 1000 lost
 * 103 ms in all). */
static double video_end(const struct cs_timeline *t)
{
    const AVStream *st = t->vst;
    double rate, tick, n;

    if (!st || st->avg_frame_rate.num <= 0 || st->avg_frame_rate.den <= 0)
        return t->vid_end;
    rate = av_q2d(st->avg_frame_rate);
    tick = av_q2d(st->time_base);
    n = round(t->vid_end * rate);
    return n > 0 && fabs(t->vid_end - n / rate) <= tick + 1e-9 ? n / rate
                                                                : t->vid_end;
}

int cs_timeline_end(struct cs_timeline *t)
{
    int64_t queued, aud, end_k, end_a;
    double dur;
    int ret;

    ret = cs_resampler_send(t->resampler, NULL);
    if (ret < 0)
        return ret;
    queued = cs_resampler_queued(t->resampler);
    aud = t->a_out + queued - t->seg_a;
    /* The video's length decides, unless the audio goes on for longer than
     * an encoder's padding (AAC adds up to a frame of silence). */
    dur = (double)aud / t->rate + t->late;
    if (t->vid_end > 0 && dur < t->vid_end + AUDIO_TAIL_S)
        dur = video_end(t);
    end_k = segment_end(t, dur);
    if (t->limit > 0 && end_k > t->limit)
        end_k = t->limit > t->k ? t->limit : t->k;
    if (!t->last && t->k < end_k) {
        set_last(t, black_frame(t), 1);
        if (!t->last)
            return AVERROR(ENOMEM);
    }
    while (t->k < end_k) {
        ret = emit_video(t);
        if (ret < 0)
            return ret;
    }
    end_a = samples_at(t, end_k);
    ret = silence_to(t, end_a);
    if (ret < 0)
        return ret;
    ret = pump_audio(t, end_a, 1);
    if (ret < 0)
        return ret;
    /* Audio past the last frame of this input is dropped. */
    cs_resampler_drop(t->resampler, cs_resampler_queued(t->resampler));
    set_last(t, NULL, 0);
    t->vst = t->ast = NULL;
    return 0;
}

void cs_timeline_set_limit(struct cs_timeline *t, int64_t frames)
{
    t->limit = frames;
}

int64_t cs_timeline_frames(const struct cs_timeline *t)
{
    return t->k;
}

int64_t cs_timeline_samples(const struct cs_timeline *t)
{
    return t->a_out;
}

int64_t cs_timeline_dropped(const struct cs_timeline *t)
{
    return t->dropped;
}

int64_t cs_timeline_duplicated(const struct cs_timeline *t)
{
    return t->duplicated;
}

void cs_timeline_free(struct cs_timeline **pt)
{
    struct cs_timeline *t = *pt;

    if (!t)
        return;
    cs_scaler_free(&t->scaler);
    cs_resampler_free(&t->resampler);
    av_frame_free(&t->last);
    av_freep(pt);
}
