#include "decode/source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/mem.h>

#include "err.h"
#include "sig.h"

struct cs_source {
    char **items;        /* everything seen so far, for the next round */
    int nb, cap;
    int pos;             /* next item in the current round */
    int round, loop;
    FILE *list;          /* the play list while it is still being read */
    int own_list;
    int playlist;
    char *line;
    size_t line_cap;
};

static int add_item(struct cs_source *s, const char *item)
{
    if (s->nb == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **n = realloc(s->items, (size_t)cap * sizeof(*n));

        if (!n)
            return AVERROR(ENOMEM);
        s->items = n;
        s->cap = cap;
    }
    s->items[s->nb] = strdup(item);
    if (!s->items[s->nb])
        return AVERROR(ENOMEM);
    s->nb++;
    return 0;
}

int cs_source_open(struct cs_source **out, const char *const *inputs, int nb,
                   const char *playlist, int loop)
{
    struct cs_source *s = calloc(1, sizeof(*s));
    int ret = 0;

    *out = NULL;
    if (!s)
        return AVERROR(ENOMEM);
    s->loop = loop;
    for (int i = 0; i < nb && ret >= 0; i++)
        ret = add_item(s, inputs[i]);
    if (ret >= 0 && playlist) {
        s->playlist = 1;
        if (!strcmp(playlist, "-")) {
            s->list = stdin;
        } else {
            s->list = fopen(playlist, "r");
            s->own_list = 1;
            if (!s->list)
                ret = AVERROR(errno);
        }
    }
    if (ret < 0) {
        cs_source_free(&s);
        return ret;
    }
    *out = s;
    return 0;
}

/* Read the next usable line of the play list; 0 at its end. */
static int read_line(struct cs_source *s)
{
    for (;;) {
        ssize_t n;
        char *p;

        errno = 0;
        n = getline(&s->line, &s->line_cap, s->list);
        if (n < 0) {
            if (errno == EINTR && !cs_stopping()) {
                clearerr(s->list);
                continue;
            }
            return cs_stopping() ? CS_ESTOP : 0;
        }
        while (n > 0 && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r' ||
                         s->line[n - 1] == ' ' || s->line[n - 1] == '\t'))
            s->line[--n] = 0;
        p = s->line + strspn(s->line, " \t");
        if (*p && *p != '#')
            return add_item(s, p) < 0 ? AVERROR(ENOMEM) : 1;
    }
}

int cs_source_next(struct cs_source *s, const char **url)
{
    int ret;

    if (cs_stopping())
        return CS_ESTOP;
    if (s->pos < s->nb) {
        *url = s->items[s->pos++];
        return 1;
    }
    if (s->list) {
        ret = read_line(s);
        if (ret != 0) {
            if (ret > 0)
                *url = s->items[s->pos++];
            return ret;
        }
        if (s->own_list)
            fclose(s->list);
        s->list = NULL;
    }
    s->round++;
    if (s->nb == 0 || (s->loop > 0 && s->round >= s->loop))
        return 0;
    s->pos = 0;
    *url = s->items[s->pos++];
    return 1;
}

int cs_source_is_playlist(const struct cs_source *s)
{
    return s->playlist;
}

void cs_source_free(struct cs_source **ps)
{
    struct cs_source *s = *ps;

    if (!s)
        return;
    for (int i = 0; i < s->nb; i++)
        free(s->items[i]);
    free(s->items);
    if (s->list && s->own_list)
        fclose(s->list);
    free(s->line);
    free(s);
    *ps = NULL;
}
