/* textout: see textout.h. */
#include "textout.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void textout_init(struct textout *o, char *buf, size_t len)
{
    *o = (struct textout){.buf = buf, .len = len};
    if (len)
        buf[0] = '\0';
}

void textout_printf(struct textout *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n;
    if (!o->truncated && o->len > o->pos)
        n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
    else
        n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    o->need += (size_t)n;
    if (o->truncated)
        return;
    if (o->len <= o->pos || (size_t)n >= o->len - o->pos) {
        o->truncated = true;
        return;
    }
    o->pos += (size_t)n;
}

void textout_word(struct textout *o, const char *s)
{
    if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:,=+@%-") == strlen(s)) {
        textout_printf(o, " %s", s);
        return;
    }
    textout_printf(o, " '");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            textout_printf(o, "'\\''");
        else
            textout_printf(o, "%c", *p);
    }
    textout_printf(o, "'");
}

size_t textout_finish(struct textout *o)
{
    if (!o->len)
        return 0;
    if (o->truncated) {
        char *nl = o->pos ? memrchr(o->buf, '\n', o->pos) : NULL;
        o->pos = nl ? (size_t)(nl - o->buf) + 1 : 0;
    }
    o->buf[o->pos] = '\0';
    return o->pos;
}

void textout_rewind(struct textout *o, size_t mark)
{
    o->pos = mark;
    o->need = mark;
    if (o->len)
        o->buf[mark] = '\0';
    o->truncated = false;
}

void textout_json_str(struct textout *o, const char *s)
{
    textout_printf(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            textout_printf(o, "\\%c", *p);
        else if (*p == '\n')
            textout_printf(o, "\\n");
        else if (*p == '\t')
            textout_printf(o, "\\t");
        else if (*p == '\r')
            textout_printf(o, "\\r");
        else if (*p < 0x20 || *p == 0x7f)
            textout_printf(o, "\\u%04x", *p);
        else
            textout_printf(o, "%c", *p);
    }
    textout_printf(o, "\"");
}

bool textout_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}
