/* privhelper: commands run with their arguments intact, exit statuses come back through the
 * loop, a slow command does not hold up the next, the helper keeps none of the daemon's
 * descriptors, and it goes away when stopped, when killed, and when its parent dies, removing
 * the files it was given then, but never one replaced meanwhile or a pid file locked again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privhelper.h"
#include "testing.h"

#define WAIT_SECONDS 5.0 /* every command here ends well within it */
#define WAIT_TICK 0.05
#define REPLIES_MAX 16
#define SEVERAL 5

static struct ev_loop *loop;
static char dir[] = "/tmp/privhelper-test-XXXXXX";

static unsigned replies;
static int status_of[REPLIES_MAX];
static char command_of[REPLIES_MAX][256];

static void on_done(void *arg, const char *command, int status)
{
    (void)arg;
    if (replies < REPLIES_MAX) {
        status_of[replies] = status;
        snprintf(command_of[replies], sizeof command_of[replies], "%s", command);
    }
    replies++;
}

static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
}

/* Runs the loop until WANT replies in all, within WAIT_SECONDS. */
static bool wait_replies(unsigned want)
{
    ev_timer tick;
    ev_timer_init(&tick, tick_cb, WAIT_TICK, WAIT_TICK);
    ev_timer_start(loop, &tick);
    ev_now_update(loop);
    ev_tstamp deadline = ev_now(loop) + WAIT_SECONDS;
    while (replies < want && ev_now(loop) < deadline)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &tick);
    return replies >= want;
}

static bool exited(int status, int code)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static void read_file(const char *name, char *buf, size_t size)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void test_run_one(struct privhelper *h)
{
    char cmd[256], out[256];
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' >>%s/out", dir);
    const char *args[] = { "master" };
    replies = 0;
    CHECK(privhelper_run(h, cmd, args, 1));
    CHECK(wait_replies(1));
    CHECK(exited(status_of[0], 0));
    CHECK(strcmp(command_of[0], cmd) == 0);
    read_file("out", out, sizeof out);
    CHECK(strcmp(out, "master\n") == 0);

    CHECK(privhelper_run(h, "exit 3", NULL, 0));
    CHECK(wait_replies(2));
    CHECK(exited(status_of[1], 3));
    CHECK(strcmp(command_of[1], "exit 3") == 0);
    CHECK(privhelper_run(h, "kill -TERM $$", NULL, 0));
    CHECK(wait_replies(3));
    CHECK(WIFSIGNALED(status_of[2]) && WTERMSIG(status_of[2]) == SIGTERM);
}

/* Arguments reach the command as they are: spaces, quotes, dollars. */
static void test_args_intact(struct privhelper *h)
{
    char cmd[256], out[256];
    snprintf(cmd, sizeof cmd, "printf '[%%s]' >%s/args", dir);
    const char *args[] = { "two words", "it's", "$HOME", "" };
    replies = 0;
    CHECK(privhelper_run(h, cmd, args, 4));
    CHECK(wait_replies(1));
    CHECK(exited(status_of[0], 0));
    read_file("args", out, sizeof out);
    CHECK(strcmp(out, "[two words][it's][$HOME][]") == 0);
}

/* The slow command is asked first and ends last. */
static void test_concurrent(struct privhelper *h)
{
    replies = 0;
    CHECK(privhelper_run(h, "sleep 0.3; exit 4", NULL, 0));
    CHECK(privhelper_run(h, "exit 5", NULL, 0));
    CHECK(wait_replies(2));
    CHECK(exited(status_of[0], 5));
    CHECK(exited(status_of[1], 4));
}

static void test_several(struct privhelper *h)
{
    char cmd[256], out[256];
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' >>%s/several", dir);
    static const char *const words[SEVERAL] = { "a", "b", "c", "d", "e" };
    replies = 0;
    for (unsigned i = 0; i < SEVERAL; i++)
        CHECK(privhelper_run(h, cmd, &words[i], 1));
    CHECK(wait_replies(SEVERAL));
    for (unsigned i = 0; i < SEVERAL; i++)
        CHECK(exited(status_of[i], 0));
    read_file("several", out, sizeof out);
    CHECK_EQ_U(strlen(out), 2 * SEVERAL); /* the order is the commands' own business */
    for (unsigned i = 0; i < SEVERAL; i++)
        CHECK(strchr(out, words[i][0]) != NULL);
}

