#include "store/s3xml.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static void copy_text(char *dst, size_t size, const struct cs_s3xml *x)
{
    size_t n = x->text_len < size - 1 ? x->text_len : size - 1;

    memcpy(dst, x->text, n);
    dst[n] = 0;
}

/* A text longer than its buffer ends the parse there: a key cut short is
 * another key, and must never reach the listing's callback. */
static void overflowed(struct cs_s3xml *x)
{
    x->overflow = 1;
    XML_StopParser(x->parser, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
                             const XML_Char **attrs)
{
    struct cs_s3xml *x = ud;

    if (x->depth == 0)
        snprintf(x->root, sizeof(x->root), "%s", name);
    if (!strcmp(name, "Contents")) {
        x->key[0] = x->obj_etag[0] = x->mtime[0] = 0;
        x->size = -1;
    }
    x->text_len = 0;
    x->depth++;
}

static void strip_quotes(char *s)
{
    size_t n = strlen(s);

    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        memmove(s, s + 1, n - 2);
        s[n - 2] = 0;
    }
}

static void end_contents(struct cs_s3xml *x)
{
    struct cs_s3_object o = { x->key, x->size, x->obj_etag, x->mtime };
    int ret;

    x->keys++;
    if (!x->fn || x->fn_ret < 0 || x->overflow)
        return;
    ret = x->fn(x->opaque, &o);
    if (ret < 0)
        x->fn_ret = ret;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct cs_s3xml *x = ud;

    x->depth--;
    if (!strcmp(name, "Contents")) {
        end_contents(x);
    } else if (!strcmp(name, "Key")) {
        if (x->text_len >= sizeof(x->key))
            overflowed(x);
        copy_text(x->key, sizeof(x->key), x);
    } else if (!strcmp(name, "Size")) {
        x->text[x->text_len < sizeof(x->text) ? x->text_len : 0] = 0;
        x->size = strtoll(x->text, NULL, 10);
    } else if (!strcmp(name, "ETag")) {
        copy_text(x->depth == 1 ? x->etag : x->obj_etag, sizeof(x->etag), x);
        strip_quotes(x->depth == 1 ? x->etag : x->obj_etag);
    } else if (!strcmp(name, "LastModified")) {
        copy_text(x->mtime, sizeof(x->mtime), x);
    } else if (!strcmp(name, "Code") && x->depth == 1) {
        copy_text(x->code, sizeof(x->code), x);
    } else if (!strcmp(name, "Message") && x->depth == 1) {
        copy_text(x->message, sizeof(x->message), x);
    } else if (!strcmp(name, "UploadId")) {
        copy_text(x->upload_id, sizeof(x->upload_id), x);
    } else if (!strcmp(name, "NextContinuationToken")) {
        if (x->text_len >= sizeof(x->token))
            overflowed(x);
        copy_text(x->token, sizeof(x->token), x);
    } else if (!strcmp(name, "IsTruncated")) {
        x->truncated = x->text_len == 4 && !memcmp(x->text, "true", 4);
    }
    x->text_len = 0;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct cs_s3xml *x = ud;
    size_t room = sizeof(x->text) - 1 - x->text_len;
    size_t n = (size_t)len;

    if (n > room) {
        n = room;
        overflowed(x);
    }
    memcpy(x->text + x->text_len, s, n);
    x->text_len += n;
}

/* XML 1.0 cannot carry a control byte other than TAB, LF and CR, yet S3
 * (asked without encoding-type=url) and s3rver write a key holding one
 * as it is, and expat then rejects the whole listing. DEL is a character
 * XML allows: such bytes become DEL in a copy of DATA (*copy, malloc'ed;
 * NULL when there were none), so that the key is still seen, and refused
 * by the caller as a key with a control character. */
static int tolerate(const char **data, size_t len, char **copy)
{
    *copy = NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)(*data)[i];

        if (b >= 0x20 || b == '\t' || b == '\n' || b == '\r')
            continue;
        if (!*copy) {
            *copy = malloc(len);
            if (!*copy)
                return AVERROR(ENOMEM);
            memcpy(*copy, *data, len);
        }
        (*copy)[i] = 0x7f;
    }
    if (*copy)
        *data = *copy;
    return 0;
}

int cs_s3xml_parse(struct cs_s3xml *x, const char *data, size_t len)
{
    cs_s3_list_fn fn = x->fn;
    void *opaque = x->opaque;
    XML_Parser p;
    char *copy;
    int ret = tolerate(&data, len, &copy);

    if (ret < 0)
        return ret;

    memset(x, 0, sizeof(*x));
    x->fn = fn;
    x->opaque = opaque;
    p = XML_ParserCreate("UTF-8");
    if (!p) {
        free(copy);
        return AVERROR(ENOMEM);
    }
    x->parser = p;
    XML_SetUserData(p, x);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    if (XML_Parse(p, data, (int)len, 1) == XML_STATUS_ERROR || x->overflow)
        ret = CS_EDATA;
    else if (x->fn_ret < 0)
        ret = x->fn_ret;
    XML_ParserFree(p);
    x->parser = NULL;
    free(copy);
    return ret;
}
