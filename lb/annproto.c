/* annproto: see annproto.h. */
#include "annproto.h"

#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "textout.h"

#define WORD_VIP "vip"
#define WORD_UP "up"
#define WORD_DOWN "down"
#define WORD_END "end"
#define WORD_ERROR "error:"
#define WORD_ANNOUNCED "announced"
#define WORD_WITHDRAWN "withdrawn"
#define WORDS_MAX 4 /* one more than any line has, to tell a longer line */

void annproto_render_vip(struct textout *o, uint32_t addr, bool up)
{
    char a[ADDR_STRLEN];
    textout_printf(o, WORD_VIP " %s %s\n", addr_str(addr, a), up ? WORD_UP : WORD_DOWN);
}

void annproto_render_end(struct textout *o)
{
    textout_printf(o, WORD_END "\n");
}

/* Splits a copy of line at spaces into words; -1 when it is too long or has too many. */
static int split(const char *line, char copy[ANNPROTO_LINE_MAX], char *words[WORDS_MAX])
{
    if (strlen(line) >= ANNPROTO_LINE_MAX)
        return -1;
    strcpy(copy, line);
    int n = 0;
    for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (n == WORDS_MAX)
            return -1;
        words[n++] = w;
    }
    return n;
}

static bool parse_addr(const char *s, uint32_t *addr)
{
    char why[RAWLB_ERRLEN];
    return addr_parse_host(s, addr, why, sizeof why);
}

bool annproto_parse_snapshot_line(const char *line, enum annproto_kind *kind, uint32_t *addr, bool *up)
{
    if (strncmp(line, WORD_ERROR, strlen(WORD_ERROR)) == 0) {
        *kind = ANNPROTO_ERROR;
        return true;
    }
    char copy[ANNPROTO_LINE_MAX], *w[WORDS_MAX];
    int n = split(line, copy, w);
    if (n == 1 && strcmp(w[0], WORD_END) == 0) {
        *kind = ANNPROTO_END;
        return true;
    }
    if (n != 3 || strcmp(w[0], WORD_VIP) != 0 || (strcmp(w[2], WORD_UP) != 0 && strcmp(w[2], WORD_DOWN) != 0) ||
        !parse_addr(w[1], addr))
        return false;
    *kind = ANNPROTO_VIP;
    *up = strcmp(w[2], WORD_UP) == 0;
    return true;
}

int annproto_render_report(uint32_t addr, bool announced, char *buf, unsigned len)
{
    char a[ADDR_STRLEN];
    return snprintf(buf, len, "%s %s\n", announced ? WORD_ANNOUNCED : WORD_WITHDRAWN, addr_str(addr, a));
}

bool annproto_parse_report(const char *line, uint32_t *addr, bool *announced)
{
    char copy[ANNPROTO_LINE_MAX], *w[WORDS_MAX];
    int n = split(line, copy, w);
    if (n != 2 || (strcmp(w[0], WORD_ANNOUNCED) != 0 && strcmp(w[0], WORD_WITHDRAWN) != 0) || !parse_addr(w[1], addr))
        return false;
    *announced = strcmp(w[0], WORD_ANNOUNCED) == 0;
    return true;
}
