/* test_hamsg_fuzz: the libFuzzer target of test/fuzz/fuzz_hamsg.c in its standalone mode, so
 * every build fuzzes ha/hamsg.c without clang: a deterministic stream of 60000 inputs (datagrams
 * sealed with the target's key, bare payloads and replay sequences, half of them mutated) under
 * the invariants listed in that file. */
#define RAWLB_FUZZ_STANDALONE
#include "../fuzz/fuzz_hamsg.c"
