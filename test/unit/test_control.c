/* test_control: a streamed answer (control.h's control_stream) through a real control socket
 * and event loop: the parts arrive whole and in order after the first, more of them than the
 * socket's buffer holds (so the loop renders the next only once the client has read), the
 * stream is freed once after its last part; and a client that goes away in the middle of a
 * stream has it freed too. Watchers (control_stream.watch): the first answer and what is
 * broadcast arrive, their lines come back with their slot, one more than CONTROL_MAX_WATCHERS is
 * refused, one that stops reading is dropped once its output is full (the loop never waits for
 * it), and one that closes frees its slot and is reported gone. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "control.h"
#include "testing.h"

#define PARTS 40
#define PART_FILL 8000 /* bytes of each part: 40 of them are more than a unix socket buffers */
#define LOOP_TURNS_MAX 100000
#define WATCH_ANSWER "vip 198.51.100.10 up\nend\n"
#define WATCH_CHUNK 4096 /* a broadcast to fill a watcher that does not read */

struct stream_state {
    unsigned next_part;
    unsigned freed;
};

static struct stream_state state;
static char expected[PARTS * (PART_FILL + 32) + 64];
static size_t expected_len;

/* Part i: "part i\n" then a line of PART_FILL - 1 letters. */
static size_t render_part(unsigned i, char *out, size_t len)
{
    int n = snprintf(out, len, "part %u\n", i);
    size_t pos = (size_t)n;
    memset(out + pos, 'a' + (int)(i % 26), PART_FILL - 1);
    pos += PART_FILL - 1;
    out[pos++] = '\n';
    return pos;
}

static size_t next_part(void *arg, char *out, size_t len, bool *done)
{
    struct stream_state *st = arg;
    CHECK(len == CONTROL_PART_MAX);
    size_t n = render_part(st->next_part++, out, len);
    *done = st->next_part == PARTS;
    return n;
}

static void free_stream(void *arg)
{
    ((struct stream_state *)arg)->freed++;
}

static size_t handler(void *arg, const char *request, char *out, size_t len, struct control_stream *more)
{
    (void)arg;
    CHECK(more->next == NULL);
    if (strcmp(request, "watch") == 0) {
        more->watch = true;
        return (size_t)snprintf(out, len, WATCH_ANSWER);
    }
    if (strcmp(request, "stream") != 0)
        return (size_t)snprintf(out, len, "error: unknown\n");
    state.next_part = 1;
    *more = (struct control_stream){ .next = next_part, .done = free_stream, .state = &state };
    return render_part(0, out, len);
}

static int connect_request(const char *path, const char *request)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    CHECK(write(fd, request, strlen(request)) == (ssize_t)strlen(request));
    return fd;
}

static int connect_to(const char *path)
{
    return connect_request(path, "stream\n");
}

/* Reads what is there; returns false at end of file. */
static bool drain(int fd, char *got, size_t *got_len, size_t cap)
{
    for (;;) {
        ssize_t n = read(fd, got + *got_len, cap - *got_len);
        if (n > 0) {
            *got_len += (size_t)n;
            continue;
        }
        return !(n == 0 || (n < 0 && errno != EAGAIN));
    }
}

/* What the watch callbacks were told. */
static struct {
    char line[64];
    int line_from, gone_from;
    unsigned lines, gone;
} seen;

static void watch_line(void *arg, int watcher, const char *line)
{
    (void)arg;
    snprintf(seen.line, sizeof seen.line, "%s", line);
    seen.line_from = watcher;
    seen.lines++;
}

static void watch_gone(void *arg, int watcher)
{
    (void)arg;
    seen.gone_from = watcher;
    seen.gone++;
}

/* Turns the loop, reading fd, until got holds want (or the turns run out); true when it does. */
static bool read_until(struct ev_loop *loop, int fd, char *got, size_t cap, const char *want)
{
    size_t got_len = strlen(got);
    for (unsigned turns = 0; !strstr(got, want) && turns < LOOP_TURNS_MAX; turns++) {
        ev_run(loop, EVRUN_NOWAIT);
        drain(fd, got, &got_len, cap - 1);
        got[got_len] = '\0';
    }
    return strstr(got, want) != NULL;
}

