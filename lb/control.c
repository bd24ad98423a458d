/* control: see control.h. */
#include "control.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTROL_CLIENT_TIMEOUT 2.0 /* seconds a client has to send its request */
#define CONTROL_WRITE_TIMEOUT 5.0  /* and then to take the answer (or each part of a streamed one) */
#define CONTROL_CLOSE_TIMEOUT 2.0  /* and then to close its end */
#define CONTROL_BACKLOG 16
#define CONTROL_UMASK 0177 /* the socket is made mode 0600: root (and rawlb-ctl as root) only */
#define CONTROL_DRAIN_CHUNK 4096 /* bytes discarded per read while draining */

/* Reads and discards what the client sent; true once it has closed its end (or failed). */
static bool client_drain(int fd)
{
    char sink[CONTROL_DRAIN_CHUNK];
    for (;;) {
        ssize_t n = read(fd, sink, sizeof sink);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    }
}

static void stream_end(struct control_client *cl)
{
    if (cl->more.done)
        cl->more.done(cl->more.state);
    cl->more = (struct control_stream){ 0 };
}

/* The next part of a streamed answer, once the client has taken the one before: the deadline
 * starts again, since a client that keeps reading is making progress. */
static void stream_part(struct control_client *cl)
{
    struct ev_loop *loop = cl->owner->loop;
    bool done = false;
    cl->out_len = cl->more.next(cl->more.state, cl->out, CONTROL_PART_MAX, &done);
    cl->out_off = 0;
    if (done)
        stream_end(cl);
    ev_timer_stop(loop, &cl->deadline);
    ev_timer_set(&cl->deadline, CONTROL_WRITE_TIMEOUT, 0.0);
    ev_timer_start(loop, &cl->deadline);
}

/* Closing a unix socket with unread input makes the peer's next read fail with ECONNRESET, even
 * after it has read the whole answer: whatever arrived is read first. A slot freed lets the
 * listener take the clients waiting in its backlog again. */
static void client_close(struct control_client *cl)
{
    struct control *c = cl->owner;
    bool watcher = cl->state == CONTROL_CLIENT_WATCHING;
    ev_io_stop(c->loop, &cl->io);
    ev_timer_stop(c->loop, &cl->deadline);
    client_drain(cl->fd);
    close(cl->fd);
    cl->fd = -1;
    cl->state = CONTROL_CLIENT_FREE;
    free(cl->out);
    cl->out = NULL;
    stream_end(cl);
    if (watcher && c->watch_gone)
        c->watch_gone(c->watch_arg, (int)(cl - c->clients));
    if (c->fd >= 0 && !ev_is_active(&c->accept_io))
        ev_io_start(c->loop, &c->accept_io);
}

static void client_closing_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct control_client *cl = w->data;
    if (client_drain(cl->fd))
        client_close(cl);
}

/* The answer is out: the client is told so by end-of-file and closed once it has closed its end
 * (or its deadline passed), so input it sent after what was read (the rest of an over-long
 * request, a request to a refusing daemon) never turns into a reset. */
static void client_linger(struct control_client *cl)
{
    struct ev_loop *loop = cl->owner->loop;
    shutdown(cl->fd, SHUT_WR);
    cl->state = CONTROL_CLIENT_CLOSING;
    ev_io_stop(loop, &cl->io);
    ev_io_init(&cl->io, client_closing_cb, cl->fd, EV_READ);
    cl->io.data = cl;
    ev_io_start(loop, &cl->io);
    ev_timer_stop(loop, &cl->deadline);
    ev_timer_set(&cl->deadline, CONTROL_CLOSE_TIMEOUT, 0.0);
    ev_timer_start(loop, &cl->deadline);
}

static void client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct control_client *cl = w->data;
    while (cl->out_off < cl->out_len) {
        ssize_t n = write(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* the rest when the client has read some */
        if (n <= 0) {
            client_close(cl); /* the client went away: nothing to do about it */
            return;
        }
        cl->out_off += (size_t)n;
    }
    if (cl->more.next)
        stream_part(cl); /* one part per turn of the loop: it is written when the socket takes it */
    else
        client_linger(cl);
}

/* ---- watchers ---- */

/* Reading always (its lines, its end), writing while output waits. */
static void watcher_arm(struct control_client *cl)
{
    struct ev_loop *loop = cl->owner->loop;
    ev_io_stop(loop, &cl->io);
    ev_io_set(&cl->io, cl->fd, EV_READ | (cl->out_off < cl->out_len ? EV_WRITE : 0));
    ev_io_start(loop, &cl->io);
}

