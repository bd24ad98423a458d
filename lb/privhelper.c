/* privhelper: see privhelper.h.
 *
 * Wire format on the SOCK_SEQPACKET pair (one message each way, both ends on this host):
 *   request  COMMAND '\0' ARG '\0' ...       at most PRIVHELPER_MSG_MAX bytes
 *   reply    int status, COMMAND '\0'        status as from waitpid */
#include "privhelper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HELPER_SOCK_FD 3       /* the helper's only descriptor besides stdin, stdout, stderr */
#define HELPER_RUNNING_MAX 16  /* commands at once; further requests wait in the socket */
#define HELPER_SCRIPT_TAIL " \"$@\""
#define HELPER_EXEC_FAILED 127 /* what sh reports for a command it cannot run */
#define STOP_GRACE_MS 1000     /* the helper exits at once on EOF; this bounds a wedged one */
#define STOP_POLL_MS 5
#define PARENT_GONE_SIGNAL SIGUSR1 /* PR_SET_PDEATHSIG: caught, so the files are still removed */

struct reply {
    int status;
    char command[PRIVHELPER_MSG_MAX];
};

/* ---- the helper process ---- */

struct helper_child {
    pid_t pid; /* 0 when the slot is free */
    char command[PRIVHELPER_MSG_MAX];
};

/* A file to remove at the end, as it was at the fork: an inode number alone may be reused by
 * the next file made, its change time (set when it is made) tells them apart. */
struct helper_file {
    char path[PATH_MAX];
    dev_t dev;
    ino_t ino;
    struct timespec ctime;
};

static bool same_file(const struct helper_file *f, const struct stat *st)
{
    return st->st_dev == f->dev && st->st_ino == f->ino && st->st_ctim.tv_sec == f->ctime.tv_sec &&
           st->st_ctim.tv_nsec == f->ctime.tv_nsec;
}

struct helper {
    pid_t parent;
    unsigned running;
    struct helper_child kids[HELPER_RUNNING_MAX];
    unsigned n_files;
    struct helper_file files[PRIVHELPER_FILES_MAX];
};

struct request {
    const char *command;
    const char *args[PRIVHELPER_ARGS_MAX];
    unsigned nargs;
};

/* close_range needs Linux 5.9; older kernels get the same from /proc. */
static bool close_from(int lowfd)
{
    if (close_range((unsigned)lowfd, ~0U, 0) == 0)
        return true;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return false;
    for (struct dirent *e; (e = readdir(d));) {
        int fd = atoi(e->d_name);
        if (fd >= lowfd && fd != dirfd(d))
            close(fd);
    }
    closedir(d);
    return true;
}

/* Nothing of the daemon's stays open here: its socket moves to HELPER_SOCK_FD (close-on-exec,
 * so commands do not get it either) and stdio goes to /dev/null. */
static bool helper_isolate(int sock)
{
    if (sock != HELPER_SOCK_FD && dup3(sock, HELPER_SOCK_FD, O_CLOEXEC) < 0)
        return false;
    if (!close_from(HELPER_SOCK_FD + 1))
        return false;
    int null = open("/dev/null", O_RDWR);
    if (null < 0)
        return false;
    for (int fd = 0; fd <= STDERR_FILENO; fd++)
        if (dup2(null, fd) < 0)
            return false;
    if (null > STDERR_FILENO)
        close(null);
    return true;
}

static void helper_wake(int sig)
{
    (void)sig; /* only there to interrupt ppoll: the default disposition would not */
}

static void signals_default(void)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    for (int sig = 1; sig < NSIG; sig++)
        (void)sigaction(sig, &dfl, NULL); /* fails harmlessly for SIGKILL, SIGSTOP */
}

/* The daemon's handlers mean nothing here. SIGCHLD and the parent's death stay blocked except
 * inside ppoll, so neither is missed between looking and waiting. The helper ignores the
 * terminal's and a service manager's stop signals: it ends when the daemon closes the socket or
 * dies, so that the daemon can still run commands while it shuts down. Returns the mask for
 * ppoll. */
static sigset_t helper_signals(void)
{
    signals_default();
    struct sigaction sa = { .sa_handler = helper_wake, .sa_flags = SA_NOCLDSTOP };
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(PARENT_GONE_SIGNAL, &sa, NULL);
    sa = (struct sigaction){ .sa_handler = SIG_IGN };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigset_t block, wait;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, PARENT_GONE_SIGNAL);
    sigprocmask(SIG_SETMASK, &block, NULL);
    sigemptyset(&wait);
    return wait;
}

