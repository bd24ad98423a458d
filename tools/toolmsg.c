/* toolmsg: see toolmsg.h. */
#include "toolmsg.h"

#include <stdarg.h>
#include <stdio.h>

/* "PROG: MESSAGE", the line's start both kinds share; the caller ends it. */
static void vsay(const char *prog, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
}

void toolmsg_say(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(prog, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int toolmsg_usage_error(const char *prog, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(prog, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", prog);
    return status;
}
