/* test_config_fuzz: the libFuzzer target of test/fuzz/fuzz_config.c in its standalone mode, so
 * every build fuzzes the flag parser and -S without clang: a deterministic stream of 30000
 * command lines (the target's, two in three of them edited) under the invariants listed in that file. */
#define RAWLB_FUZZ_STANDALONE
#include "../fuzz/fuzz_config.c"