static void helper_reply(const char *command, int status)
{
    struct reply r = { .status = status };
    size_t n = strlen(command) + 1;
    memcpy(r.command, command, n);
    /* Blocking: a daemon that does not read replies holds up the next ones, nothing is lost.
     * A daemon that is gone shows as EOF in the loop. */
    (void)send(HELPER_SOCK_FD, &r, offsetof(struct reply, command) + n, MSG_NOSIGNAL);
}

static bool request_parse(const char *msg, size_t len, struct request *rq)
{
    if (len == 0 || msg[len - 1] != '\0' || msg[0] == '\0')
        return false;
    rq->command = msg;
    rq->nargs = 0;
    for (const char *p = msg + strlen(msg) + 1; p < msg + len; p += strlen(p) + 1) {
        if (rq->nargs == PRIVHELPER_ARGS_MAX)
            return false;
        rq->args[rq->nargs++] = p;
    }
    return true;
}

static _Noreturn void child_exec(char *const argv[])
{
    sigset_t none;
    sigemptyset(&none);
    signals_default(); /* ignored signals would stay ignored through exec */
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv("/bin/sh", argv);
    _exit(HELPER_EXEC_FAILED);
}

/* sh -c 'COMMAND "$@"' sh ARG...: the arguments reach the command intact, whatever they hold. */
static void helper_spawn(struct helper *h, const struct request *rq)
{
    char script[PRIVHELPER_MSG_MAX + sizeof HELPER_SCRIPT_TAIL];
    snprintf(script, sizeof script, "%s" HELPER_SCRIPT_TAIL, rq->command);
    char *argv[4 + PRIVHELPER_ARGS_MAX + 1] = { "sh", "-c", script, "sh" };
    for (unsigned i = 0; i < rq->nargs; i++)
        argv[4 + i] = (char *)rq->args[i];
    struct helper_child *kid = h->kids;
    while (kid->pid)
        kid++; /* a free slot exists: requests are only read while one does */
    pid_t pid = fork();
    if (pid == 0)
        child_exec(argv);
    if (pid < 0) {
        helper_reply(rq->command, W_EXITCODE(HELPER_EXEC_FAILED, 0));
        return;
    }
    kid->pid = pid;
    snprintf(kid->command, sizeof kid->command, "%s", rq->command);
    h->running++;
}

static void helper_reap(struct helper *h)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (unsigned i = 0; i < HELPER_RUNNING_MAX; i++) {
            struct helper_child *kid = &h->kids[i];
            if (kid->pid != pid)
                continue;
            helper_reply(kid->command, status);
            kid->pid = 0;
            h->running--;
        }
    }
}

/* False once the daemon has closed its end. */
static bool helper_request(struct helper *h)
{
    char msg[PRIVHELPER_MSG_MAX + 1]; /* one more: an oversized request shows as such */
    ssize_t n = recv(HELPER_SOCK_FD, msg, sizeof msg, 0);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    if (n == 0)
        return false;
    struct request rq;
    if ((size_t)n <= PRIVHELPER_MSG_MAX && request_parse(msg, (size_t)n, &rq))
        helper_spawn(h, &rq);
    return true; /* privhelper_run never sends a malformed request: nothing to answer */
}

/* Commands still running when the daemon leaves finish on their own: cutting short a notify
 * script run at shutdown would be worse than letting it end. */
static void helper_loop(struct helper *h, const sigset_t *waitmask)
{
    for (;;) {
        /* With every slot taken the socket is left alone (not even its hangup, which would
         * wake us in a loop) until a command ends. */
        struct pollfd p = { .fd = h->running < HELPER_RUNNING_MAX ? HELPER_SOCK_FD : -1, .events = POLLIN };
        int r = ppoll(&p, 1, NULL, waitmask);
        if ((r < 0 && errno != EINTR) || getppid() != h->parent)
            return;
        helper_reap(h);
        if (r > 0 && p.revents && !helper_request(h))
            return;
    }
}

/* The files as they are now: what is removed at the end must still be these. */
static void helper_note_files(struct helper *h, const char *const *files, unsigned n)
{
    struct stat st;
    for (unsigned i = 0; i < n && i < PRIVHELPER_FILES_MAX; i++) {
        struct helper_file *f = &h->files[h->n_files];
        if (lstat(files[i], &st) != 0 || snprintf(f->path, sizeof f->path, "%s", files[i]) >= (int)sizeof f->path)
            continue;
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->ctime = st.st_ctim;
        h->n_files++;
    }
}

