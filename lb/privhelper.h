/* privhelper: the one privileged helper process. Forked at start, before the daemon drops its
 * privileges, it runs on request what must stay privileged (--ha-notify commands, later the
 * BGP announcer's). It keeps only its end of a socketpair (every other inherited descriptor is
 * closed), runs each command with stdin, stdout and stderr on /dev/null, reports how each one
 * ended, and ends with its parent (PR_SET_PDEATHSIG) or when the parent closes the socket.
 * As it ends it removes the files the daemon made in directories it may no longer write to
 * after the drop (the pid file, the control socket): given at the fork, each removed only if it
 * is still the very file it was then (device, inode and change time; a pid file only while
 * nobody holds its lock), so a newer daemon's files are never touched, and no request can name a path. */
#ifndef RAWLB_PRIVHELPER_H
#define RAWLB_PRIVHELPER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PRIVHELPER_ARGS_MAX 8
#define PRIVHELPER_MSG_MAX 4096
#define PRIVHELPER_FILES_MAX 2 /* the pid file and the control socket */

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

/* Forks the helper, which removes files[0..n_files) as it ends (n_files at most
 * PRIVHELPER_FILES_MAX; a path that does not exist now is left alone then). Call before any
 * thread starts. */
bool privhelper_start(struct privhelper *h, struct ev_loop *loop, const char *const *files, unsigned n_files,
                      privhelper_done_cb done, void *arg, char *err, size_t errlen);
/* Asks the helper to run COMMAND through /bin/sh with ARG... appended as arguments
 * (`sh -c 'COMMAND "$@"' sh ARG...`: "--ha-notify /etc/rawlb/notify" is run as
 * "/etc/rawlb/notify master"). Never blocks the loop; false when the helper is gone or the
 * request does not fit PRIVHELPER_MSG_MAX. */
bool privhelper_run(struct privhelper *h, const char *command, const char *const *args, unsigned nargs);
/* Closes the socketpair (the helper removes its files and exits) and reaps it. */
void privhelper_stop(struct privhelper *h);

#endif
