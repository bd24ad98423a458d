/* statuspage: the web status page the --metrics server also serves (piranha's monitor window in a
 * browser): GET / (lb/statuspage.html), /statuspage.js and /statuspage.css, compiled into the
 * binary from those files (cmake/embed.cmake), so nothing comes from outside the box. The page is
 * read-only: its script fetches /status.json (statusjson.h) once a second and draws tables and a
 * small chart per real server of the rates it has seen since it was opened.
 * This module owns which paths are files, their content types and the security headers every
 * answer of the page carries; metrics.c routes the requests. */
#ifndef RAWLB_STATUSPAGE_H
#define RAWLB_STATUSPAGE_H

#include <stddef.h>

struct statuspage_file {
    const char *path;         /* as requested, e.g. "/" */
    const char *content_type;
    const unsigned char *body;
    const size_t *len;        /* the generated file's length (a constant of another unit) */
};

/* The file served at url, or NULL. */
const struct statuspage_file *statuspage_find(const char *url);

struct MHD_Response;
/* What every answer of the page (its files and /status.json) carries: a Content-Security-Policy
 * that allows only this server (no inline script, no other origin, no framing), nosniff, no
 * referrer, and no caching (the data changes every second; the files with the binary). */
void statuspage_add_headers(struct MHD_Response *r);

#endif
