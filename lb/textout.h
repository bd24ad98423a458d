/* textout: the bounded text writer the control answers (ctlproto), the /metrics text (metrics)
 * and HA (ha/ha.c) share. It owns one rule set: write while there is room, never overrun the
 * buffer, count what the whole text would need, and when the text is cut, end it after its last
 * whole line so a reader never sees half a line.
 *
 * After a printf that does not fit, buf holds the longest NUL-terminated prefix of the text that
 * fits (what vsnprintf managed), pos still marks the end of what fitted whole, and nothing more
 * is written until textout_rewind; textout_finish then cuts that prefix to whole lines. */
#ifndef RAWLB_TEXTOUT_H
#define RAWLB_TEXTOUT_H

#include <stdbool.h>
#include <stddef.h>

/* textout: a bounded text writer for answers and metrics: writes while there is room, never
 * overruns, counts what the whole text would need, and cuts at a line boundary. */
struct textout {
    char *buf;
    size_t len;  /* size of buf */
    size_t pos;  /* bytes written, without the NUL */
    size_t need; /* bytes the whole text needs */
    bool truncated;
};

/* Starts writing into buf[0..len) (buf[0] = '\0' when len > 0). len may be 0 (buf may then be
 * NULL): nothing is written, need still counts. */
void textout_init(struct textout *o, char *buf, size_t len);
/* Appends the formatted text when all of it fits (with its NUL); otherwise marks the text
 * truncated. Counts its length in need either way. */
void textout_printf(struct textout *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For checkers that say why they refuse: formats the message into err (errlen bytes, cut if
 * longer) and returns false, so a check can end in `return textout_error(err, errlen, ...)`. */
bool textout_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* " word", shell-quoted when it needs to be: as it is when it is plain, in single quotes
 * otherwise (a POSIX shell reads it back as the same word). */
void textout_word(struct textout *o, const char *s);
/* s as a JSON string, quoted and escaped (quotes, backslashes, control characters). */
void textout_json_str(struct textout *o, const char *s);
/* Cut text ends after its last whole line, that is after the last newline among the printfs
 * that fitted whole (empty when there is none); returns pos (the length written). truncated and
 * need stay as they were, so o->need is then the full length. Tolerates len 0 (returns 0). */
size_t textout_finish(struct textout *o);
/* Rolls back to mark (a line that did not fit) and clears truncated: the text is again what it
 * was at mark (pos = need = mark), and writing goes on from there. */
void textout_rewind(struct textout *o, size_t mark);

#endif
