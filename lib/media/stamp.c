#include "media/stamp.h"

#include <string.h>

#include <libavutil/pixdesc.h>

#include "err.h"

#define DATA_BITS 48
#define TIME_BITS 44

static int band_rows(int h)
{
    int rows = h / CS_STAMP_BAND_DIV;

    return (rows < 8 ? 8 : rows) & ~1;
}

static int check_bits(uint64_t t)
{
    int x = 0;

    for (int i = 0; i < TIME_BITS / 4; i++)
        x ^= (int)(t >> (4 * i)) & 15;
    return x;
}

/* The 52 cell colours: 1 white, 0 black. */
static void cell_values(int64_t ms, int v[CS_STAMP_CELLS])
{
    uint64_t t = (uint64_t)ms & ((1ULL << TIME_BITS) - 1);
    uint64_t word = t << 4 | (uint64_t)check_bits(t);

    v[0] = 1;
    v[1] = 0;
    for (int i = 0; i < DATA_BITS; i++)
        v[2 + i] = (int)(word >> (DATA_BITS - 1 - i)) & 1;
    v[50] = 0;
    v[51] = 1;
}

int cs_stamp_draw(AVFrame *f, int64_t ms)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    int v[CS_STAMP_CELLS];
    int rows, crow;

    if (!d || (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) ||
        d->comp[0].depth != 8 || d->comp[0].step != 1)
        return CS_EUSAGE;
    if (f->height < 16 || f->width < CS_STAMP_CELLS)
        return CS_EUSAGE;
    rows = band_rows(f->height);
    cell_values(ms, v);
    for (int y = 0; y < rows; y++) {
        uint8_t *line = f->data[0] + (ptrdiff_t)y * f->linesize[0];

        for (int c = 0; c < CS_STAMP_CELLS; c++) {
            int x0 = (int)((int64_t)c * f->width / CS_STAMP_CELLS);
            int x1 = (int)((int64_t)(c + 1) * f->width / CS_STAMP_CELLS);

            memset(line + x0, v[c] ? 235 : 16, (size_t)(x1 - x0));
        }
    }
    /* Neutral chroma under the band, whatever the chroma layout. */
    crow = -((-rows) >> d->log2_chroma_h);
    for (int p = 1; p < 4 && d->nb_components >= 3; p++) {
        int cw;

        if (!f->data[p])
            break;
        cw = -((-f->width) >> d->log2_chroma_w);
        if (d->comp[1].plane == d->comp[2].plane)
            cw *= 2; /* interleaved U and V */
        for (int y = 0; y < crow; y++)
            memset(f->data[p] + (ptrdiff_t)y * f->linesize[p], 128,
                   (size_t)cw);
    }
    return 0;
}

static int cell_mean(const uint8_t *y, int ls, int w, int rows, int c)
{
    int x0 = (int)((int64_t)c * w / CS_STAMP_CELLS);
    int x1 = (int)((int64_t)(c + 1) * w / CS_STAMP_CELLS);
    int cw = x1 - x0, xa = x0 + cw / 4, xb = x1 - cw / 4;
    int ya = rows / 4, yb = rows - rows / 4;
    int64_t sum = 0, n = 0;

    if (xb <= xa)
        xb = xa + 1;
    for (int r = ya; r < yb; r++) {
        for (int x = xa; x < xb; x++)
            sum += y[(ptrdiff_t)r * ls + x];
        n += xb - xa;
    }
    return n ? (int)(sum / n) : 0;
}

int cs_stamp_read_luma(const uint8_t *y, int ls, int w, int h, int64_t *ms)
{
    int m[CS_STAMP_CELLS];
    int rows, white, black, mid;
    uint64_t word = 0, t;

    if (w < CS_STAMP_CELLS || h < 16)
        return CS_EDATA;
    rows = band_rows(h);
    for (int c = 0; c < CS_STAMP_CELLS; c++)
        m[c] = cell_mean(y, ls, w, rows, c);
    white = (m[0] + m[51]) / 2;
    black = (m[1] + m[50]) / 2;
    if (white - black < 64)
        return CS_EDATA;
    mid = (white + black) / 2;
    if (m[0] < mid || m[51] < mid || m[1] >= mid || m[50] >= mid)
        return CS_EDATA;
    for (int i = 0; i < DATA_BITS; i++)
        word = word << 1 | (m[2 + i] >= mid);
    t = word >> 4;
    if ((int)(word & 15) != check_bits(t))
        return CS_EDATA;
    *ms = (int64_t)t;
    return 0;
}

int cs_stamp_read(const AVFrame *f, int64_t *ms)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);

    if (!d || (d->flags & AV_PIX_FMT_FLAG_RGB) || d->comp[0].depth != 8 ||
        d->comp[0].step != 1)
        return CS_EDATA;
    return cs_stamp_read_luma(f->data[0], f->linesize[0], f->width,
                              f->height, ms);
}