/* The helper holds 0, 1, 2 on /dev/null and its socket; a command gets neither the socket nor
 * anything of the daemon's. */
static void test_descriptors(struct privhelper *h, int held)
{
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)h->pid);
    DIR *d = opendir(path);
    CHECK(d != NULL);
    unsigned n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        CHECK(atoi(e->d_name) <= 3);
    }
    if (d)
        closedir(d);
    CHECK(n <= 4);
    snprintf(path, sizeof path, "/proc/%d/fd/0", (int)h->pid);
    ssize_t len = readlink(path, link, sizeof link - 1);
    CHECK(len > 0 && (size_t)len == strlen("/dev/null") && memcmp(link, "/dev/null", (size_t)len) == 0);

    char fdnum[16];
    snprintf(fdnum, sizeof fdnum, "%d", held);
    const char *args[] = { fdnum };
    replies = 0;
    CHECK(privhelper_run(h,
                         "sh -c '[ ! -e /proc/$$/fd/3 ] && [ ! -e /proc/$$/fd/$1 ] && "
                         "[ \"$(readlink /proc/$$/fd/0)\" = /dev/null ]' check",
                         args, 1));
    CHECK(wait_replies(1));
    CHECK(exited(status_of[0], 0));
}

static void test_refused(struct privhelper *h)
{
    const char *args[PRIVHELPER_ARGS_MAX + 1] = { 0 };
    for (unsigned i = 0; i <= PRIVHELPER_ARGS_MAX; i++)
        args[i] = "x";
    CHECK(!privhelper_run(h, "true", args, PRIVHELPER_ARGS_MAX + 1));
    CHECK(!privhelper_run(h, "", NULL, 0));
    static char huge[PRIVHELPER_MSG_MAX + 1];
    memset(huge, 'x', PRIVHELPER_MSG_MAX);
    CHECK(!privhelper_run(h, huge, NULL, 0));
    huge[PRIVHELPER_MSG_MAX - 1] = '\0'; /* with its NUL, exactly PRIVHELPER_MSG_MAX */
    huge[0] = ':';
    huge[1] = ' ';
    replies = 0;
    CHECK(privhelper_run(h, huge, NULL, 0));
    CHECK(wait_replies(1));
    CHECK(exited(status_of[0], 0) && strncmp(command_of[0], huge, sizeof command_of[0] - 1) == 0);
}

static void test_stop(struct privhelper *h)
{
    pid_t pid = h->pid;
    ev_tstamp t0 = ev_time();
    privhelper_stop(h);
    CHECK(ev_time() - t0 < 0.5); /* it left on EOF, nobody had to kill it */
    CHECK(kill(pid, 0) == -1 && errno == ESRCH);
    CHECK(h->pid == 0 && h->fd == -1);
    CHECK(!privhelper_run(h, "true", NULL, 0));
    privhelper_stop(h);
}

static void make_file(const char *path)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    close(fd);
}

/* Stopped, the helper removes what it was given, but not a file put in another's place since
 * (a newer daemon's control socket), nor a pid file someone holds the lock of. */
