/* decode/source.h: the sequence of inputs cs-decode plays: the operands,
 * or a play list read line by line as a producer writes it, repeated
 * --loop times.
 */
#ifndef CS_DECODE_SOURCE_H
#define CS_DECODE_SOURCE_H

struct cs_source;

/* INPUTS (NB of them) or, when PLAYLIST is set, its lines ("-": stdin).
 * LOOP: how many times to play the whole list (0: forever). */
int cs_source_open(struct cs_source **out, const char *const *inputs, int nb,
                   const char *playlist, int loop);

/* The next input in *URL (owned by the source, valid until the next call).
 * Returns 1, 0 at the end, or a negative code. Blocks on a play list pipe
 * until a line arrives. Blank lines and lines starting with '#' are
 * skipped. */
int cs_source_next(struct cs_source *s, const char **url);

/* True when the inputs come from a play list (broken items are skipped). */
int cs_source_is_playlist(const struct cs_source *s);

void cs_source_free(struct cs_source **s);

#endif
