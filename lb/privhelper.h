/* privhelper: the one privileged helper process. Forked at start, before the daemon would drop
 * its privileges, it runs on request what must stay privileged (--ha-notify commands, later the
 * BGP announcer's). It keeps only its end of a socketpair (every other inherited descriptor is
 * closed), runs each command with stdin, stdout and stderr on /dev/null, reports how each one
 * ended, and dies with its parent (PR_SET_PDEATHSIG): a killed daemon leaves nothing behind. */
#ifndef RAWLB_PRIVHELPER_H
#define RAWLB_PRIVHELPER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PRIVHELPER_ARGS_MAX 8
#define PRIVHELPER_MSG_MAX 4096

/* How one command ended, in the daemon's loop: status as from waitpid. */
typedef void (*privhelper_done_cb)(void *arg, const char *command, int status);

struct privhelper {
    pid_t pid; /* 0 when not started */
    int fd;    /* the daemon's end of the socketpair, -1 when closed */
    struct ev_loop *loop;
    ev_io io;
    privhelper_done_cb done;
    void *done_arg;
};

/* Forks the helper. Call before any thread starts. */
bool privhelper_start(struct privhelper *h, struct ev_loop *loop, privhelper_done_cb done, void *arg, char *err,
                      size_t errlen);
/* Asks the helper to run COMMAND through /bin/sh with ARG... appended as arguments
 * (`sh -c 'COMMAND "$@"' sh ARG...`: "--ha-notify /etc/rawlb/notify" is run as
 * "/etc/rawlb/notify master"). Never blocks the loop; false when the helper is gone or the
 * request does not fit PRIVHELPER_MSG_MAX. */
bool privhelper_run(struct privhelper *h, const char *command, const char *const *args, unsigned nargs);
/* Closes the socketpair (the helper exits) and reaps it. */
void privhelper_stop(struct privhelper *h);

#endif