static void test_files(void)
{
    struct privhelper h;
    char err[256], gone[256], replaced[256], locked[256];
    snprintf(gone, sizeof gone, "%s/gone.pid", dir);
    snprintf(replaced, sizeof replaced, "%s/replaced.sock", dir);
    snprintf(locked, sizeof locked, "%s/locked.pid", dir);
    make_file(gone);
    make_file(replaced);
    make_file(locked);
    const char *first[] = { gone, replaced };
    CHECK(privhelper_start(&h, loop, first, 2, on_done, NULL, err, sizeof err));
    CHECK(privhelper_run(&h, "true", NULL, 0)); /* a reply: the helper has noted its files */
    replies = 0;
    CHECK(wait_replies(1));
    CHECK(unlink(replaced) == 0);
    make_file(replaced);
    privhelper_stop(&h);
    CHECK(access(gone, F_OK) != 0 && errno == ENOENT);
    CHECK(access(replaced, F_OK) == 0);

    const char *second[] = { locked };
    int fd = open(locked, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    CHECK(privhelper_start(&h, loop, second, 1, on_done, NULL, err, sizeof err));
    privhelper_stop(&h);
    CHECK(access(locked, F_OK) == 0);
    close(fd);
}

/* Killed under the daemon: the loop notices, runs are refused, stop still cleans up (libev's
 * default loop has reaped the helper by then). */
static void test_killed(void)
{
    struct privhelper h;
    char err[256];
    CHECK(privhelper_start(&h, loop, NULL, 0, on_done, NULL, err, sizeof err));
    CHECK(kill(h.pid, SIGKILL) == 0);
    ev_tstamp deadline = ev_time() + WAIT_SECONDS;
    while (h.fd >= 0 && ev_time() < deadline)
        ev_run(loop, EVRUN_ONCE);
    CHECK(h.fd == -1);
    CHECK(!privhelper_run(&h, "true", NULL, 0));
    pid_t pid = h.pid;
    privhelper_stop(&h);
    CHECK(kill(pid, 0) == -1 && errno == ESRCH);
}

/* The daemon dies without stopping the helper, while a process it forked still holds its end
 * of the socket (so no EOF): PR_SET_PDEATHSIG tells the helper, which removes the daemon's
 * file and exits. As a subreaper this process inherits the orphans and can see how they ended. */
static void test_parent_dies(void)
{
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    char pidfile[256];
    snprintf(pidfile, sizeof pidfile, "%s/daemon.pid", dir);
    make_file(pidfile);
    pid_t daemon = fork();
    if (daemon == 0) {
        struct privhelper h;
        char err[256];
        const char *files[] = { pidfile };
        loop = ev_loop_new(EVFLAG_AUTO);
        replies = 0;
        /* One command done: the helper has armed its death signal (before, it would find its
         * parent gone and exit by itself). */
        bool ready = privhelper_start(&h, loop, files, 1, on_done, NULL, err, sizeof err) &&
                     privhelper_run(&h, "true", NULL, 0) && wait_replies(1);
        pid_t pids[2] = { ready ? h.pid : 0, fork() };
        if (pids[1] == 0) {
            pause(); /* the holder */
            _exit(0);
        }
        _exit(write(p[1], pids, sizeof pids) == sizeof pids ? 0 : 1);
    }
    pid_t pids[2] = { 0, 0 };
    CHECK(read(p[0], pids, sizeof pids) == sizeof pids && pids[0] > 0 && pids[1] > 0);
    close(p[0]);
    close(p[1]);
    CHECK(waitpid(daemon, NULL, 0) == daemon);
    int status = 0;
    pid_t r = 0;
    ev_tstamp deadline = ev_time() + WAIT_SECONDS;
    while (pids[0] > 0 && (r = waitpid(pids[0], &status, WNOHANG)) == 0 && ev_time() < deadline)
        usleep(10000);
    CHECK(pids[0] > 0 && r == pids[0] && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(access(pidfile, F_OK) != 0 && errno == ENOENT);
    if (pids[1] > 0 && kill(pids[1], SIGKILL) == 0)
        waitpid(pids[1], NULL, 0);
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 0) == 0);
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    loop = ev_default_loop(EVFLAG_AUTO); /* as the daemon: its child watcher reaps every child */
    char heldpath[256];
    snprintf(heldpath, sizeof heldpath, "%s/held", dir);
    int held = open(heldpath, O_CREAT | O_RDWR, 0600); /* no O_CLOEXEC: inherited by the fork */
    CHECK(held > 3);

    struct privhelper h;
    char err[256] = "";
    if (!privhelper_start(&h, loop, NULL, 0, on_done, NULL, err, sizeof err)) {
        fprintf(stderr, "privhelper_start: %s\n", err);
        CHECK_DONE();
    }
    CHECK(h.pid > 0 && h.fd >= 0);
    test_run_one(&h);
    test_descriptors(&h, held);
    test_args_intact(&h);
    test_concurrent(&h);
    test_several(&h);
    test_refused(&h);
    test_stop(&h);
    test_killed();
    test_files();
    test_parent_dies();

    close(held);
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    CHECK(system(rm) == 0);
    CHECK_DONE();
}
