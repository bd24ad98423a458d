/* connsave: see connsave.h. */
#include "connsave.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hamsg.h"

#define CONNSAVE_MAGIC "RAWLBCT1"
#define CONNSAVE_MAGIC_LEN 8
#define CONNSAVE_TIME_LEN 8
#define CONNSAVE_CHUNK_LEN_LEN 4
#define CONNSAVE_PASSES 2 /* templates, then the entries they control: an import finds its template */
#define MS_PER_S 1000u

static void put_be(uint8_t *p, uint64_t v, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v = (v << 8) | p[i];
    return v;
}

struct writer {
    FILE *f;
    struct ha_sync chunk;
    uint8_t buf[CONNSAVE_CHUNK_LEN_LEN + HA_PAYLOAD_MAX];
    bool failed;
};

static void write_chunk(struct writer *w)
{
    if (!w->chunk.count)
        return;
    size_t n = ha_sync_encode(&w->chunk, w->buf + CONNSAVE_CHUNK_LEN_LEN, sizeof w->buf - CONNSAVE_CHUNK_LEN_LEN);
    put_be(w->buf, n, CONNSAVE_CHUNK_LEN_LEN);
    if (!n || fwrite(w->buf, 1, CONNSAVE_CHUNK_LEN_LEN + n, w->f) != CONNSAVE_CHUNK_LEN_LEN + n)
        w->failed = true;
    w->chunk.count = 0;
}

static bool saved_in_pass(const struct conn *c, unsigned pass)
{
    if (!(c->flags & CONN_F_LIVE) || (c->flags & CONN_F_RESET))
        return false; /* taken away by rawlb (the caller has finished its reap walks) */
    return (pass == 0) == ((c->flags & CONN_F_TEMPLATE) != 0);
}

/* A new file in the state directory, opened for writing: fopen's "wbx" relative to dir_fd. */
static FILE *create_in(int dir_fd, const char *name)
{
    int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST && unlinkat(dir_fd, name, 0) == 0) /* left by a save that was cut short */
        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    return f;
}

bool connsave_write(int dir_fd, const char *dir, struct conn_table *const *tables, unsigned n, uint64_t wall_ms,
                    uint32_t *written, char *err, size_t errlen)
{
    static struct writer w; /* a chunk of records: large, and saved once at stop */
    static const char tmp[] = CONNSAVE_FILE ".tmp";
    *written = 0;
    memset(&w, 0, sizeof w);
    w.chunk.body = HA_SYNC_RECORDS;
    w.f = create_in(dir_fd, tmp);
    if (!w.f) {
        snprintf(err, errlen, "cannot write '%s/%s': %s", dir, tmp, strerror(errno));
        return false;
    }
    uint8_t head[CONNSAVE_MAGIC_LEN + CONNSAVE_TIME_LEN];
    memcpy(head, CONNSAVE_MAGIC, CONNSAVE_MAGIC_LEN);
    put_be(head + CONNSAVE_MAGIC_LEN, wall_ms, CONNSAVE_TIME_LEN);
    w.failed = fwrite(head, 1, sizeof head, w.f) != sizeof head;
    for (unsigned pass = 0; pass < CONNSAVE_PASSES; pass++)
        for (unsigned i = 0; i < n; i++)
            for (uint32_t e = 0; e < tables[i]->never_used; e++) {
                const struct conn *c = &tables[i]->pool[e];
                if (!saved_in_pass(c, pass))
                    continue;
                struct ha_record *r = &w.chunk.records[w.chunk.count];
                connrec_of(tables[i], c, HA_REC_UPSERT, r);
                if (!r->lifetime)
                    continue;
                (*written)++;
                if (++w.chunk.count == HA_SYNC_MAX_RECORDS)
                    write_chunk(&w);
            }
    write_chunk(&w);
    /* On disk before the rename: a crash leaves the old table or the new one, never half a file. */
    w.failed = w.failed || fflush(w.f) != 0 || fsync(fileno(w.f)) != 0;
    int saved_errno = errno;
    if (fclose(w.f) != 0 || w.failed) {
        snprintf(err, errlen, "cannot write '%s/%s': %s", dir, tmp, strerror(w.failed ? saved_errno : errno));
        unlinkat(dir_fd, tmp, 0);
        return false;
    }
    if (renameat(dir_fd, tmp, dir_fd, CONNSAVE_FILE) != 0) {
        snprintf(err, errlen, "cannot rename '%s/%s' to " CONNSAVE_FILE ": %s", dir, tmp, strerror(errno));
        unlinkat(dir_fd, tmp, 0);
        return false;
    }
    return true;
}

