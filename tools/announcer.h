/* announcer: what rawlb-announce (tools/rawlb-announce.c) makes of the snapshots rawlb sends a
 * watcher (lb/annproto.h): which VIPs its BGP daemon was told to announce, and from each whole
 * snapshot the commands that bring that in line (announce the VIPs that turned up, withdraw those
 * that turned down or vanished), or, when the connection to rawlb breaks, the withdrawal of
 * every VIP announced. Pure: the program feeds it lines and writes out what it is handed.
 * ExaBGP's process API (text encoder) takes "announce route PREFIX next-hop NH" and
 * "withdraw route PREFIX next-hop NH", one a line, to every neighbour the process is bound to. */
#ifndef RAWLB_ANNOUNCER_H
#define RAWLB_ANNOUNCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ANNOUNCER_MAX RAWLB_MAX_SERVICES /* rawlb has at most a VIP per service */
#define ANNOUNCER_NEXT_HOP_SELF "self"
#define ANNOUNCER_COMMAND_MAX 128 /* one ExaBGP command line */

/* What the BGP daemon is to be told about addr: the program writes the command, then reports it
 * to rawlb. */
typedef void (*announcer_emit)(void *arg, bool announce, uint32_t addr);

enum announcer_result {
    ANNOUNCER_OK,        /* taken (a whole snapshot acted on at its end line) */
    ANNOUNCER_REFUSED,   /* rawlb said "error: ...": it will close, and the program tries again */
    ANNOUNCER_BAD_LINE,  /* not of the protocol: the program drops the connection */
};

struct announcer {
    unsigned n_announced;
    uint32_t announced[ANNOUNCER_MAX]; /* what the BGP daemon was told to announce, network order */
    unsigned n_up;
    uint32_t up[ANNOUNCER_MAX]; /* the VIPs up in the snapshot being read */
};

void announcer_init(struct announcer *a);
/* One line from rawlb (without its newline). At "end", emit is called for each change, the
 * withdrawals first. */
enum announcer_result announcer_line(struct announcer *a, const char *line, announcer_emit emit, void *arg);
/* The connection to rawlb broke (or the program stops): every VIP announced is withdrawn, and a
 * snapshot half read is forgotten. */
void announcer_withdraw_all(struct announcer *a, announcer_emit emit, void *arg);
/* The ExaBGP command for addr ("announce route ADDR/32 next-hop NH\n") into buf; its length. */
int announcer_command(bool announce, uint32_t addr, const char *next_hop, char *buf, size_t len);

#endif
