/* fuzz_config: the flag parser (config_parse_line, lb/config.c, with the HA options of
 * ha/haconfig.c), what reads rawlb's command line and the lines rawlb-ctl -S prints, on arbitrary
 * bytes, and -S itself (ctlproto_render_save) on whatever it takes.
 *
 * libFuzzer (clang, -DRAWLB_FUZZ=ON):  fuzz_config [-max_total_time=60] [CORPUS_DIR]
 *   (seeds: a copy of test/fuzz/corpus/config/, the command lines below, written by
 *   build/test/test_config_fuzz --write-corpus DIR 16)
 * Standalone (any compiler, -DRAWLB_FUZZ_STANDALONE; test/unit/test_config_fuzz.c includes this
 * file that way):  with file arguments, replays them (crash reproduction without libFuzzer);
 * without, feeds a deterministic stream of the command lines below, two in three of them edited
 * word by word or byte by byte (fuzz.h); --write-corpus DIR N writes the first N (the first FZ_N_LINES
 * unedited).
 *
 * The HA seeds name the key file FZ_KEY_FILE, which the target writes (mode 0600) into its working
 * directory first: --ha-key is read while parsing, and --ha-role needs it.
 * Each input is a line (to its first NUL) from an exact-size heap copy (a read past its end is a
 * heap overflow under ASan):
 *   - it is taken or refused with a message (a line asking for --help or --version is refused,
 *     never printed);
 *   - what is taken renders with -S (ctlproto_render_save) whole, or refused with "error: save:"
 *     only when a service has no real server; that line is taken again, and renders the same
 *     (what rawlb-ctl -S prints starts the same set-up). */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctlproto.h"
#include "fuzz.h"

#define FZ_SAVE_MAX (1u << 20) /* -S of 64 services of 64 servers with every option fits */
#define FZ_SAVE_REFUSED "error: save:"
#define FZ_KEY_FILE "fuzz_config.key"
#define FZ_KEY "rawlb fuzz key: twenty+ bytes\n"