static void test_watchers(struct ev_loop *loop, struct control *ctl, const char *path)
{
    char got[1024] = "";
    control_set_watch(ctl, watch_line, watch_gone, NULL);
    int a = connect_request(path, "watch\n");
    CHECK(read_until(loop, a, got, sizeof got, WATCH_ANSWER));
    CHECK_EQ_U(control_watchers(ctl), 1);
    /* no deadline: still watching after the turns a request would have been answered in */
    control_watch_send(ctl, "end\n", 4);
    CHECK(read_until(loop, a, got, sizeof got, WATCH_ANSWER "end\n"));
    CHECK(write(a, "announced 198.51.100.10\nwithdr", 30) == 30);
    for (unsigned turns = 0; seen.lines == 0 && turns < LOOP_TURNS_MAX; turns++)
        ev_run(loop, EVRUN_NOWAIT);
    CHECK_EQ_U(seen.lines, 1); /* the half line waits for its end */
    CHECK(strcmp(seen.line, "announced 198.51.100.10") == 0);
    int slot_a = seen.line_from;

    /* the second watcher is taken, a third refused */
    int b = connect_request(path, "watch\n");
    got[0] = '\0';
    CHECK(read_until(loop, b, got, sizeof got, WATCH_ANSWER));
    int c = connect_request(path, "watch\n");
    got[0] = '\0';
    CHECK(read_until(loop, c, got, sizeof got, "error: "));
    CHECK_EQ_U(control_watchers(ctl), 2);
    close(c);

    /* b never reads: once its output is full it is dropped, and a goes on */
    static char chunk[WATCH_CHUNK];
    memset(chunk, 'x', sizeof chunk - 1);
    chunk[sizeof chunk - 1] = '\n';
    for (unsigned turns = 0; seen.gone == 0 && turns < LOOP_TURNS_MAX; turns++) {
        control_watch_send(ctl, chunk, sizeof chunk);
        ev_run(loop, EVRUN_NOWAIT);
        size_t sink_len = 0;
        static char sink[CONTROL_WATCH_OUT_MAX];
        drain(a, sink, &sink_len, sizeof sink); /* a keeps reading */
    }
    CHECK_EQ_U(seen.gone, 1);
    CHECK(seen.gone_from != slot_a);
    CHECK_EQ_U(control_watchers(ctl), 1);
    close(b);

    /* a closes: reported gone, its slot free */
    close(a);
    for (unsigned turns = 0; seen.gone == 1 && turns < LOOP_TURNS_MAX; turns++)
        ev_run(loop, EVRUN_NOWAIT);
    CHECK_EQ_U(seen.gone, 2);
    CHECK_EQ_U(seen.gone_from, slot_a);
    CHECK_EQ_U(control_watchers(ctl), 0);
}

int main(void)
{
    static struct control ctl;
    static char got[sizeof expected];
    char path[64], err[256];
    signal(SIGPIPE, SIG_IGN); /* as the daemon: a client gone is a write error, not a signal */
    snprintf(path, sizeof path, "/tmp/rawlb-test-control-%d.sock", (int)getpid());
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    CHECK(control_open(&ctl, loop, path, handler, NULL, err, sizeof err));
    for (unsigned i = 0; i < PARTS; i++)
        expected_len += render_part(i, expected + expected_len, sizeof expected - expected_len);

    /* The whole stream, read as the loop turns. */
    int fd = connect_to(path);
    size_t got_len = 0;
    unsigned turns = 0;
    while (drain(fd, got, &got_len, sizeof got) && turns++ < LOOP_TURNS_MAX)
        ev_run(loop, EVRUN_NOWAIT);
    close(fd);
    CHECK_EQ_U(got_len, expected_len);
    CHECK(memcmp(got, expected, expected_len) == 0);
    CHECK_EQ_U(state.next_part, PARTS);
    CHECK_EQ_U(state.freed, 1);

    /* A client that leaves after the first bytes: the stream is freed, not rendered to its end. */
    state = (struct stream_state){ 0 };
    fd = connect_to(path);
    got_len = 0;
    for (turns = 0; got_len == 0 && turns < LOOP_TURNS_MAX; turns++) {
        ev_run(loop, EVRUN_NOWAIT);
        drain(fd, got, &got_len, sizeof got);
    }
    close(fd);
    for (turns = 0; state.freed == 0 && turns < LOOP_TURNS_MAX; turns++)
        ev_run(loop, EVRUN_NOWAIT);
    CHECK_EQ_U(state.freed, 1);
    CHECK(state.next_part < PARTS);

    test_watchers(loop, &ctl, path);
    control_close(&ctl);
    ev_loop_destroy(loop);
    CHECK_DONE();
}
