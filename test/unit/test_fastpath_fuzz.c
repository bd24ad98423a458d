/* test_fastpath_fuzz: the libFuzzer target of test/fuzz/fuzz_fastpath.c in its standalone mode,
 * so every build fuzzes the whole fast path without clang: a deterministic stream of 300000
 * frames (built with frames.h, half of them mutated) through one fast path, under the
 * invariants listed in that file. */
#define RAWLB_FUZZ_STANDALONE
#include "../fuzz/fuzz_fastpath.c"
