/* statuspage: see statuspage.h. */
#include "statuspage.h"

#include <string.h>

#include <microhttpd.h>

/* From the build (cmake/embed.cmake). */
extern const unsigned char statuspage_html[], statuspage_js[], statuspage_css[];
extern const size_t statuspage_html_len, statuspage_js_len, statuspage_css_len;

static const struct statuspage_file files[] = {
    { "/", "text/html; charset=utf-8", statuspage_html, &statuspage_html_len },
    { "/statuspage.js", "text/javascript; charset=utf-8", statuspage_js, &statuspage_js_len },
    { "/statuspage.css", "text/css; charset=utf-8", statuspage_css, &statuspage_css_len },
};

const struct statuspage_file *statuspage_find(const char *url)
{
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (strcmp(url, files[i].path) == 0)
            return &files[i];
    return NULL;
}

void statuspage_add_headers(struct MHD_Response *r)
{
    /* connect-src 'self': the script's fetch of /status.json; img-src 'self': the browser's own
     * /favicon.ico request (a 404). The charts are inline SVG elements, which need nothing. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                            "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}
