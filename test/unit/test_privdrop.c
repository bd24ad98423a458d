/* privdrop and sandbox: an unknown --user or --ctl-group is refused with its name; started as
 * root, a child drops to the default user (ids, no capability, no_new_privs, read back from
 * /proc/self/status as the e2e test does per thread), loads the seccomp filter, may still make
 * an IPv4 socket, and is killed for a packet socket (in sanitizer builds only logged). */
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privdrop.h"
#include "sandbox.h"
#include "testing.h"

#define STATUS_MAX 4096
#define CHILD_CHECKS_FAILED 1 /* the child's exit status when one of its checks failed */

static void test_resolve(void)
{
    struct privdrop p;
    char err[256];
    CHECK(!privdrop_resolve(&p, "rawlb-no-such-user", "", err, sizeof err));
    CHECK(strstr(err, "--user") && strstr(err, "rawlb-no-such-user"));
    CHECK(!privdrop_resolve(&p, "", "rawlb-no-such-group", err, sizeof err));
    CHECK(strstr(err, "--ctl-group") && strstr(err, "rawlb-no-such-group"));
    CHECK(privdrop_resolve(&p, "", "", err, sizeof err));
    CHECK(!p.has_ctl_group);
}

#define FIELD_MAX 64

/* The value of FIELD in /proc/self/status ("" when missing). */
static void status_field(const char *field, char out[FIELD_MAX])
{
    static char text[STATUS_MAX];
    out[0] = '\0';
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
    if (fd >= 0)
        close(fd);
    text[n > 0 ? n : 0] = '\0';
    const char *at = strstr(text, field);
    if (at && sscanf(at + strlen(field), " %63s", out) != 1) /* FIELD_MAX - 1 */
        out[0] = '\0';
}

static bool field_is(const char *field, const char *want)
{
    char v[FIELD_MAX];
    status_field(field, v);
    if (strcmp(v, want) == 0)
        return true;
    fprintf(stderr, "%s is '%s', want '%s'\n", field, v, want);
    return false;
}

/* In the child: drop, filter, check (with allowed calls only), say so on done_fd; then the call
 * the filter forbids. */
static _Noreturn void child(int done_fd)
{
    struct privdrop p;
    char err[256], uid[16];
    if (!privdrop_resolve(&p, "", "", err, sizeof err) || !privdrop_apply(&p, err, sizeof err) ||
        !sandbox_load(err, sizeof err)) {
        fprintf(stderr, "drop: %s\n", err);
        _exit(CHILD_CHECKS_FAILED);
    }
    snprintf(uid, sizeof uid, "%u", (unsigned)p.uid);
    int inet = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = p.change_user && p.uid != 0 && field_is("Uid:", uid) &&
              field_is("CapEff:", "0000000000000000") && field_is("CapPrm:", "0000000000000000") &&
              field_is("NoNewPrivs:", "1") && field_is("Seccomp:", "2") && inet >= 0;
    if (!ok || write(done_fd, "k", 1) != 1)
        _exit(CHILD_CHECKS_FAILED);
    (void)socket(AF_PACKET, SOCK_RAW, 0); /* outside the list: killed here (log mode: refused, not root) */
    _exit(0);
}

static void test_drop(void)
{
    if (geteuid() != 0) {
        printf("SKIP: the drop needs root\n");
        return;
    }
    int done[2];
    CHECK(pipe(done) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        child(done[1]);
    close(done[1]);
    int status = 0;
    char k = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(read(done[0], &k, 1) == 1 && k == 'k'); /* its checks passed under the filter */
    close(done[0]);
    if (strcmp(sandbox_mode(), "kill") == 0)
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
    else
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    test_resolve();
    test_drop();
    CHECK_DONE();
}
