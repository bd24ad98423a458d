/* probe_http: --check http[:PATH]. Sends one HTTP/1.0 GET with "Connection: close", reads the
 * answer up to PROBE_BUF bytes or the server's close, and judges the status line
 * ("HTTP/1.x NNN") against --expect-status and the body (what follows the blank line) against
 * --expect. An answer longer than PROBE_BUF is judged on its first PROBE_BUF bytes. */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "probe.h"

/* The request is a few hundred bytes at most and goes into a fresh socket's empty send buffer,
 * so it leaves in one send; anything less is reported as a failure rather than retried. */
static bool http_connected(struct probe *p, char *why, size_t len)
{
    char req[2 * RAWLB_CHECK_STRLEN + 128], host[ENDPOINT_STRLEN];
    if (p->dst.port == htons(80))
        addr_str(p->dst.addr, host);
    else
        endpoint_str(p->dst.addr, p->dst.port, host);
    const char *path = p->cfg->http_path[0] ? p->cfg->http_path : "/";
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: rawlb-health\r\nConnection: close\r\n\r\n", path,
                     host);
    ssize_t sent = send(p->fd, req, (size_t)n, MSG_NOSIGNAL);
    if (sent < 0) {
        probe_strerror(errno, why, len);
        return false;
    }
    if (sent != n) {
        snprintf(why, len, "request cut short");
        return false;
    }
    return true;
}

/* "HTTP/1.x NNN" followed by a space, the end of the line or the end of what came. */
static int http_status(const char *b, size_t n)
{
    if (n < 12 || memcmp(b, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)b[7]) || b[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (!isdigit((unsigned char)b[i]))
            return -1;
    if (n > 12 && b[12] != ' ' && b[12] != '\r' && b[12] != '\n')
        return -1;
    return (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
}

/* What follows the first empty line ("\r\n\r\n" or a bare "\n\n"); NULL when none came. */
static const char *http_body(const char *b, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (b[i] != '\n')
            continue;
        if (b[i + 1] == '\n')
            return b + i + 2;
        if (b[i + 1] == '\r' && i + 2 < n && b[i + 2] == '\n')
            return b + i + 3;
    }
    return NULL;
}

static int http_judge(struct probe *p, char *why, size_t len)
{
    const struct check_config *cfg = p->cfg;
    int status = http_status(p->buf, p->got);
    if (status < 0) {
        snprintf(why, len, "bad status line");
        return -1;
    }
    if (status != cfg->expect_status) {
        snprintf(why, len, "status %d", status);
        return -1;
    }
    if (cfg->expect.len) {
        const char *body = http_body(p->buf, p->got);
        size_t blen = body ? (size_t)(p->buf + p->got - body) : 0;
        if (!body || !memmem(body, blen, cfg->expect.data, cfg->expect.len)) {
            char text[RAWLB_CHECK_ESCAPED_LEN];
            snprintf(why, len, "no '%s' in body", config_escape_bytes(&cfg->expect, text));
            return -1;
        }
    }
    return 1;
}

static int http_readable(struct probe *p, char *why, size_t len)
{
    int r = probe_read_answer(p, false, why, len);
    if (r <= 0)
        return r;
    return http_judge(p, why, len);
}

const struct probe_ops probe_http_ops = {
    .name = "http",
    .socktype = SOCK_STREAM,
    .connected = http_connected,
    .readable = http_readable,
};