/* Writes what the socket takes; false when the watcher went away. */
static bool watcher_flush(struct control_client *cl)
{
    while (cl->out_off < cl->out_len) {
        ssize_t n = write(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (n <= 0)
            return false;
        cl->out_off += (size_t)n;
    }
    cl->out_off = cl->out_len = 0;
    return true;
}

/* Hands every whole line in req to the daemon and keeps the rest; false when a line would not
 * fit the buffer (no watcher of ours writes that). */
static bool watcher_lines(struct control_client *cl)
{
    struct control *c = cl->owner;
    char *nl;
    while ((nl = memchr(cl->req, '\n', cl->got))) {
        size_t used = (size_t)(nl - cl->req) + 1;
        *nl = '\0';
        cl->req[strcspn(cl->req, "\r")] = '\0';
        if (c->watch_line)
            c->watch_line(c->watch_arg, (int)(cl - c->clients), cl->req);
        memmove(cl->req, cl->req + used, cl->got - used);
        cl->got -= used;
    }
    return cl->got < sizeof cl->req - 1;
}

static void client_watch_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct control_client *cl = w->data;
    if ((revents & EV_WRITE) && !watcher_flush(cl)) {
        client_close(cl);
        return;
    }
    if (revents & EV_READ) {
        ssize_t n = read(cl->fd, cl->req + cl->got, sizeof cl->req - 1 - cl->got);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            client_close(cl); /* the watcher closed its end: its slot is free again */
            return;
        }
        cl->got += n > 0 ? (size_t)n : 0;
        if (!watcher_lines(cl)) {
            client_close(cl);
            return;
        }
    }
    watcher_arm(cl);
}

/* The answer to watch is queued: the client stays, without a deadline. first: the bytes of its
 * request line; what it sent after that is its first lines. */
static void watcher_start(struct control_client *cl, size_t first)
{
    struct control *c = cl->owner;
    memmove(cl->req, cl->req + first, cl->got - first);
    cl->got -= first;
    cl->state = CONTROL_CLIENT_WATCHING;
    ev_timer_stop(c->loop, &cl->deadline);
    ev_io_stop(c->loop, &cl->io);
    ev_io_init(&cl->io, client_watch_cb, cl->fd, EV_READ);
    cl->io.data = cl;
    if (!watcher_lines(cl)) {
        client_close(cl);
        return;
    }
    watcher_arm(cl);
}

unsigned control_watchers(const struct control *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < CONTROL_SLOTS; i++)
        n += c->clients[i].state == CONTROL_CLIENT_WATCHING;
    return n;
}

void control_set_watch(struct control *c, control_watch_line line, control_watch_gone gone, void *arg)
{
    c->watch_arg = arg;
    c->watch_line = line;
    c->watch_gone = gone;
}

void control_watch_send(struct control *c, const char *text, size_t len)
{
    for (unsigned i = 0; i < CONTROL_SLOTS; i++) {
        struct control_client *cl = &c->clients[i];
        if (cl->state != CONTROL_CLIENT_WATCHING)
            continue;
        memmove(cl->out, cl->out + cl->out_off, cl->out_len - cl->out_off);
        cl->out_len -= cl->out_off;
        cl->out_off = 0;
        if (cl->out_len + len > CONTROL_WATCH_OUT_MAX) {
            client_close(cl); /* it stopped reading: it must not hold the loop or our memory */
            continue;
        }
        memcpy(cl->out + cl->out_len, text, len);
        cl->out_len += len;
        watcher_arm(cl);
    }
}

/* ---- answers ---- */

/* The answer (or a streamed answer's first part) is rendered into the shared buffer, then copied
 * for this client, which is sent it as fast as it reads, within its deadline. A request that
 * filled the buffer without ending is refused whole: a cut one could mean something else. */
static void client_answer(struct control_client *cl)
{
    struct control *c = cl->owner;
    cl->req[cl->got] = '\0';
    const char *nl = memchr(cl->req, '\n', cl->got);
    size_t first = nl ? (size_t)(nl - cl->req) + 1 : cl->got, n;
    if (!nl && cl->got == sizeof cl->req - 1) {
        n = (size_t)snprintf(c->answer, CONTROL_ANSWER_MAX, "error: request longer than %d bytes\n",
                             CONTROL_REQUEST_MAX - 1);
    } else {
        cl->req[strcspn(cl->req, "\r\n")] = '\0';
        n = c->handler(c->handler_arg, cl->req, c->answer, CONTROL_ANSWER_MAX, &cl->more);
    }
    if (cl->more.watch && control_watchers(c) >= CONTROL_MAX_WATCHERS) {
        cl->more.watch = false;
        n = (size_t)snprintf(c->answer, CONTROL_ANSWER_MAX, "error: %d watchers already, the most there may be\n",
                             CONTROL_MAX_WATCHERS);
    }
    size_t room = cl->more.next && n < CONTROL_PART_MAX ? CONTROL_PART_MAX : n; /* later parts reuse it */
    if (cl->more.watch && room < CONTROL_WATCH_OUT_MAX)
        room = CONTROL_WATCH_OUT_MAX; /* later snapshots are queued behind it */
    cl->out = malloc(room ? room : 1);
    if (!cl->out) {
        client_close(cl);
        return;
    }
    memcpy(cl->out, c->answer, n);
    cl->out_len = n;
    cl->out_off = 0;
    if (cl->more.watch) {
        cl->more.watch = false;
        watcher_start(cl, first);
        return;
    }
    cl->state = CONTROL_CLIENT_WRITING;
    ev_io_stop(c->loop, &cl->io);
    ev_io_init(&cl->io, client_write_cb, cl->fd, EV_WRITE);
    cl->io.data = cl;
    ev_io_start(c->loop, &cl->io);
    ev_timer_stop(c->loop, &cl->deadline);
    ev_timer_set(&cl->deadline, CONTROL_WRITE_TIMEOUT, 0.0);
    ev_timer_start(c->loop, &cl->deadline);
}

