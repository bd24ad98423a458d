/* toolmsg: the command-line tools' messages to stderr (rawlb-ctl, rawlb-announce), each line
 * "PROG: MESSAGE", as programs say who speaks when their stderr is mixed with others' (ExaBGP
 * passes rawlb-announce's on, a unit's journal holds rawlb-ctl's). This module owns that format
 * and the hint a usage error ends with; the tools own their words and exit statuses. */
#ifndef RAWLB_TOOLMSG_H
#define RAWLB_TOOLMSG_H

/* "PROG: MESSAGE\n". */
void toolmsg_say(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "PROG: MESSAGE (see PROG --help)\n"; returns status, the tool's exit status for a usage error,
 * so a parser can end with return toolmsg_usage_error(...). */
int toolmsg_usage_error(const char *prog, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
