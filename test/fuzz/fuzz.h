/* fuzz: what the fuzz targets of test/fuzz share: the invariant check and, for their standalone
 * drivers (RAWLB_FUZZ_STANDALONE, any compiler, no libFuzzer), a deterministic random stream and
 * the two command lines besides the default run:
 *   FILE...                     replays the files through the target in order (a crash found
 *                               by libFuzzer reproduced without it);
 *   --write-corpus DIR N        writes the driver's first N inputs as seeds for libFuzzer. */
#ifndef RAWLB_TEST_FUZZ_H
#define RAWLB_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#ifdef RAWLB_FUZZ_STANDALONE

static uint64_t fz_rng = 0x853c49e6748fea9bull;
static uint32_t fz_rnd(void)
{
    fz_rng ^= fz_rng << 13;
    fz_rng ^= fz_rng >> 7;
    fz_rng ^= fz_rng << 17;
    return (uint32_t)(fz_rng >> 16);
}

#define FZ_REPLAY_MAX (1u << 20)

static int fz_replay(int argc, char **argv)
{
    static uint8_t buf[FZ_REPLAY_MAX];
    for (int i = 1; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        if (!fp) {
            perror(argv[i]);
            return 1;
        }
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("replayed %d input(s)\n", argc - 1);
    return 0;
}

static int fz_write_corpus(const char *dir, unsigned n, size_t (*next)(uint8_t *buf), uint8_t *buf)
{
    for (unsigned i = 0; i < n; i++) {
        size_t len = next(buf);
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%05u", dir, i);
        FILE *fp = fopen(path, "wb");
        if (!fp) {
            perror(path);
            return 1;
        }
        fwrite(buf, 1, len, fp);
        fclose(fp);
    }
    return 0;
}

/* The next variant of a text line (a control request, a command line) for the standalone
 * drivers of the text targets: one edit of whole words (a word of dict put in at a word's start,
 * a word taken out) or of bytes (one replaced by any byte, a separator or quote put in, the line
 * cut short). line holds a string and has room for cap bytes. Inline: the drivers of binary
 * targets leave it unused. */
static inline void fz_mutate_line(char *line, size_t cap, const char *const *dict, size_t n_dict)
{
    static const char specials[] = " \t\r'\\=:,-";
    size_t len = strlen(line), at = len ? fz_rnd() % (len + 1) : 0;
    while (at < len && at > 0 && line[at - 1] != ' ')
        at--; /* a word's start, for the word edits */
    switch (fz_rnd() % 5) {
    case 0: {
        const char *w = dict[fz_rnd() % n_dict];
        size_t wl = strlen(w);
        if (len + wl + 2 > cap)
            return;
        memmove(line + at + wl + 1, line + at, len - at + 1);
        memcpy(line + at, w, wl);
        line[at + wl] = ' ';
        return;
    }
    case 1: {
        size_t end = at;
        while (end < len && line[end] != ' ')
            end++;
        end += end < len;
        memmove(line + at, line + end, len - end + 1);
        return;
    }
    case 2:
        if (len)
            line[fz_rnd() % len] = (char)(1 + fz_rnd() % 255);
        return;
    case 3:
        if (len + 2 > cap)
            return;
        at = fz_rnd() % (len + 1);
        memmove(line + at + 1, line + at, len - at + 1);
        line[at] = specials[fz_rnd() % (sizeof specials - 1)];
        return;
    default:
        line[fz_rnd() % (len + 1)] = '\0';
        return;
    }
}

/* The standalone drivers' next text line: the seed lines in order first, then a random one of
 * them with min_edits to max_edits edits (fz_mutate_line). *pos counts the lines made. */
static inline size_t fz_next_line(char *line, size_t cap, const char *const *seeds, size_t n_seeds, unsigned *pos,
                                  const char *const *dict, size_t n_dict, unsigned min_edits, unsigned max_edits)
{
    snprintf(line, cap, "%s", seeds[*pos < n_seeds ? *pos : fz_rnd() % n_seeds]);
    if ((*pos)++ >= n_seeds)
        for (unsigned n = min_edits + fz_rnd() % (max_edits - min_edits + 1); n; n--)
            fz_mutate_line(line, cap, dict, n_dict);
    return strlen(line);
}

/* The command lines above: main's exit status, or -1 for the default run (no arguments).
 * next(buf) makes the driver's next input in buf and returns its length. */
static int fz_standalone_args(int argc, char **argv, size_t (*next)(uint8_t *buf), uint8_t *buf)
{
    if (argc == 4 && strcmp(argv[1], "--write-corpus") == 0)
        return fz_write_corpus(argv[2], (unsigned)strtoul(argv[3], NULL, 10), next, buf);
    if (argc > 1)
        return fz_replay(argc, argv);
    return -1;
}

#endif
#endif
