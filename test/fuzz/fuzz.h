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
