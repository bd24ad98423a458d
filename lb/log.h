/* log: the daemon's messages, one line each on stderr with a level (systemd's journal keeps
 * them). Kept tiny on purpose: nothing on the fast path logs per packet. */
#ifndef RAWLB_LOG_H
#define RAWLB_LOG_H

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO };

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)

#endif