static void restore_record(struct ha_record *r, const struct service_table *services, connrec_table_fn table_of,
                           void *arg, uint32_t downtime_s, struct connsave_result *res)
{
    struct conn e;
    struct conn_table *t;
    if (r->kind != HA_REC_UPSERT || r->lifetime <= downtime_s) {
        res->expired++;
        return;
    }
    if (!connrec_entry(services, table_of, arg, r, &e, &t)) {
        res->unknown++;
        return;
    }
    if (conn_find(t, &e) || !conn_import(t, &e, r->lifetime - downtime_s))
        res->refused++;
    else
        res->restored++;
}

bool connsave_restore(int dir_fd, const char *dir, const struct service_table *services, connrec_table_fn table_of,
                      void *arg, uint64_t wall_ms, bool *found, struct connsave_result *res, char *err, size_t errlen)
{
    static struct ha_sync chunk; /* large: not on the stack */
    uint8_t buf[HA_PAYLOAD_MAX];
    memset(res, 0, sizeof *res);
    int fd = openat(dir_fd, CONNSAVE_FILE, O_RDONLY | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    *found = f != NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        if (errno == ENOENT)
            return true;
        snprintf(err, errlen, "cannot read '%s/" CONNSAVE_FILE "': %s", dir, strerror(errno));
        return false;
    }
    uint8_t head[CONNSAVE_MAGIC_LEN + CONNSAVE_TIME_LEN];
    bool ok = fread(head, 1, sizeof head, f) == sizeof head && memcmp(head, CONNSAVE_MAGIC, CONNSAVE_MAGIC_LEN) == 0;
    if (ok) {
        res->saved_ms = get_be(head + CONNSAVE_MAGIC_LEN, CONNSAVE_TIME_LEN);
        /* A clock stepped back reads as no downtime; a part second counts as a whole one. */
        uint64_t down_ms = wall_ms > res->saved_ms ? wall_ms - res->saved_ms : 0;
        uint64_t down_s = (down_ms + MS_PER_S - 1) / MS_PER_S;
        uint32_t downtime_s = down_s > UINT32_MAX ? UINT32_MAX : (uint32_t)down_s;
        uint8_t len_be[CONNSAVE_CHUNK_LEN_LEN];
        size_t got = 0;
        while (ok && (got = fread(len_be, 1, sizeof len_be, f)) == sizeof len_be) {
            size_t len = (size_t)get_be(len_be, CONNSAVE_CHUNK_LEN_LEN);
            ok = len <= sizeof buf && fread(buf, 1, len, f) == len && ha_sync_decode(buf, len, &chunk) &&
                 chunk.body == HA_SYNC_RECORDS;
            for (unsigned i = 0; ok && i < chunk.count; i++)
                restore_record(&chunk.records[i], services, table_of, arg, downtime_s, res);
        }
        ok = ok && got == 0 && !ferror(f);
    }
    fclose(f);
    unlinkat(dir_fd, CONNSAVE_FILE, 0);
    if (!ok)
        snprintf(err, errlen,
                 "'%s/" CONNSAVE_FILE "' is not a whole saved connection table (%u entries restored before the damage)",
                 dir, res->restored);
    return ok;
}
