/* log: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const prefix[] = { [LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning", [LOG_LVL_INFO] = "info" };
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rawlb: %s: ", prefix[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