/* A pid file is removed under its lock: one a new daemon already holds is its own. */
static void remove_unlocked(const struct helper_file *f)
{
    int fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && same_file(f, &st) && flock(fd, LOCK_EX | LOCK_NB) == 0)
        unlink(f->path); /* the lock goes with the close */
    close(fd);
}

static void helper_remove_files(const struct helper *h)
{
    struct stat st;
    for (unsigned i = 0; i < h->n_files; i++) {
        const struct helper_file *f = &h->files[i];
        if (lstat(f->path, &st) != 0 || !same_file(f, &st))
            continue; /* gone, or another file by now */
        if (S_ISREG(st.st_mode))
            remove_unlocked(f);
        else
            unlink(f->path);
    }
}

static _Noreturn void helper_main(int sock, pid_t parent, const char *const *files, unsigned n_files)
{
    /* The parent may have died before prctl took effect: then nobody would signal us. */
    if (prctl(PR_SET_PDEATHSIG, PARENT_GONE_SIGNAL) != 0 || getppid() != parent)
        _exit(1);
    sigset_t waitmask = helper_signals();
    struct helper *h = calloc(1, sizeof *h);
    if (!h || !helper_isolate(sock))
        _exit(1);
    setsid(); /* away from the daemon's terminal and process group */
    h->parent = parent;
    helper_note_files(h, files, n_files);
    helper_loop(h, &waitmask);
    helper_remove_files(h);
    _exit(0); /* no atexit handlers or stdio buffers of the daemon's */
}

/* ---- the daemon's side ---- */

static void helper_gone(struct privhelper *h)
{
    ev_io_stop(h->loop, &h->io);
    close(h->fd);
    h->fd = -1;
}

static void privhelper_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct privhelper *h = w->data;
    struct reply r;
    ssize_t n = recv(h->fd, &r, sizeof r, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        log_warn("privhelper: the helper process exited, commands can no longer be run");
        helper_gone(h);
        return;
    }
    size_t len = (size_t)n;
    if (len <= offsetof(struct reply, command) || ((char *)&r)[len - 1] != '\0')
        return; /* not from our helper's code */
    if (h->done)
        h->done(h->done_arg, r.command, r.status);
}

bool privhelper_start(struct privhelper *h, struct ev_loop *loop, const char *const *files, unsigned n_files,
                      privhelper_done_cb done, void *arg, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->fd = -1;
    h->loop = loop;
    h->done = done;
    h->done_arg = arg;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "privhelper socketpair: %s", strerror(errno));
        return false;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        helper_main(sv[1], parent, files, n_files);
    }
    close(sv[1]);
    if (pid < 0) {
        snprintf(err, errlen, "privhelper fork: %s", strerror(errno));
        close(sv[0]);
        return false;
    }
    h->pid = pid;
    h->fd = sv[0];
    ev_io_init(&h->io, privhelper_read_cb, h->fd, EV_READ);
    h->io.data = h;
    ev_io_start(loop, &h->io);
    return true;
}

bool privhelper_run(struct privhelper *h, const char *command, const char *const *args, unsigned nargs)
{
    if (h->fd < 0 || nargs > PRIVHELPER_ARGS_MAX || !command[0])
        return false;
    char msg[PRIVHELPER_MSG_MAX];
    size_t len = 0;
    for (unsigned i = 0; i <= nargs; i++) {
        const char *s = i == 0 ? command : args[i - 1];
        size_t n = strlen(s) + 1;
        if (n > sizeof msg - len)
            return false;
        memcpy(msg + len, s, n);
        len += n;
    }
    return send(h->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len;
}

/* Reaped here, not by a child watcher: the helper exits as soon as it sees EOF. ECHILD means
 * someone reaped it already (libev's default loop reaps every child). */
static void helper_reap_bounded(pid_t pid)
{
    const struct timespec tick = { .tv_nsec = STOP_POLL_MS * 1000000L };
    for (int waited = 0; waited < STOP_GRACE_MS; waited += STOP_POLL_MS) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        nanosleep(&tick, NULL);
    }
    kill(pid, SIGKILL); /* still our unreaped child: the pid cannot have been reused */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

void privhelper_stop(struct privhelper *h)
{
    if (h->fd >= 0)
        helper_gone(h);
    if (h->pid > 0)
        helper_reap_bounded(h->pid);
    h->pid = 0;
}