static bool fz_no_rs(const struct rawlb_config *cfg)
{
    for (unsigned i = 0; i < cfg->n_services; i++)
        if (cfg->services[i].n_rs == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool key_written;
    if (!key_written) {
        int fd = open(FZ_KEY_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        FUZZ_ASSERT(fd >= 0 && fchmod(fd, 0600) == 0);
        FUZZ_ASSERT(write(fd, FZ_KEY, strlen(FZ_KEY)) == (ssize_t)strlen(FZ_KEY));
        close(fd);
        key_written = true;
    }
    char *line = malloc(size + 1);
    FUZZ_ASSERT(line);
    memcpy(line, data, size);
    line[size] = '\0';

    static struct rawlb_config cfg, again;
    static char saved[FZ_SAVE_MAX], saved_again[FZ_SAVE_MAX];
    char err[RAWLB_ERRLEN];
    err[0] = '\0';
    enum config_result r = config_parse_line(&cfg, line, err, sizeof err);
    FUZZ_ASSERT(r == CONFIG_OK || (r == CONFIG_ERROR && err[0]));
    if (r == CONFIG_OK) {
        size_t n = ctlproto_render_save(&cfg, saved, sizeof saved);
        FUZZ_ASSERT(n > 0 && n < sizeof saved && saved[n] == '\0');
        if (strncmp(saved, FZ_SAVE_REFUSED, strlen(FZ_SAVE_REFUSED)) == 0) {
            FUZZ_ASSERT(fz_no_rs(&cfg));
        } else {
            FUZZ_ASSERT(config_parse_line(&again, saved, err, sizeof err) == CONFIG_OK);
            FUZZ_ASSERT(ctlproto_render_save(&again, saved_again, sizeof saved_again) == n);
            FUZZ_ASSERT(strcmp(saved, saved_again) == 0);
        }
    }
    free(line);
    return 0;
}

#ifdef RAWLB_FUZZ_STANDALONE

static const char *const fz_lines[] = {
    "rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -s wlc -r 203.0.113.11:80:3 -r 203.0.113.12:80",
    "rawlb -e ext -i int -n 203.0.113.1 -u 198.51.100.10:53 -s rr -o -r 203.0.113.11:53 -r 203.0.113.12:53",
    "rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.11:443 -p 60 -M 255.255.255.0 -r 203.0.113.11:443",
    "rawlb --ext-if ext --int-if int --nat-ip 203.0.113.1 --timeouts 900,120,300 --max-conns 64 --workers 2 "
    "--tcp-service 198.51.100.10:80 --scheduler wrr --real-server 203.0.113.11:80:0",
    "rawlb -e ext -i int -n 203.0.113.1 --check http:/health --expect-status 204 --check-interval 1 "
    "-t 198.51.100.10:80 -r 203.0.113.11:80 --sorry-server 203.0.113.99:80 --quiesce",
    "rawlb -e ext -i int -n 203.0.113.1 -u 198.51.100.10:53 --check dns:example.test -r 203.0.113.11:53",
    "rawlb -e ext -i int -n 203.0.113.1 -u 198.51.100.10:5000 --check udp --send 'ping\\x00' --expect pong "
    "--check-port 5001 --probe-timeout 0.5 --check-timeout 3 --reentry 10 -r 203.0.113.11:5000",
    "rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 --agent-port 7777 -r 203.0.113.11:80 "
    "--metrics 127.0.0.1:9100 --ctl /run/rawlb/x.sock --pidfile /run/rawlb/x.pid",
    "rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 --ha-role primary "
    "--ha-peer 198.51.100.3 --ha-key " FZ_KEY_FILE " --ha-interval 0.5 --ha-deadtime 2 --state-dir /tmp/s",
    "rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 --ha-role backup "
    "--ha-peer 198.51.100.2 --ha-if ext --ha-key " FZ_KEY_FILE " --ha-port 540 --ha-track ext --ha-notify '/bin/x y'",
    "rawlb -e ext -i int -n 203.0.113.1 -x 100 -y 50 -t 198.51.100.10:80 -x 20 -r 203.0.113.11:80 "
    "-r 203.0.113.12:80 --u-threshold 8 --l-threshold 8 -r 203.0.113.13:80 -x 0",
    "rawlb --help",
    "rawlb --version",
    "rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:99999 -r 203.0.113.11:80",
    "rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -s nosuch -r 203.0.113.11:80",
    "rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 -t 198.51.100.10:80",
    "rawlb -e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 --no-such-flag 'open",
};
#define FZ_N_LINES (sizeof fz_lines / sizeof fz_lines[0])

/* Words the edits put in: every option (config.c, haconfig.c) and values of each kind. */
static const char *const fz_dict[] = {
    "-e", "-i", "-n", "-t", "-u", "-s", "-p", "-M", "-o", "-r", "-w", "-x", "-y", "--ext-if", "--int-if", "--nat-ip",
    "--u-threshold", "--l-threshold", "67108864", "67108865",
    "--tcp-service", "--udp-service", "--scheduler", "-b", "--sched-flags", "mh-port", "mh-fallback",
    "mh-port,mh-fallback", "sh-port", "mh", "--persistent", "--netmask", "--ops", "--real-server",
    "--timeouts", "--max-conns", "--workers", "--ctl", "--pidfile", "--check", "--expect-status", "--expect",
    "--send", "--check-port", "--check-interval", "--probe-timeout", "--check-timeout", "--reentry",
    "--quiesce", "--sorry-server", "--agent-port", "--metrics", "--help", "--version", "--ha-role", "--ha-if",
    "--ha-peer", "--ha-port", "--ha-interval", "--ha-deadtime", "--ha-key", "--ha-track", "--ha-notify",
    "--state-dir", "--ha", "--che", "rawlb", "ext", "int", "rr", "wrr", "lc", "wlc", "sh", "tcp", "http",
    "http:/", "udp", "dns", "dns:a..b", "none", "primary", "backup", "203.0.113.13:80", "203.0.113.13:80:5",
    "203.0.113.13", "198.51.100.10:80", "198.51.100.10:53", FZ_KEY_FILE, "0.0.0.0:0", "255.255.255.255", "224.0.0.1:1",
    "0", "1", "0.001", "65535", "65536", "-1", "4294967296", "1e9", "nan", "1,2,3", "'a b'", "'\\x0g'",
    "'it'\\''s'", "\\\\", "''",
};

#define FZ_LINE_MAX 1024
#define FZ_EDITS_MAX 2 /* per line, none for one line in three: most edits make a line refused */

static size_t fz_next(uint8_t *buf)
{
    static unsigned pos;
    return fz_next_line((char *)buf, FZ_LINE_MAX, fz_lines, FZ_N_LINES, &pos, fz_dict, sizeof fz_dict / sizeof fz_dict[0],
                        0, FZ_EDITS_MAX);
}

#ifndef FZ_ITERATIONS
#define FZ_ITERATIONS 30000u
#endif

int main(int argc, char **argv)
{
    static uint8_t buf[FZ_LINE_MAX];
    int status = fz_standalone_args(argc, argv, fz_next, buf);
    if (status >= 0)
        return status;
    unsigned taken = 0;
    for (unsigned i = 0; i < FZ_ITERATIONS; i++) {
        size_t len = fz_next(buf);
        LLVMFuzzerTestOneInput(buf, len);
        static struct rawlb_config cfg;
        char err[RAWLB_ERRLEN];
        buf[len] = '\0';
        taken += config_parse_line(&cfg, (const char *)buf, err, sizeof err) == CONFIG_OK;
    }
    printf("%u command lines: %u taken, %u refused\n", FZ_ITERATIONS, taken, FZ_ITERATIONS - taken);
    /* Many taken and many refused, or the stream tests little. */
    bool broad = taken > FZ_ITERATIONS / 10 && FZ_ITERATIONS - taken > FZ_ITERATIONS / 10;
    if (!broad)
        fprintf(stderr, "the command line stream reaches too little of the parser\n");
    return broad ? 0 : 1;
}
#endif
