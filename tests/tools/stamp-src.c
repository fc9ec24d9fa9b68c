/* stamp-src: raw yuv420p video on stdout, paced in real time, each frame
 * carrying the --stamp pattern (lib/media/stamp.h) of the wall clock at
 * the moment it is written. For the player-page latency test.
 *
 *   stamp-src WxH FPS SECONDS | ffmpeg -f rawvideo -pix_fmt yuv420p ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/frame.h>

#include "clock.h"
#include "opt.h"
#include "media/stamp.h"

static int put(const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(1, p, n);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int emit(AVFrame *f)
{
    for (int pl = 0; pl < 3; pl++) {
        int w = pl ? f->width / 2 : f->width;
        int h = pl ? f->height / 2 : f->height;

        for (int y = 0; y < h; y++)
            if (put(f->data[pl] + (ptrdiff_t)y * f->linesize[pl],
                    (size_t)w) < 0)
                return -1;
    }
    return 0;
}

static void paint(AVFrame *f, int n)
{
    for (int y = 0; y < f->height; y++)
        memset(f->data[0] + (ptrdiff_t)y * f->linesize[0],
               60 + (y + n) % 120, (size_t)f->width);
    for (int pl = 1; pl < 3; pl++)
        for (int y = 0; y < f->height / 2; y++)
            memset(f->data[pl] + (ptrdiff_t)y * f->linesize[pl],
                   pl == 1 ? 100 : 160, (size_t)f->width / 2);
}

int main(int argc, char **argv)
{
    AVFrame *f = av_frame_alloc();
    int w, h, ret = 1;
    double fps, secs;
    int64_t t0;

    if (argc != 4 || cs_parse_size(argv[1], &w, &h) < 0 ||
        (fps = atof(argv[2])) <= 0 || (secs = atof(argv[3])) <= 0) {
        fprintf(stderr, "usage: stamp-src WxH FPS SECONDS\n");
        return 2;
    }
    f->format = AV_PIX_FMT_YUV420P;
    f->width = w;
    f->height = h;
    if (av_frame_get_buffer(f, 0) < 0)
        goto out;
    t0 = cs_now_us();
    for (int n = 0; n < (int)(fps * secs); n++) {
        cs_sleep_until_us(t0 + (int64_t)(n * 1e6 / fps));
        paint(f, n);
        if (cs_stamp_draw(f, cs_wall_us() / 1000) < 0 || emit(f) < 0)
            goto out;
    }
    ret = 0;
out:
    av_frame_free(&f);
    return ret;
}
