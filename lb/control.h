/* control: the daemon's end of the control socket (--ctl). Accepts rawlb-ctl connections in
 * the libev loop, reads one request line and writes the answer without ever blocking the loop
 * (a client that reads slowly only holds its own slot, until its deadline), hands the request to
 * a handler that renders the answer (ctlrender.c, ctlsave.c) at once or, when it is long, in
 * parts as the client reads (a stream: each turn of the loop renders one bounded part), and closes only after the client
 * has closed its end (or within a deadline), having read what it sent: never a reset. The socket is made mode
 * 0600 in a directory created if missing; a stale socket left by a killed daemon is replaced, a
 * live one means another rawlb runs there and is refused.
 * A client whose answer says so (control_stream.watch: the verb watch of a BGP announcer,
 * vipstate.h) becomes a watcher: kept open without a deadline, sent whatever the daemon
 * broadcasts (control_watch_send) and read line by line (control_set_watch). A watcher never
 * holds the loop up: what it leaves unread is bounded, and one that lets it fill is dropped. */
#ifndef RAWLB_CONTROL_H
#define RAWLB_CONTROL_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctlproto.h"

#define CONTROL_MAX_CLIENTS 8 /* served at once; more are told "too many control clients" */
#define CONTROL_SLOTS (2 * CONTROL_MAX_CLIENTS) /* and the ones being refused or closed */
#define CONTROL_ANSWER_MAX (4 * 1024 * 1024) /* list --json of 64 services x 65 servers is ~2 MB */
#define CONTROL_REQUEST_MAX CTL_REQUEST_MAX

#define CONTROL_PART_MAX (16 * 1024) /* a streamed answer's parts, each rendered in one turn of the loop */
#define CONTROL_MAX_WATCHERS 2 /* of CONTROL_MAX_CLIENTS: the rest stay for rawlb-ctl */
#define CONTROL_WATCH_OUT_MAX (64 * 1024) /* a watcher's unread output: dozens of snapshots; more, it is dropped */

/* The rest of an answer too long to render in one turn of the loop (rawlb-ctl -c over a million
 * entries): rendered part by part, each once the client has taken the one before. */
struct control_stream {
    /* The next part into out (at most len bytes, CONTROL_PART_MAX); *done when it is the last.
     * NULL: no stream. */
    size_t (*next)(void *state, char *out, size_t len, bool *done);
    void (*done)(void *state); /* frees state: after the last part, or when the client goes early */
    void *state;
    /* No next: the client becomes a watcher once this answer is queued (a refusal is sent
     * instead when CONTROL_MAX_WATCHERS watch already). */
    bool watch;
};

/* Renders the answer to request into out (at most len bytes); returns its length. A long answer
 * begins there and sets *more to render the rest (it is left zeroed otherwise). */
typedef size_t (*control_handler)(void *arg, const char *request, char *out, size_t len,
                                  struct control_stream *more);

enum control_client_state {
    CONTROL_CLIENT_FREE,
    CONTROL_CLIENT_READING, /* its request */
    CONTROL_CLIENT_WRITING, /* the answer */
    CONTROL_CLIENT_CLOSING, /* answered (or refused): waiting for it to close its end */
    CONTROL_CLIENT_WATCHING, /* a watcher: open until it closes its end (or falls behind) */
};

/* A line a watcher wrote (without its newline); watcher is its slot, the same in watch_gone. */
typedef void (*control_watch_line)(void *arg, int watcher, const char *line);
/* The watcher closed, or was dropped. */
typedef void (*control_watch_gone)(void *arg, int watcher);

struct control_client {
    int fd; /* -1 when free */
    enum control_client_state state;
    size_t got;
    char req[CONTROL_REQUEST_MAX]; /* and a watcher's lines as they come */
    char *out;      /* this client's answer (or part of it), being written */
    size_t out_len, out_off;
    struct control_stream more; /* what is left of a streamed answer */
    ev_io io;
    ev_timer deadline;
    struct control *owner;
};

struct control {
    int fd;
    char path[108];
    struct ev_loop *loop;
    ev_io accept_io;
    control_handler handler;
    void *handler_arg;
    control_watch_line watch_line;
    control_watch_gone watch_gone;
    void *watch_arg;
    char *answer;
    struct control_client clients[CONTROL_SLOTS];
};

bool control_open(struct control *c, struct ev_loop *loop, const char *path, control_handler handler, void *arg,
                  char *err, size_t errlen);
/* What watchers write back, and their going: called with arg. */
void control_set_watch(struct control *c, control_watch_line line, control_watch_gone gone, void *arg);
/* Queues text for every watcher; one that cannot take it (it left too much unread) is dropped. */
void control_watch_send(struct control *c, const char *text, size_t len);
/* Watchers connected now. */
unsigned control_watchers(const struct control *c);
/* Stops listening and removes the socket file. */
void control_close(struct control *c);

#endif