static void client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct control_client *cl = w->data;
    ssize_t n = read(cl->fd, cl->req + cl->got, sizeof cl->req - 1 - cl->got);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (cl->got)
            client_answer(cl); /* request without a newline, then EOF */
        else
            client_close(cl);
        return;
    }
    cl->got += (size_t)n;
    if (memchr(cl->req, '\n', cl->got) || cl->got == sizeof cl->req - 1)
        client_answer(cl);
}

static void client_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    client_close(w->data);
}

/* Up to CONTROL_MAX_CLIENTS are served at once; one more is told it is refused and lingers
 * like an answered one; with every slot taken, the listener pauses and clients wait in its
 * backlog (rawlb-ctl's connect gives up after its timeout). */
static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct control *c = w->data;
    struct control_client *cl = NULL;
    unsigned served = 0;
    for (unsigned i = 0; i < CONTROL_SLOTS; i++) {
        if (c->clients[i].state == CONTROL_CLIENT_FREE)
            cl = cl ? cl : &c->clients[i];
        else
            served += c->clients[i].state != CONTROL_CLIENT_CLOSING;
    }
    if (!cl) {
        ev_io_stop(loop, &c->accept_io);
        return;
    }
    int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    cl->fd = fd;
    cl->got = 0;
    cl->state = CONTROL_CLIENT_READING;
    ev_io_init(&cl->io, client_read_cb, fd, EV_READ);
    cl->io.data = cl;
    ev_timer_init(&cl->deadline, client_timeout_cb, CONTROL_CLIENT_TIMEOUT, 0);
    cl->deadline.data = cl;
    if (served >= CONTROL_MAX_CLIENTS) {
        static const char busy[] = "error: too many control clients, try again\n";
        ssize_t ignored = write(fd, busy, sizeof busy - 1); /* a fresh socket's buffer takes it whole */
        (void)ignored;
        client_linger(cl);
        return;
    }
    ev_io_start(loop, &cl->io);
    ev_timer_start(loop, &cl->deadline);
}

/* A socket file nobody listens on is what a killed daemon leaves behind. */
static bool socket_in_use(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool used = connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0;
    close(fd);
    return used;
}

bool control_open(struct control *c, struct ev_loop *loop, const char *path, control_handler handler, void *arg,
                  char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    for (unsigned i = 0; i < CONTROL_SLOTS; i++) {
        c->clients[i].fd = -1;
        c->clients[i].owner = c;
    }
    c->loop = loop;
    c->handler = handler;
    c->handler_arg = arg;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "--ctl: path '%s' is too long for a unix socket", path);
        return false;
    }
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    snprintf(c->path, sizeof c->path, "%s", path);
    char dir[sizeof sun.sun_path];
    snprintf(dir, sizeof dir, "%s", path);
    if (mkdir(dirname(dir), 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--ctl: cannot create the directory of '%s': %s", path, strerror(errno));
        return false;
    }
    if (socket_in_use(&sun)) {
        snprintf(err, errlen, "--ctl: another rawlb already listens on '%s' (give each instance its own --ctl)", path);
        return false;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "--ctl: '%s' exists and is not a socket: refusing to replace it", path);
            return false;
        }
        unlink(path); /* what a killed daemon left behind */
    }
    c->answer = malloc(CONTROL_ANSWER_MAX);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old_mask = umask(CONTROL_UMASK);
    bool ok = c->answer && c->fd >= 0 && bind(c->fd, (struct sockaddr *)&sun, sizeof sun) == 0 &&
              listen(c->fd, CONTROL_BACKLOG) == 0;
    umask(old_mask);
    if (!ok) {
        snprintf(err, errlen, "--ctl: cannot listen on '%s': %s", path, strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        free(c->answer);
        c->answer = NULL;
        return false;
    }
    ev_io_init(&c->accept_io, accept_cb, c->fd, EV_READ);
    c->accept_io.data = c;
    ev_io_start(loop, &c->accept_io);
    return true;
}

void control_close(struct control *c)
{
    if (c->fd < 0)
        return;
    int fd = c->fd;
    c->fd = -1; /* a slot freed below must not resume the listener */
    for (unsigned i = 0; i < CONTROL_SLOTS; i++)
        if (c->clients[i].state != CONTROL_CLIENT_FREE)
            client_close(&c->clients[i]);
    ev_io_stop(c->loop, &c->accept_io);
    close(fd);
    unlink(c->path); /* after a drop to --user this fails (root's directory): the helper removes it then */
    free(c->answer);
    c->answer = NULL;
}
